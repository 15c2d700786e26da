// Remembered UI choices. localStorage may be unavailable or full; a preference
// is never worth an error, so failures fall back to the default.

export type DiffView = "unified" | "split";

const DIFF_VIEW_KEY = "fanout.diffView";

type Storage = Pick<globalThis.Storage, "getItem" | "setItem">;

function storage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

export function loadDiffView(store: Storage | null = storage()): DiffView {
  try {
    return store?.getItem(DIFF_VIEW_KEY) === "split" ? "split" : "unified";
  } catch {
    return "unified";
  }
}

export function saveDiffView(view: DiffView, store: Storage | null = storage()): void {
  try {
    store?.setItem(DIFF_VIEW_KEY, view);
  } catch {
    // Private mode or a full quota: the toggle still works for this session.
  }
}
