//! The user's settings: one JSON file in Fanout's data directory
//! ([`crate::paths::Paths::settings`]). Secrets are not here: API keys live in
//! the OS keyring ([`crate::secrets`]).
//!
//! Every field has a default, so a file written by an older or newer Fanout
//! still loads; a file that is not valid JSON is an error naming the file and
//! the line, never silently replaced (the user may have edited it by hand).

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::agent::{AgentKind, ApprovalSettings, PermissionProfile};
use crate::experiment::{ApproachSpec, NewExperiment, MAX_VARIANTS};
use crate::hosts::{HostConfig, Hosts};
use crate::llm::ApiEndpoint;
use crate::oneshot::{Asker, AskerChoice};
use crate::orchestrator::{Environment, Executables, RunConfig};

#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    #[error("Fanout could not read its settings file {path}: {source}. Check its permissions.")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("The settings file {path} is not valid ({source}). Fix it by hand, or delete it to start again from the defaults.")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("Fanout could not save its settings to {path}: {source}. Check that the folder is writable.")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{0}")]
    Invalid(String),
}

impl SettingsError {
    pub fn code(&self) -> &'static str {
        match self {
            SettingsError::Read { .. } => "settings.read",
            SettingsError::Parse { .. } => "settings.parse",
            SettingsError::Write { .. } => "settings.write",
            SettingsError::Invalid(_) => "settings.invalid",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Theme {
    #[default]
    System,
    Light,
    Dark,
}

/// What the settings screen edits.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct Settings {
    /// The `claude` program; `None` finds it on the PATH.
    pub claude_path: Option<PathBuf>,
    /// The `codex` program; `None` finds it on the PATH.
    pub codex_path: Option<PathBuf>,
    /// The agent new experiments use unless an approach names another.
    pub default_agent: AgentKind,
    pub default_model: Option<String>,
    pub permission: PermissionProfile,
    /// The template of the custom command agent (`{prompt}`, `{prompt_file}`, `{workdir}`).
    pub agent_command: Option<String>,
    /// The built-in agent's model API and approach generation over the API.
    pub api: ApiEndpoint,
    /// Sessions at once; `None` runs every variant at once.
    pub max_parallel: Option<usize>,
    /// Per session, in minutes.
    pub timeout_minutes: u64,
    /// Where worktrees go; `None` is Fanout's data directory.
    pub worktree_root: Option<PathBuf>,
    /// The methodology file, relative to the repository; `None` is
    /// `.claude/commands/ultrathink-task.md`.
    pub methodology_path: Option<PathBuf>,
    pub theme: Theme,
    /// What the "ask" profile allows, denies or asks, with per-repository overrides.
    pub approvals: ApprovalSettings,
    /// How "Open in editor" opens a worktree, e.g. `code {path}`; `None` opens
    /// it with the system's default application for folders.
    pub editor_command: Option<String>,
    /// Run agents, setup commands and checks in the bubblewrap sandbox where
    /// this machine can (see [`crate::sandbox`]).
    pub sandbox: bool,
    /// Secret variables of Fanout's environment the custom command agent
    /// may inherit (it gets none of Fanout's keys otherwise).
    pub agent_command_env: Vec<String>,
    /// Who reviews the variants and judges them, and when.
    pub reviewer: ReviewerSettings,
    /// Checks at once on this machine; `None` is half the cores.
    pub max_checks: Option<usize>,
    /// A variant waits to start while less memory is available, in MB.
    pub min_free_memory_mb: u64,
    /// GitHub's REST API for pull requests (GitHub Enterprise); `None` is
    /// `GITHUB_API_URL`, else api.github.com.
    pub github_api: Option<String>,
    /// The ssh hosts variants can run on (see [`crate::hosts`]).
    pub hosts: Vec<HostConfig>,
    /// The ssh configuration file for them (`ssh -F`); `None` is ssh's own
    /// (`~/.ssh/config`). `FANOUT_SSH_CONFIG` wins over it.
    pub ssh_config: Option<PathBuf>,
}

/// Who reviews the variants and judges them, and when.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct ReviewerSettings {
    /// The model API when a key is set, else Claude Code (`auto`); or one of them.
    pub choice: AskerChoice,
    /// The reviewer's model through the API; `None` is the API settings' model.
    pub model: Option<String>,
    /// Review each variant as soon as it succeeds; otherwise on demand.
    pub automatic: bool,
    /// Tokens of diff a review reads.
    pub budget_tokens: usize,
}

