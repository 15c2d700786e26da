import { describe, expect, it } from "vitest";
import type { PageLine, PatchOutline } from "./api";
import { MIN_FOLD, STEP, expand, foldRows, type FoldRow, type Reveal } from "./folds";
import { CHUNK, LineStore, layout, splitContext, splitHunks, unifiedContext, unifiedHunks, type Layout, type SplitRow, type UnifiedRow } from "./difflayout";

type G = [number, number, number, number];
type H = [number, number, number, number];
const gap = (old_start: number, new_start: number, n: number, eof = false): G => [old_start, new_start, n, eof ? 1 : 0];

function outline(hunks: H[], gaps: G[], kinds: string): PatchOutline {
  const total = kinds.length + gaps.reduce((n, g) => n + g[2], 0);
  return { kind: "patch", token: 1, hunks, gaps, kinds, total, added: 0, removed: 0, timed_out: false };
}

/** The layout with every line's text filled in: gap lines "g<old>", hunk
 * context "c<old>", removed "old<old>", added "new<new>". */
function opened(o: PatchOutline): { lay: Layout; store: LineStore } {
  const lay = layout(o);
  const store = new LineStore(lay);
  const inGap = new Set(lay.gaps.flatMap((g) => Array.from({ length: g.size }, (_, k) => g.at + k)));
  const eof = new Set(lay.gaps.filter((g) => g.no_newline_at_end && g.size > 0).map((g) => g.at + g.size - 1));
  const text = (at: number) =>
    inGap.has(at) ? `g${lay.oldNo[at]}` : ["c", "new", "old"][lay.kind[at]] + (lay.kind[at] === 1 ? lay.newNo[at] : lay.oldNo[at]);
  for (let c = 0; c < store.chunks; c++) {
    const n = Math.min(CHUNK, lay.total - c * CHUNK);
    store.fill(
      c,
      Array.from({ length: n }, (_, j): PageLine => (eof.has(c * CHUNK + j) ? [text(c * CHUNK + j), [], 1] : text(c * CHUNK + j))),
    );
  }
  return { lay, store };
}

// A 100-line file changed at line 41 only: context 38-40 and 42-44 in the hunk,
// gap 0 is lines 1-37, gap 1 lines 45-100.
const HUNK: H = [38, 7, 38, 7];
const KINDS = "   -+   ";
const gaps = [gap(1, 1, 37), gap(45, 45, 56)];
const gapLines = (g: G) => Array.from({ length: g[2] }, (_, k) => `g${g[0] + k}`);
const fg = (g: G) => ({ size: g[2] });

let current: LineStore;
/** Rows as short strings: "@@" header, "fold:N" fold of N lines, else the text. */
function show(rows: (UnifiedRow | FoldRow)[]): string[] {
  return rows.map((r) => (r.kind === "fold" ? `fold:${r.hidden}` : r.kind === "hunk_header" ? "@@" : current.line(r.at).text));
}

function unified(reveals: Map<number, Reveal>, g: G[] = gaps, hunks: H[] = [HUNK], kinds = KINDS) {
  const { lay, store } = opened(outline(hunks, g, kinds));
  current = store;
  return foldRows(unifiedHunks(lay), lay.gaps, reveals, unifiedContext(lay));
}

