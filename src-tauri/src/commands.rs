//! Tauri commands: each a few lines over the engine. Git and SQLite work is
//! blocking, so it runs on the blocking pool, never on the async runtime.

use std::sync::Mutex;

use fanout_engine::diff::{DiffOptions, FileChange, FileDiff, Outline, PageCache, PagedDiff};
use fanout_engine::experiment::{
    CleanOptions, CleanReport, CommitResult, Engine, ExperimentView, VariantDisk,
};
use fanout_engine::merge::{MergeOutcome, MergePreview, Strategy};
use fanout_engine::repo::{self, RepoInfo};
use fanout_engine::store::{Experiment, MergeRecord};
use fanout_engine::{recent, Error};
use serde::{Deserialize, Serialize};
use tauri::ipc::Response;
use tauri::State;

use crate::error::{CommandError, CommandResult};
use crate::state::AppState;

/// Runs `f` with the engine on the blocking pool.
pub(crate) async fn with_engine<T, E, F>(
    state: State<'_, AppState>,
    what: &'static str,
    f: F,
) -> CommandResult<T>
where
    T: Send + 'static,
    E: Into<CommandError>,
    F: FnOnce(&mut Engine) -> Result<T, E> + Send + 'static,
{
    let engine = state.engine()?;
    tauri::async_runtime::spawn_blocking(move || {
        let mut engine = engine.lock().map_err(|_| CommandError::internal(what))?;
        f(&mut engine).map_err(Into::into)
    })
    .await
    .map_err(|_| CommandError::internal(what))?
}

#[derive(Debug, Serialize)]
pub struct AppInfo {
    name: &'static str,
    version: &'static str,
    /// A repository given on the command line, to open first.
    launch_repo: Option<String>,
}

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    AppInfo {
        name: "Fanout",
        version: fanout_engine::VERSION,
        launch_repo: state.launch_repo.clone(),
    }
}

#[tauri::command]
pub async fn repo_inspect(state: State<'_, AppState>, path: String) -> CommandResult<RepoInfo> {
    let recent_file = state.paths()?.recent();
    tauri::async_runtime::spawn_blocking(move || {
        let info = repo::inspect(std::path::Path::new(path.trim()))?;
        recent::remember(&recent_file, &info.root);
        Ok::<_, Error>(info)
    })
    .await
    .map_err(|_| CommandError::internal("opening the repository"))?
    .map_err(CommandError::from)
}

#[tauri::command]
pub async fn recent_repos(state: State<'_, AppState>) -> CommandResult<Vec<RepoInfo>> {
    let recent_file = state.paths()?.recent();
    tauri::async_runtime::spawn_blocking(move || recent::list(&recent_file))
        .await
        .map_err(|_| CommandError::internal("listing recent repositories"))
}

#[tauri::command]
pub async fn experiments_list(state: State<'_, AppState>) -> CommandResult<Vec<Experiment>> {
    with_engine(state, "listing experiments", |e| e.experiments()).await
}

#[tauri::command]
pub async fn experiment_get(
    state: State<'_, AppState>,
    id: String,
) -> CommandResult<ExperimentView> {
    with_engine(state, "loading the experiment", move |e| e.experiment(&id)).await
}

#[tauri::command]
pub async fn variant_commit(
    state: State<'_, AppState>,
    id: String,
    variant: Option<u32>,
) -> CommandResult<Vec<CommitResult>> {
    with_engine(state, "committing", move |e| {
        e.commit(&id, variant.map(|v| v.to_string()).as_deref())
    })
    .await
}

#[tauri::command]
pub async fn diff_files(
    state: State<'_, AppState>,
    id: String,
    variant: u32,
    against: Option<u32>,
) -> CommandResult<Vec<FileChange>> {
    with_engine(state, "listing changed files", move |e| {
        e.changed_files(
            &id,
            &variant.to_string(),
            against.map(|a| a.to_string()).as_deref(),
        )
    })
    .await
}

/// The diffs opened lately, so their lines can be read by range.
#[derive(Default)]
pub struct DiffPages(Mutex<PageCache>);

/// A file's diff as the viewer first gets it: binary and oversized files
/// whole (sizes only), patches as an outline whose lines `diff_file_lines`
/// reads, so a 50,000-line file's first rows need not wait for all its text.
#[derive(Debug, Serialize)]
#[serde(untagged)]
pub enum FileDiffView {
    Whole(FileDiff),
    Patch {
        kind: &'static str,
        #[serde(flatten)]
        outline: Outline,
    },
}

#[tauri::command]
pub async fn diff_file(
    state: State<'_, AppState>,
    pages: State<'_, DiffPages>,
    id: String,
    variant: u32,
    against: Option<u32>,
    path: String,
    force: bool,
) -> CommandResult<FileDiffView> {
    let diff = with_engine(state, "rendering the diff", move |e| {
        let opts = DiffOptions {
            force,
            // Computed per page read instead (PagedDiff::lines).
            emphasis: false,
            ..DiffOptions::default()
        };
        let against = against.map(|a| a.to_string());
        e.file_diff(&id, &variant.to_string(), against.as_deref(), &path, &opts)
    })
    .await?;
    let paged = match PagedDiff::new(diff) {
        Ok(paged) => paged,
        Err(whole) => return Ok(FileDiffView::Whole(whole)),
    };
    let mut cache = pages
        .0
        .lock()
        .map_err(|_| CommandError::internal("keeping the diff"))?;
    let outline = cache.insert(paged).outline().clone();
    Ok(FileDiffView::Patch {
        kind: "patch",
        outline,
    })
}

