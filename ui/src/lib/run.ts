// The Run view's model: per-variant live state folded from the engine's
// coalesced ticks over the stored variants, elapsed time, overall progress.
import type { ApprovalDisplay, ApprovalRequest, ApprovalUpdate, Progress, Tick, Variant, VariantStatus } from "./api";
import { ACTIVE_STATUSES } from "./api";

export interface LiveVariant {
  index: number;
  status: VariantStatus;
  startedAt: string | null;
  finishedAt: string | null;
  toolCalls: number;
  turns: number | null;
  inputTokens: number;
  outputTokens: number;
  costUsd: number | null;
  activity: string | null;
  error: string | null;
  /** When this window saw the variant end (ms), until the store's finished_at arrives. */
  endedAt: number | null;
  /** The tick count when a tick last set this entry; 0 when it came from the store. */
  seq: number;
  /** Tool uses waiting for the user, oldest first (two-way sessions). */
  pending: ApprovalRequest[];
  /** An interrupted session waits for the next message. */
  awaitingMessage: boolean;
}

export type LiveMap = Record<number, LiveVariant>;

const ACTIVE: ReadonlySet<VariantStatus> = new Set(ACTIVE_STATUSES);
const ENDED: ReadonlySet<VariantStatus> = new Set(["succeeded", "failed", "cancelled", "interrupted"]);

export const isActive = (s: VariantStatus) => ACTIVE.has(s);
export const hasEnded = (s: VariantStatus) => ENDED.has(s);

export function fromVariant(v: Variant): LiveVariant {
  return {
    index: v.index,
    status: v.status,
    startedAt: v.started_at,
    finishedAt: v.finished_at,
    toolCalls: 0,
    turns: v.turns,
    inputTokens: v.input_tokens ?? 0,
    outputTokens: v.output_tokens ?? 0,
    costUsd: v.cost_usd,
    activity: null,
    error: v.error,
    endedAt: null,
    seq: 0,
    pending: [],
    awaitingMessage: false,
  };
}

export function applyProgress(prev: LiveVariant, p: Progress, seq: number, now: number): LiveVariant {
  const newSession = p.started_at !== prev.startedAt;
  const ended = hasEnded(p.status);
  return {
    ...prev,
    status: p.status,
    startedAt: p.started_at,
    // A retry or follow-up starts a new session: the old end no longer applies.
    finishedAt: newSession || !ended ? null : prev.finishedAt,
    toolCalls: p.tool_calls,
    turns: p.turns,
    inputTokens: p.input_tokens,
    outputTokens: p.output_tokens,
    costUsd: p.cost_usd,
    activity: p.activity,
    error: p.error,
    endedAt: ended ? (hasEnded(prev.status) && !newSession ? (prev.endedAt ?? now) : now) : null,
    seq,
    // An ended session answers nothing more.
    pending: ended ? [] : prev.pending,
    awaitingMessage: ended ? false : prev.awaitingMessage,
  };
}

/** Folds approval news into a variant: a request adds, an answer or a withdrawal removes. */
export function applyApprovals(prev: LiveVariant, updates: readonly ApprovalUpdate[]): LiveVariant {
  if (updates.length === 0) return prev;
  let pending = prev.pending;
  let awaitingMessage = prev.awaitingMessage;
  for (const u of updates) {
    switch (u.type) {
      case "requested":
        pending = [...pending.filter((r) => r.id !== u.request.id), u.request];
        awaitingMessage = false;
        break;
      case "resolved":
      case "withdrawn":
        pending = pending.filter((r) => r.id !== u.id);
        break;
      case "awaiting_message":
        awaitingMessage = true;
        break;
    }
  }
  return { ...prev, pending, awaitingMessage };
}

/**
 * The card's `data-status`: the engine's status, with "needs-input" (as the
 * DOM spells it) whenever a request waits, even before the status tick comes.
 */
export function cardStatus(lv: LiveVariant): string {
  if (lv.pending.length > 0 || lv.status === "needs_input") return "needs-input";
  return lv.status;
}

/** The badge's words. */
export function statusLabel(lv: LiveVariant): string {
  return cardStatus(lv).replace("-", " ");
}

/** The card's activity line: what runs now; a preparing variant says so, the setup's last words after. */
export function activityText(lv: LiveVariant): string {
  if (lv.status === "preparing") return lv.activity ? `Preparing: ${lv.activity}` : "Preparing the worktree…";
  return lv.activity ?? lv.status;
}

export type DisplayLine = { kind: "add" | "del" | "hunk" | "ctx"; text: string };

/** Lines of a request's display kept on a card; the rest is counted. */
export const MAX_DISPLAY_LINES = 40;

/**
 * A request's input as the card shows it: a command or other input as plain
 * lines, a file edit as diff lines (file headers dropped: the path is shown).
 */