impl Default for ReviewerSettings {
    fn default() -> Self {
        ReviewerSettings {
            choice: AskerChoice::Auto,
            model: None,
            automatic: false,
            budget_tokens: crate::review::DEFAULT_BUDGET_TOKENS,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            claude_path: None,
            codex_path: None,
            default_agent: AgentKind::ClaudeCode,
            default_model: None,
            // The app asks by default; `fanout run` has its own `--permission edits` default.
            permission: PermissionProfile::Ask,
            agent_command: None,
            api: ApiEndpoint::default(),
            max_parallel: None,
            timeout_minutes: 30,
            worktree_root: None,
            methodology_path: None,
            theme: Theme::System,
            approvals: ApprovalSettings::default(),
            editor_command: None,
            sandbox: true,
            agent_command_env: Vec::new(),
            reviewer: ReviewerSettings::default(),
            max_checks: None,
            min_free_memory_mb: crate::orchestrator::DEFAULT_MIN_FREE_MEMORY / 1_000_000,
            github_api: None,
            hosts: Vec::new(),
            ssh_config: None,
        }
    }
}

impl Settings {
    /// The settings at `path`; the defaults when the file does not exist yet.
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Settings::default()),
            Err(source) => {
                return Err(SettingsError::Read {
                    path: path.to_owned(),
                    source,
                })
            }
        };
        serde_json::from_str(&text).map_err(|source| SettingsError::Parse {
            path: path.to_owned(),
            source,
        })
    }

    /// Checks and writes the settings; a crash mid-write leaves the old file,
    /// since the new one is renamed over it.
    pub fn save(&self, path: &Path) -> Result<(), SettingsError> {
        self.validate()?;
        let write_err = |source| SettingsError::Write {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(write_err)?;
        }
        let json = serde_json::to_vec_pretty(self).map_err(|e| {
            SettingsError::Invalid(format!("The settings could not be encoded: {e}."))
        })?;
        let tmp = path.with_extension("json.tmp");
        std::fs::write(&tmp, json).map_err(write_err)?;
        std::fs::rename(&tmp, path).map_err(write_err)
    }

    /// Values a user could type that would break a run later.
    pub fn validate(&self) -> Result<(), SettingsError> {
        if let Some(n) = self.max_parallel {
            if n == 0 || n > MAX_VARIANTS {
                return Err(SettingsError::Invalid(format!(
                    "Max parallel sessions must be between 1 and {MAX_VARIANTS}, not {n}. Leave it empty to run every variant at once."
                )));
            }
        }
        if self.timeout_minutes == 0 {
            return Err(SettingsError::Invalid(
                "The session timeout must be at least one minute.".into(),
            ));
        }
        let mut aliases = std::collections::HashSet::new();
        for host in &self.hosts {
            host.validate()
                .map_err(|e| SettingsError::Invalid(e.to_string()))?;
            if !aliases.insert(host.alias.as_str()) {
                return Err(SettingsError::Invalid(format!(
                    "The host `{}` is listed twice.",
                    host.alias
                )));
            }
        }
        if self.max_checks == Some(0) {
            return Err(SettingsError::Invalid(
                "Checks at once must be at least 1. Leave it empty for half the cores.".into(),
            ));
        }
        if let Some(url) = self.api.base_url.as_deref().map(str::trim) {
            let web = url.starts_with("http://") || url.starts_with("https://");
            if !url.is_empty() && !web {
                return Err(SettingsError::Invalid(format!(
                    "The API base URL `{url}` must start with http:// or https://."
                )));
            }
        }
        if let Some(template) = self
            .editor_command
            .as_deref()
            .filter(|t| !t.trim().is_empty())
        {
            editor_argv(template, Path::new("/"))?;
        }
        if let Some(root) = &self.worktree_root {
            if !root.is_absolute() {
                return Err(SettingsError::Invalid(format!(
                    "The worktree folder `{}` must be an absolute path.",
                    root.display()
                )));
            }
        }
        Ok(())
    }

    /// The programs to run: the settings' paths, else `FANOUT_CLAUDE_BIN` /
    /// `FANOUT_CODEX_BIN` / `FANOUT_GEMINI_BIN`, else the names on the PATH.
    pub fn executables(&self) -> Executables {
        let env = Executables::from_env();
        Executables {
            claude: self.claude_path.clone().or(env.claude),
            codex: self.codex_path.clone().or(env.codex),
            gemini: env.gemini,
        }
    }

    /// How the orchestrator runs an experiment's sessions; `check` is the
    /// experiment's own check command.
    /// How a new experiment's variants run, from these settings and the
    /// launch's check command; stored with the experiment.
    pub fn run_config(&self, check: Option<String>) -> RunConfig {
        RunConfig {
            permission: self.permission,
            check: check.filter(|c| !c.trim().is_empty()),
            timeout_secs: self.timeout_minutes.max(1) * 60,
            max_parallel: self.max_parallel,
            agent_command: self.agent_command.clone(),
            agent_command_secrets: self.agent_command_env.clone(),
            sandbox: self.sandbox,
            methodology_path: self.methodology_path.clone(),
            api: self.api.clone(),
            ..RunConfig::default()
        }
    }

    /// A new experiment as the app starts one: the settings' default agent,
    /// model and worktree folder, and their run configuration with `check`.
    pub fn new_experiment(
        &self,
        repo: PathBuf,
        task: String,
        approaches: Vec<ApproachSpec>,
        include_uncommitted: bool,
        check: Option<String>,
    ) -> NewExperiment {
        let approaches = approaches
            .into_iter()
            .map(|a| ApproachSpec {
                model: a.model.or_else(|| self.default_model.clone()),
                ..a
            })
            .collect();
        NewExperiment {
            repo,
            task,
            approaches,
            include_uncommitted,
            worktree_root: self.worktree_root.clone(),
            default_agent: self.default_agent.as_str().into(),
            run: self.run_config(check),
        }
    }

    /// Who reviews and judges, working in `workdir` (the experiment's
    /// repository). Blocking: it may ask the keyring.
    pub fn reviewer_asker(&self, workdir: PathBuf) -> Result<Asker, crate::Error> {
        let api = ApiEndpoint {
            model: self
                .reviewer
                .model
                .clone()
                .or_else(|| self.api.model.clone()),
            ..self.api.clone()
        };
        Asker::choose(self.reviewer.choice, &self.executables(), workdir, &api)
    }

    /// This machine's side of running agents: where their programs are, the
    /// login shell's PATH, the approval rules.
    pub fn environment(&self) -> Environment {
        Environment {
            executables: self.executables(),
            env: agent_env(),
            approvals: self.approvals.clone(),
            max_checks: self
                .max_checks
                .unwrap_or_else(crate::orchestrator::default_max_checks),
            min_free_memory: self.min_free_memory_mb.saturating_mul(1_000_000),
            hosts: self.hosts(),
            ..Environment::default()
        }
    }
}

