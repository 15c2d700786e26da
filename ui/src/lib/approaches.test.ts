import { describe, expect, it } from "vitest";
import { blankApproach, fromSpecs, launchHosts, move, resize, toSpecs, validateApproaches, type ApproachDraft } from "./approaches";

const named = (...names: string[]): ApproachDraft[] =>
  names.map((name, key) => ({ ...blankApproach(key), name }));

describe("validateApproaches", () => {
  it("accepts distinct names", () => {
    expect(validateApproaches(named("Functional", "Event driven")).valid).toBe(true);
  });

  it("rejects an empty name, pointing at that card only", () => {
    const r = validateApproaches(named("A", "  "));
    expect(r.valid).toBe(false);
    expect(r.names[0]).toBeNull();
    expect(r.names[1]).toMatch(/name/);
  });

  it("flags names that slug alike, because they would share a branch", () => {
    const r = validateApproaches(named("Event driven", "event-driven!"));
    expect(r.names[0]).toBeNull();
    expect(r.names[1]).toMatch(/approach 1/);
    expect(r.names[1]).toMatch(/event-driven/);
  });

  it("bounds the count to 1–8", () => {
    expect(validateApproaches([]).count).toMatch(/at least one/);
    const nine = named(...Array.from({ length: 9 }, (_, i) => `n${i}`));
    expect(validateApproaches(nine).count).toMatch(/remove 1/);
    expect(validateApproaches(nine.slice(0, 8)).valid).toBe(true);
  });
});

describe("form helpers", () => {
  it("resize keeps typed cards and clamps", () => {
    let k = 100;
    const grown = resize(named("a"), 3, () => k++);
    expect(grown.map((a) => a.name)).toEqual(["a", "", ""]);
    expect(resize(grown, 20, () => k++)).toHaveLength(8);
    expect(resize(grown, 0, () => k++)).toHaveLength(1);
  });

  it("move swaps neighbours and ignores moves off the ends", () => {
    expect(move([1, 2, 3], 0, 1)).toEqual([2, 1, 3]);
    expect(move([1, 2, 3], 0, -1)).toEqual([1, 2, 3]);
    expect(move([1, 2, 3], 2, 1)).toEqual([1, 2, 3]);
  });

  it("toSpecs trims and leaves agent, model and host to the defaults", () => {
    const [spec] = toSpecs([{ key: 0, name: " A ", description: " d ", guidelines: "", agent: "", model: " ", host: " " }]);
    expect(spec).toEqual({ name: "A", description: "d", guidelines: "", agent: null, model: null, host: null });
  });
});

describe("agents and models", () => {
  it("sends a chosen agent and model, and generated approaches become drafts", () => {
    const [spec] = toSpecs([{ key: 0, name: "A", description: "", guidelines: "", agent: "codex", model: " gpt-5 ", host: "" }]);
    expect(spec.agent).toBe("codex");
    expect(spec.model).toBe("gpt-5");
    let k = 10;
    const drafts = fromSpecs([{ name: "N", description: "d", guidelines: "g", agent: null, model: null, host: "big-box" }], () => ++k);
    expect(drafts).toEqual([{ key: 11, name: "N", description: "d", guidelines: "g", agent: "", model: "", host: "big-box" }]);
  });
});

describe("where a launch runs", () => {
  it("this machine, one host, or this machine and every host", () => {
    expect(launchHosts("", ["a", "b"])).toEqual([]);
    expect(launchHosts("b", ["a", "b"])).toEqual(["b"]);
    expect(launchHosts("*", ["a", "b"])).toEqual(["local", "a", "b"]);
  });
});
