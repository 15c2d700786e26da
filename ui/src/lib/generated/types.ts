// Generated from the engine's Rust types by `make types` (fanout_engine::ipc).
// Do not edit: change the Rust type and run `make types`.

/**
 * An experiment's full id.
 */
export type ExperimentId = string;

export type JsonValue = number | string | boolean | Array<JsonValue> | { [key in string]?: JsonValue } | null;

/**
 * A variant's index within its experiment, 1 to N.
 */
export type VariantIndex = number;

/**
 * What a face switches on.
 */
export type Code = "diff_page_gone" | "unmerged" | "other";

/**
 * A failure as a face receives it.
 */
export type Failure = { code: Code, message: string, };

/**
 * What the window shows of the app itself.
 */
export type AppInfo = { name: string, version: string, 
/**
 * A repository given on the command line (`fanout-app /some/repo`), to open first.
 */
launch_repo: string | null, };

/**
 * The machine as it is now.
 */
export type Machine = { 
/**
 * The load average over the last minute.
 */
load_1: number, cores: number, 
/**
 * Memory the kernel says new work can have without swapping (`MemAvailable`).
 */
memory_available: number, memory_total: number, };

/**
 * What the user sees after opening a repository.
 */
export type RepoInfo = { 
/**
 * The top-level directory of the working tree.
 */
root: string, 
/**
 * The checked-out branch, or `None` when HEAD is detached.
 */
branch: string | null, head: CommitInfo, 
/**
 * Files with uncommitted changes: staged, unstaged or untracked (not ignored).
 */
dirty_files: number, };

/**
 * A commit, as shown to the user.
 */
export type CommitInfo = { id: string, summary: string, };

/**
 * The commit an experiment starts from.
 */
export type Base = { commit: string, 
/**
 * The ref keeping a snapshot commit alive, when the base is one.
 */
snapshot_ref: string | null, };

/**
 * One task explored several ways.
 */
export type Experiment = { 
/**
 * A UUID v4 as 32 hex digits, minted by the engine when it creates the experiment.
 */
id: string, slug: string, repo_root: string, task: string, base_commit: string, 
/**
 * `refs/fanout/...` when the base is a snapshot of uncommitted changes.
 */
base_ref: string | null, 
/**
 * The branch the user was on; `None` when HEAD was detached.
 */
target_branch: string | null, 
/**
 * RFC 3339, UTC.
 */
created_at: string, status: ExperimentStatus, };

/**
 * Where an experiment is in its life.
 */
export type ExperimentStatus = "ready" | "running" | "finished" | "failed" | "cancelled" | "merged";

/**
 * An experiment with its variants, as shown to the user.
 */
export type ExperimentView = { variants: Array<Variant>, 
/**
 * A UUID v4 as 32 hex digits, minted by the engine when it creates the experiment.
 */
id: string, slug: string, repo_root: string, task: string, base_commit: string, 
/**
 * `refs/fanout/...` when the base is a snapshot of uncommitted changes.
 */
base_ref: string | null, 
/**
 * The branch the user was on; `None` when HEAD was detached.
 */
target_branch: string | null, 
/**
 * RFC 3339, UTC.
 */
created_at: string, status: ExperimentStatus, };

/**
 * One approach of an experiment, in its own worktree and branch.
 */
export type Variant = { experiment_id: string, 
/**
 * 1..=N within its experiment.
 */
index: number, name: string, slug: string, description: string, guidelines: string, agent: string, model: string | null, branch: string, worktree: string, status: VariantStatus, started_at: string | null, finished_at: string | null, exit_code: number | null, error: string | null, summary: string | null, cost_usd: number | null, input_tokens: number | null, output_tokens: number | null, turns: number | null, check: CheckResult | null, 
/**
 * The variant branch's last auto-commit.
 */
head_commit: string | null, 
/**
 * The ssh host (an alias of the user's ssh configuration) the variant
 * runs on; `None` on this machine.
 */
host: string | null, };

/**
 * Where one variant (one approach, one worktree) is in its life.
 */
