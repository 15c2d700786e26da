// The one place the UI talks to the backend. Every type that crosses is
// generated from the engine's Rust types (./generated/types.ts, `make types`);
// errors cross as `{ code, message }` (the engine's `Failure`) and reach
// components as a `BackendError` with a sentence. Components import the typed
// wrappers below, never `invoke`, so tests can mock this file.
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";
import type {
  AgentsReport,
  AppInfo,
  ApproachSpec,
  CleanOptions,
  CleanReport,
  Code,
  CommitResult,
  Experiment,
  ExperimentView,
  FileChange,
  FileDiffView,
  GenerationProgress,
  KeyStatus,
  MergeOutcome,
  MergePreview,
  MergeRecord,
  Outline,
  PageLine,
  Provider,
  RepoInfo,
  RepoSettings,
  RepoSettingsView,
  Settings,
  Steer,
  StoredEvent,
  Strategy,
  Tick,
  VariantDisk,
  Review,
  Ranking,
  JudgeOptions,
  Difference,
  Take,
  Variant,
  Stats,
  Machine,
  PrDraft,
  PullRequest,
  TokenStatus,
  HostConfig,
  HostReport,
} from "./generated/types";

export type * from "./generated/types";
export { ACTIVE_STATUSES, MAX_EVENTS_PAGE, MAX_VARIANTS } from "./generated/types";

/** A file's diff as the viewer first gets it (the engine's `FileDiffView`). */
export type FileDiff = FileDiffView;
/** A patch's outline with its tag: enough to lay out every row; the text is read by range. */
export type PatchOutline = { kind: "patch" } & Outline;
/** A hunk's header: where it starts and how many lines it spans on each side. */
export type HunkHeader = { old_start: number; old_lines: number; new_start: number; new_lines: number };
export type MergeStrategy = Strategy;

export class BackendError extends Error {
  constructor(
    readonly code: Code,
    message: string,
  ) {
    super(message);
  }
}

const CODES: readonly Code[] = ["diff_page_gone", "unmerged", "other"];

/** Turns whatever a rejected `invoke` gave into a `BackendError`. */
export function toBackendError(raw: unknown): BackendError {
  if (raw instanceof BackendError) return raw;
  if (raw && typeof raw === "object" && "message" in raw) {
    const { code, message } = raw as { code?: unknown; message?: unknown };
    const known = CODES.find((c) => c === code);
    return new BackendError(known ?? "other", String(message));
  }
  if (typeof raw === "string") return new BackendError("other", raw);
  return new BackendError("other", "The backend failed without saying why. Restart Fanout and try again.");
}

/** The sentence to show for any failure, whatever shape it came in. */
export function errorMessage(raw: unknown): string {
  return toBackendError(raw).message;
}

export async function call<T>(command: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(command, args);
  } catch (raw) {
    throw toBackendError(raw);
  }
}

export const appInfo = () => call<AppInfo>("app_info");

/** Tells the shell the first screen is painted (read by the startup benchmark). */
export const uiReady = () => call<void>("ui_ready");

export const repoInspect = (path: string) => call<RepoInfo>("repo_inspect", { path });

/** This machine's load and memory; null where the system does not say. */
export const machineStatus = () => call<Machine | null>("machine_status");

export const recentRepos = () => call<RepoInfo[]>("recent_repos");

export const experimentsList = () => call<Experiment[]>("experiments_list");

export const experimentGet = (id: string) => call<ExperimentView>("experiment_get", { id });

export const variantCommit = (id: string, variant: number | null) =>
  call<CommitResult[]>("variant_commit", { id, variant });

export const diffFiles = (id: string, variant: number, against: number | null) =>
  call<FileChange[]>("diff_files", { id, variant, against });

export const diffFile = (id: string, variant: number, against: number | null, path: string, force: boolean) =>
  call<FileDiffView>("diff_file", { id, variant, against, path, force });

