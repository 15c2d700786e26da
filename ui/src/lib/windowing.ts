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
  const visible = Math.ceil(Math.max(0, viewportHeight) / rowHeight) + 1;
  const start = Math.max(0, first - overscan);
  const end = Math.min(count, first + visible + overscan);
  return { start, end, offset: start * rowHeight, total };
}

/** The scrollTop that brings row `index` into view (top-aligned), for jumps. */
export function scrollTopFor(index: number, rowHeight: number): number {
  return Math.max(0, index) * rowHeight;
}
