//! The window itself: what the app is, the first screen painted, and the
//! repositories it opens.

use fanout_engine::desktop::AppInfo;
use fanout_engine::machine::Machine;
use fanout_engine::recent;
use fanout_engine::repo::{self, RepoInfo};
use tauri::State;

use super::blocking;
use crate::state::{AppState, CommandResult};

#[tauri::command]
pub fn app_info(state: State<'_, AppState>) -> AppInfo {
    AppInfo::new(state.launch_repo.clone())
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

/// This machine's load and memory, shown beside a running experiment.
#[tauri::command]
pub async fn machine_status() -> CommandResult<Option<Machine>> {
    blocking(|| Ok(fanout_engine::machine::now())).await
}

#[tauri::command]
pub async fn repo_inspect(state: State<'_, AppState>, path: String) -> CommandResult<RepoInfo> {
    let recent_file = state.paths()?.recent();
    blocking(move || {
        let info = repo::inspect(std::path::Path::new(path.trim()))?;
        recent::remember(&recent_file, &info.root);
        Ok(info)
    })
    .await
}

#[tauri::command]
pub async fn recent_repos(state: State<'_, AppState>) -> CommandResult<Vec<RepoInfo>> {
    let recent_file = state.paths()?.recent();
    blocking(move || Ok(recent::list(&recent_file))).await
}