/** Lines `start..start + count` of an opened patch. The shell sends JSON bytes it serialized once. */
export const diffFileLines = (token: number, start: number, count: number) =>
  call<ArrayBuffer>("diff_file_lines", { token, start, count }).then(
    (buf) => JSON.parse(new TextDecoder().decode(buf)) as PageLine[],
  );

export const similarity = (id: string) => call<number[][]>("similarity", { id });

export const mergePreview = (id: string, variant: number, target: string | null) =>
  call<MergePreview>("merge_preview", { id, variant, target });

export const mergeApply = (
  id: string,
  variant: number,
  target: string | null,
  strategy: MergeStrategy,
  message: string,
) => call<MergeOutcome>("merge_apply", { id, variant, target, strategy, message });

export const mergeUndo = (id: string) => call<MergeRecord>("merge_undo", { id });

/** Cleans up with the dialog's choices; only `confirmed_variants` may lose unmerged work. */
export const experimentClean = (id: string, options: CleanOptions) =>
  call<CleanReport>("experiment_clean", { id, options });

/** Walks every worktree: ask when a view opens or a run ends, never on a timer. */
export const experimentDisk = (id: string) => call<VariantDisk[]>("experiment_disk", { id });

export const repoSettingsGet = (repo: string) => call<RepoSettingsView>("repo_settings_get", { repo });

export const repoSettingsSave = (repo: string, settings: RepoSettings) =>
  call<RepoSettingsView>("repo_settings_save", { repo, settings });

/** Writes the saved settings to `.fanout.json` in the repository; returns its path. */
export const repoSettingsExport = (repo: string) => call<string>("repo_settings_export", { repo });

// The Run flow: launching, live updates, cancel/retry/follow-up, transcripts,
// approach generation.

export const experimentLaunch = (
  repo: string,
  task: string,
  approaches: ApproachSpec[],
  includeUncommitted: boolean,
  check: string | null,
  hosts: string[] = [],
) => call<ExperimentView>("experiment_launch", { repo, task, approaches, includeUncommitted, check, hosts });

/** Connects to a host as the settings form has it, saved or not. */
export const hostCheck = (host: HostConfig, sshConfig: string | null) =>
  call<HostReport>("host_check", { host, sshConfig });

/** Streams the experiment's ticks to `onTick`; returns the id `runStop` ends it with. */
export function runWatch(id: string, onTick: (tick: Tick) => void): Promise<string> {
  const channel = new Channel<Tick>();
  channel.onmessage = onTick;
  return call<string>("run_watch", { id, onTick: channel });
}

/** Ends a watch or a generation; false when it was already over. */
export const runStop = (task: string) => call<boolean>("run_stop", { task });

export const runCancel = (id: string, variant: number | null) => call<number>("run_cancel", { id, variant });

export const variantRetry = (id: string, variant: number) => call<void>("variant_retry", { id, variant });

export const variantFollowUp = (id: string, variant: number, text: string) =>
  call<void>("variant_follow_up", { id, variant, text });

export const variantEvents = (id: string, variant: number, afterSeq: number, limit: number) =>
  call<StoredEvent[]>("variant_events", { id, variant, afterSeq, limit });

export function approachesGenerate(
  request: string,
  repo: string,
  task: string,
  n: number,
  hints: string[],
  onProgress: (p: GenerationProgress) => void,
): Promise<ApproachSpec[]> {
  const channel = new Channel<GenerationProgress>();
  channel.onmessage = onProgress;
  const plan = { task, n, hints };
  return call<ApproachSpec[]>("approaches_generate", { request, repo, plan, onProgress: channel });
}

// --- Settings and the desktop plugins ---

export const settingsGet = () => call<Settings>("settings_get");

export const settingsSave = (settings: Settings) => call<Settings>("settings_save", { settings });

export const agentsDetect = () => call<AgentsReport>("agents_detect");

