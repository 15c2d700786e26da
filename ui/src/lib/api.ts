// The one place the UI talks to the backend. Errors cross the boundary as
// `{ kind, message }`; everything else sees a `BackendError` with a sentence.
// Components import the typed wrappers below, never `invoke`, so tests can mock this file.
import { Channel, invoke } from "@tauri-apps/api/core";
import { listen } from "@tauri-apps/api/event";

export interface AppInfo {
  name: string;
  version: string;
  /** A repository given on the command line (`fanout-app /some/repo`), to open first. */
  launch_repo: string | null;
}

export interface RepoInfo {
  root: string;
  branch: string | null;
  head: { id: string; summary: string };
  dirty_files: number;
}

export type ExperimentStatus = "ready" | "running" | "finished" | "failed" | "cancelled" | "merged";

export interface Experiment {
  id: string;
  slug: string;
  repo_root: string;
  task: string;
  base_commit: string;
  base_ref: string | null;
  target_branch: string | null;
  created_at: string;
  status: ExperimentStatus;
}

export type VariantStatus =
  | "ready"
  | "queued"
  | "preparing"
  | "running"
  | "needs_input"
  | "checking"
  | "succeeded"
  | "failed"
  | "cancelled"
  | "interrupted";

export interface CheckResult {
  command: string;
  exit_code: number | null;
  duration_ms: number;
  output_tail: string;
}

export interface Variant {
  experiment_id: string;
  index: number;
  name: string;
  slug: string;
  description: string;
  guidelines: string;
  agent: string | null;
  model: string | null;
  branch: string;
  worktree: string;
  status: VariantStatus;
  started_at: string | null;
  finished_at: string | null;
  exit_code: number | null;
  error: string | null;
  summary: string | null;
  cost_usd: number | null;
  input_tokens: number | null;
  output_tokens: number | null;
  turns: number | null;
  check: CheckResult | null;
  head_commit: string | null;
}

export type ExperimentView = Experiment & { variants: Variant[] };

export interface ApproachSpec {
  name: string;
  description: string;
  guidelines: string;
  agent: string | null;
  model: string | null;
}

export interface FileChange {
  path: string;
  old_path: string | null;
  status: "added" | "modified" | "deleted" | "renamed" | "type_change";
  binary: boolean;
  added: number;
  removed: number;
}

export interface Line {
  kind: "context" | "added" | "removed";
  old_line: number | null;
  new_line: number | null;
  text: string;
  /** UTF-8 byte ranges in `text`: convert before slicing a JS string. */
  emphasis: [number, number][];
  no_newline_at_end: boolean;
}

/** A hunk's header: where it starts and how many lines it spans on each side. */
export interface HunkHeader {
  old_start: number;
  old_lines: number;
  new_start: number;
  new_lines: number;
}

/**
 * A patch's outline (the engine's `diff::Outline`): enough to lay out every
 * row. The lines' text is read by range with `diffFileLines`; they run in
 * display order: gap 0, hunk 0, gap 1, …, the last gap.
 */
export interface PatchOutline {
  kind: "patch";
  /** Reads this patch's lines while the engine still holds it. */
  token: number;
  /** `[old_start, old_lines, new_start, new_lines]` per hunk. */
  hunks: [number, number, number, number][];
  /** `[old_start, new_start, line count, no newline at end (0/1)]` per gap: hunks + 1, or none. */
  gaps: [number, number, number, number][];
  /** One character per hunk line, all hunks in order: " " context, "+" added, "-" removed. */
  kinds: string;
  total: number;
  added: number;
  removed: number;
  timed_out: boolean;
}

export type FileDiff =
  | { kind: "binary"; old_size: number; new_size: number }
  | { kind: "too_large"; old_size: number; new_size: number; old_lines: number; new_lines: number }
  | PatchOutline;

/** One line's text as sent: bare, or with flat UTF-8 emphasis offsets `[s, e, s, e, …]` and a 1 for "no newline at end". */
export type PageLine = string | [string, number[]] | [string, number[], 1];

export interface MergePreview {
  target: string;
  target_head: string;
  source: string;
  files: string[];
  conflicts: string[];
  checked_out: boolean;
  blocked_by_uncommitted: string[];
  already_merged: boolean;
}

export type MergeStrategy = "squash" | "merge";

export interface MergeOutcome {
  target: string;
  commit: string;
  previous: string;
  /** The variant's commit that was merged. */
  source: string;
  strategy: MergeStrategy;
  files: string[];
}

