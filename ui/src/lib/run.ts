// The Run view's model: per-variant live state folded from the engine's
// coalesced ticks over the stored variants, elapsed time, overall progress.
import type { Progress, Tick, Variant, VariantStatus } from "./api";

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
}

export type LiveMap = Record<number, LiveVariant>;

const ACTIVE: ReadonlySet<VariantStatus> = new Set(["queued", "preparing", "running", "checking"]);
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
  };
}

export interface TickResult {
  map: LiveMap;
  /** Variants that ended in this tick: their commits and files changed. */
  ended: number[];
  /** Variants with new transcript events. */
  withEvents: number[];
  /** The watcher fell behind: reload the experiment from the store. */
  missed: boolean;
}

export function reduceTick(map: LiveMap, tick: Tick, experimentId: string, seq: number, now: number): TickResult {
  const next: LiveMap = { ...map };
  const ended: number[] = [];
  const withEvents: number[] = [];
  for (const batch of tick.batches) {
    if (batch.experiment_id !== experimentId) continue;
    const prev = next[batch.variant];
    if (!prev) continue;
    if (batch.progress) {
      next[batch.variant] = applyProgress(prev, batch.progress, seq, now);
      if (hasEnded(batch.progress.status) && !hasEnded(prev.status)) ended.push(batch.variant);
    }
    if (batch.events.length > 0) withEvents.push(batch.variant);
  }
  return { map: next, ended, withEvents, missed: tick.missed > 0 };
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
      next[v.index] = { ...fromVariant(v), activity: live?.activity ?? null, toolCalls: live?.toolCalls ?? 0 };
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
  succeeded: number;
}

export function overall(map: LiveMap): Overall {
  const all = Object.values(map);
  return {
    done: all.filter((v) => hasEnded(v.status)).length,
    total: all.length,
    active: all.filter((v) => isActive(v.status)).length,
    succeeded: all.filter((v) => v.status === "succeeded").length,
  };
}
