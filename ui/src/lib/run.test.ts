import { describe, expect, it } from "vitest";
import type { Progress, Tick, Variant } from "./api";
import {
  applyProgress,
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
  batches: [{ experiment_id: experiment, variant, progress: p, events: Array(events).fill({ type: "assistant_text", text: "x" }) }],
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
    expect(overall(map)).toEqual({ done: 2, total: 3, active: 1, succeeded: 1 });
  });
});