export type VariantStatus = "ready" | "queued" | "preparing" | "running" | "needs_input" | "checking" | "succeeded" | "failed" | "cancelled" | "interrupted";

/**
 * The outcome of the experiment's check command in one variant's worktree.
 */
export type CheckResult = { command: string, 
/**
 * `None` when the command was killed by a signal or timed out.
 */
exit_code: number | null, duration_ms: number, output_tail: string, };

/**
 * One approach as the user wrote or accepted it.
 */
export type ApproachSpec = { name: string, description: string, guidelines: string, agent: string | null, model: string | null, 
/**
 * The ssh host it runs on (see [`crate::hosts`]); `None` or `local`
 * is this machine.
 */
host: string | null, };

/**
 * Per-variant outcome of [`Engine::commit`].
 */
export type CommitResult = { index: number, 
/**
 * The new commit, or `None` when the worktree had nothing to commit.
 */
commit: string | null, };

/**
 * One variant's footprint, see [`Engine::disk_usage`].
 */
export type VariantDisk = { index: number, name: string, branch: string, worktree: string, 
/**
 * `None` when the worktree folder is gone.
 */
bytes: number | null, 
/**
 * Commits of its branch that no other branch or tag holds.
 */
unmerged_commits: number, 
/**
 * A merge of it is on record (and not undone).
 */
merged: boolean, };

/**
 * How [`Engine::clean`] cleans up.
 */
export type CleanOptions = { 
/**
 * A variant whose branch stays; its worktree goes.
 */
keep: VariantIndex | null, 
/**
 * Also remove worktrees with uncommitted changes.
 */
force: boolean, 
/**
 * Also delete every branch holding work that is merged nowhere
 * (`fanout clean --force`).
 */
confirmed: boolean, 
/**
 * Variants whose work merged nowhere the user agreed to delete, one by
 * one (the GUI's tick boxes); any other is still refused.
 */
confirmed_variants: Array<VariantIndex>, 
/**
 * Variants kept as a tag `fanout/archive/<experiment>/<n>-<slug>`
 * instead of their branch.
 */
archive: Array<VariantIndex>, };

/**
 * What [`Engine::clean`] did.
 */
export type CleanReport = { 
/**
 * What the removed worktrees occupied on disk, measured before removal.
 */
freed_bytes: number, archived: Array<ArchivedVariant>, 
/**
 * Worktrees on ssh hosts that could not be removed there, each with
 * why (the host was unreachable, say); the local side is clean.
 */
left_on_hosts: Array<string>, 
/**
 * Worktree folders removed.
 */
removed: Array<string>, 
/**
 * Kept because they had uncommitted changes and removal was not forced.
 */
kept_dirty: Array<string>, 
/**
 * The folder was already gone (deleted by hand): pruned, not an error.
 */
missing_pruned: Array<string>, branches_deleted: Array<string>, branches_kept: Array<string>, 
/**
 * One sentence per worktree or branch that was kept, saying why and what to do.
 */
messages: Array<string>, };

/**
 * A variant whose branch became an archive tag.
 */
export type ArchivedVariant = { index: number, tag: string, commit: string, };

export type RemoveReport = { 
/**
 * Worktree folders removed.
 */
removed: Array<string>, 
/**
 * Kept because they had uncommitted changes and removal was not forced.
 */
kept_dirty: Array<string>, 
/**
 * The folder was already gone (deleted by hand): pruned, not an error.
 */
missing_pruned: Array<string>, branches_deleted: Array<string>, branches_kept: Array<string>, 
/**
 * One sentence per worktree or branch that was kept, saying why and what to do.
 */
messages: Array<string>, };

/**
 * One row of the results table.
 */
export type VariantResult = { index: number, name: string, agent: string, model: string | null, 
/**
 * Where it ran: `local`, or the ssh host's alias.
 */
host: string, status: VariantStatus, duration_ms: number | null, turns: number | null, input_tokens: number | null, output_tokens: number | null, cost_usd: number | null, 
/**
 * Against the base; `None` when the branch is gone (cleaned up).
 */
files_changed: number | null, lines_added: number | null, lines_removed: number | null, check: CheckResult | null, check_passed: boolean | null, summary: string | null, error: string | null, branch: string, };

