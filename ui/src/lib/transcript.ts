// A variant's transcript as the Run view shows it: stored events folded into
// items (tool calls paired with their results), bounded so a huge session
// stays cheap to keep and to draw.
import type { StoredEvent } from "./api";

export type Item =
  | { kind: "text"; key: number; text: string }
  | { kind: "thinking"; key: number; text: string }
  | { kind: "tool"; key: number; name: string; summary: string; input: string; result: ToolResult | null }
  | { kind: "note"; key: number; tone: "info" | "warn" | "error"; text: string }
  /** The setup command's output before the agent started, consecutive lines as one block. */
  | { kind: "setup"; key: number; lines: string[]; more: number };

/** Setup lines kept in one block; more are counted, the store keeps them all. */
export const MAX_SETUP_LINES = 2000;

export interface ToolResult {
  ok: boolean;
  summary: string;
}

/** Events kept per transcript; older ones are dropped (the store keeps them). */
export const MAX_EVENTS = 5000;
/** Items drawn at first; "show earlier" adds this many more. */
export const PAGE_ITEMS = 150;
/** Longest string shown inside a tool's input. */
export const MAX_INPUT_STRING = 4000;

const str = (v: unknown) => (typeof v === "string" ? v : "");

/** "Write src/lib.rs": the tool and what it acts on, on one line. */
export function toolSummary(name: string, input: unknown): string {
  const obj = input && typeof input === "object" ? (input as Record<string, unknown>) : {};
  const target = ["file_path", "path", "command", "pattern"].map((k) => str(obj[k])).find((v) => v !== "");
  const line = target ? `${name} ${target.split("\n", 1)[0]}` : name;
  return line.length > 120 ? `${line.slice(0, 119)}…` : line;
}

/** The tool input as indented JSON, long strings cut. */
export function formatInput(input: unknown): string {
  const cut = (_: string, v: unknown) =>
    typeof v === "string" && v.length > MAX_INPUT_STRING
      ? `${v.slice(0, MAX_INPUT_STRING)}… (${v.length - MAX_INPUT_STRING} more characters)`
      : v;
  return JSON.stringify(input ?? null, cut, 2) ?? "null";
}

export function foldEvents(events: readonly StoredEvent[]): Item[] {
  const items: Item[] = [];
  const openTools = new Map<string, Extract<Item, { kind: "tool" }>>();
  let lastTool: Extract<Item, { kind: "tool" }> | null = null;
  for (const e of events) {
    const p = e.payload ?? {};
    const key = e.seq;
    switch (e.kind) {
      case "assistant_text":
        items.push({ kind: "text", key, text: str(p.text) });
        break;
      case "thinking":
        items.push({ kind: "thinking", key, text: str(p.text) });
        break;
      case "tool_use": {
        const name = str(p.name) || "tool";
        const item = { kind: "tool" as const, key, name, summary: toolSummary(name, p.input), input: formatInput(p.input), result: null };
        items.push(item);
        if (typeof p.id === "string") openTools.set(p.id, item);
        lastTool = item;
        break;
      }
      case "tool_result": {
        const owner = (typeof p.id === "string" ? openTools.get(p.id) : undefined) ?? lastTool;
        const result = { ok: p.ok !== false, summary: str(p.summary) };
        if (owner && !owner.result) owner.result = result;
        else items.push({ kind: "note", key, tone: result.ok ? "info" : "warn", text: `Tool result: ${result.summary}` });
        break;
      }
      case "warning":
        items.push({ kind: "note", key, tone: "warn", text: str(p.message) });
        break;
      case "result": {
        const ok = p.ok !== false;
        const text = str(ok ? p.summary : p.error) || (ok ? "The session finished." : "The session failed.");
        items.push({ kind: "note", key, tone: ok ? "info" : "error", text: `${ok ? "Finished" : "Failed"}: ${text}` });
        break;
      }
      case "check": {
        const code = p.exit_code;
        items.push({
          kind: "note",
          key,
          tone: code === 0 ? "info" : "error",
          text: `Check \`${str(p.command)}\` ${code === 0 ? "passed" : `failed (exit ${code ?? "killed"})`}\n${str(p.output_tail)}`.trim(),
        });
        break;
      }
      case "log":
        items.push({ kind: "note", key, tone: "info", text: str(p.line) });
        break;
      case "raw":
        items.push({ kind: "note", key, tone: "info", text: str(p.line) });
        break;
      case "setup": {
        const last = items[items.length - 1];
        if (last?.kind === "setup") {
          if (last.lines.length < MAX_SETUP_LINES) last.lines.push(str(p.line));
          else last.more += 1;
        } else items.push({ kind: "setup", key, lines: [str(p.line)], more: 0 });
        break;
      }
      case "setup_result":
        items.push({ kind: "note", key, tone: p.end === "exited" && p.exit_code === 0 ? "info" : "error", text: setupNote(p) });
        break;
      case "copied_files":
        items.push(...copiedNotes(p, key));
        break;
      case "approval": {
        const text = approvalNote(p);
        if (text) items.push({ kind: "note", key, tone: p.type === "resolved" && p.allowed === false ? "warn" : "info", text });
        break;
      }
      // init, usage and launch records are bookkeeping, shown in the card's numbers.
      default:
        break;
    }
  }
  return items;
}