export const apiKeyStatus = (provider: Provider) => call<KeyStatus>("api_key_status", { provider });

export const apiKeySave = (provider: Provider, key: string) => call<KeyStatus>("api_key_save", { provider, key });

export const apiKeyDelete = (provider: Provider) => call<KeyStatus>("api_key_delete", { provider });

/** The native folder picker; `null` when cancelled. */
export const pickFolder = (start: string | null) => call<string | null>("pick_folder", { start });

/** The save dialog, then the Markdown report written there; its path, or `null` when cancelled. */
export const reportExport = (id: string) => call<string | null>("report_export", { id });

export const openFolder = (id: string, variant: number) => call<void>("open_folder", { id, variant });

export const openInEditor = (id: string, variant: number) => call<void>("open_in_editor", { id, variant });

/** A second launch of Fanout with a repository path hands it to this window. */
export function onOpenRepo(handler: (path: string) => void) {
  listen<string>("open-repo", (e) => handler(e.payload)).catch(() => {
    // Outside Tauri (tests, a plain browser) there are no second launches.
  });
}

// --- Approvals and steering (the "ask" profile's two-way sessions) ---

// --- Choosing the winner: reviews, the judge, what differs, combining, stats ---

export const reviewsGet = (id: string) => call<Review[]>("reviews_get", { id });

/** Has the settings' reviewer review one variant now. */
export const variantReview = (id: string, variant: number) => call<Review>("variant_review", { id, variant });

export const rankingGet = (id: string) => call<Ranking | null>("ranking_get", { id });

/** Has the settings' reviewer rank every variant. */
export const experimentJudge = (id: string, options: JudgeOptions) =>
  call<Ranking>("experiment_judge", { id, options });

export const differenceGet = (id: string, a: number, b: number) =>
  call<Difference | null>("difference_get", { id, a, b });

export const differenceExplain = (id: string, a: number, b: number) =>
  call<Difference>("difference_explain", { id, a, b });

/** A new variant from whole files and hunks picked from any variants. */
export const variantCombine = (id: string, takes: Take[]) => call<Variant>("variant_combine", { id, takes });

/** A new variant an agent writes from the chosen variants' work and the note, started now. */
export const variantSynthesize = (id: string, from: number[], note: string) =>
  call<Variant>("variant_synthesize", { id, from, note });

/** The experiment's check alone, in one variant's worktree as it is. */
export const variantCheck = (id: string, variant: number) => call<void>("variant_check", { id, variant });

export const statsGet = (repo: string | null) => call<Stats>("stats_get", { repo });

/** The pull request Fanout would open for the variant, every field editable. */
export const prDraft = (id: string, variant: number, remote: string) =>
  call<PrDraft>("pr_draft", { id, variant, remote });

/** Pushes the variant's branch and opens the pull request as edited. */
export const prOpen = (id: string, variant: number, draft: PrDraft) =>
  call<PullRequest>("pr_open", { id, variant, draft });

export const githubTokenStatus = () => call<TokenStatus>("github_token_status");

export const githubTokenSave = (token: string) => call<TokenStatus>("github_token_save", { token });

/** Answers a variant's approval request, or steers its running session. */
export const variantSteer = (id: string, variant: number, steer: Steer) =>
  call<void>("variant_steer", { id, variant, steer });

export const approvalAllow = (id: string, variant: number, request: string) =>
  variantSteer(id, variant, { type: "allow", request });

export const approvalAllowAlways = (id: string, variant: number, tool: string) =>
  variantSteer(id, variant, { type: "allow_always", tool });

export const approvalDeny = (id: string, variant: number, request: string, message: string) =>
  variantSteer(id, variant, { type: "deny", request, message });

export const steerSend = (id: string, variant: number, text: string) => variantSteer(id, variant, { type: "send", text });

export const steerInterrupt = (id: string, variant: number) => variantSteer(id, variant, { type: "interrupt" });
