//! The experiment screens: the list, one experiment, committing its
//! variants' work, their disk use, and cleaning up.

use fanout_engine::experiment::{
    CleanOptions, CleanReport, CommitResult, ExperimentView, VariantDisk,
};
use fanout_engine::ids::{ExperimentId, VariantIndex};
use fanout_engine::store::Experiment;
use tauri::State;

use super::{blocking, engine};
use crate::state::{AppState, CommandResult};

#[tauri::command]
pub async fn experiments_list(state: State<'_, AppState>) -> CommandResult<Vec<Experiment>> {
    engine(&state, |e| e.experiments()).await
}

#[tauri::command]
pub async fn experiment_get(
    state: State<'_, AppState>,
    id: ExperimentId,
) -> CommandResult<ExperimentView> {
    engine(&state, move |e| e.experiment(&id)).await
}

#[tauri::command]
pub async fn variant_commit(
    state: State<'_, AppState>,
    id: ExperimentId,
    variant: Option<VariantIndex>,
) -> CommandResult<Vec<CommitResult>> {
    engine(&state, move |e| e.commit(&id, variant)).await
}

/// Each variant's worktree size and unmerged commits, for the experiment
/// view and the cleanup dialog. The page asks when it opens and after a run
/// ends, never on a timer; the walk itself needs no engine.
#[tauri::command]
pub async fn experiment_disk(
    state: State<'_, AppState>,
    id: ExperimentId,
) -> CommandResult<Vec<VariantDisk>> {
    let mut entries = engine(&state, move |e| e.disk_ledger(&id)).await?;
    blocking(move || {
        fanout_engine::experiment::measure_worktrees(&mut entries);
        Ok(entries)
    })
    .await
}

/// Cleans up with the dialog's choices. Only the variants the user ticked
/// are confirmed: work that appears after the dialog measured is refused.
#[tauri::command]
pub async fn experiment_clean(
    state: State<'_, AppState>,
    id: ExperimentId,
    options: CleanOptions,
) -> CommandResult<CleanReport> {
    engine(&state, move |e| e.clean(&id, &options)).await
}
