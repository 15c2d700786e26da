import { describe, expect, it } from "vitest";
import type { Hunk, Line } from "./api";
import { formatBytes, hunkLabel, maxLineNumber, unifiedRows } from "./diffrows";

const line = (kind: Line["kind"], text: string): Line => ({
  kind,
  old_line: 1,
  new_line: 1,
  text,
  emphasis: [],
  no_newline_at_end: false,
});

const hunk = (old_start: number, new_start: number, lines: Line[]): Hunk => ({
  old_start,
  old_lines: 2,
  new_start,
  new_lines: 2,
  lines,
});

describe("unifiedRows", () => {
  it("puts a header before each hunk's lines, in order", () => {
    const rows = unifiedRows([hunk(1, 1, [line("removed", "a"), line("added", "b")]), hunk(40, 40, [line("context", "c")])]);
    expect(rows.map((r) => (r.kind === "hunk_header" ? r.label : r.line.text))).toEqual([
      "@@ -1,2 +1,2 @@",
      "a",
      "b",
      "@@ -40,2 +40,2 @@",
      "c",
    ]);
  });

  it("flattens 50,000 lines quickly enough to open a big file at once", () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => line("added", `line ${i}`));
    const rows = unifiedRows([hunk(1, 1, lines)]);
    expect(rows).toHaveLength(50_001);
  });
});

describe("helpers", () => {
  it("labels hunks like git", () => {
    expect(hunkLabel({ old_start: 3, old_lines: 0, new_start: 4, new_lines: 7 })).toBe("@@ -3,0 +4,7 @@");
  });
  it("finds the largest line number for the gutter", () => {
    expect(maxLineNumber([hunk(1, 1, []), hunk(998, 1000, [])])).toBe(1002);
  });
  it("formats sizes", () => {
    expect(formatBytes(10)).toBe("10 B");
    expect(formatBytes(2048)).toBe("2.0 KB");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3.0 MB");
  });
});