export interface MergeRecord {
  experiment_id: string;
  variant: number;
  target: string;
  commit: string;
  previous: string;
  source: string | null;
  strategy: MergeStrategy;
  created_at: string;
  undone: boolean;
}

export interface RemoveReport {
  removed: string[];
  kept_dirty: string[];
  missing_pruned: string[];
  branches_deleted: string[];
  branches_kept: string[];
  /** One sentence per worktree or branch that was kept, saying why. */
  messages: string[];
}

export interface CommitResult {
  index: number;
  commit: string | null;
}

export class BackendError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/** Turns whatever a rejected `invoke` gave into a `BackendError`. */
export function toBackendError(raw: unknown): BackendError {
  if (raw instanceof BackendError) return raw;
  if (raw && typeof raw === "object" && "message" in raw) {
    const { kind, message } = raw as { kind?: unknown; message?: unknown };
    return new BackendError(String(kind ?? "unknown"), String(message));
  }
  if (typeof raw === "string") return new BackendError("unknown", raw);
  return new BackendError("unknown", "The backend failed without saying why. Restart Fanout and try again.");
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

export const recentRepos = () => call<RepoInfo[]>("recent_repos");

export const experimentsList = () => call<Experiment[]>("experiments_list");

export const experimentGet = (id: string) => call<ExperimentView>("experiment_get", { id });

export const variantCommit = (id: string, variant: number | null) =>
  call<CommitResult[]>("variant_commit", { id, variant });

export const diffFiles = (id: string, variant: number, against: number | null) =>
  call<FileChange[]>("diff_files", { id, variant, against });

export const diffFile = (id: string, variant: number, against: number | null, path: string, force: boolean) =>
  call<FileDiff>("diff_file", { id, variant, against, path, force });

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

/** The engine's `CleanReport`: what was removed, and what it freed and archived. */
export interface CleanReport extends RemoveReport {
  freed_bytes: number;
  archived: { index: number; tag: string; commit: string }[];
}

export interface CleanRequest {
  /** The variant whose branch stays. */
  keep: number | null;
  /** Also remove worktrees with uncommitted changes. */
  force: boolean;
  /** Variants whose work merged nowhere the user ticked to delete; any other is refused. */
  confirm: number[];
  /** Variants kept as a tag `fanout/archive/<experiment>/<n>-<slug>` instead of their branch. */
  archive: number[];
}

export const experimentClean = (id: string, request: CleanRequest) =>
  call<CleanReport>("experiment_clean", { id, request });

/** One variant's footprint (the engine's `VariantDisk`). */
export interface VariantDisk {
  index: number;
  name: string;
  branch: string;
  worktree: string;
  /** null when the worktree folder is gone. */
  bytes: number | null;
  /** Commits of its branch that no other branch or tag holds. */
  unmerged_commits: number;
  /** A merge of it is on record (and not undone). */
  merged: boolean;
}

/** Walks every worktree: ask when a view opens or a run ends, never on a timer. */
export const experimentDisk = (id: string) => call<VariantDisk[]>("experiment_disk", { id });

/** How each new worktree of a repository is prepared (the engine's `RepoSettings`). */
export interface RepoSettings {
  copy: string[];
  setup_command: string | null;
  setup_timeout_secs: number;
  /** Checks may reach the network; off, they run with loopback only (in the sandbox). */
  check_network: boolean;
}

export interface RepoSettingsView {
  repo_root: string;
  settings: RepoSettings;
  /** false while the repository still uses the defaults. */
  stored: boolean;
}

export const repoSettingsGet = (repo: string) => call<RepoSettingsView>("repo_settings_get", { repo });

export const repoSettingsSave = (repo: string, settings: RepoSettings) =>
  call<RepoSettingsView>("repo_settings_save", { repo, settings });

/** Writes the saved settings to `.fanout.json` in the repository; returns its path. */
export const repoSettingsExport = (repo: string) => call<string>("repo_settings_export", { repo });

// The Run flow: launching, live updates, cancel/retry/follow-up, transcripts,
// approach generation.

/** A variant's live state, as the engine publishes it (coalesced). */
export interface Progress {
  status: VariantStatus;
  started_at: string | null;
  tool_calls: number;
  turns: number | null;
  input_tokens: number;
  output_tokens: number;
  cost_usd: number | null;
  activity: string | null;
  error: string | null;
}

/** A session event, tagged by `type` (the engine's `SessionEvent`). */
export type SessionEvent = { type: string } & Record<string, unknown>;

export interface VariantBatch {
  experiment_id: string;
  variant: number;
  progress: Progress | null;
  events: SessionEvent[];
  /** Approval requests and answers since the last tick (two-way sessions). */
  approvals?: ApprovalUpdate[];
}

export interface Tick {
  batches: VariantBatch[];
  /** Updates this watcher missed; reload from the store. */
  missed: number;
}

/** A stored transcript event; `kind` is the session event's type, or "launch"/"check". */
export interface StoredEvent {
  seq: number;
  time: string;
  kind: string;
  payload: Record<string, unknown>;
}

export interface GenerationProgress {
  stage: string;
  elapsed_ms: number;
}

export const experimentLaunch = (
  repo: string,
  task: string,
  approaches: ApproachSpec[],
  includeUncommitted: boolean,
  check: string | null,
) => call<ExperimentView>("experiment_launch", { repo, task, approaches, includeUncommitted, check });

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
  return call<ApproachSpec[]>("approaches_generate", { request, repo, task, n, hints, onProgress: channel });
}