export type FileChange = { 
/**
 * The new path, or the old one for deletions.
 */
path: string, 
/**
 * The path before a rename.
 */
old_path: string | null, status: FileStatus, binary: boolean, added: number, removed: number, };

export type FileStatus = "added" | "modified" | "deleted" | "renamed" | "type_change";

export type FileDiff = { "kind": "binary", old_size: number, new_size: number, } | { "kind": "too_large", old_size: number, new_size: number, old_lines: number, new_lines: number, } | { "kind": "patch", hunks: Array<Hunk>, 
/**
 * The unchanged lines before each hunk and, last, after the final
 * one: `hunks.len() + 1` gaps (some empty), or none when there are
 * no hunks. Together with the hunks they are the whole new file.
 */
gaps: Array<Gap>, added: number, removed: number, timed_out: boolean, };

/**
 * A file's diff as a viewer first gets it: binary and oversized files
 * whole (sizes only), patches as an outline whose lines it reads by range,
 * so a 50,000-line file's first rows need not wait for all its text.
 */
export type FileDiffView = { "kind": "binary", old_size: number, new_size: number, } | { "kind": "too_large", old_size: number, new_size: number, old_lines: number, new_lines: number, } | { "kind": "patch" } & Outline;

/**
 * What a viewer needs to lay out every row of a patch, without the text.
 */
export type Outline = { 
/**
 * Identifies the patch in the [`PageCache`] for [`PageCache::lines`].
 */
token: number, 
/**
 * `[old_start, old_lines, new_start, new_lines]` per hunk.
 */
hunks: Array<[number, number, number, number]>, 
/**
 * `[old_start, new_start, line count, no newline at end (0/1)]` per gap:
 * `hunks.len() + 1` of them, or none when there are no hunks.
 */
gaps: Array<[number, number, number, number]>, 
/**
 * One character per hunk line, all hunks in order: ' ' context, '+' added,
 * '-' removed.
 */
kinds: string, 
/**
 * Lines in the display sequence (every gap's and every hunk's).
 */
total: number, added: number, removed: number, timed_out: boolean, };

/**
 * One line's text as sent: the bare string when it has no emphasis and ends
 * with a newline (nearly all lines), so most of the payload is the text.
 */
export type PageLine = string | [string, Array<number>] | [string, Array<number>, number];

export type Hunk = { old_start: number, old_lines: number, new_start: number, new_lines: number, lines: Array<Line>, };

/**
 * A run of unchanged lines outside the hunks, so a viewer can fold it and
 * unfold it without asking again. Both sides hold the same text there.
 */
export type Gap = { 
/**
 * The first line's number on each side (1-based); for an empty gap, the
 * number the next line would have.
 */
old_start: number, new_start: number, 
/**
 * Each line without its newline; lossy UTF-8, as in [`Line::text`].
 */
lines: Array<string>, 
/**
 * The file's last line is in this gap and has no newline.
 */
no_newline_at_end: boolean, };

export type Line = { kind: LineKind, old_line: number | null, new_line: number | null, 
/**
 * The line without its trailing newline (a CR before it is kept); lossy UTF-8.
 */
text: string, 
/**
 * Byte ranges `[start, end)` in `text` that changed (word level).
 */
emphasis: Array<[number, number]>, no_newline_at_end: boolean, };

export type LineKind = "context" | "added" | "removed";

export type Strategy = "squash" | "merge";

