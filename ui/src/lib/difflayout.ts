// A patch's rows from its outline alone, and its lines' text filled in by
// range as it arrives. A row refers to a line by its index in the patch's
// display sequence (gap 0, hunk 0, gap 1, …, the last gap); kinds and line
// numbers for every index are computed once from the outline into typed
// arrays, so laying out 66,000 rows costs milliseconds and no text.
import type { HunkHeader, Line, PageLine, PatchOutline } from "./api";
import { hunkLabel } from "./diffrows";
import type { FoldGap, HunkRows } from "./folds";

const KINDS: Line["kind"][] = ["context", "added", "removed"];
const KIND_OF: Record<string, number> = { " ": 0, "+": 1, "-": 2 };

export interface LayoutGap extends FoldGap {
  old_start: number;
  new_start: number;
  no_newline_at_end: boolean;
  /** Index of the gap's first line in the display sequence. */
  at: number;
}

export interface Layout {
  total: number;
  hunks: (HunkHeader & { at: number; size: number })[];
  gaps: LayoutGap[];
  /** Per display index: 0 context, 1 added, 2 removed. */
  kind: Uint8Array;
  /** Per display index: the line's number on each side, 0 where it has none. */
  oldNo: Uint32Array;
  newNo: Uint32Array;
}

export function layout(p: PatchOutline): Layout {
  const kind = new Uint8Array(p.total);
  const oldNo = new Uint32Array(p.total);
  const newNo = new Uint32Array(p.total);
  const gaps: LayoutGap[] = [];
  const hunks: Layout["hunks"] = [];
  let at = 0;
  let k = 0; // position in `kinds`
  const pushHunk = (h: [number, number, number, number]) => {
    const [old_start, old_lines, new_start, new_lines] = h;
    let [o, n] = [old_start, new_start];
    const start = at;
    // A hunk spans its context and removed lines on the old side, its context and added ones on the new.
    for (let left = old_lines + new_lines; left > 0 && k < p.kinds.length; k++, at++) {
      const c = KIND_OF[p.kinds[k]] ?? 0;
      kind[at] = c;
      if (c !== 1) oldNo[at] = o++;
      if (c !== 2) newNo[at] = n++;
      left -= c === 0 ? 2 : 1;
    }
    hunks.push({ old_start, old_lines, new_start, new_lines, at: start, size: at - start });
  };
  p.gaps.forEach(([old_start, new_start, size, eof], i) => {
    gaps.push({ old_start, new_start, size, no_newline_at_end: eof === 1, at });
    for (let j = 0; j < size; j++, at++) [oldNo[at], newNo[at]] = [old_start + j, new_start + j];
    if (i < p.hunks.length) pushHunk(p.hunks[i]);
  });
  if (p.gaps.length === 0) p.hunks.forEach(pushHunk);
  return { total: p.total, hunks, gaps, kind, oldNo, newNo };
}

/** A unified row: a hunk header, or the line at a display index. */
export type UnifiedRow = { kind: "hunk_header"; label: string; hunk: number } | { kind: "line"; at: number };
/** A split row: a hunk header, or the lines on each side (-1 for none). */
export type SplitRow = { kind: "hunk_header"; label: string; hunk: number } | { kind: "line"; left: number; right: number };

export function unifiedHunks(lay: Layout): HunkRows<UnifiedRow>[] {
  return lay.hunks.map((h, i) => {
    const body: UnifiedRow[] = new Array(h.size);
    for (let j = 0; j < h.size; j++) body[j] = { kind: "line", at: h.at + j };
    return { header: { kind: "hunk_header", label: hunkLabel(h), hunk: i + 1 }, body };
  });
}

/**
 * Side-by-side rows: within each change block (removed lines, then the added
 * ones right after) the i-th removed line sits next to the i-th added one;
 * context is on both sides. The engine's word emphasis pairs the same lines.
 */