export function displayLines(d: ApprovalDisplay): { lines: DisplayLine[]; more: number } {
  let lines: DisplayLine[];
  if (d.kind === "diff") {
    lines = d.diff
      .split("\n")
      .filter((l) => !l.startsWith("--- ") && !l.startsWith("+++ "))
      .map((text) => ({
        kind: text.startsWith("@@") ? "hunk" : text.startsWith("+") ? "add" : text.startsWith("-") ? "del" : "ctx",
        text,
      }));
    while (lines.length > 0 && lines[lines.length - 1].text === "") lines.pop();
  } else {
    const text = d.kind === "command" ? d.command : d.text;
    lines = text.split("\n").map((t) => ({ kind: "ctx", text: t }));
  }
  const more = Math.max(0, lines.length - MAX_DISPLAY_LINES);
  return { lines: lines.slice(0, MAX_DISPLAY_LINES), more };
}

export interface TickResult {
  map: LiveMap;
  /** Variants that ended in this tick: their commits and files changed. */
  ended: number[];
  /** Variants with new transcript events. */
  withEvents: number[];
  /** The watcher fell behind: reload the experiment from the store. */
  missed: boolean;
  /** A review or a ranking was kept: reload them. */
  judged: boolean;
}

export function reduceTick(map: LiveMap, tick: Tick, experimentId: string, seq: number, now: number): TickResult {
  const next: LiveMap = { ...map };
  const ended: number[] = [];
  const withEvents: number[] = [];
  let judged = false;
  for (const batch of tick.batches) {
    if (batch.experiment_id !== experimentId) continue;
    judged ||= batch.judged;
    const prev = next[batch.variant];
    if (!prev) continue;
    // Approvals first: a request and its variant's end in one tick leave nothing pending.
    const withApprovals = applyApprovals(prev, batch.approvals ?? []);
    next[batch.variant] = withApprovals;
    if (batch.progress) {
      next[batch.variant] = applyProgress(withApprovals, batch.progress, seq, now);
      if (hasEnded(batch.progress.status) && !hasEnded(prev.status)) ended.push(batch.variant);
    }
    if (batch.events.length > 0) withEvents.push(batch.variant);
  }
  return { map: next, ended, withEvents, missed: tick.missed > 0, judged };
}

/**
 * The store's variants over the live state: a live entry set by a tick that
 * arrived after the load started (`since`) may be newer than the load and is
 * kept; older ones give way to the store.
 */
export function mergeVariants(map: LiveMap, variants: readonly Variant[], since: number): LiveMap {
  const next: LiveMap = {};
  for (const v of variants) {
    const live = map[v.index];
    if (live && live.seq > since) {
      const sameEnd = hasEnded(live.status) && live.status === v.status && live.startedAt === v.started_at;
      next[v.index] = sameEnd ? { ...live, finishedAt: v.finished_at } : live;
    } else {
      // The store keeps no waiting requests: the live ones stay while the variant is active.
      const keep = live && isActive(v.status);
      next[v.index] = {
        ...fromVariant(v),
        activity: live?.activity ?? null,
        toolCalls: live?.toolCalls ?? 0,
        pending: keep ? live.pending : [],
        awaitingMessage: keep ? live.awaitingMessage : false,
      };
    }
  }
  return next;
}

/** Milliseconds the variant has run, ticking while active; null before it started. */
export function elapsedMs(lv: LiveVariant, now: number): number | null {
  if (!lv.startedAt) return null;
  const start = Date.parse(lv.startedAt);
  if (Number.isNaN(start)) return null;
  let end = now;
  if (!isActive(lv.status)) {
    const finished = lv.finishedAt ? Date.parse(lv.finishedAt) : NaN;
    end = Number.isNaN(finished) ? (lv.endedAt ?? now) : finished;
  }
  return Math.max(0, end - start);
}

/** 0:07, 12:34, 1:02:03. */
export function formatElapsed(ms: number | null): string {
  if (ms === null) return "—";
  const total = Math.floor(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const ss = String(s).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}

export function formatTokens(n: number): string {
  if (n < 1000) return String(n);
  if (n < 1_000_000) return `${(n / 1000).toFixed(n < 10_000 ? 1 : 0)}k`;
  return `${(n / 1_000_000).toFixed(1)}M`;
}

export function formatCost(usd: number | null): string {
  if (usd === null) return "—";
  if (usd > 0 && usd < 0.01) return "<$0.01";
  return `$${usd.toFixed(2)}`;
}

export interface Overall {
  done: number;
  total: number;
  active: number;
  /** Active variants with a request waiting for the user. */
  waiting: number;
  succeeded: number;
}

export function overall(map: LiveMap): Overall {
  const all = Object.values(map);
  return {
    done: all.filter((v) => hasEnded(v.status)).length,
    total: all.length,
    active: all.filter((v) => isActive(v.status)).length,
    waiting: all.filter((v) => isActive(v.status) && cardStatus(v) === "needs-input").length,
    succeeded: all.filter((v) => v.status === "succeeded").length,
  };
}