export type MergePreview = { 
/**
 * The target branch's short name.
 */
target: string, 
/**
 * The target's current commit.
 */
target_head: string, 
/**
 * The variant's commit.
 */
source: string, 
/**
 * Paths the merge would change on the target, sorted. With conflicts,
 * the conflicted paths are included.
 */
files: Array<string>, 
/**
 * Conflicted paths from the in-memory three-way merge, sorted.
 */
conflicts: Array<string>, 
/**
 * The target is checked out in a working tree of this repository (the
 * user's checkout at `repo_root`, or a linked worktree); `checked_out_at`
 * says which one. That working tree is updated by `apply`.
 */
checked_out: boolean, checked_out_at: string | null, 
/**
 * Files the merge touches that have uncommitted changes (or an untracked
 * or ignored file in their place) in that working tree; `apply` refuses
 * while this is not empty.
 */
blocked_by_uncommitted: Array<string>, 
/**
 * Nothing to do: the target already contains the variant's changes.
 */
already_merged: boolean, };

export type MergeOutcome = { target: string, 
/**
 * The new commit on the target.
 */
commit: string, 
/**
 * The target's commit before the merge, which `undo` restores.
 */
previous: string, 
/**
 * The variant's commit that was merged.
 */
source: string, strategy: Strategy, 
/**
 * Paths the merge changed, sorted.
 */
files: Array<string>, };

/**
 * A variant merged into a target branch, kept so the merge can be undone.
 */
export type MergeRecord = { experiment_id: string, variant: number, target: string, 
/**
 * The commit the merge made on the target branch.
 */
commit: string, 
/**
 * The target branch's commit before the merge; undo restores it.
 */
previous: string, 
/**
 * The variant's commit that was merged (`None` in merges recorded
 * before Fanout kept it).
 */
source: string | null, strategy: string, created_at: string, undone: boolean, };

/**
 * What a subscriber gets per interval.
 */
export type Tick = { batches: Array<VariantBatch>, 
/**
 * Updates this subscriber missed because it fell behind; reload from the store.
 */
missed: number, };

/**
 * One variant's changes since the last tick.
 */
export type VariantBatch = { experiment_id: string, variant: number, 
/**
 * The latest progress, when it changed.
 */
progress: Progress | null, 
/**
 * Every event since the last tick, in order.
 */
events: Array<SessionEvent>, 
/**
 * Every approval request and answer since the last tick, in order.
 */
approvals: Array<ApprovalUpdate>, 
/**
 * A review or ranking was kept since the last tick: reload them.
 */
judged: boolean, };

/**
 * One thing that happened to one variant.
 */
export type Update = { experiment_id: string, variant: number, kind: UpdateKind, };

export type UpdateKind = { "type": "progress" } & Progress | { "type": "event", event: SessionEvent, } | { "type": "approval", update: ApprovalUpdate, } | { "type": "judged" };

/**
 * A variant's live state, as a status line shows it.
 */
export type Progress = { status: VariantStatus, started_at: string | null, 
/**
 * Tool calls so far in this session.
 */
tool_calls: number, 
/**
 * Turns, once the agent reported them.
 */
turns: number | null, input_tokens: number, output_tokens: number, cost_usd: number | null, 
/**
 * What the agent did last, in a few words.
 */
activity: string | null, error: string | null, };

/**
 * One thing that happened in a session, in Fanout's own vocabulary.
 */
export type SessionEvent = { "type": "init", session_id: string, model: string | null, tools: Array<string> | null, cwd: string | null, agent_version: string | null, } | { "type": "assistant_text", text: string, } | { "type": "thinking", text: string, } | { "type": "tool_use", id: string | null, name: string, input: JsonValue, } | { "type": "tool_result", id: string | null, ok: boolean, summary: string, } | { "type": "usage", input_tokens: number, output_tokens: number, cache_read: number | null, cache_write: number | null, } | { "type": "warning", message: string, } | { "type": "result", ok: boolean, summary: string | null, error: string | null, cost_usd: number | null, input_tokens: number, output_tokens: number, turns: number | null, duration_ms: number | null, session_id: string | null, } | { "type": "log", stream: Stream, line: string, } | { "type": "raw", line: string, } | { "type": "setup", stream: Stream, line: string, };

/**
 * Which output stream a plain line came from.
 */
export type Stream = "stdout" | "stderr";

export type Usage = { input_tokens: number, output_tokens: number, cache_read: number, cache_write: number, };