describe("foldRows", () => {
  it("folds the unchanged lines before and after the only hunk", () => {
    const rows = unified(new Map());
    expect(show(rows)).toEqual(["fold:37", "@@", "c38", "c39", "c40", "old41", "new41", "c42", "c43", "c44", "fold:56"]);
    const [first, last] = [rows[0] as FoldRow, rows[rows.length - 1] as FoldRow];
    expect([first.fromTop, first.fromBottom]).toEqual([false, true]); // nothing above the file's start to extend
    expect([last.fromTop, last.fromBottom]).toEqual([true, false]); // nothing below the file's end
  });

  it("unfolds all of a gap with numbered context lines, and drops the header where no line numbers jump", () => {
    const rows = unified(new Map([[0, expand(fg(gaps[0]), undefined, "all")]]));
    expect(show(rows).slice(0, 3)).toEqual(["g1", "g2", "g3"]);
    expect(show(rows)[37]).toBe("c38"); // line 37 then 38: no header between them
    const l = current.line((rows[36] as { kind: "line"; at: number }).at);
    expect([l.kind, l.old_line, l.new_line, l.text]).toEqual(["context", 37, 37, "g37"]);
    expect(rows.filter((r) => r.kind === "hunk_header")).toHaveLength(0);
  });

  it("unfolds STEP lines at a time from the end next to a change", () => {
    let r = expand(fg(gaps[1]), undefined, "top"); // under the hunk above
    expect(r).toEqual({ top: STEP, bottom: 0 });
    let rows = unified(new Map([[1, r]]));
    expect(show(rows).slice(-STEP - 1)).toEqual([...gapLines(gaps[1]).slice(0, STEP), `fold:${56 - STEP}`]);

    r = expand(fg(gaps[0]), undefined, "bottom"); // over the hunk below
    rows = unified(new Map([[0, r]]));
    expect(show(rows).slice(0, STEP + 2)).toEqual([`fold:${37 - STEP}`, ...gapLines(gaps[0]).slice(37 - STEP), "@@"]);
  });

  it("shows a rest too small to fold instead of a fold row for it", () => {
    // 37 lines: one step leaves 17, a second would leave none.
    const twice = expand(fg(gaps[0]), expand(fg(gaps[0]), undefined, "bottom"), "bottom");
    expect(twice).toEqual({ top: 0, bottom: 37 });
    // A middle gap of MIN_FOLD + 2: one step from the top leaves 0 hidden.
    const mid = fg(gap(10, 12, MIN_FOLD + 2));
    expect(expand(mid, { top: 0, bottom: 3 }, "top")).toEqual({ top: MIN_FOLD - 1, bottom: 3 });
  });

  it("never folds tiny gaps, at the start, between hunks or at the end", () => {
    const small = [gap(1, 1, MIN_FOLD - 1), gap(45, 45, 1), gap(60, 61, MIN_FOLD - 1, true)];
    const rows = unified(new Map(), small, [HUNK, [45, 0, 46, 1]], KINDS + "+");
    expect(rows.some((r) => r.kind === "fold")).toBe(false);
    expect(rows.filter((r) => r.kind === "hunk_header")).toHaveLength(0); // one continuous file
    const end = current.line((rows[rows.length - 1] as { kind: "line"; at: number }).at);
    expect([end.text, end.no_newline_at_end]).toEqual(["g63", true]); // the file's last line keeps its marker // the file's last line keeps its marker
  });

  it("folds nothing and keeps every header when there are no gaps", () => {
    expect(show(unified(new Map(), []))).toEqual(["@@", "c38", "c39", "c40", "old41", "new41", "c42", "c43", "c44"]);
    const { lay } = opened(outline([HUNK], [], KINDS));
    expect(foldRows(unifiedHunks(lay), undefined, new Map(), unifiedContext(lay))[0].kind).toBe("hunk_header");
  });

  it("without gaps, puts a header before each hunk's lines, in order", () => {
    const rows = unified(new Map(), [], [HUNK, [90, 7, 90, 7]], KINDS + " ");
    expect(show(rows).filter((t) => t === "@@" || t === "c90" || t === "c38")).toEqual(["@@", "c38", "@@", "c90"]);
    expect((rows[9] as { label: string }).label).toBe("@@ -90,7 +90,7 @@");
  });

  it("flattens a 50,000-line hunk with a 50,000-line fold", () => {
    const rows = unified(new Map(), [gap(1, 1, 0), gap(1, 50_001, 50_000)], [[0, 0, 1, 50_000]], "+".repeat(50_000));
    expect(rows).toHaveLength(50_002); // header, the lines, one fold row
  });

  it("keeps the header of a change at the very first line", () => {
    const rows = unified(new Map(), [gap(1, 1, 0), gap(2, 2, 30)], [[1, 1, 1, 1]], "-+");
    expect(show(rows)).toEqual(["@@", "old1", "new1", "fold:30"]);
  });
});

describe("split view", () => {
  const { lay, store } = opened(outline([HUNK], gaps, KINDS));
  const side = (at: number) => (at < 0 ? null : store.line(at));

  it("pairs the removed line with the added one and keeps context on both sides", () => {
    const [h] = splitHunks(lay);
    expect(h.body).toHaveLength(7);
    const pair = h.body[3] as SplitRow & { kind: "line" };
    expect([side(pair.left)?.text, side(pair.right)?.text]).toEqual(["old41", "new41"]);
  });

  it("folds the same gaps, and unfolded lines sit on both sides", () => {
    const folded = foldRows(splitHunks(lay), lay.gaps, new Map(), splitContext(lay));
    expect(folded.map((r) => r.kind)).toEqual(["fold", "hunk_header", ...Array(7).fill("line"), "fold"]);
    const open = foldRows(splitHunks(lay), lay.gaps, new Map([[1, { top: 2, bottom: 0 }]]), splitContext(lay));
    const after = open[9] as SplitRow & { kind: "line" };
    expect([side(after.left)?.old_line, side(after.right)?.new_line, side(after.left)?.text]).toEqual([45, 45, "g45"]);
  });
});
