//! Where Fanout keeps its files.
//!
//! Everything Fanout stores lives under one directory: `$FANOUT_HOME` when set
//! (tests point it at a throwaway folder), otherwise the XDG data directory
//! (`$XDG_DATA_HOME/fanout`, by default `~/.local/share/fanout`).

use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum PathsError {
    #[error("Fanout cannot tell where to keep its data: neither FANOUT_HOME nor HOME is set. Set FANOUT_HOME to a writable folder and try again.")]
    NoHome,
    #[error("Fanout cannot create its data folder {path}: {source}. Check that the folder is writable, or set FANOUT_HOME to another one.")]
    Create {
        path: PathBuf,
        source: std::io::Error,
    },
}

impl PathsError {
    pub fn code(&self) -> &'static str {
        match self {
            PathsError::NoHome => "paths.no_home",
            PathsError::Create { .. } => "paths.create",
        }
    }
}

/// Fanout's data directory and the well-known places inside it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    home: PathBuf,
}

impl Paths {
    /// The data directory chosen by the environment (see the module docs).
    pub fn from_env() -> Result<Paths, PathsError> {
        let var = |name: &str| std::env::var_os(name).filter(|v| !v.is_empty());
        let home = if let Some(home) = var("FANOUT_HOME") {
            PathBuf::from(home)
        } else if let Some(data) = var("XDG_DATA_HOME") {
            PathBuf::from(data).join("fanout")
        } else if let Some(user_home) = var("HOME") {
            PathBuf::from(user_home).join(".local/share/fanout")
        } else {
            return Err(PathsError::NoHome);
        };
        Ok(Paths { home })
    }

    /// A data directory at an explicit place.
    pub fn at(home: impl Into<PathBuf>) -> Paths {
        Paths { home: home.into() }
    }

    pub fn home(&self) -> &Path {
        &self.home
    }

    /// Creates the data directory if it does not exist yet.
    pub fn ensure(&self) -> Result<(), PathsError> {
        std::fs::create_dir_all(&self.home).map_err(|source| PathsError::Create {
            path: self.home.clone(),
            source,
        })
    }

    /// The default root under which experiments' worktrees are created.
    pub fn worktrees(&self) -> PathBuf {
        self.home.join("worktrees")
    }

    /// The SQLite database holding experiments, variants and events.
    pub fn database(&self) -> PathBuf {
        self.home.join("fanout.db")
    }

    /// The recently opened repositories.
    pub fn recent(&self) -> PathBuf {
        self.home.join("recent.json")
    }

    /// The user's settings file (never holds secrets; those go to the keyring).
    pub fn settings(&self) -> PathBuf {
        self.home.join("settings.json")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_live_under_the_home() {
        let paths = Paths::at("/data/fanout");
        // Everything Fanout writes must move with FANOUT_HOME, so tests never
        // touch the real user's data.
        assert!(paths.worktrees().starts_with("/data/fanout"));
        assert!(paths.database().starts_with("/data/fanout"));
        assert!(paths.settings().starts_with("/data/fanout"));
    }
}