/** A `setup_result` record (the engine's `SetupResult`) as a line. */
function setupNote(p: Record<string, unknown>): string {
  const command = `\`${str(p.command)}\``;
  const secs = typeof p.duration_ms === "number" ? ` in ${(p.duration_ms / 1000).toFixed(1)} s` : "";
  switch (p.end) {
    case "exited":
      return p.exit_code === 0
        ? `Setup ${command} finished${secs}; the agent starts now.`
        : `Setup ${command} failed with exit code ${p.exit_code ?? "unknown"}${secs}; the agent was not started.`;
    case "timed_out":
      return `Setup ${command} ran past its timeout and was stopped; the agent was not started.`;
    case "cancelled":
      return `Setup ${command} was cancelled; the agent was not started.`;
    default:
      return `Setup ${command} was killed; the agent was not started.`;
  }
}

/** A `copied_files` record (the engine's `CopyReport`): what the worktree got from the checkout, and what not, with why. */
function copiedNotes(p: Record<string, unknown>, key: number): Item[] {
  const list = (v: unknown) => (Array.isArray(v) ? v.map(str).filter((x) => x !== "") : []);
  const copied = list(p.copied);
  const notes: Item[] = [];
  if (copied.length > 0) {
    notes.push({ kind: "note", key, tone: "info", text: `Copied from your checkout into the worktree: ${copied.join(", ")}` });
  }
  // The skips share the record's seq: keys stay unique with a fraction.
  list(p.skipped).forEach((why, i) => notes.push({ kind: "note", key: key + (i + 1) / 1000, tone: "warn", text: why }));
  return notes;
}

const DECIDERS: Record<string, string> = { rule: "by a rule", user: "by you", allowed_tool: "for this experiment" };

/** An approval record (the engine's `ApprovalUpdate`) as a line of the transcript. */
function approvalNote(p: Record<string, unknown>): string | null {
  const request = (p.request ?? {}) as Record<string, unknown>;
  switch (p.type) {
    case "requested":
      return `${str(request.tool)} waits for your approval.`;
    case "resolved": {
      const who = DECIDERS[str(p.by)] ?? "";
      const base = `${p.allowed ? "Allowed" : "Denied"} ${str(p.tool)} ${who}`.trim();
      return p.message ? `${base}: ${str(p.message)}` : `${base}.`;
    }
    case "withdrawn":
      return "The request was withdrawn: its turn ended.";
    case "awaiting_message":
      return "Interrupted; the agent waits for the next message.";
    default:
      return null;
  }
}

/** Appends a page, keeping at most MAX_EVENTS; returns the events and how many were dropped. */
export function appendBounded(
  kept: readonly StoredEvent[],
  page: readonly StoredEvent[],
  max = MAX_EVENTS,
): { events: StoredEvent[]; dropped: number } {
  const all = kept.concat(page);
  const dropped = Math.max(0, all.length - max);
  return { events: dropped ? all.slice(dropped) : all, dropped };
}

/** The last `shown` items, and how many earlier ones are hidden. */
export function lastItems(items: readonly Item[], shown: number): { items: readonly Item[]; hidden: number } {
  const hidden = Math.max(0, items.length - shown);
  return { items: hidden ? items.slice(hidden) : items, hidden };
}