impl Settings {
    /// The hosts, with the ssh configuration `FANOUT_SSH_CONFIG` or these
    /// settings name.
    pub fn hosts(&self) -> Hosts {
        Hosts::new(self.hosts.clone(), self.ssh_config.clone())
    }
}

/// The login shell's PATH for the agents, once the app has worked it out
/// ([`crate::detect::agent_path`]); nothing otherwise, so they inherit ours.
fn agent_env() -> Vec<(String, String)> {
    crate::detect::agent_path_if_known()
        .and_then(|p| p.value.to_str())
        .map(|path| vec![("PATH".to_owned(), path.to_owned())])
        .unwrap_or_default()
}

/// The program and arguments that open `path` in the editor: `{path}` in the
/// template is replaced, or the path is appended when the template has none.
/// Quoting follows the shell's rules (`"/Applications/My Editor" {path}`).
pub fn editor_argv(template: &str, path: &Path) -> Result<Vec<String>, SettingsError> {
    let words = shell_words::split(template).map_err(|e| {
        SettingsError::Invalid(format!(
            "The editor command `{template}` cannot be read ({e}). Check its quotes."
        ))
    })?;
    if words.is_empty() {
        return Err(SettingsError::Invalid(
            "The editor command is empty. Type one, like `code {path}`, or clear it to use the system's default app.".into(),
        ));
    }
    let shown = path.to_string_lossy();
    let has_placeholder = words.iter().any(|w| w.contains("{path}"));
    let mut argv: Vec<String> = words
        .into_iter()
        .map(|w| w.replace("{path}", &shown))
        .collect();
    if !has_placeholder {
        argv.push(shown.into_owned());
    }
    Ok(argv)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_file_gives_the_defaults() {
        let dir = tempfile::tempdir().expect("temp dir");
        let loaded = Settings::load(&dir.path().join("settings.json")).expect("load");
        assert_eq!(
            loaded,
            Settings::default(),
            "first start: nothing saved yet"
        );
        assert_eq!(
            loaded.permission,
            PermissionProfile::Ask,
            "the app's default profile asks the user (the CLI defaults to edits on its own)"
        );
    }

    #[test]
    fn saved_settings_load_back_and_unknown_fields_are_tolerated() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("nested/settings.json");
        let settings = Settings {
            permission: PermissionProfile::EditsAndCommands,
            max_parallel: Some(3),
            theme: Theme::Dark,
            api: ApiEndpoint {
                base_url: Some("http://127.0.0.1:9".into()),
                ..ApiEndpoint::default()
            },
            ..Settings::default()
        };
        settings.save(&path).expect("save");
        assert_eq!(Settings::load(&path).expect("load"), settings, "round trip");

        // A newer Fanout may have written fields this one does not know.
        std::fs::write(&path, r#"{"theme":"light","from_the_future":true}"#).expect("write");
        let loaded = Settings::load(&path).expect("load a file with an unknown field");
        assert_eq!(loaded.theme, Theme::Light, "known fields are read");
        assert_eq!(
            loaded.timeout_minutes, 30,
            "missing fields take their default"
        );
    }

    #[test]
    fn a_broken_file_is_an_error_naming_it_and_is_left_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("settings.json");
        std::fs::write(&path, "{ \"theme\": ").expect("write");
        let err = Settings::load(&path).expect_err("truncated JSON must not load");
        assert_eq!(err.code(), "settings.parse");
        assert!(
            err.to_string().contains("settings.json"),
            "the message names the file: {err}"
        );
        assert_eq!(
            std::fs::read_to_string(&path).expect("read"),
            "{ \"theme\": ",
            "the user's file is not overwritten"
        );
    }

    #[test]
    fn invalid_values_are_refused_with_a_sentence() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("settings.json");
        for (settings, needle) in [
            (
                Settings {
                    max_parallel: Some(0),
                    ..Settings::default()
                },
                "between 1 and",
            ),
            (
                Settings {
                    api: ApiEndpoint {
                        base_url: Some("localhost:8080".into()),
                        ..ApiEndpoint::default()
                    },
                    ..Settings::default()
                },
                "http://",
            ),
            (
                Settings {
                    worktree_root: Some("relative/trees".into()),
                    ..Settings::default()
                },
                "absolute",
            ),
        ] {
            let err = settings
                .save(&path)
                .expect_err("invalid settings are refused");
            assert!(err.to_string().contains(needle), "{err}");
        }
        assert!(!path.exists(), "nothing was written");
    }

    #[test]
    fn the_editor_command_takes_the_path_where_it_says() {
        let path = Path::new("/tmp/my tree");
        assert_eq!(
            editor_argv("code --new-window {path}", path).expect("valid"),
            ["code", "--new-window", "/tmp/my tree"],
            "the placeholder is one argument, spaces and all"
        );
        assert_eq!(
            editor_argv("\"/opt/My Editor/bin/ed\"", path).expect("valid"),
            ["/opt/My Editor/bin/ed", "/tmp/my tree"],
            "without a placeholder the path is appended"
        );
        let err = Settings {
            editor_command: Some("code 'unclosed".into()),
            ..Settings::default()
        }
        .validate()
        .expect_err("an unclosed quote is refused");
        assert!(err.to_string().contains("quotes"), "{err}");
    }

    #[test]
    fn the_run_config_and_environment_follow_the_settings() {
        let settings = Settings {
            claude_path: Some("/opt/claude".into()),
            max_parallel: Some(2),
            timeout_minutes: 5,
            permission: PermissionProfile::Bypass,
            ..Settings::default()
        };
        let run = settings.run_config(Some("  ".into()));
        assert_eq!(run.max_parallel, Some(2));
        assert_eq!(run.timeout_secs, 300);
        assert_eq!(run.permission, PermissionProfile::Bypass);
        assert_eq!(
            settings.environment().executables.claude.as_deref(),
            Some(Path::new("/opt/claude")),
            "the settings' path wins over the PATH"
        );
        assert!(run.check.is_none(), "a blank check command is no check");
    }
}
