// When the merge dialog's Confirm must stay disabled, and why (shown beside it).
import type { MergePreview } from "./api";

export function mergeBlockedReason(
  preview: MergePreview | null,
  loading: boolean,
  error: string | null,
  message: string,
): string | null {
  if (loading) return "Checking the merge…";
  if (error || !preview) return "The merge could not be previewed.";
  if (preview.blocked_by_uncommitted.length > 0) return "Uncommitted changes in the target checkout would be overwritten.";
  if (preview.conflicts.length > 0) return "The variant conflicts with the target branch.";
  if (preview.already_merged) return "This variant is already merged into the target.";
  if (message.trim() === "") return "Write a commit message.";
  return null;
}
