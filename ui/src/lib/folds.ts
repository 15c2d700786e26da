// Folding of unchanged regions in a file's diff. The engine sends each hunk
// with 3 lines of context plus the unchanged lines around the hunks ("gaps");
// a gap is shown as one "⋯ N unchanged lines" row until the user unfolds it,
// all at once or STEP lines at a time from either end. Pure functions over
// plain rows, so the unified and split views fold alike and both stay one
// flat list for the virtual list.
import type { Gap, Hunk, Line, SplitRow } from "./api";
import { hunkLabel, type UnifiedRow } from "./diffrows";

/** Gaps with fewer hidden lines than this are shown whole: a fold row would
 * take a row (and a click) to hide almost nothing. */
export const MIN_FOLD = 5;
/** Lines one "more" click unfolds. */
export const STEP = 20;

/** How much of one gap is shown: lines from its top (under the change above)
 * and from its bottom (over the change below). */
export interface Reveal {
  top: number;
  bottom: number;
}

export type FoldRow = {
  kind: "fold";
  /** Index of the gap: 0 is before the first hunk, hunks.length after the last. */
  gap: number;
  hidden: number;
  /** A step can extend the lines under the change above (not at file start). */
  fromTop: boolean;
  /** A step can extend the lines over the change below (not at file end). */
  fromBottom: boolean;
};

/** One hunk's rows: its header row and the rows of its lines. */
export interface HunkRows<R> {
  header: R;
  body: R[];
}

/** The shown part of a gap, normalized: never more than the gap, and a rest
 * too small to fold is shown too. */
export function shown(gap: Gap, reveal: Reveal | undefined): Reveal {
  const n = gap.lines.length;
  const top = Math.min(n, Math.max(0, reveal?.top ?? 0));
  const bottom = Math.min(n - top, Math.max(0, reveal?.bottom ?? 0));
  if (n - top - bottom < MIN_FOLD) return { top: n - bottom, bottom };
  return { top, bottom };
}

/** The reveal after one click on a fold row. */
export function expand(gap: Gap, reveal: Reveal | undefined, how: "all" | "top" | "bottom"): Reveal {
  const now = shown(gap, reveal);
  const n = gap.lines.length;
  if (how === "all") return { top: n - now.bottom, bottom: now.bottom };
  const hidden = n - now.top - now.bottom;
  const step = Math.min(STEP, hidden);
  return how === "top" ? shown(gap, { ...now, top: now.top + step }) : shown(gap, { ...now, bottom: now.bottom + step });
}

/** Line `k` of a gap as a context line, numbered on both sides. */
export function gapLine(gap: Gap, k: number): Line {
  return {
    kind: "context",
    old_line: gap.old_start + k,
    new_line: gap.new_start + k,
    text: gap.lines[k],
    emphasis: [],
    no_newline_at_end: gap.no_newline_at_end && k === gap.lines.length - 1,
  };
}

/**
 * The rows of a folded diff: for each gap its shown top lines, a fold row when
 * lines stay hidden, its shown bottom lines; then the next hunk. A hunk's
 * header is kept only where line numbers jump (hidden lines before it) or at
 * the very top, so a fully unfolded region reads as one continuous file.
 * Without gaps (one per hunk plus one) the hunks are returned as they are.
 */
export function foldRows<R>(
  hunks: readonly HunkRows<R>[],
  gaps: readonly Gap[] | undefined,
  reveals: ReadonlyMap<number, Reveal>,
  context: (line: Line) => R,
): (R | FoldRow)[] {
  const rows: (R | FoldRow)[] = [];
  const whole = !gaps || gaps.length !== hunks.length + 1;
  for (let i = 0; i <= hunks.length; i++) {
    let hidden = 0;
    if (!whole) {
      const gap = gaps[i];
      const s = shown(gap, reveals.get(i));
      hidden = gap.lines.length - s.top - s.bottom;
      for (let k = 0; k < s.top; k++) rows.push(context(gapLine(gap, k)));
      if (hidden > 0) rows.push({ kind: "fold", gap: i, hidden, fromTop: i > 0, fromBottom: i < hunks.length });
      for (let k = gap.lines.length - s.bottom; k < gap.lines.length; k++) rows.push(context(gapLine(gap, k)));
    }
    const hunk = hunks[i];
    if (!hunk) break;
    if (whole || hidden > 0 || rows.length === 0) rows.push(hunk.header);
    for (const r of hunk.body) rows.push(r);
  }
  return rows;
}

/** The engine's split rows cut at each hunk header. */
export function splitHunks(rows: readonly SplitRow[]): HunkRows<SplitRow>[] {
  const out: HunkRows<SplitRow>[] = [];
  for (const r of rows) {
    if (r.kind === "hunk_header") out.push({ header: r, body: [] });
    else out[out.length - 1]?.body.push(r);
  }
  return out;
}

export function unifiedHunks(hunks: readonly Hunk[]): HunkRows<UnifiedRow>[] {
  return hunks.map((h) => ({
    header: { kind: "hunk_header", label: hunkLabel(h) },
    body: h.lines.map((line) => ({ kind: "line", line })),
  }));
}

export const unifiedContext = (line: Line): UnifiedRow => ({ kind: "line", line });
export const splitContext = (line: Line): SplitRow => ({ kind: "line", left: line, right: line });
