import { describe, expect, it } from "vitest";
import { describePicks, isPicked, meanScore, takeKey, togglePick } from "./judging";

describe("judging", () => {
  it("averages the scores, and an empty review scores 0", () => {
    expect(meanScore([{ criterion: "a", score: 6 }, { criterion: "b", score: 9 }])).toBe(7.5);
    expect(meanScore([])).toBe(0);
  });

  it("toggles picks by variant, file and hunk", () => {
    const hunk = { variant: 2, path: "src/lib.rs", hunk: 1 };
    const whole = { variant: 2, path: "src/lib.rs", hunk: null };
    let picks = togglePick([], hunk);
    picks = togglePick(picks, whole);
    expect(picks.map(takeKey)).toEqual(["2:src/lib.rs#1", "2:src/lib.rs"]);
    expect(isPicked(picks, { ...hunk })).toBe(true);
    picks = togglePick(picks, { ...hunk });
    expect(picks.map(takeKey)).toEqual(["2:src/lib.rs"]);
    expect(describePicks([hunk, { variant: 1, path: "a.rs", hunk: null }])).toBe("2: src/lib.rs#1, 1: a.rs");
  });
});
