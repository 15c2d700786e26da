// Windowing math for fixed-row-height virtual lists: which rows to render and
// where, so a 50,000-line diff costs as much DOM as one screenful.

export interface Window {
  /** First rendered row (inclusive). */
  start: number;
  /** Last rendered row (exclusive). */
  end: number;
  /** Pixel offset of row `start` from the top of the content. */
  offset: number;
  /** Height of the whole list, so the scrollbar is true to size. */
  total: number;
}

export function computeWindow(
  count: number,
  rowHeight: number,
  scrollTop: number,
  viewportHeight: number,
  overscan = 8,
): Window {
  const total = Math.max(0, count) * rowHeight;
  if (count <= 0 || rowHeight <= 0) return { start: 0, end: 0, offset: 0, total };
  const maxTop = Math.max(0, total - viewportHeight);
  const top = Math.min(Math.max(0, scrollTop), maxTop);
  const first = Math.floor(top / rowHeight);
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + onScreen(rowHeight, viewportHeight) + overscan);
  return { start, end, offset: start * rowHeight, total };
}

/** Rows that can be at least partly on screen at once. */
function onScreen(rowHeight: number, viewportHeight: number): number {
  return Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
}

/**
 * A rendered row's key: its slot in a ring as large as the longest window, so
 * no two rows of one window share a key, and a row that leaves the window
 * hands its DOM to the row that enters. A jump through the file then updates
 * the rows in place instead of building a screenful of new elements each
 * frame, and a small scroll moves a few rows from one end to the other.
 */
export function rowSlot(index: number, rowHeight: number, viewportHeight: number, overscan = 8): number {
  if (rowHeight <= 0) return index;
  return index % (onScreen(rowHeight, viewportHeight) + 2 * overscan);
}

/** The scrollTop that brings row `index` into view (top-aligned), for jumps. */
export function scrollTopFor(index: number, rowHeight: number): number {
  return Math.max(0, index) * rowHeight;
}

/** How a list is scrolling: not at all (for SETTLE_MS), moving, or skimming. */
export type Motion = "still" | "moving" | "skimming";

/** A rendered range of rows and when a scroll produced it. */
export interface Shown {
  start: number;
  end: number;
  /** The scroll event's time, in milliseconds. */
  at: number;
}

/** How close two scroll events must be to count as one fast movement. */
export const SKIM_GAP_MS = 100;
/** How long after the last fast scroll event the rows get their text back. */
export const SETTLE_MS = 120;

/**
 * Whether a scroll is skimming: it replaced every row on screen, right after
 * another scroll, as when the scrollbar's thumb is dragged through a long
 * list. Such a frame can show the rows' outline instead of their text, which
 * nobody can read at that speed and which is most of a frame's cost in
 * WebKitGTK's software drawing. A single jump (Home, End, a click on the
 * track) is not skimming: its first rows have their text in its first frame
 * (`FILL_ROWS`).
 */
export function skimming(before: Shown | null, after: Shown): boolean {
  if (!before) return false;
  const replaced = after.start >= before.end || after.end <= before.start;
  return replaced && after.at - before.at < SKIM_GAP_MS;
}

/** A range of rows `[start, end)`, as a window or the screen. */
type Rows = Pick<Window, "start" | "end">;

/** Rows `[from, to)` show their text; the list's other rows show their outline. */
export interface Filled {
  from: number;
  to: number;
}

/**
 * Rows given their text per frame drawn, after a scroll that brought more new
 * rows than that (a jump, a page step, the end of a skim). A screenful of new
 * text is a frame of 30–55 ms in WebKitGTK's software drawing; a third of a
 * screen keeps each frame well under 50 ms, and the rest follows in the next
 * frames. A wheel step brings two or three rows, so it shows no outline.
 */
export const FILL_ROWS = 12;

/** How long filling waits for the next frame before going on without it. */
export const FRAME_LATE_MS = 100;

/** Whether every rendered row of `win` shows its text. */
export function isFilled(filled: Filled, win: Rows): boolean {
  return filled.from <= win.start && filled.to >= win.end;
}

/**
 * The rows that keep their text when the rendered rows go from `before` to
 * `after`: those that had it and were rendered, and still are. When none are,
 * filling starts again at `first`, the first row on screen.
 */
export function keepFilled(
  filled: Filled,
  before: Rows,
  after: Rows,
  first: number,
): Filled {
  const from = Math.max(filled.from, before.start, after.start);
  const to = Math.min(filled.to, before.end, after.end);
  if (from < to) return { from, to };
  const at = Math.min(Math.max(first, after.start), after.end);
  return { from: at, to: at };
}

/** How many rows `filled` spans. */
export const filledRows = (filled: Filled) => Math.max(0, filled.to - filled.from);

/**
 * `filled` grown by up to `budget` rows inside `win`: the rows on `screen`
 * first (below what is filled, then above), then the overscan, so what the
 * user sees gets its text before what they do not.
 */
export function growFilled(
  filled: Filled,
  win: Rows,
  screen: Rows,
  budget = FILL_ROWS,
): Filled {
  let { from, to } = filled;
  const down = (limit: number) => {
    const n = Math.min(budget, Math.max(0, limit - to));
    to += n;
    budget -= n;
  };
  const up = (limit: number) => {
    const n = Math.min(budget, Math.max(0, from - limit));
    from -= n;
    budget -= n;
  };
  down(screen.end);
  up(screen.start);
  down(win.end);
  up(win.start);
  return { from, to };
}
