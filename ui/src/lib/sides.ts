// Variant against variant: which side changed each file. The A-against-B
// list alone cannot say (a file differs whether A or B touched it), so each
// variant's own changes against the base decide.
import type { FileChange } from "./api";

/** "a": only A changed the file (B has the base's version); "b": only B did;
 * "both": both changed it, differently. */
export type Side = "a" | "b" | "both";

/** Every path a variant's changes touch, both ends of renames included. */
export function touched(changes: readonly FileChange[]): Set<string> {
  const out = new Set<string>();
  for (const c of changes) {
    out.add(c.path);
    if (c.old_path) out.add(c.old_path);
  }
  return out;
}

/** Who changed `file` (from the A-against-B list), or null when neither
 * variant's changes name it, which only a rename detected on one diff and not
 * the other can cause: then nothing is claimed. */
export function sideOf(file: FileChange, a: ReadonlySet<string>, b: ReadonlySet<string>): Side | null {
  const paths = file.old_path ? [file.path, file.old_path] : [file.path];
  const inA = paths.some((p) => a.has(p));
  const inB = paths.some((p) => b.has(p));
  if (inA && inB) return "both";
  if (inA) return "a";
  if (inB) return "b";
  return null;
}

export const SIDE_LABEL: Record<Side, string> = { a: "only A", b: "only B", both: "both" };

export function sideTitle(side: Side): string {
  if (side === "a") return "Only A changed this file; B has the base's version.";
  if (side === "b") return "Only B changed this file; A has the base's version.";
  return "Both A and B changed this file, differently.";
}
