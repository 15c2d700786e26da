// App-wide state: the route, the open repository and the new-experiment form.
// Kept in module-level runes so a screen's state survives navigating away.
import type { AgentsReport, RepoInfo } from "./api";
import { blankApproach, type ApproachDraft } from "./approaches";
import { errorMessage, repoInspect } from "./api";
import { loadDiffView, saveDiffView, type DiffView } from "./prefs";

export type ExperimentTab = "variants" | "compare" | "judge" | "merge";

export type Route =
  | { name: "home" }
  | { name: "new" }
  | { name: "history" }
  | { name: "settings" }
  | { name: "experiment"; id: string; tab: ExperimentTab };

export const nav = $state<{ route: Route }>({ route: { name: "home" } });

export function go(route: Route) {
  nav.route = route;
}

export const session = $state<{ repo: RepoInfo | null; focusPathTick: number; launchRepo: string | null }>({
  repo: null,
  focusPathTick: 0,
  // Set once from the command line; Home opens it like a typed path, errors included.
  launchRepo: null,
});

/**
 * Re-reads the open repository after Fanout changed it (a merge, an undo), so
 * the header's HEAD and dirty count are not stale. A failure keeps the last
 * state: the action itself already reported its own outcome.
 */
export async function refreshRepo(root: string) {
  if (session.repo?.root !== root) return;
  try {
    const fresh = await repoInspect(root);
    if (session.repo?.root === root) session.repo = fresh;
  } catch {
    // The next explicit open shows the error in full.
  }
}

/** Ctrl+O: go home and put the cursor in the path field. */
export function focusPathInput() {
  go({ name: "home" });
  session.focusPathTick++;
}

let keySeq = 0;
export const nextKey = () => ++keySeq;

const DEFAULT_VARIANTS = 3;

function freshApproaches(): ApproachDraft[] {
  return Array.from({ length: DEFAULT_VARIANTS }, () => blankApproach(nextKey()));
}

export const draft = $state<{
  task: string;
  includeUncommitted: boolean;
  approaches: ApproachDraft[];
  /** Wishes for generated approaches, one per line. */
  hints: string;
  /** Run in each worktree after its agent; "" for none. */
  check: string;
  /** Where the approaches that name no host run: see `launchHosts`. */
  where: string;
}>({
  task: "",
  includeUncommitted: false,
  approaches: freshApproaches(),
  hints: "",
  check: "",
  where: "",
});

export function resetDraft() {
  draft.task = "";
  draft.hints = "";
  draft.check = "";
  draft.includeUncommitted = false;
  draft.approaches = freshApproaches();
}

/**
 * One asynchronous load with its loading and error states. A newer `run`
 * supersedes an older one, so a slow stale answer never overwrites a fresh one.
 */
export class Load<T> {
  value = $state.raw<T | null>(null);
  error = $state<string | null>(null);
  loading = $state(false);
  #token = 0;

  async run(fn: () => Promise<T>): Promise<T | null> {
    const token = ++this.#token;
    this.loading = true;
    this.error = null;
    try {
      const v = await fn();
      if (token === this.#token) this.value = v;
      return v;
    } catch (e) {
      if (token === this.#token) this.error = errorMessage(e);
      return null;
    } finally {
      if (token === this.#token) this.loading = false;
    }
  }

  reset() {
    this.#token++;
    this.value = null;
    this.error = null;
    this.loading = false;
  }
}

/**
 * The last check of the agent programs. Settings runs it on every visit (the
 * login shell, then each program's `--version`: Claude Code's alone is a Node
 * start, 0.65 s on a quiet machine) and shows the previous answer meanwhile,
 * so the screen neither waits nor jumps when the answer comes.
 */
export const agentsCheck = new Load<AgentsReport>();

/** The diff layout, remembered across files, experiments and restarts. */
export const diffPrefs = $state<{ view: DiffView }>({ view: loadDiffView() });

export function setDiffView(view: DiffView) {
  diffPrefs.view = view;
  saveDiffView(view);
}

export type CompareMode = "base" | "pair";

/** The Compare tab's selection, kept while switching tabs within one experiment. */
export const compareSel = $state<{ id: string | null; mode: CompareMode; variant: number; a: number; b: number }>({
  id: null,
  mode: "base",
  variant: 0,
  a: 0,
  b: 0,
});

/** Starts a fresh selection when a different experiment's Compare tab opens. */
export function selectExperiment(id: string, indices: readonly number[]) {
  if (compareSel.id === id) return;
  compareSel.id = id;
  compareSel.mode = "base";
  compareSel.variant = indices[0] ?? 0;
  compareSel.a = indices[0] ?? 0;
  compareSel.b = indices[1] ?? indices[0] ?? 0;
}

/** A similarity-matrix click: show that pair, A against B. */
export function openPair(a: number, b: number) {
  compareSel.mode = "pair";
  compareSel.a = a;
  compareSel.b = b;
}