/**
 * An event as stored: `seq` counts from 1 within its variant, without gaps.
 */
export type StoredEvent = { seq: number, time: string, kind: string, 
/**
 * The event's fields: always a JSON object.
 */
payload: Record<string, unknown>, };

/**
 * What one worktree received.
 */
export type CopyReport = { 
/**
 * Relative to the repository's root.
 */
copied: Array<string>, 
/**
 * One sentence per matching file that was not copied, saying why.
 */
skipped: Array<string>, };

/**
 * An answer to an approval request, or a nudge, for a variant whose
 * session asks the user (the "ask" profile).
 */
export type Steer = { "type": "allow", request: string, } | { "type": "allow_always", tool: string, } | { "type": "deny", request: string, message: string, } | { "type": "send", text: string, } | { "type": "interrupt" };

/**
 * What a two-way session reports about approvals.
 */
export type ApprovalUpdate = { "type": "requested", request: ApprovalRequest, } | { "type": "resolved", id: string, tool: string, allowed: boolean, message: string | null, by: Decider, } | { "type": "withdrawn", id: string, } | { "type": "awaiting_message" };

/**
 * A tool use waiting for a decision.
 */
export type ApprovalRequest = { 
/**
 * The CLI's request id; answer with it.
 */
id: string, tool: string, input: JsonValue, 
/**
 * The tool use this request is about, as in the transcript.
 */
tool_use_id: string | null, display: ApprovalDisplay, };

/**
 * A small form of the request for a card or a terminal.
 */
export type ApprovalDisplay = { "kind": "command", command: string, } | { "kind": "diff", path: string, diff: string, } | { "kind": "input", text: string, };

/**
 * What to plan.
 */
export type PlanRequest = { task: string, n: number, 
/**
 * The user's wishes ("one should use a crate", "try without unsafe").
 */
hints: Array<string>, };

/**
 * What a generation reports while it works.
 */
export type GenerationProgress = { 
/**
 * Who was asked, as a sentence.
 */
stage: string, elapsed_ms: number, };

/**
 * A variant's review.
 */
export type Review = { variant: number, 
/**
 * 1 to 6 points, each naming files the variant changed.
 */
changes: Array<ChangePoint>, risks: Array<string>, tests: TestsVerdict, 
/**
 * Changes the task did not ask for.
 */
scope_creep: Array<string>, 
/**
 * One per criterion of the rubric, in its order.
 */
scores: Array<Score>, 
/**
 * The model (and how it was reached) that wrote it.
 */
reviewer: string, 
/**
 * Files whose patch did not fit the budget: the reviewer saw only their
 * names and line counts.
 */
summarised_files: Array<string>, 
/**
 * The diff's size in tokens (estimated) against the budget.
 */
diff_tokens: number, budget_tokens: number, created_at: string, };

/**
 * One thing the change does.
 */
export type ChangePoint = { what: string, files: Array<string>, };

/**
 * Whether the change is tested, and how the reviewer sees it.
 */
export type TestsVerdict = { covered: boolean, note: string, };

/**
 * One criterion's score, 1 to 10.
 */
export type Score = { criterion: string, score: number, };

/**
 * A ranking of every variant, best first.
 */
export type Ranking = { ranked: Array<Ranked>, 
/**
 * Decisions on which the variants differ ("2 and 3 keep the limit in
 * Redis, 1 in memory").
 */
disagreements: Array<string>, rationale: string, 
/**
 * Each rule that moved a variant, as a sentence.
 */
overrides: Array<string>, options: JudgeOptions, 
/**
 * The model (and how it was reached) that judged.
 */
judge: string, rubric_source: string | null, rubric_warning: string | null, 
/**
 * The prompt's size in tokens (estimated) against its budget.
 */
prompt_tokens: number, budget_tokens: number, created_at: string, };

/**
 * One variant's place.
 */
export type Ranked = { variant: number, name: string, standing: Standing, scores: Array<Score>, 
/**
 * The judge's paragraph on this variant.
 */
paragraph: string, };

