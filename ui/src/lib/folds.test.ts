import { describe, expect, it } from "vitest";
import type { Gap, Hunk, Line, SplitRow } from "./api";
import {
  MIN_FOLD,
  STEP,
  expand,
  foldRows,
  splitContext,
  splitHunks,
  unifiedContext,
  unifiedHunks,
  type FoldRow,
  type Reveal,
} from "./folds";
import type { UnifiedRow } from "./diffrows";

const gap = (old_start: number, new_start: number, n: number, eof = false): Gap => ({
  old_start,
  new_start,
  lines: Array.from({ length: n }, (_, k) => `g${old_start + k}`),
  no_newline_at_end: eof,
});

const line = (kind: Line["kind"], text: string, old_line: number | null, new_line: number | null): Line => ({
  kind,
  old_line,
  new_line,
  text,
  emphasis: [],
  no_newline_at_end: false,
});

// A 100-line file changed at line 41 only: context 38-40 and 42-44 in the hunk,
// gap 0 is lines 1-37, gap 1 lines 45-100.
const hunk: Hunk = {
  old_start: 38,
  old_lines: 7,
  new_start: 38,
  new_lines: 7,
  lines: [
    line("context", "c38", 38, 38),
    line("context", "c39", 39, 39),
    line("context", "c40", 40, 40),
    line("removed", "old41", 41, null),
    line("added", "new41", null, 41),
    line("context", "c42", 42, 42),
    line("context", "c43", 43, 43),
    line("context", "c44", 44, 44),
  ],
};
const gaps = [gap(1, 1, 37), gap(45, 45, 56)];

/** Rows as short strings: "@@" header, "fold:N" fold of N lines, else the text. */
function show(rows: (UnifiedRow | FoldRow)[]): string[] {
  return rows.map((r) => (r.kind === "fold" ? `fold:${r.hidden}` : r.kind === "hunk_header" ? "@@" : r.line.text));
}

const unified = (reveals: Map<number, Reveal>, g: Gap[] | undefined = gaps, hunks: Hunk[] = [hunk]) =>
  foldRows(unifiedHunks(hunks), g, reveals, unifiedContext);