export function splitHunks(lay: Layout): HunkRows<SplitRow>[] {
  return lay.hunks.map((h, n) => {
    const body: SplitRow[] = [];
    const end = h.at + h.size;
    for (let i = h.at; i < end; ) {
      if (lay.kind[i] === 0) {
        body.push({ kind: "line", left: i, right: i });
        i++;
        continue;
      }
      let r = i;
      while (r < end && lay.kind[r] === 2) r++;
      let a = r;
      while (a < end && lay.kind[a] === 1) a++;
      const [removed, added] = [r - i, a - r];
      for (let j = 0; j < Math.max(removed, added); j++) {
        body.push({ kind: "line", left: j < removed ? i + j : -1, right: j < added ? r + j : -1 });
      }
      i = a;
    }
    return { header: { kind: "hunk_header", label: hunkLabel(h), hunk: n + 1 }, body };
  });
}

export const unifiedContext =
  (lay: Layout) =>
  (gap: number, k: number): UnifiedRow => ({ kind: "line", at: lay.gaps[gap].at + k });

export const splitContext =
  (lay: Layout) =>
  (gap: number, k: number): SplitRow => {
    const at = lay.gaps[gap].at + k;
    return { kind: "line", left: at, right: at };
  };

/** Lines a request asks for: a few screens. A chunk still on its way when a
 * scroll starts lands in one of its frames, with the app's work on it taking
 * a core from the drawing: 500 lines kept that frame at or under 43 ms where
 * 2,000 reached 50 (BENCHMARKS.md, "The diff viewer's frames"). */
export const CHUNK = 500;

/**
 * A patch's lines as they arrive, in chunks of CHUNK display indices. A chunk
 * is kept as it came and each line becomes a `Line` when first shown, so a
 * chunk arriving while the user scrolls costs its parse and little else.
 */
export class LineStore {
  readonly #pages: (readonly PageLine[] | undefined)[];
  readonly #lines = new Map<number, Line>();
  /** The first chunk that may still be missing, for loading in order. */
  #next = 0;

  constructor(readonly lay: Layout) {
    this.#pages = new Array(Math.ceil(lay.total / CHUNK));
  }

  get chunks() {
    return this.#pages.length;
  }

  loaded(chunk: number) {
    return this.#pages[chunk] !== undefined;
  }

  /** The chunk to fetch next: the first missing one among `wanted` display
   * indices (what is on screen), else (unless `onlyWanted`) the first missing
   * one in order; -1 when there is none. */
  next(wanted: Iterable<number> = [], onlyWanted = false): number {
    for (const at of wanted) {
      const c = Math.floor(at / CHUNK);
      if (at >= 0 && c < this.chunks && !this.loaded(c)) return c;
    }
    if (onlyWanted) return -1;
    while (this.#next < this.chunks && this.loaded(this.#next)) this.#next++;
    return this.#next < this.chunks ? this.#next : -1;
  }

  fill(chunk: number, page: readonly PageLine[]) {
    this.#pages[chunk] = page;
  }

  /** The line at a display index; its text is empty until its chunk arrives.
   * The same object each time once it has arrived, so a row showing it is
   * not redrawn. */
  line(at: number): Line {
    const known = this.#lines.get(at);
    if (known) return known;
    const p = this.#pages[Math.floor(at / CHUNK)]?.[at % CHUNK];
    if (p === undefined) return lineOf(this.lay, at, "");
    const line = lineOf(this.lay, at, p);
    this.#lines.set(at, line);
    return line;
  }
}

function lineOf(lay: Layout, at: number, p: PageLine): Line {
  const [text, flat, eof] = typeof p === "string" ? [p, [], 0] : p;
  const emphasis: [number, number][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) emphasis.push([flat[i], flat[i + 1]]);
  return {
    kind: KINDS[lay.kind[at]],
    old_line: lay.oldNo[at] || null,
    new_line: lay.newNo[at] || null,
    text,
    emphasis,
    no_newline_at_end: eof === 1,
  };
}
