//! Per-repository settings (see [`crate::repo_settings`]), one row per
//! repository root, the settings as JSON.

use std::path::Path;

use rusqlite::{params, OptionalExtension};

use super::{path_to_sql, Store, StoreError};
use crate::repo_settings::RepoSettings;

impl Store {
    /// The settings saved for the repository at `repo_root`; `None` when it
    /// uses the defaults.
    pub fn repo_settings(&self, repo_root: &Path) -> Result<Option<RepoSettings>, StoreError> {
        let text: Option<String> = self
            .conn
            .prepare_cached("SELECT settings FROM repo_settings WHERE repo_root = ?1")?
            .query_row(params![path_to_sql(repo_root)], |row| row.get(0))
            .optional()?;
        text.map(|t| {
            serde_json::from_str(&t).map_err(|e| StoreError::BadValue {
                detail: format!(
                    "the settings of the repository {} ({e})",
                    repo_root.display()
                ),
            })
        })
        .transpose()
    }

    /// Saves (replacing) the repository's settings.
    pub fn set_repo_settings(
        &mut self,
        repo_root: &Path,
        settings: &RepoSettings,
    ) -> Result<(), StoreError> {
        let json = serde_json::to_string(settings).expect("settings serialize");
        let tx = self.write()?;
        tx.prepare_cached(
            "INSERT INTO repo_settings (repo_root, settings, updated_at) VALUES (?1, ?2, ?3)
             ON CONFLICT(repo_root) DO UPDATE SET settings = ?2, updated_at = ?3",
        )?
        .execute(params![
            path_to_sql(repo_root),
            json,
            crate::experiment::now_rfc3339()
        ])?;
        tx.commit()?;
        Ok(())
    }

    /// Forgets the repository's settings: it uses the defaults again.
    pub fn delete_repo_settings(&mut self, repo_root: &Path) -> Result<(), StoreError> {
        let tx = self.write()?;
        tx.prepare_cached("DELETE FROM repo_settings WHERE repo_root = ?1")?
            .execute(params![path_to_sql(repo_root)])?;
        tx.commit()?;
        Ok(())
    }
}
