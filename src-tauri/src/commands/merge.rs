//! The merge screen: what merging a variant would do, doing it, undoing it.

use fanout_engine::ids::{ExperimentId, VariantIndex};
use fanout_engine::merge::{MergeOutcome, MergePreview, Strategy};
use fanout_engine::store::MergeRecord;
use tauri::State;

use super::engine;
use crate::state::{AppState, CommandResult};

#[tauri::command]
pub async fn merge_preview(
    state: State<'_, AppState>,
    id: ExperimentId,
    variant: VariantIndex,
    target: Option<String>,
) -> CommandResult<MergePreview> {
    engine(&state, move |e| {
        e.merge_preview(&id, variant, target.as_deref())
    })
    .await
}

#[tauri::command]
pub async fn merge_apply(
    state: State<'_, AppState>,
    id: ExperimentId,
    variant: VariantIndex,
    target: Option<String>,
    strategy: Strategy,
    message: String,
) -> CommandResult<MergeOutcome> {
    engine(&state, move |e| {
        e.merge(&id, variant, target.as_deref(), strategy, Some(&message))
    })
    .await
}

#[tauri::command]
pub async fn merge_undo(
    state: State<'_, AppState>,
    id: ExperimentId,
) -> CommandResult<MergeRecord> {
    engine(&state, move |e| e.undo_merge(&id)).await
}
