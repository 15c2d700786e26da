//! The compare screens: changed files first, each file's diff when opened,
//! its lines page by page, and how alike the variants are.

use std::sync::Mutex;

use fanout_engine::diff::{DiffOptions, FileChange, FileDiffView, PageCache};
use fanout_engine::ids::{ExperimentId, VariantIndex};
use tauri::ipc::Response;
use tauri::State;

use super::{blocking, engine};
use crate::state::{AppState, CommandResult};

/// The diffs opened lately, so their lines can be read by range.
#[derive(Default)]
pub struct DiffPages(Mutex<PageCache>);

impl DiffPages {
    fn cache(&self) -> std::sync::MutexGuard<'_, PageCache> {
        // The cache stays consistent even if a holder panicked.
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[tauri::command]
pub async fn diff_files(
    state: State<'_, AppState>,
    id: ExperimentId,
    variant: VariantIndex,
    against: Option<VariantIndex>,
) -> CommandResult<Vec<FileChange>> {
    engine(&state, move |e| e.changed_files(&id, variant, against)).await
}

/// A file's diff as the viewer first gets it: binary and oversized files
/// whole, patches as an outline whose lines `diff_file_lines` reads.
#[tauri::command]
pub async fn diff_file(
    state: State<'_, AppState>,
    pages: State<'_, DiffPages>,
    id: ExperimentId,
    variant: VariantIndex,
    against: Option<VariantIndex>,
    path: String,
    force: bool,
) -> CommandResult<FileDiffView> {
    let opts = DiffOptions::paged(force);
    let diff = engine(&state, move |e| {
        e.file_diff(&id, variant, against, &path, &opts)
    })
    .await?;
    Ok(FileDiffView::new(diff, &mut pages.cache()))
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
        .cache()
        .get(token)
        .map_err(fanout_engine::Error::from)?;
    // Word emphasis is computed here, page by page: off the async runtime.
    let bytes = blocking(move || Ok(paged.lines_json(start, count))).await?;
    Ok(Response::new(bytes))
}

#[tauri::command]
pub async fn similarity(
    state: State<'_, AppState>,
    id: ExperimentId,
) -> CommandResult<Vec<Vec<f64>>> {
    engine(&state, move |e| e.similarity(&id)).await
}