/// Lines `start..start + count` of a diff opened with `diff_file` (its
/// outline's token) with their word emphasis, as JSON bytes serialized once
/// here rather than cloned into a value for Tauri to serialize.
#[tauri::command]
pub async fn diff_file_lines(
    pages: State<'_, DiffPages>,
    token: u64,
    start: usize,
    count: usize,
) -> CommandResult<Response> {
    let paged = pages
        .0
        .lock()
        .map_err(|_| CommandError::internal("reading the diff"))?
        .get(token)
        .ok_or_else(|| CommandError {
            code: "diff.page_gone",
            message: "This diff is no longer held because several other files were opened since. Open the file again.".into(),
        })?;
    // Word emphasis is computed here, page by page: off the async runtime.
    let json = tauri::async_runtime::spawn_blocking(move || {
        serde_json::to_vec(&paged.lines(start, count))
    })
    .await;
    match json {
        Ok(Ok(bytes)) => Ok(Response::new(bytes)),
        _ => Err(CommandError::internal("sending the diff's lines")),
    }
}

#[tauri::command]
pub async fn similarity(state: State<'_, AppState>, id: String) -> CommandResult<Vec<Vec<f64>>> {
    with_engine(state, "comparing variants", move |e| e.similarity(&id)).await
}

#[tauri::command]
pub async fn merge_preview(
    state: State<'_, AppState>,
    id: String,
    variant: u32,
    target: Option<String>,
) -> CommandResult<MergePreview> {
    with_engine(state, "previewing the merge", move |e| {
        e.merge_preview(&id, &variant.to_string(), target.as_deref())
    })
    .await
}

#[tauri::command]
pub async fn merge_apply(
    state: State<'_, AppState>,
    id: String,
    variant: u32,
    target: Option<String>,
    strategy: Strategy,
    message: String,
) -> CommandResult<MergeOutcome> {
    with_engine(state, "merging", move |e| {
        e.merge(
            &id,
            &variant.to_string(),
            target.as_deref(),
            strategy,
            Some(&message),
        )
    })
    .await
}

#[tauri::command]
pub async fn merge_undo(state: State<'_, AppState>, id: String) -> CommandResult<MergeRecord> {
    with_engine(state, "undoing the merge", move |e| e.undo_merge(&id)).await
}

/// Each variant's worktree size and unmerged commits, for the experiment
/// view and the cleanup dialog. Walks the worktrees: the page asks when it
/// opens and after a run ends, never on a timer.
#[tauri::command]
pub async fn experiment_disk(
    state: State<'_, AppState>,
    id: String,
) -> CommandResult<Vec<VariantDisk>> {
    let mut entries = with_engine(state, "measuring the worktrees", move |e| {
        e.disk_ledger(&id)
    })
    .await?;
    // The walk can take seconds after an `npm ci`; other commands need not
    // wait for it behind the engine's lock.
    tauri::async_runtime::spawn_blocking(move || {
        fanout_engine::experiment::measure_worktrees(&mut entries);
        entries
    })
    .await
    .map_err(|_| CommandError::internal("measuring the worktrees"))
}

/// What the cleanup dialog asks for, by variant number.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
pub struct CleanRequest {
    /// The variant whose branch stays.
    pub keep: Option<u32>,
    /// Also remove worktrees with uncommitted changes.
    pub force: bool,
    /// Variants whose work merged nowhere the user ticked to delete. Only
    /// these: work that appears after the dialog measured is still refused.
    pub confirm: Vec<u32>,
    /// Variants kept as an archive tag instead of their branch.
    pub archive: Vec<u32>,
}

#[tauri::command]
pub async fn experiment_clean(
    state: State<'_, AppState>,
    id: String,
    request: CleanRequest,
) -> CommandResult<CleanReport> {
    with_engine(state, "cleaning up", move |e| {
        e.clean(&id, &request.options())
    })
    .await
    .map_err(dialog_refusal)
}

impl CleanRequest {
    pub fn options(&self) -> CleanOptions {
        CleanOptions {
            keep: self.keep.map(|k| k.to_string()),
            force: self.force,
            confirmed: false,
            confirmed_variants: self.confirm.iter().map(u32::to_string).collect(),
            archive: self.archive.iter().map(u32::to_string).collect(),
        }
    }
}

/// The engine's refusal to delete unmerged work ends with what to do on the
/// command line; in the window the answer is in the dialog.
pub fn dialog_refusal(err: CommandError) -> CommandError {
    if err.code != "experiment.unmerged" {
        return err;
    }
    let why = err
        .message
        .split(" Keep its branch")
        .next()
        .unwrap_or_default()
        .to_owned();
    CommandError {
        message: format!(
            "{why} Tick \"Delete its unmerged work\" or \"Keep as tag\" for it first."
        ),
        ..err
    }
}

/// The UI painted its first screen: startup is over, so its freed heap goes
/// back to the system. The startup benchmark (scripts/bench-startup.sh) names
/// a file in FANOUT_STARTUP_MARK and reads the wall-clock time written there.
#[tauri::command]
pub fn ui_ready() {
    crate::memory::trim_heap_after_startup();
    let Some(mark) = std::env::var_os("FANOUT_STARTUP_MARK") else {
        return;
    };
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or_default();
    if let Err(err) = std::fs::write(&mark, now_ms.to_string()) {
        tracing::warn!(%err, "could not write the startup mark");
    }
}

#[cfg(test)]
mod tests;