/**
 * Where a variant stands after its run, as the rules see it.
 */
export type Standing = "passing" | "check_failed" | "no_changes";

/**
 * How the judge may rank.
 */
export type JudgeOptions = { 
/**
 * Let a variant whose check failed rank above passing ones.
 */
failed_checks_compete: boolean, };

/**
 * The difference between variants `a` and `b`, in words.
 */
export type Difference = { a: number, b: number, 
/**
 * One or two sentences.
 */
summary: string, design: string, behaviour: string, tests: string, 
/**
 * Files whose patch did not fit the budget (named only).
 */
summarised_files: Array<string>, by: string, created_at: string, };

/**
 * One pick: a file of a variant, whole or one of its hunks (1-based, as
 * the diff against the base numbers them with 3 lines of context).
 */
export type Take = { variant: VariantIndex, path: string, hunk: number | null, };

export type Stats = { agents: Array<AgentStats>, judge: JudgeRecord, experiments: number, };

/**
 * One agent and model's record.
 */
export type AgentStats = { agent: string, 
/**
 * `None` when the agent chose its own default.
 */
model: string | null, experiments: number, variants: number, 
/**
 * Variants of it merged (and not undone).
 */
merged: number, checks_run: number, checks_passed: number, median_duration_ms: number | null, total_cost_usd: number | null, median_cost_usd: number | null, input_tokens: number, output_tokens: number, 
/**
 * Rankings that put one of its variants first.
 */
ranked_first: number, };

/**
 * How well the judge's first pick matched what the user merged.
 */
export type JudgeRecord = { 
/**
 * Experiments with both a ranking and a merge.
 */
judged_and_merged: number, 
/**
 * Of those, how many merged the judge's first pick.
 */
first_pick_merged: number, };

/**
 * What the settings screen edits.
 */
export type Settings = { 
/**
 * The `claude` program; `None` finds it on the PATH.
 */
claude_path: string | null, 
/**
 * The `codex` program; `None` finds it on the PATH.
 */
codex_path: string | null, 
/**
 * The agent new experiments use unless an approach names another.
 */
default_agent: AgentKind, default_model: string | null, permission: PermissionProfile, 
/**
 * The template of the custom command agent (`{prompt}`, `{prompt_file}`, `{workdir}`).
 */
agent_command: string | null, 
/**
 * The built-in agent's model API and approach generation over the API.
 */
api: ApiEndpoint, 
/**
 * Sessions at once; `None` runs every variant at once.
 */
max_parallel: number | null, 
/**
 * Per session, in minutes.
 */
timeout_minutes: number, 
/**
 * Where worktrees go; `None` is Fanout's data directory.
 */
worktree_root: string | null, 
/**
 * The methodology file, relative to the repository; `None` is
 * `.claude/commands/ultrathink-task.md`.
 */
methodology_path: string | null, theme: Theme, 
/**
 * What the "ask" profile allows, denies or asks, with per-repository overrides.
 */
approvals: ApprovalSettings, 
/**
 * How "Open in editor" opens a worktree, e.g. `code {path}`; `None` opens
 * it with the system's default application for folders.
 */
editor_command: string | null, 
/**
 * Run agents, setup commands and checks in the bubblewrap sandbox where
 * this machine can (see [`crate::sandbox`]).
 */
sandbox: boolean, 
/**
 * Secret variables of Fanout's environment the custom command agent
 * may inherit (it gets none of Fanout's keys otherwise).
 */
agent_command_env: Array<string>, 
/**
 * Who reviews the variants and judges them, and when.
 */
reviewer: ReviewerSettings, 
/**
 * Checks at once on this machine; `None` is half the cores.
 */
max_checks: number | null, 
/**
 * A variant waits to start while less memory is available, in MB.
 */
min_free_memory_mb: number, 
/**
 * GitHub's REST API for pull requests (GitHub Enterprise); `None` is
 * `GITHUB_API_URL`, else api.github.com.
 */
github_api: string | null, 
/**
 * The ssh hosts variants can run on (see [`crate::hosts`]).
 */
hosts: Array<HostConfig>, 
/**
 * The ssh configuration file for them (`ssh -F`); `None` is ssh's own
 * (`~/.ssh/config`). `FANOUT_SSH_CONFIG` wins over it.
 */
ssh_config: string | null, };

