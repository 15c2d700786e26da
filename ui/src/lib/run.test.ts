import { describe, expect, it } from "vitest";
import type { ApprovalRequest, ApprovalUpdate, Progress, Tick, Variant } from "./api";
import {
  MAX_DISPLAY_LINES,
  activityText,
  applyProgress,
  cardStatus,
  displayLines,
  statusLabel,
  elapsedMs,
  formatCost,
  formatElapsed,
  formatTokens,
  fromVariant,
  mergeVariants,
  overall,
  reduceTick,
} from "./run";

const variant = (index: number, over: Partial<Variant> = {}): Variant => ({
  experiment_id: "e1",
  index,
  name: `V${index}`,
  slug: `v${index}`,
  description: "",
  guidelines: "",
  agent: "claude_code",
  model: null,
  branch: `fanout/x/v${index}`,
  worktree: `/w/${index}`,
  status: "ready",
  started_at: null,
  finished_at: null,
  exit_code: null,
  error: null,
  summary: null,
  cost_usd: null,
  input_tokens: null,
  output_tokens: null,
  turns: null,
  check: null,
  head_commit: null,
  host: null,
  ...over,
});

const progress = (over: Partial<Progress> = {}): Progress => ({
  status: "running",
  started_at: "2026-01-01T00:00:00Z",
  tool_calls: 1,
  turns: null,
  input_tokens: 10,
  output_tokens: 5,
  cost_usd: null,
  activity: "Write src/lib.rs",
  error: null,
  ...over,
});

const tick = (variant: number, p: Progress | null, events = 0, experiment = "e1"): Tick => ({
  batches: [{ experiment_id: experiment, variant, progress: p, events: Array(events).fill({ type: "assistant_text", text: "x" }), approvals: [], judged: false }],
  missed: 0,
});

const T0 = Date.parse("2026-01-01T00:00:00Z");

describe("reduceTick", () => {
  const start = { 1: fromVariant(variant(1)), 2: fromVariant(variant(2)) };

  it("applies a variant's latest progress and reports events", () => {
    const r = reduceTick(start, tick(1, progress(), 2), "e1", 1, T0 + 1000);
    expect(r.map[1].status).toBe("running");
    expect(r.map[1].activity).toBe("Write src/lib.rs");
    expect(r.map[2]).toBe(start[2]);
    expect(r.withEvents).toEqual([1]);
    expect(r.ended).toEqual([]);
  });

  it("reports a variant that just ended, once", () => {
    const running = reduceTick(start, tick(1, progress()), "e1", 1, T0).map;
    const done = reduceTick(running, tick(1, progress({ status: "succeeded" })), "e1", 2, T0 + 5000);
    expect(done.ended).toEqual([1]);
    expect(done.map[1].endedAt).toBe(T0 + 5000);
    const again = reduceTick(done.map, tick(1, progress({ status: "succeeded" })), "e1", 3, T0 + 9000);
    expect(again.ended).toEqual([]);
    expect(again.map[1].endedAt).toBe(T0 + 5000);
  });

  it("ignores other experiments and unknown variants, and flags missed updates", () => {
    const r = reduceTick(start, { ...tick(1, progress(), 0, "other"), missed: 3 }, "e1", 1, T0);
    expect(r.map[1].status).toBe("ready");
    expect(r.missed).toBe(true);
    expect(reduceTick(start, tick(9, progress()), "e1", 1, T0).map[9]).toBeUndefined();
  });
});

describe("mergeVariants", () => {
  it("keeps live state newer than the load and takes the store's otherwise", () => {
    const live = {
      1: applyProgress(fromVariant(variant(1)), progress({ status: "succeeded" }), 5, T0),
      2: applyProgress(fromVariant(variant(2)), progress(), 2, T0),
    };
    const stored = [
      variant(1, { status: "running", started_at: "2026-01-01T00:00:00Z" }),
      variant(2, { status: "failed", error: "boom" }),
    ];
    const merged = mergeVariants(live, stored, 3);
    expect(merged[1].status).toBe("succeeded");
    expect(merged[2].status).toBe("failed");
    expect(merged[2].error).toBe("boom");
  });
});

describe("elapsed", () => {
  it("ticks while active and stops at the end", () => {
    const running = applyProgress(fromVariant(variant(1)), progress(), 1, T0);
    expect(elapsedMs(running, T0 + 65_000)).toBe(65_000);
    const done = { ...running, status: "succeeded" as const, finishedAt: "2026-01-01T00:00:07Z" };
    expect(elapsedMs(done, T0 + 99_000)).toBe(7000);
    expect(elapsedMs(fromVariant(variant(2)), T0)).toBeNull();
  });

  it("formats minutes and hours", () => {
    expect(formatElapsed(7000)).toBe("0:07");
    expect(formatElapsed(754_000)).toBe("12:34");
    expect(formatElapsed(3_723_000)).toBe("1:02:03");
    expect(formatElapsed(null)).toBe("—");
  });
});

describe("numbers", () => {
  it("shortens tokens and cost", () => {
    expect(formatTokens(950)).toBe("950");
    expect(formatTokens(1234)).toBe("1.2k");
    expect(formatTokens(2_500_000)).toBe("2.5M");
    expect(formatCost(null)).toBe("—");
    expect(formatCost(0.00047)).toBe("<$0.01");
    expect(formatCost(1.5)).toBe("$1.50");
  });

  it("counts overall progress", () => {
    const map = {
      1: { ...fromVariant(variant(1)), status: "succeeded" as const },
      2: { ...fromVariant(variant(2)), status: "running" as const },
      3: { ...fromVariant(variant(3)), status: "failed" as const },
    };
    expect(overall(map)).toEqual({ done: 2, total: 3, active: 1, waiting: 0, succeeded: 1 });
  });
});

