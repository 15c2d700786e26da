// The cleanup dialog's model, apart from Svelte: which variants lose their
// branch, which hold work merged nowhere (and so need the user's tick or an
// archive tag), what the cleanup frees, and the request sent to the engine.
import type { CleanOptions, Variant, VariantDisk } from "./api";

/** What the user ticked for one variant. */
export interface Choice {
  /** Keep the branch's work as a tag `fanout/archive/<experiment>/<n>-<slug>`. */
  archive: boolean;
  /** Delete the branch even though its work is merged nowhere. */
  confirm: boolean;
}

export interface CleanupRow {
  index: number;
  name: string;
  branch: string;
  /** The worktree's size; null when unknown or the folder is gone. */
  bytes: number | null;
  /** Its branch stays (the winner the user keeps). */
  keptBranch: boolean;
  /** Commits on its branch that no other branch or tag holds, unless merged on record. */
  unmerged: number;
  archive: boolean;
  confirm: boolean;
  /** Unmerged work that would be deleted without the user's say: the engine refuses. */
  needsConfirm: boolean;
}

export function cleanupRows(
  variants: readonly Variant[],
  disk: readonly VariantDisk[] | null,
  keep: number | null,
  choices: Readonly<Record<number, Choice>>,
): CleanupRow[] {
  return variants.map((v) => {
    const d = disk?.find((x) => x.index === v.index);
    const keptBranch = v.index === keep;
    const unmerged = d && !d.merged && !keptBranch ? d.unmerged_commits : 0;
    const choice = choices[v.index] ?? { archive: false, confirm: false };
    const archive = !keptBranch && choice.archive;
    const confirm = unmerged > 0 && !archive && choice.confirm;
    return {
      index: v.index,
      name: v.name,
      branch: v.branch,
      bytes: d?.bytes ?? null,
      keptBranch,
      unmerged,
      archive,
      confirm,
      needsConfirm: unmerged > 0 && !archive && !confirm,
    };
  });
}

/** Every worktree goes (a kept winner keeps its branch, not its folder); a folder with uncommitted work may stay. */
export function bytesToFree(rows: readonly CleanupRow[]): number {
  return rows.reduce((sum, r) => sum + (r.bytes ?? 0), 0);
}

export function cleanRequest(rows: readonly CleanupRow[], keep: number | null, force: boolean): CleanOptions {
  return {
    keep,
    force,
    // Only the variants the user ticked, so work that appears after the
    // dialog measured (an agent's last commit) is still refused.
    confirmed: false,
    confirmed_variants: rows.filter((r) => r.confirm).map((r) => r.index),
    archive: rows.filter((r) => r.archive).map((r) => r.index),
  };
}

/** The tag the engine makes of a variant's branch `fanout/<experiment>/<n>-<slug>`. */
export function archiveTag(branch: string): string {
  return `fanout/archive/${branch.replace(/^fanout\//, "")}`;
}