/**
 * Who reviews the variants and judges them, and when.
 */
export type ReviewerSettings = { 
/**
 * The model API when a key is set, else Claude Code (`auto`); or one of them.
 */
choice: AskerChoice, 
/**
 * The reviewer's model through the API; `None` is the API settings' model.
 */
model: string | null, 
/**
 * Review each variant as soon as it succeeds; otherwise on demand.
 */
automatic: boolean, 
/**
 * Tokens of diff a review reads.
 */
budget_tokens: number, };

/**
 * Who the user wants to answer.
 */
export type AskerChoice = "auto" | "api" | "claude" | "codex" | "gemini";

export type Theme = "system" | "light" | "dark";

/**
 * Which backend runs a session.
 */
export type AgentKind = "claude_code" | "codex" | "gemini" | "command" | "api";

/**
 * What an agent may do without asking.
 */
export type PermissionProfile = "edits" | "edits_and_commands" | "bypass" | "ask";

/**
 * Which model API to use and where, as the settings name it; the key is
 * looked up when a client is built, never stored here.
 */
export type ApiEndpoint = { provider: Provider, 
/**
 * Overrides the provider's default (a proxy, a local model server).
 */
base_url: string | null, 
/**
 * Overrides the provider's default model.
 */
model: string | null, };

export type Provider = "anthropic" | "open_ai";

/**
 * The defaults and per-repository overrides (keyed by the repository root).
 */
export type ApprovalSettings = { defaults: ApprovalRules, repositories: { [key in string]?: ApprovalRules }, };

/**
 * One set of rules.
 */
export type ApprovalRules = { 
/**
 * Tools that count as edits.
 */
edit_tools: Array<string>, 
/**
 * Allow edits whose paths resolve inside the worktree without asking.
 */
allow_edits_in_worktree: boolean, 
/**
 * Deny any tool use whose input names a path outside the worktree.
 */
deny_paths_outside_worktree: boolean, 
/**
 * Tools always allowed (after the outside-path check).
 */
allow_tools: Array<string>, 
/**
 * Tools always denied.
 */
deny_tools: Array<string>, 
/**
 * A request waiting longer than this, in seconds, fails its variant.
 */
timeout_secs: number, };

/**
 * What the rules say about one request.
 */
export type Decision = { "decision": "allow" } | { "decision": "deny", message: string, } | { "decision": "ask" };

/**
 * Who decided a request.
 */
export type Decider = "rule" | "user" | "allowed_tool";

/**
 * How each new worktree of one repository is prepared.
 */
export type RepoSettings = { 
/**
 * Globs of files the checkout has but git does not track, copied into
 * each new worktree. A glob without `/` matches a file name in any
 * folder (`.env` also finds `config/.env`); one with `/` matches the
 * path from the repository's root (`secrets/*.pem`).
 */
copy: Array<string>, 
/**
 * Run through `sh -c` in each worktree before its agent starts.
 */
setup_command: string | null, setup_timeout_secs: number, 
/**
 * Checks may reach the network. Off, a check runs in a sandbox with
 * loopback only (when the sandbox is on), so a test suite cannot call out.
 */
check_network: boolean, 
/**
 * Built-state folders copied into each new worktree so its first build
 * is warm (see [`crate::warm`]); `None` is what Fanout detects, an
 * empty list is none.
 */
warm: Array<string> | null, };

/**
 * A repository's settings as a settings screen shows them.
 */
export type RepoSettingsView = { repo_root: string, settings: RepoSettings, 
/**
 * `false` while the repository still uses the defaults.
 */
stored: boolean, 
/**
 * The built-state folders the checkout has, warmed by default.
 */
warm_detected: Array<Detected>, };

/**
 * What the settings screen shows of this machine's agents.
 */
