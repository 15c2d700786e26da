//! Tauri commands: each a few lines over the engine.

use serde::Serialize;

use crate::error::CommandResult;

#[derive(Debug, Serialize)]
pub struct AppInfo {
    name: &'static str,
    version: &'static str,
}

/// The app's name and version, shown on the first screen.
#[tauri::command]
pub fn app_info() -> CommandResult<AppInfo> {
    Ok(AppInfo {
        name: "Fanout",
        version: fanout_engine::VERSION,
    })
}
