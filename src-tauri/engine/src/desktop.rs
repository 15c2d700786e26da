//! What the desktop asks of the engine beyond experiments: a variant's
//! worktree to open, the editor to open it in, where an API key is kept,
//! and the report written to a file the user chose. The dialogs and the
//! system's opener belong to the shell; what they open is decided here.

use std::ffi::OsStr;
use std::path::{Path, PathBuf};

use serde::Serialize;
use ts_rs::TS;

use crate::experiment::{variant_of, Engine, ExperimentError};
use crate::ids::{ExperimentId, VariantIndex};
use crate::secrets::{self, KeySource, Provider, SecretsError};
use crate::settings::editor_argv;
use crate::Error;

#[derive(Debug, thiserror::Error)]
pub enum DesktopError {
    #[error(
        "{path} could not be opened: {detail}. Check that a file manager or editor is installed."
    )]
    Open { path: PathBuf, detail: String },
    #[error("The editor `{program}` could not be started: {source}. Fix the editor command in Settings.")]
    Editor {
        program: String,
        source: std::io::Error,
    },
    #[error(
        "The report could not be written to {path}: {source}. Choose a folder you can write to."
    )]
    Report {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("The chosen file cannot be used ({detail}). Choose a local file.")]
    NotLocal { detail: String },
}

impl DesktopError {
    pub fn code(&self) -> &'static str {
        match self {
            DesktopError::Open { .. } => "desktop.open",
            DesktopError::Editor { .. } => "desktop.editor",
            DesktopError::Report { .. } => "desktop.report",
            DesktopError::NotLocal { .. } => "desktop.not_local",
        }
    }
}

/// What the window shows of the app itself.
#[derive(Debug, Clone, Serialize, TS)]
pub struct AppInfo {
    pub name: String,
    pub version: String,
    /// A repository given on the command line (`fanout-app /some/repo`), to open first.
    pub launch_repo: Option<String>,
}

impl AppInfo {
    pub fn new(launch_repo: Option<String>) -> AppInfo {
        AppInfo {
            name: "Fanout".into(),
            version: crate::VERSION.into(),
            launch_repo,
        }
    }
}

impl Engine {
    /// A variant's worktree, looked up here rather than taken from the page,
    /// so the page cannot ask to open just any path.
    pub fn worktree_of(&self, id: &ExperimentId, index: VariantIndex) -> Result<PathBuf, Error> {
        let view = self.experiment(id)?;
        let path = variant_of(&view, index)?.worktree.clone();
        if !path.is_dir() {
            return Err(ExperimentError::WorktreeMissing {
                index: index.0,
                worktree: path,
            }
            .into());
        }
        Ok(path)
    }

    /// The name a saved report gets by default.
    pub fn report_file_name(&self, id: &ExperimentId) -> Result<String, Error> {
        Ok(format!(
            "fanout-{}.md",
            self.experiment(id)?.experiment.slug
        ))
    }

    /// Writes the experiment's Markdown report to `path`.
    pub fn write_report(&self, id: &ExperimentId, path: &Path) -> Result<(), Error> {
        let report = self.report(id)?;
        std::fs::write(path, report).map_err(|source| {
            Error::from(DesktopError::Report {
                path: path.to_owned(),
                source,
            })
        })
    }
}

/// Starts the editor the settings name (`template`, see [`editor_argv`]) on
/// `path`, searching `search_path`, and lets it run on its own; a thread
/// reaps it so it leaves no zombie. It gets none of Fanout's keys.
pub fn open_in_editor(template: &str, path: &Path, search_path: &OsStr) -> Result<(), Error> {
    let argv = editor_argv(template, path)?;
    let Some((program, args)) = argv.split_first() else {
        return Err(
            crate::settings::SettingsError::Invalid("The editor command is empty.".into()).into(),
        );
    };
    let mut command = std::process::Command::new(program);
    for name in crate::process::private_env() {
        command.env_remove(name);
    }
    for name in secrets::CHILD_SECRET_VARS {
        command.env_remove(name);
    }
    let mut child = command
        .args(args)
        .current_dir(path)
        .env("PATH", search_path)
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|source| DesktopError::Editor {
            program: program.clone(),
            source,
        })?;
    std::thread::spawn(move || child.wait());
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum KeyOrigin {
    Keyring,
    Environment,
    None,
}

/// What the settings screen may know of a key: where it is and its ends.
#[derive(Debug, Clone, Serialize, TS)]
pub struct KeyStatus {
    pub provider: Provider,
    pub source: KeyOrigin,
    /// Like `sk-…a1b2`; never the key.
    pub masked: Option<String>,
    /// The variable that is used when the keyring has no key.
    pub env_var: String,
}

/// Where a token is (the keyring, the environment or nowhere), masked.
#[derive(Debug, Clone, Serialize, TS)]
pub struct TokenStatus {
    pub source: KeyOrigin,
    /// Like `ghp…a1b2`; never the token.
    pub masked: Option<String>,
}

/// The first three and last four characters of a long key; nothing of a
/// short one, where those would be most of it.
pub fn mask(key: &str) -> String {
    let chars: Vec<char> = key.chars().collect();
    if chars.len() < 16 {
        return "••••".into();
    }
    let head: String = chars[..3].iter().collect();
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("{head}…{tail}")
}

/// Where the provider's key is, masked.
pub fn key_status(provider: Provider) -> Result<KeyStatus, Error> {
    let (source, masked) = match secrets::get_key(provider) {
        Ok((key, source)) => {
            let origin = match source {
                KeySource::Keyring => KeyOrigin::Keyring,
                KeySource::Environment => KeyOrigin::Environment,
            };
            (origin, Some(mask(key.expose())))
        }
        Err(SecretsError::Missing { .. }) => (KeyOrigin::None, None),
        Err(other) => return Err(other.into()),
    };
    Ok(KeyStatus {
        provider,
        source,
        masked,
        env_var: provider.env_var().to_owned(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn masking_shows_only_the_ends_of_a_long_key() {
        let key = "sk-ant-api03-abcdefghijklmnopqrstuvwxyz-a1b2";
        let masked = mask(key);
        assert_eq!(masked, "sk-…a1b2");
        assert!(!masked.contains("abcdef"), "the middle never shows");
        assert_eq!(mask("short-key"), "••••", "a short key shows nothing");
    }
}
