//! The settings screen: Fanout's settings, a repository's worktree setup,
//! and which agents this machine has.

use std::path::PathBuf;

use fanout_engine::detect::{self, AgentsReport};
use fanout_engine::hosts::{HostConfig, HostReport, Hosts};
use fanout_engine::repo_settings::{RepoSettings, RepoSettingsView};
use fanout_engine::settings::Settings;
use tauri::State;

use super::{blocking, engine};
use crate::state::{AppState, CommandResult};

#[tauri::command]
pub async fn settings_get(state: State<'_, AppState>) -> CommandResult<Settings> {
    let file = state.paths()?.settings();
    blocking(move || Ok(Settings::load(&file)?)).await
}

/// Connects to a host as the settings form describes it (saved or not)
/// and says what is there.
#[tauri::command]
pub async fn host_check(
    host: HostConfig,
    ssh_config: Option<PathBuf>,
) -> CommandResult<HostReport> {
    blocking(move || {
        let alias = host.alias.clone();
        host.validate()?;
        Ok(Hosts::new(vec![host], ssh_config).ssh(&alias)?.check()?)
    })
    .await
}

/// Validates and saves; the next run uses them. Returns what was saved.
#[tauri::command]
pub async fn settings_save(
    state: State<'_, AppState>,
    settings: Settings,
) -> CommandResult<Settings> {
    let file = state.paths()?.settings();
    let saved = blocking(move || Ok(settings.save(&file).map(|()| settings)?)).await?;
    state.fanout()?.use_settings(&saved);
    Ok(saved)
}

/// The agents found on this machine, and whether it can sandbox them.
#[tauri::command]
pub async fn agents_detect(state: State<'_, AppState>) -> CommandResult<AgentsReport> {
    let file = state.paths()?.settings();
    let settings = blocking(move || Ok(Settings::load(&file)?)).await?;
    Ok(detect::report(&settings).await)
}

/// The open repository's worktree setup (copy globs, setup command), the
/// defaults until saved.
#[tauri::command]
pub async fn repo_settings_get(
    state: State<'_, AppState>,
    repo: PathBuf,
) -> CommandResult<RepoSettingsView> {
    engine(&state, move |e| e.repo_settings(&repo)).await
}

/// Validates (the error is the engine's sentence) and saves in Fanout's
/// database; the repository itself is not touched.
#[tauri::command]
pub async fn repo_settings_save(
    state: State<'_, AppState>,
    repo: PathBuf,
    settings: RepoSettings,
) -> CommandResult<RepoSettingsView> {
    engine(&state, move |e| e.save_repo_settings(&repo, settings)).await
}

/// Writes the saved settings to `.fanout.json` in the repository; its path.
#[tauri::command]
pub async fn repo_settings_export(
    state: State<'_, AppState>,
    repo: PathBuf,
) -> CommandResult<PathBuf> {
    engine(&state, move |e| e.export_repo_settings(&repo)).await
}
