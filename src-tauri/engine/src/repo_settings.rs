//! Per-repository settings that prepare each new worktree: which files git
//! ignores but a worktree still needs (`.env`, by glob) and a setup command
//! (`npm ci`) run in each worktree before its agent starts.
//!
//! Fanout keeps them in its own database (table `repo_settings`, keyed by the
//! repository's root), never in the user's repository: the database is
//! already keyed by repository root with the same path encoding, and its
//! transactions keep the app and a `fanout` command in another terminal from
//! overwriting each other's changes, which a JSON file would need its own
//! locking for. [`export`] writes them into the repository only when asked.

use std::path::{Path, PathBuf};
use std::time::Duration;

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};
use serde::{Deserialize, Serialize};

/// The file [`export`] writes at the repository's root.
pub const EXPORT_FILE: &str = ".fanout.json";
/// The most globs one repository may list.
pub const MAX_GLOBS: usize = 64;
/// The longest setup timeout: a day.
pub const MAX_SETUP_TIMEOUT_SECS: u64 = 24 * 60 * 60;

#[derive(Debug, thiserror::Error)]
pub enum RepoSettingsError {
    #[error("{0}")]
    Invalid(String),
    #[error("The repository settings stored for {repo} are not readable ({detail}). Save them again to replace them.")]
    Stored { repo: PathBuf, detail: String },
    #[error(
        "Fanout could not write {path}: {source}. Check that the repository folder is writable."
    )]
    Export {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} already exists and is not an earlier Fanout export ({why}), so Fanout leaves it alone. Move or rename it, then export again.")]
    ExportExists { path: PathBuf, why: &'static str },
}

impl RepoSettingsError {
    pub fn code(&self) -> &'static str {
        match self {
            RepoSettingsError::Invalid(_) => "repo_settings.invalid",
            RepoSettingsError::Stored { .. } => "repo_settings.stored",
            RepoSettingsError::Export { .. } => "repo_settings.export",
            RepoSettingsError::ExportExists { .. } => "repo_settings.export_exists",
        }
    }
}

/// How each new worktree of one repository is prepared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct RepoSettings {
    /// Globs of files the checkout has but git does not track, copied into
    /// each new worktree. A glob without `/` matches a file name in any
    /// folder (`.env` also finds `config/.env`); one with `/` matches the
    /// path from the repository's root (`secrets/*.pem`).
    pub copy: Vec<String>,
    /// Run through `sh -c` in each worktree before its agent starts.
    pub setup_command: Option<String>,
    pub setup_timeout_secs: u64,
    /// Checks may reach the network. Off, a check runs in a sandbox with
    /// loopback only (when the sandbox is on), so a test suite cannot call out.
    pub check_network: bool,
    /// Built-state folders copied into each new worktree so its first build
    /// is warm (see [`crate::warm`]); `None` is what Fanout detects, an
    /// empty list is none.
    #[serde(default)]
    pub warm: Option<Vec<String>>,
}

impl Default for RepoSettings {
    fn default() -> Self {
        RepoSettings {
            copy: vec![".env".into(), ".env.*".into()],
            setup_command: None,
            setup_timeout_secs: 10 * 60,
            check_network: true,
            warm: None,
        }
    }
}

/// A repository's settings as a settings screen shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct RepoSettingsView {
    pub repo_root: PathBuf,
    pub settings: RepoSettings,
    /// `false` while the repository still uses the defaults.
    pub stored: bool,
    /// The built-state folders the checkout has, warmed by default.
    pub warm_detected: Vec<crate::warm::Detected>,
}

impl RepoSettings {
    /// Checks everything a user can get wrong; the error is a sentence.
    pub fn validate(&self) -> Result<(), RepoSettingsError> {
        let invalid = |s: String| Err(RepoSettingsError::Invalid(s));
        if self.copy.len() > MAX_GLOBS {
            return invalid(format!(
                "{} file patterns were given; at most {MAX_GLOBS} are allowed. Combine them with wildcards.",
                self.copy.len()
            ));
        }
        for glob in &self.copy {
            check_glob(glob)?;
        }
        if let Some(command) = &self.setup_command {
            if command.trim().is_empty() {
                return invalid("The setup command is empty. Enter a command such as `npm ci`, or remove the setup command.".into());
            }
            if command.contains('\0') {
                return invalid("The setup command contains a NUL character, which no shell can run. Retype the command.".into());
            }
        }
        if self.setup_timeout_secs == 0 || self.setup_timeout_secs > MAX_SETUP_TIMEOUT_SECS {
            return invalid(format!(
                "The setup timeout must be between 1 and {MAX_SETUP_TIMEOUT_SECS} seconds; {} was given.",
                self.setup_timeout_secs
            ));
        }
        Ok(())
    }

    pub fn setup_timeout(&self) -> Duration {
        Duration::from_secs(self.setup_timeout_secs)
    }