const request = (id: string, tool = "Bash"): ApprovalRequest => ({
  id,
  tool,
  input: { command: "cargo test" },
  tool_use_id: `toolu_${id}`,
  display: { kind: "command", command: "cargo test" },
});

const approvalTick = (variant: number, approvals: ApprovalUpdate[], p: Progress | null = null): Tick => ({
  batches: [{ experiment_id: "e1", variant, progress: p, events: [], approvals, judged: false }],
  missed: 0,
});

describe("approvals in ticks", () => {
  const start = { 1: fromVariant(variant(1)), 2: fromVariant(variant(2)) };
  const requested = (r: ApprovalRequest): ApprovalUpdate => ({ type: "requested", request: r });

  it("keeps each variant's waiting requests apart and shows needs-input", () => {
    let map = reduceTick(start, approvalTick(1, [requested(request("a"))], progress()), "e1", 1, T0).map;
    map = reduceTick(map, approvalTick(2, [requested(request("b")), requested(request("c", "WebFetch"))]), "e1", 2, T0).map;
    expect(map[1].pending.map((r) => r.id)).toEqual(["a"]);
    expect(map[2].pending.map((r) => r.id)).toEqual(["b", "c"]);
    // The request shows before the engine's needs_input status arrives.
    expect(map[1].status).toBe("running");
    expect(cardStatus(map[1])).toBe("needs-input");
    expect(statusLabel(map[1])).toBe("needs input");
    expect(overall(map).waiting).toBe(1); // variant 2 has not started: not waiting yet

    const answered = reduceTick(
      map,
      approvalTick(2, [{ type: "resolved", id: "b", tool: "Bash", allowed: false, message: "no", by: "user" }]),
      "e1",
      3,
      T0,
    ).map;
    expect(answered[2].pending.map((r) => r.id)).toEqual(["c"]);
    expect(answered[1].pending.map((r) => r.id)).toEqual(["a"]);
    const withdrawn = reduceTick(answered, approvalTick(2, [{ type: "withdrawn", id: "c" }]), "e1", 4, T0).map;
    expect(withdrawn[2].pending).toEqual([]);
    expect(cardStatus(withdrawn[2])).toBe("ready");
  });

  it("maps the engine's needs_input to the DOM's needs-input, and clears requests when the session ends", () => {
    const waiting = reduceTick(start, approvalTick(1, [requested(request("a"))], progress({ status: "needs_input" })), "e1", 1, T0).map;
    expect(cardStatus(waiting[1])).toBe("needs-input");
    const over = reduceTick(waiting, approvalTick(1, [], progress({ status: "failed" })), "e1", 2, T0).map;
    expect(over[1].pending).toEqual([]);
    expect(cardStatus(over[1])).toBe("failed");
  });

  it("notes an interrupted session waiting for a message until the next request", () => {
    const held = reduceTick(start, approvalTick(1, [{ type: "awaiting_message" }], progress()), "e1", 1, T0).map;
    expect(held[1].awaitingMessage).toBe(true);
    const next = reduceTick(held, approvalTick(1, [requested(request("z"))]), "e1", 2, T0).map;
    expect(next[1].awaitingMessage).toBe(false);
  });

  it("keeps live requests over a store reload while the variant is active", () => {
    const map = reduceTick(start, approvalTick(1, [requested(request("a"))]), "e1", 1, T0).map;
    expect(mergeVariants(map, [variant(1, { status: "needs_input" })], 5)[1].pending).toHaveLength(1);
    expect(mergeVariants(map, [variant(1, { status: "succeeded" })], 5)[1].pending).toEqual([]);
  });
});

describe("displayLines", () => {
  it("shows a command as its text, line by line", () => {
    expect(displayLines({ kind: "command", command: "cd x &&\nmake" })).toEqual({
      lines: [
        { kind: "ctx", text: "cd x &&" },
        { kind: "ctx", text: "make" },
      ],
      more: 0,
    });
  });

  it("shows an edit as diff lines without the file headers", () => {
    const diff = "--- a/a.txt\n+++ b/a.txt\n@@ -1,2 +1,2 @@\n one\n-two\n+three\n";
    expect(displayLines({ kind: "diff", path: "a.txt", diff }).lines.map((l) => l.kind)).toEqual(["hunk", "ctx", "del", "add"]);
  });

  it("keeps a card small: long input is cut and counted", () => {
    const text = Array.from({ length: MAX_DISPLAY_LINES + 5 }, (_, i) => `line ${i}`).join("\n");
    const shown = displayLines({ kind: "input", text });
    expect(shown.lines).toHaveLength(MAX_DISPLAY_LINES);
    expect(shown.more).toBe(5);
  });
});

describe("activityText", () => {
  it("says a preparing variant prepares, with the setup's last words when there are some", () => {
    const lv = fromVariant(variant(1, { status: "preparing" }));
    expect(activityText(lv)).toBe("Preparing the worktree…");
    expect(activityText({ ...lv, activity: "added 12 packages" })).toBe("Preparing: added 12 packages");
    expect(statusLabel(lv)).toBe("preparing");
    expect(cardStatus(lv)).toBe("preparing");
  });
  it("shows a running agent's activity, else its status", () => {
    const lv = fromVariant(variant(1, { status: "running" }));
    expect(activityText(lv)).toBe("running");
    expect(activityText({ ...lv, activity: "Edit src/lib.rs" })).toBe("Edit src/lib.rs");
  });
});
