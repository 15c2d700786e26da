// The Compare tab's report export and worktree buttons, apart from Svelte so
// their outcomes (saved, cancelled, failed) can be tested.
import { errorMessage, openFolder, openInEditor, reportExport } from "./api";

export type ExportOutcome =
  | { kind: "saved"; path: string }
  | { kind: "cancelled" }
  | { kind: "error"; message: string };

/** Asks where to save (the native dialog) and writes the report there. */
export async function exportReport(id: string, doExport: (id: string) => Promise<string | null> = reportExport): Promise<ExportOutcome> {
  try {
    const path = await doExport(id);
    return path == null ? { kind: "cancelled" } : { kind: "saved", path };
  } catch (e) {
    return { kind: "error", message: errorMessage(e) };
  }
}

/** The sentence shown after an export; nothing after a cancel. */
export function exportMessage(outcome: ExportOutcome | null): string | null {
  if (!outcome || outcome.kind === "cancelled") return null;
  return outcome.kind === "saved" ? `Report saved to ${outcome.path}` : outcome.message;
}

/** Opens a variant's worktree; the error's sentence, or `null` when it opened. */
export async function openWorktree(id: string, variant: number, how: "folder" | "editor"): Promise<string | null> {
  try {
    await (how === "folder" ? openFolder(id, variant) : openInEditor(id, variant));
    return null;
  } catch (e) {
    return errorMessage(e);
  }
}
