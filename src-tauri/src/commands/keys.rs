//! The API keys of the settings screen: in the system keyring, never shown.

use fanout_engine::desktop::{key_status, KeyStatus};
use fanout_engine::secrets::{self, ApiKey, Provider};

use super::blocking;
use crate::state::CommandResult;

#[tauri::command]
pub async fn api_key_status(provider: Provider) -> CommandResult<KeyStatus> {
    blocking(move || key_status(provider)).await
}

#[tauri::command]
pub async fn api_key_save(provider: Provider, key: String) -> CommandResult<KeyStatus> {
    blocking(move || {
        secrets::set_key(provider, &ApiKey::new(key))?;
        key_status(provider)
    })
    .await
}

#[tauri::command]
pub async fn api_key_delete(provider: Provider) -> CommandResult<KeyStatus> {
    blocking(move || {
        secrets::delete_key(provider)?;
        key_status(provider)
    })
    .await
}
