// Folding of unchanged regions in a file's diff. The engine's outline gives
// each hunk with 3 lines of context plus the unchanged lines around the hunks ("gaps");
// a gap is shown as one "⋯ N unchanged lines" row until the user unfolds it,
// all at once or STEP lines at a time from either end. Pure functions over
// plain rows, so the unified and split views fold alike and both stay one
// flat list for the virtual list.

/** A run of unchanged lines around the hunks, as folding needs it. */
export interface FoldGap {
  size: number;
}

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
export function shown(gap: FoldGap, reveal: Reveal | undefined): Reveal {
  const n = gap.size;
  const top = Math.min(n, Math.max(0, reveal?.top ?? 0));
  const bottom = Math.min(n - top, Math.max(0, reveal?.bottom ?? 0));
  if (n - top - bottom < MIN_FOLD) return { top: n - bottom, bottom };
  return { top, bottom };
}

/** The reveal after one click on a fold row. */
export function expand(gap: FoldGap, reveal: Reveal | undefined, how: "all" | "top" | "bottom"): Reveal {
  const now = shown(gap, reveal);
  const n = gap.size;
  if (how === "all") return { top: n - now.bottom, bottom: now.bottom };
  const hidden = n - now.top - now.bottom;
  const step = Math.min(STEP, hidden);
  return how === "top" ? shown(gap, { ...now, top: now.top + step }) : shown(gap, { ...now, bottom: now.bottom + step });
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
  gaps: readonly FoldGap[] | undefined,
  reveals: ReadonlyMap<number, Reveal>,
  context: (gap: number, k: number) => R,
): (R | FoldRow)[] {
  const rows: (R | FoldRow)[] = [];
  const whole = !gaps || gaps.length !== hunks.length + 1;
  for (let i = 0; i <= hunks.length; i++) {
    let hidden = 0;
    if (!whole) {
      const gap = gaps[i];
      const s = shown(gap, reveals.get(i));
      hidden = gap.size - s.top - s.bottom;
      for (let k = 0; k < s.top; k++) rows.push(context(i, k));
      if (hidden > 0) rows.push({ kind: "fold", gap: i, hidden, fromTop: i > 0, fromBottom: i < hunks.length });
      for (let k = gap.size - s.bottom; k < gap.size; k++) rows.push(context(i, k));
    }
    const hunk = hunks[i];
    if (!hunk) break;
    if (whole || hidden > 0 || rows.length === 0) rows.push(hunk.header);
    for (const r of hunk.body) rows.push(r);
  }
  return rows;
}