describe("foldRows", () => {
  it("folds the unchanged lines before and after the only hunk", () => {
    const rows = unified(new Map());
    expect(show(rows)).toEqual(["fold:37", "@@", "c38", "c39", "c40", "old41", "new41", "c42", "c43", "c44", "fold:56"]);
    const [first, last] = [rows[0] as FoldRow, rows[rows.length - 1] as FoldRow];
    expect([first.fromTop, first.fromBottom]).toEqual([false, true]); // nothing above the file's start to extend
    expect([last.fromTop, last.fromBottom]).toEqual([true, false]); // nothing below the file's end
  });

  it("unfolds all of a gap with numbered context lines, and drops the header where no line numbers jump", () => {
    const rows = unified(new Map([[0, expand(gaps[0], undefined, "all")]]));
    expect(show(rows).slice(0, 3)).toEqual(["g1", "g2", "g3"]);
    expect(show(rows)[37]).toBe("c38"); // line 37 then 38: no header between them
    const l = rows[36] as { kind: "line"; line: Line };
    expect([l.line.kind, l.line.old_line, l.line.new_line, l.line.text]).toEqual(["context", 37, 37, "g37"]);
    expect(rows.filter((r) => r.kind === "hunk_header")).toHaveLength(0);
  });

  it("unfolds STEP lines at a time from the end next to a change", () => {
    let r = expand(gaps[1], undefined, "top"); // under the hunk above
    expect(r).toEqual({ top: STEP, bottom: 0 });
    let rows = unified(new Map([[1, r]]));
    expect(show(rows).slice(-STEP - 1)).toEqual([...gaps[1].lines.slice(0, STEP), `fold:${56 - STEP}`]);

    r = expand(gaps[0], undefined, "bottom"); // over the hunk below
    rows = unified(new Map([[0, r]]));
    expect(show(rows).slice(0, STEP + 2)).toEqual([`fold:${37 - STEP}`, ...gaps[0].lines.slice(37 - STEP), "@@"]);
  });

  it("shows a rest too small to fold instead of a fold row for it", () => {
    // 37 lines: one step leaves 17, a second would leave none.
    const twice = expand(gaps[0], expand(gaps[0], undefined, "bottom"), "bottom");
    expect(twice).toEqual({ top: 0, bottom: 37 });
    // A middle gap of MIN_FOLD + 2: one step from the top leaves 0 hidden.
    const mid = gap(10, 12, MIN_FOLD + 2);
    expect(expand(mid, { top: 0, bottom: 3 }, "top")).toEqual({ top: MIN_FOLD - 1, bottom: 3 });
  });

  it("never folds tiny gaps, at the start, between hunks or at the end", () => {
    const small = [gap(1, 1, MIN_FOLD - 1), gap(45, 45, 1), gap(60, 61, MIN_FOLD - 1, true)];
    const h2: Hunk = { ...hunk, old_start: 46, new_start: 46, lines: [line("added", "x", null, 46)] };
    const rows = unified(new Map(), small, [hunk, h2]);
    expect(rows.some((r) => r.kind === "fold")).toBe(false);
    expect(rows.filter((r) => r.kind === "hunk_header")).toHaveLength(0); // one continuous file
    const end = rows[rows.length - 1] as { kind: "line"; line: Line };
    expect([end.line.text, end.line.no_newline_at_end]).toEqual(["g63", true]); // the file's last line keeps its marker
  });

  it("folds nothing and keeps every header when there are no gaps", () => {
    expect(show(unified(new Map(), []))).toEqual(["@@", "c38", "c39", "c40", "old41", "new41", "c42", "c43", "c44"]);
    expect(show(foldRows(unifiedHunks([hunk]), undefined, new Map(), unifiedContext))[0]).toBe("@@");
  });

  it("without gaps, puts a header before each hunk's lines, in order", () => {
    const second: Hunk = { ...hunk, old_start: 90, new_start: 90, lines: [line("context", "c90", 90, 90)] };
    const rows = foldRows(unifiedHunks([hunk, second]), undefined, new Map(), unifiedContext);
    expect(show(rows).filter((t) => t === "@@" || t === "c90" || t === "c38")).toEqual(["@@", "c38", "@@", "c90"]);
    expect((rows[9] as { label: string }).label).toBe("@@ -90,7 +90,7 @@");
  });

  it("flattens a 50,000-line hunk with a 50,000-line fold", () => {
    const lines = Array.from({ length: 50_000 }, (_, i) => line("added", `line ${i}`, null, i + 1));
    const big: Hunk = { old_start: 0, old_lines: 0, new_start: 1, new_lines: 50_000, lines };
    const rows = unified(new Map(), [gap(1, 1, 0), gap(1, 50_001, 50_000)], [big]);
    expect(rows).toHaveLength(50_002); // header, the lines, one fold row
  });

  it("keeps the header of a change at the very first line", () => {
    const atStart: Hunk = { old_start: 1, old_lines: 1, new_start: 1, new_lines: 1, lines: [line("removed", "a", 1, null), line("added", "b", null, 1)] };
    const rows = unified(new Map(), [gap(1, 1, 0), gap(2, 2, 30)], [atStart]);
    expect(show(rows)).toEqual(["@@", "a", "b", "fold:30"]);
  });
});

describe("split view", () => {
  const split: SplitRow[] = [
    { kind: "hunk_header", old_start: 38, old_lines: 7, new_start: 38, new_lines: 7 },
    ...hunk.lines.slice(0, 3).map((l) => ({ kind: "line" as const, left: l, right: l })),
    { kind: "line", left: hunk.lines[3], right: hunk.lines[4] },
    ...hunk.lines.slice(5).map((l) => ({ kind: "line" as const, left: l, right: l })),
  ];

  it("cuts the engine's rows at each header", () => {
    const hunks = splitHunks(split);
    expect(hunks).toHaveLength(1);
    expect(hunks[0].body).toHaveLength(7);
  });

  it("folds the same gaps, and unfolded lines sit on both sides", () => {
    const folded = foldRows(splitHunks(split), gaps, new Map(), splitContext);
    expect(folded.map((r) => r.kind)).toEqual(["fold", "hunk_header", ...Array(7).fill("line"), "fold"]);
    const open = foldRows(splitHunks(split), gaps, new Map([[1, { top: 2, bottom: 0 }]]), splitContext);
    const after = open[9] as SplitRow & { kind: "line" };
    expect([after.left?.old_line, after.right?.new_line, after.left?.text]).toEqual([45, 45, "g45"]);
  });
});