    /// The matcher for [`RepoSettings::copy`]; validate first.
    pub fn matcher(&self) -> Result<CopyMatcher, RepoSettingsError> {
        CopyMatcher::new(&self.copy)
    }
}

fn check_glob(glob: &str) -> Result<(), RepoSettingsError> {
    let invalid = |why: &str| {
        Err(RepoSettingsError::Invalid(format!(
            "The file pattern {glob:?} {why}"
        )))
    };
    if glob.trim().is_empty() {
        return invalid("is empty. Remove it or write a pattern such as `.env`.");
    }
    if glob.starts_with('/') || glob.contains('\\') {
        return invalid(
            "must be relative to the repository, with `/` between folders, such as `config/.env`.",
        );
    }
    if glob.split('/').any(|part| part == ".." || part == ".git") {
        return invalid(
            "would reach outside the checkout or into `.git`. Name files inside the repository.",
        );
    }
    match Glob::new(glob) {
        Ok(_) => Ok(()),
        Err(e) => Err(RepoSettingsError::Invalid(format!(
            "The file pattern {glob:?} is not a valid pattern ({}). Fix it, for example `.env.*`.",
            e.kind()
        ))),
    }
}

/// Which repository-relative paths the copy globs select.
#[derive(Debug, Clone)]
pub struct CopyMatcher {
    names: GlobSet,
    paths: GlobSet,
    /// The literal folder prefixes of the path globs: the only ignored
    /// folders worth looking inside (see [`CopyMatcher::may_contain`]).
    prefixes: Vec<String>,
}

impl CopyMatcher {
    pub fn new(globs: &[String]) -> Result<CopyMatcher, RepoSettingsError> {
        let (mut names, mut paths, mut prefixes) =
            (GlobSetBuilder::new(), GlobSetBuilder::new(), Vec::new());
        for glob in globs {
            check_glob(glob)?;
            let built = GlobBuilder::new(glob)
                .literal_separator(true)
                .build()
                .map_err(|e| RepoSettingsError::Invalid(e.to_string()))?;
            if glob.contains('/') {
                paths.add(built);
                prefixes.push(literal_prefix(glob));
            } else {
                names.add(built);
            }
        }
        let build = |b: GlobSetBuilder| {
            b.build()
                .map_err(|e| RepoSettingsError::Invalid(e.to_string()))
        };
        Ok(CopyMatcher {
            names: build(names)?,
            paths: build(paths)?,
            prefixes,
        })
    }

    /// Whether the file at `rel` (relative, `/`-separated) is to be copied.
    pub fn matches(&self, rel: &str) -> bool {
        let name = rel.rsplit('/').next().unwrap_or(rel);
        self.names.is_match(name) || self.paths.is_match(rel)
    }

    /// Whether a folder git ignores as a whole (`rel` ends with `/`) may hold
    /// files to copy. Only path globs look inside one: a name glob such as
    /// `.env` must not send Fanout through every `node_modules` and `target`.
    pub fn may_contain(&self, rel_dir: &str) -> bool {
        self.prefixes
            .iter()
            .any(|p| rel_dir.starts_with(p.as_str()) || p.starts_with(rel_dir))
    }
}

/// The folders of a path glob before its first wildcard (`secrets/` of
/// `secrets/*.pem`; empty for `**/x`).
fn literal_prefix(glob: &str) -> String {
    let literal = glob
        .find(['*', '?', '[', '{'])
        .map_or(glob, |at| &glob[..at]);
    match literal.rfind('/') {
        Some(at) => literal[..=at].to_string(),
        None => String::new(),
    }
}

/// Writes the settings to [`EXPORT_FILE`] at the repository's root, for
/// sharing them with the repository. Returns the file. Replaces an earlier
/// export only: a file of the user's own by that name, or a symlink, is
/// refused, never overwritten.
pub fn export(repo_root: &Path, settings: &RepoSettings) -> Result<PathBuf, RepoSettingsError> {
    let path = repo_root.join(EXPORT_FILE);
    let failed = |source| RepoSettingsError::Export {
        path: path.clone(),
        source,
    };
    refuse_foreign_file(&path)?;
    let mut text = serde_json::to_string_pretty(settings).expect("settings serialize");
    text.push('\n');
    // Written beside it, then renamed over it: a failed write leaves the
    // earlier export whole.
    let partial = repo_root.join(format!("{EXPORT_FILE}.partial-{}", std::process::id()));
    std::fs::write(&partial, text).map_err(failed)?;
    std::fs::rename(&partial, &path).map_err(|source| {
        let _ = std::fs::remove_file(&partial);
        failed(source)
    })?;
    Ok(path)
}

