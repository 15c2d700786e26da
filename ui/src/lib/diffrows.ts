// Small helpers for the diff views.
import type { HunkHeader } from "./api";

export function hunkLabel(h: HunkHeader) {
  return `@@ -${h.old_start},${h.old_lines} +${h.new_start},${h.new_lines} @@`;
}

/** The widest line in characters, so the gutter and the scroll width fit. */
export function maxLineNumber(hunks: readonly HunkHeader[]): number {
  let max = 0;
  for (const h of hunks) max = Math.max(max, h.old_start + h.old_lines, h.new_start + h.new_lines);
  return max;
}

export const STATUS_LETTER: Record<string, string> = {
  added: "A",
  modified: "M",
  deleted: "D",
  renamed: "R",
  type_change: "T",
};

