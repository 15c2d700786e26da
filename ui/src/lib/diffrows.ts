// Flattens a patch into fixed-height rows for the virtual list.
import type { Hunk, Line, SplitRow } from "./api";

export type UnifiedRow = { kind: "hunk_header"; label: string } | { kind: "line"; line: Line };

export function hunkLabel(h: { old_start: number; old_lines: number; new_start: number; new_lines: number }) {
  return `@@ -${h.old_start},${h.old_lines} +${h.new_start},${h.new_lines} @@`;
}

/** The widest line in characters, so the gutter and the scroll width fit. */
export function maxLineNumber(hunks: readonly Hunk[]): number {
  let max = 0;
  for (const h of hunks) max = Math.max(max, h.old_start + h.old_lines, h.new_start + h.new_lines);
  return max;
}

export function splitLabel(row: SplitRow): string {
  return row.kind === "hunk_header" ? hunkLabel(row) : "";
}

export const STATUS_LETTER: Record<string, string> = {
  added: "A",
  modified: "M",
  deleted: "D",
  renamed: "R",
  type_change: "T",
};

export function formatBytes(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KB`;
  return `${(n / 1024 / 1024).toFixed(1)} MB`;
}