export type AgentsReport = { agents: Array<AgentStatus>, 
/**
 * Why the login shell's PATH was not used, when it was not.
 */
path_note: string | null, 
/**
 * Whether agents can be sandboxed here, and if not why.
 */
sandbox: Availability, };

/**
 * One agent CLI as the settings screen shows it.
 */
export type AgentStatus = { kind: AgentKind, 
/**
 * `claude` or `codex`.
 */
program: string, 
/**
 * The program exists (whether or not it answered).
 */
found: boolean, path: string | null, 
/**
 * The first line of `--version`.
 */
version: string | null, 
/**
 * What went wrong, as a sentence saying what to do.
 */
problem: string | null, 
/**
 * The command that installs it.
 */
install: string, };

/**
 * Whether this machine can sandbox, and if not why, for the settings screen.
 */
export type Availability = { available: boolean, bwrap: string | null, 
/**
 * Why the sandbox cannot be used, as a sentence with what to do.
 */
reason: string | null, };

/**
 * What the settings screen may know of a key: where it is and its ends.
 */
export type KeyStatus = { provider: Provider, source: KeyOrigin, 
/**
 * Like `sk-…a1b2`; never the key.
 */
masked: string | null, 
/**
 * The variable that is used when the keyring has no key.
 */
env_var: string, };

export type KeyOrigin = "keyring" | "environment" | "none";

/**
 * Where a token is (the keyring, the environment or nowhere), masked.
 */
export type TokenStatus = { source: KeyOrigin, 
/**
 * Like `ghp…a1b2`; never the token.
 */
masked: string | null, };

/**
 * A pull request as the dialog shows it before sending, every field editable.
 */
export type PrDraft = { remote: string, 
/**
 * The branch to create on the remote.
 */
branch: string, 
/**
 * The branch to merge into: the one the experiment started from.
 */
base: string, title: string, 
/**
 * The variant's section of the report.
 */
body: string, draft: boolean, 
/**
 * The GitHub repository as owner/name, when the remote's URL says it.
 */
github: string | null, };

/**
 * An opened pull request.
 */
export type PullRequest = { url: string, number: number, branch: string, };

/**
 * One remote host in the settings.
 */
export type HostConfig = { 
/**
 * A `Host` alias of the user's ssh configuration.
 */
alias: string, 
/**
 * Agents at once on the host.
 */
capacity: number, 
/**
 * The agent CLI on the host (say `/opt/claude/bin/claude`); `None`
 * finds the agent by its name on the host's PATH.
 */
agent_path: string | null, 
/**
 * The folder on the host for Fanout's cache repositories and worktrees;
 * relative paths start at the home directory there.
 */
workspace: string, };

/**
 * What `check` found on a host.
 */
export type HostReport = { alias: string, 
/**
 * `uname -sm` there.
 */
platform: string, git: string | null, 
/**
 * The agent CLIs found there, with their versions (`claude 2.1.3`).
 */
agents: Array<string>, workspace: string, };

/**
 * A folder of built state the checkout has, and whose it is.
 */
export type Detected = { 
/**
 * Relative to the repository's root.
 */
path: string, 
/**
 * "Cargo", "npm" …
 */
ecosystem: string, bytes: number, };

/**
 * What warming one worktree did, for its run record.
 */
export type WarmReport = { folders: Array<WarmedFolder>, 
/**
 * One sentence per folder that was not warmed, saying why.
 */
skipped: Array<string>, millis: number, };

export type WarmedFolder = { path: string, bytes: number, 
/**
 * `reflink` (copy-on-write) or `copy`.
 */
method: string, 
/**
 * Symlinks back into the checkout that were removed from the copy.
 */
links_removed: number, };

/** The most variants one experiment may have. */
export const MAX_VARIANTS = 8;

/** The most transcript events one page of `variant_events` holds. */
export const MAX_EVENTS_PAGE = 2000;

/** The statuses of a variant that is queued or working. */
export const ACTIVE_STATUSES: readonly VariantStatus[] = ["queued", "preparing", "running", "needs_input", "checking"];