// --- Settings and the desktop plugins ---

export type Theme = "system" | "light" | "dark";
export type AgentKind = "claude_code" | "codex" | "command" | "api";
export type PermissionProfile = "edits" | "edits_and_commands" | "bypass" | "ask";
export type Provider = "anthropic" | "open_ai";

export interface ApiEndpoint {
  provider: Provider;
  base_url: string | null;
  model: string | null;
}

/** The engine's `Settings`, as saved in settings.json. */
export interface Settings {
  claude_path: string | null;
  codex_path: string | null;
  default_agent: AgentKind;
  default_model: string | null;
  permission: PermissionProfile;
  agent_command: string | null;
  api: ApiEndpoint;
  max_parallel: number | null;
  timeout_minutes: number;
  worktree_root: string | null;
  methodology_path: string | null;
  theme: Theme;
  approvals: ApprovalSettings;
  editor_command: string | null;
  /** Agents, setup commands and checks run in the bubblewrap sandbox where it works. */
  sandbox: boolean;
  /** Secret variables the custom command agent may inherit. */
  agent_command_env: string[];
}

export interface AgentStatus {
  kind: AgentKind;
  program: string;
  found: boolean;
  path: string | null;
  version: string | null;
  problem: string | null;
  install: string;
}

export interface SandboxAvailability {
  available: boolean;
  bwrap: string | null;
  /** Why the sandbox cannot be used here, and what to do. */
  reason: string | null;
}

export interface AgentsReport {
  agents: AgentStatus[];
  path_note: string | null;
  sandbox: SandboxAvailability;
}

export interface KeyStatus {
  provider: Provider;
  source: "keyring" | "environment" | "none";
  /** Like `sk-…a1b2`; the key itself never reaches the page. */
  masked: string | null;
  env_var: string;
}

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

/** The engine's `ApprovalRules`. */
export interface ApprovalRules {
  edit_tools: string[];
  allow_edits_in_worktree: boolean;
  deny_paths_outside_worktree: boolean;
  allow_tools: string[];
  deny_tools: string[];
  timeout_secs: number;
}

/** Defaults and per-repository overrides, keyed by the repository root. */
export interface ApprovalSettings {
  defaults: ApprovalRules;
  repositories: Record<string, ApprovalRules>;
}

export type ApprovalDisplay =
  | { kind: "command"; command: string }
  | { kind: "diff"; path: string; diff: string }
  | { kind: "input"; text: string };

export interface ApprovalRequest {
  id: string;
  tool: string;
  input: unknown;
  tool_use_id: string | null;
  display: ApprovalDisplay;
}

export type ApprovalUpdate =
  | { type: "requested"; request: ApprovalRequest }
  | {
      type: "resolved";
      id: string;
      tool: string;
      allowed: boolean;
      message: string | null;
      by: "rule" | "user" | "allowed_tool";
    }
  | { type: "withdrawn"; id: string }
  | { type: "awaiting_message" };

export const approvalAllow = (id: string, variant: number, request: string) =>
  call<void>("approval_allow", { id, variant, request });

export const approvalAllowAlways = (id: string, variant: number, tool: string) =>
  call<void>("approval_allow_always", { id, variant, tool });

export const approvalDeny = (id: string, variant: number, request: string, message: string) =>
  call<void>("approval_deny", { id, variant, request, message });

export const steerSend = (id: string, variant: number, text: string) => call<void>("steer_send", { id, variant, text });

export const steerInterrupt = (id: string, variant: number) => call<void>("steer_interrupt", { id, variant });
