//! The desktop around the window: the native folder picker and save dialog,
//! the file manager and the editor. Called from here rather than from the
//! page, so the UI needs no plugin permission; what they open is the
//! engine's to decide.

use std::path::{Path, PathBuf};

use fanout_engine::desktop::{open_in_editor as open_editor, DesktopError};
use fanout_engine::ids::{ExperimentId, VariantIndex};
use fanout_engine::settings::Settings;
use fanout_engine::{detect, Error};
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;

use super::{blocking, engine};
use crate::state::{AppState, CommandResult};

/// The native folder picker; `None` when the user cancelled.
#[tauri::command]
pub async fn pick_folder(app: AppHandle, start: Option<PathBuf>) -> CommandResult<Option<PathBuf>> {
    blocking(move || {
        let mut dialog = app.dialog().file().set_title("Choose a folder");
        if let Some(dir) = start.filter(|d| d.is_dir()) {
            dialog = dialog.set_directory(dir);
        }
        Ok(dialog
            .blocking_pick_folder()
            .and_then(|p| p.into_path().ok()))
    })
    .await
}

/// The save dialog, then the report written where the user chose; the path,
/// or `None` when the user cancelled.
#[tauri::command]
pub async fn report_export(
    app: AppHandle,
    state: State<'_, AppState>,
    id: ExperimentId,
) -> CommandResult<Option<PathBuf>> {
    let name = engine(&state, {
        let id = id.clone();
        move |e| e.report_file_name(&id)
    })
    .await?;
    let Some(path) = blocking(move || save_dialog(&app, &name)).await? else {
        return Ok(None);
    };
    let written = path.clone();
    engine(&state, move |e| e.write_report(&id, &written)).await?;
    Ok(Some(path))
}

/// The native save dialog for a Markdown file; `None` when cancelled.
fn save_dialog(app: &AppHandle, name: &str) -> Result<Option<PathBuf>, Error> {
    let chosen = app
        .dialog()
        .file()
        .set_title("Export the report")
        .add_filter("Markdown", &["md"])
        .set_file_name(name)
        .blocking_save_file();
    chosen
        .map(|c| c.into_path().map_err(|e| not_local(&e)))
        .transpose()
}

fn not_local(e: &dyn std::fmt::Display) -> Error {
    DesktopError::NotLocal {
        detail: e.to_string(),
    }
    .into()
}

/// Opens a variant's worktree in the file manager.
#[tauri::command]
pub async fn open_folder(
    app: AppHandle,
    state: State<'_, AppState>,
    id: ExperimentId,
    variant: VariantIndex,
) -> CommandResult<()> {
    let path = engine(&state, move |e| e.worktree_of(&id, variant)).await?;
    Ok(open_path(&app, &path)?)
}

/// Opens a variant's worktree with the settings' editor command, or the
/// system's default application when there is none.
#[tauri::command]
pub async fn open_in_editor(
    app: AppHandle,
    state: State<'_, AppState>,
    id: ExperimentId,
    variant: VariantIndex,
) -> CommandResult<()> {
    let path = engine(&state, move |e| e.worktree_of(&id, variant)).await?;
    let file = state.paths()?.settings();
    let settings = blocking(move || Ok(Settings::load(&file)?)).await?;
    match settings.editor_command.filter(|t| !t.trim().is_empty()) {
        Some(template) => Ok(open_editor(
            &template,
            &path,
            &detect::agent_path().await.value,
        )?),
        None => Ok(open_path(&app, &path)?),
    }
}

fn open_path(app: &AppHandle, path: &Path) -> Result<(), Error> {
    app.opener()
        .open_path(path.to_string_lossy(), None::<&str>)
        .map_err(|e| {
            DesktopError::Open {
                path: path.to_owned(),
                detail: e.to_string(),
            }
            .into()
        })
}