fn refuse_foreign_file(path: &Path) -> Result<(), RepoSettingsError> {
    let exists = |why| RepoSettingsError::ExportExists {
        path: path.to_path_buf(),
        why,
    };
    let meta = match std::fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(source) => {
            return Err(RepoSettingsError::Export {
                path: path.to_path_buf(),
                source,
            })
        }
    };
    if meta.file_type().is_symlink() {
        return Err(exists("it is a symbolic link"));
    }
    if !meta.is_file() {
        return Err(exists("it is not a file"));
    }
    let text = std::fs::read_to_string(path).map_err(|source| RepoSettingsError::Export {
        path: path.to_path_buf(),
        source,
    })?;
    if is_export(&text) {
        Ok(())
    } else {
        Err(exists("its content is not Fanout's settings"))
    }
}

/// A JSON object whose keys are all settings keys: what [`export`] writes.
/// (Parsing into [`RepoSettings`] alone would accept any object.)
fn is_export(text: &str) -> bool {
    let known = serde_json::to_value(RepoSettings::default()).expect("settings serialize");
    let (Ok(serde_json::Value::Object(found)), serde_json::Value::Object(known)) =
        (serde_json::from_str::<serde_json::Value>(text), known)
    else {
        return false;
    };
    !found.is_empty() && found.keys().all(|k| known.contains_key(k))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn export_replaces_an_earlier_export_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join(EXPORT_FILE);
        let settings = with_globs(&[".env"]);
        export(dir.path(), &settings).expect("a first export");
        export(dir.path(), &with_globs(&["*.local"])).expect("an earlier export is replaced");
        assert!(std::fs::read_to_string(&file).unwrap().contains("*.local"));

        std::fs::write(&file, "{\"team\": \"ours\"}\n").unwrap();
        let err = export(dir.path(), &settings).expect_err("the user's own file");
        assert_eq!(err.code(), "repo_settings.export_exists");
        assert_eq!(
            std::fs::read_to_string(&file).unwrap(),
            "{\"team\": \"ours\"}\n",
            "the user's file is untouched"
        );

        let elsewhere = dir.path().join("elsewhere.json");
        std::fs::write(&elsewhere, "keep me\n").unwrap();
        std::fs::remove_file(&file).unwrap();
        std::os::unix::fs::symlink(&elsewhere, &file).unwrap();
        let err = export(dir.path(), &settings).expect_err("a symlink is not followed");
        assert!(err.to_string().contains("symbolic link"), "{err}");
        assert_eq!(std::fs::read_to_string(&elsewhere).unwrap(), "keep me\n");
    }

    fn with_globs(globs: &[&str]) -> RepoSettings {
        RepoSettings {
            copy: globs.iter().map(|g| g.to_string()).collect(),
            ..RepoSettings::default()
        }
    }

    fn error(settings: &RepoSettings) -> String {
        settings
            .validate()
            .expect_err("these settings are invalid")
            .to_string()
    }

    #[test]
    fn the_defaults_are_valid_and_copy_env_files() {
        let defaults = RepoSettings::default();
        defaults.validate().expect("the defaults validate");
        let m = defaults.matcher().expect("the defaults build a matcher");
        assert!(m.matches(".env"), "the root .env is copied");
        assert!(
            m.matches("config/.env.test"),
            "a name glob matches in any folder"
        );
        assert!(
            !m.matches("src/environment.rs"),
            "only files named like .env"
        );
        assert!(
            !m.may_contain("node_modules/"),
            "name globs never send the copy into ignored folders"
        );
    }

    #[test]
    fn path_globs_match_from_the_root_and_open_their_folder() {
        let m = with_globs(&["secrets/*.pem"]).matcher().expect("valid");
        assert!(m.matches("secrets/a.pem"));
        assert!(
            !m.matches("secrets/deep/a.pem"),
            "`*` does not cross folders"
        );
        assert!(!m.matches("other/secrets/a.pem"), "anchored at the root");
        assert!(m.may_contain("secrets/"), "its folder is searched");
        assert!(!m.may_contain("target/"), "other ignored folders are not");
    }

    #[test]
    fn bad_settings_are_refused_with_a_sentence() {
        assert!(error(&with_globs(&["../outside"])).contains("outside the checkout"));
        assert!(error(&with_globs(&["/etc/passwd"])).contains("relative"));
        assert!(error(&with_globs(&["  "])).contains("empty"));
        assert!(error(&with_globs(&["a[b"])).contains("not a valid pattern"));
        let blank = RepoSettings {
            setup_command: Some("  ".into()),
            ..RepoSettings::default()
        };
        assert!(error(&blank).contains("setup command is empty"));
        let zero = RepoSettings {
            setup_timeout_secs: 0,
            ..RepoSettings::default()
        };
        assert!(error(&zero).contains("between 1 and"));
    }

    #[test]
    fn settings_from_an_older_file_fill_in_defaults() {
        let s: RepoSettings =
            serde_json::from_str(r#"{"setup_command":"npm ci"}"#).expect("partial JSON loads");
        assert_eq!(s.copy, RepoSettings::default().copy);
        assert_eq!(s.setup_command.as_deref(), Some("npm ci"));
    }
}
