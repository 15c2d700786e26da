import { describe, expect, it } from "vitest";
import type { HunkHeader } from "./api";
import { hunkLabel, maxLineNumber } from "./diffrows";

const hunk = (old_start: number, new_start: number): HunkHeader => ({ old_start, old_lines: 2, new_start, new_lines: 2 });

describe("helpers", () => {
  it("labels hunks like git", () => {
    expect(hunkLabel({ old_start: 3, old_lines: 0, new_start: 4, new_lines: 7 })).toBe("@@ -3,0 +4,7 @@");
  });
  it("finds the largest line number for the gutter", () => {
    expect(maxLineNumber([hunk(1, 1), hunk(998, 1000)])).toBe(1002);
  });
});
