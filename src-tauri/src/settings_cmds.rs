//! Commands of the settings screen and of the desktop plugins (native
//! dialogs, opening folders and editors). Dialogs and the opener are called
//! from here rather than from the page, so the UI needs no plugin permission.

use std::path::{Path, PathBuf};

use fanout_engine::detect::{self, AgentStatus};
use fanout_engine::experiment::Engine;
use fanout_engine::repo_settings::{RepoSettings, RepoSettingsView};
use fanout_engine::secrets::{self, ApiKey, KeySource, Provider, SecretsError};
use fanout_engine::settings::{editor_argv, Settings, SettingsError};
use serde::Serialize;
use tauri::{AppHandle, State};
use tauri_plugin_dialog::DialogExt;
use tauri_plugin_opener::OpenerExt;

use crate::commands::with_engine;
use crate::error::{CommandError, CommandResult};
use crate::state::AppState;

impl From<SettingsError> for CommandError {
    fn from(err: SettingsError) -> Self {
        CommandError::from(fanout_engine::Error::from(err))
    }
}

impl From<SecretsError> for CommandError {
    fn from(err: SecretsError) -> Self {
        CommandError::from(fanout_engine::Error::from(err))
    }
}

/// Runs blocking work (files, the keyring's D-Bus calls, native dialogs) off
/// the async runtime.
async fn blocking<T, F>(what: &'static str, f: F) -> CommandResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> CommandResult<T> + Send + 'static,
{
    tauri::async_runtime::spawn_blocking(f)
        .await
        .map_err(|_| CommandError::internal(what))?
}

fn load_settings(state: &AppState) -> CommandResult<Settings> {
    Ok(Settings::load(&state.paths()?.settings())?)
}

#[tauri::command]
pub async fn settings_get(state: State<'_, AppState>) -> CommandResult<Settings> {
    let file = state.paths()?.settings();
    blocking("reading the settings", move || Ok(Settings::load(&file)?)).await
}

/// Validates and saves; returns what was saved.
#[tauri::command]
pub async fn settings_save(
    state: State<'_, AppState>,
    settings: Settings,
) -> CommandResult<Settings> {
    let file = state.paths()?.settings();
    blocking("saving the settings", move || {
        settings.save(&file)?;
        Ok(settings)
    })
    .await
}

#[derive(Debug, Serialize)]
pub struct AgentsReport {
    agents: Vec<AgentStatus>,
    /// Why the login shell's PATH was not used, when it was not.
    path_note: Option<String>,
    /// Whether agents can be sandboxed here, and if not why.
    sandbox: fanout_engine::sandbox::Availability,
}

#[tauri::command]
pub async fn agents_detect(state: State<'_, AppState>) -> CommandResult<AgentsReport> {
    let settings = load_settings(&state)?;
    let path = detect::agent_path().await;
    let agents = detect::detect_agents(&settings, &path.value, detect::VERSION_TIMEOUT).await;
    let sandbox =
        tauri::async_runtime::spawn_blocking(|| fanout_engine::sandbox::availability().clone())
            .await
            .map_err(|_| CommandError::internal("checking the sandbox"))?;
    Ok(AgentsReport {
        agents,
        path_note: path.note.clone(),
        sandbox,
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeyOrigin {
    Keyring,
    Environment,
    None,
}

/// What the settings screen may know of a key: where it is and its ends.
#[derive(Debug, Serialize)]
pub struct KeyStatus {
    provider: Provider,
    source: KeyOrigin,
    /// Like `sk-…a1b2`; never the key.
    masked: Option<String>,
    /// The variable that is used when the keyring has no key.
    env_var: &'static str,
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

fn key_status(provider: Provider) -> CommandResult<KeyStatus> {
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
        env_var: provider.env_var(),
    })
}

#[tauri::command]
pub async fn api_key_status(provider: Provider) -> CommandResult<KeyStatus> {
    blocking("reading the API key", move || key_status(provider)).await
}

#[tauri::command]
pub async fn api_key_save(provider: Provider, key: String) -> CommandResult<KeyStatus> {
    blocking("saving the API key", move || {
        secrets::set_key(provider, &ApiKey::new(key))?;
        key_status(provider)
    })
    .await
}

#[tauri::command]
pub async fn api_key_delete(provider: Provider) -> CommandResult<KeyStatus> {
    blocking("removing the API key", move || {
        secrets::delete_key(provider)?;
        key_status(provider)
    })
    .await
}

/// The native folder picker; `None` when the user cancelled.
#[tauri::command]
pub async fn pick_folder(app: AppHandle, start: Option<String>) -> CommandResult<Option<String>> {
    blocking("choosing a folder", move || {
        let mut dialog = app.dialog().file().set_title("Choose a folder");
        if let Some(dir) = start
            .as_deref()
            .map(str::trim)
            .filter(|d| Path::new(d).is_dir())
        {
            dialog = dialog.set_directory(dir);
        }
        Ok(dialog
            .blocking_pick_folder()
            .and_then(|p| p.into_path().ok())
            .map(|p| p.to_string_lossy().into_owned()))
    })
    .await
}

/// The open repository's worktree setup (copy globs, setup command), the
/// defaults until saved.
#[tauri::command]
pub async fn repo_settings_get(
    state: State<'_, AppState>,
    repo: String,
) -> CommandResult<RepoSettingsView> {
    with_engine(state, "reading the repository settings", move |e| {
        e.repo_settings(Path::new(repo.trim()))
    })
    .await
}

/// Validates (the error is the engine's sentence) and saves in Fanout's
/// database; the repository itself is not touched.
#[tauri::command]
pub async fn repo_settings_save(
    state: State<'_, AppState>,
    repo: String,
    settings: RepoSettings,
) -> CommandResult<RepoSettingsView> {
    with_engine(state, "saving the repository settings", move |e| {
        save_repo_settings(e, &repo, settings)
    })
    .await
}

/// Writes the saved settings to `.fanout.json` in the repository; its path.
#[tauri::command]
pub async fn repo_settings_export(
    state: State<'_, AppState>,
    repo: String,
) -> CommandResult<String> {
    with_engine(state, "exporting the repository settings", move |e| {
        e.export_repo_settings(Path::new(repo.trim()))
            .map(|path| path.to_string_lossy().into_owned())
    })
    .await
}

/// A form sends an empty setup command as "" and globs with stray spaces:
/// both mean what the user sees, not a setup command of nothing.
pub fn save_repo_settings(
    engine: &mut Engine,
    repo: &str,
    mut settings: RepoSettings,
) -> CommandResult<RepoSettingsView> {
    settings.setup_command = settings
        .setup_command
        .filter(|c| !c.trim().is_empty())
        .map(|c| c.trim().to_owned());
    settings.copy = settings.copy.iter().map(|g| g.trim().to_owned()).collect();
    Ok(engine.save_repo_settings(Path::new(repo.trim()), settings)?)
}

/// Writes the experiment's Markdown report to `path`.
pub fn write_report(engine: &Engine, id: &str, path: &Path) -> CommandResult<()> {
    let report = engine.report(id)?;
    std::fs::write(path, report).map_err(|e| CommandError {
        code: "report.write",
        message: format!(
            "The report could not be written to {}: {e}. Choose a folder you can write to.",
            path.display()
        ),
    })
}

/// The save dialog, then the report written where the user chose; the path,
/// or `None` when the user cancelled.
#[tauri::command]
pub async fn report_export(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
) -> CommandResult<Option<String>> {
    let engine = state.engine()?;
    blocking("exporting the report", move || {
        let slug = {
            let engine = engine
                .lock()
                .map_err(|_| CommandError::internal("exporting the report"))?;
            engine.experiment(&id)?.experiment.slug
        };
        let Some(chosen) = app
            .dialog()
            .file()
            .set_title("Export the report")
            .add_filter("Markdown", &["md"])
            .set_file_name(format!("fanout-{slug}.md"))
            .blocking_save_file()
        else {
            return Ok(None);
        };
        let path = chosen.into_path().map_err(|e| CommandError {
            code: "report.path",
            message: format!("The chosen file cannot be used ({e}). Choose a local file."),
        })?;
        let engine = engine
            .lock()
            .map_err(|_| CommandError::internal("exporting the report"))?;
        write_report(&engine, &id, &path)?;
        Ok(Some(path.to_string_lossy().into_owned()))
    })
    .await
}

/// A variant's worktree, looked up by the engine rather than taken from the
/// page, so the page cannot ask to open just any path.
fn worktree(state: &AppState, id: &str, variant: u32) -> CommandResult<PathBuf> {
    let engine = state.engine()?;
    let engine = engine
        .lock()
        .map_err(|_| CommandError::internal("finding the worktree"))?;
    let view = engine.experiment(id)?;
    let found = view.variants.into_iter().find(|v| v.index == variant);
    let path = found.map(|v| v.worktree).ok_or_else(|| CommandError {
        code: "variant.not_found",
        message: format!("This experiment has no variant {variant}."),
    })?;
    if !path.is_dir() {
        return Err(CommandError {
            code: "worktree.missing",
            message: format!(
                "The worktree {} is gone (it may have been cleaned up).",
                path.display()
            ),
        });
    }
    Ok(path)
}

fn open_failed(path: &Path, e: impl std::fmt::Display) -> CommandError {
    CommandError {
        code: "open.failed",
        message: format!(
            "{} could not be opened: {e}. Check that a file manager or editor is installed.",
            path.display()
        ),
    }
}

/// Opens a variant's worktree in the file manager.
#[tauri::command]
pub async fn open_folder(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
    variant: u32,
) -> CommandResult<()> {
    let path = worktree(&state, &id, variant)?;
    app.opener()
        .open_path(path.to_string_lossy(), None::<&str>)
        .map_err(|e| open_failed(&path, e))
}

/// Opens a variant's worktree with the settings' editor command, or the
/// system's default application when there is none.
#[tauri::command]
pub async fn open_in_editor(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
    variant: u32,
) -> CommandResult<()> {
    let path = worktree(&state, &id, variant)?;
    let settings = load_settings(&state)?;
    let Some(template) = settings.editor_command.filter(|t| !t.trim().is_empty()) else {
        return app
            .opener()
            .open_path(path.to_string_lossy(), None::<&str>)
            .map_err(|e| open_failed(&path, e));
    };
    let argv = editor_argv(&template, &path)?;
    let search = detect::agent_path().await;
    spawn_editor(&argv, &search.value, &path)
}

/// Starts the editor and lets it run on its own; a thread reaps it so it
/// leaves no zombie.
fn spawn_editor(argv: &[String], search_path: &std::ffi::OsStr, cwd: &Path) -> CommandResult<()> {
    let (program, args) = argv.split_first().ok_or_else(|| CommandError {
        code: "settings.invalid",
        message: "The editor command is empty.".into(),
    })?;
    let mut command = std::process::Command::new(program);
    for name in fanout_engine::process::private_env() {
        command.env_remove(name);
    }
    let mut child = command
        .args(args)
        .current_dir(cwd)
        .env("PATH", search_path)
        .stdin(std::process::Stdio::null())
        .spawn()
        .map_err(|e| CommandError {
            code: "open.editor",
            message: format!(
                "The editor `{program}` could not be started: {e}. Fix the editor command in Settings."
            ),
        })?;
    std::thread::spawn(move || child.wait());
    Ok(())
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

    fn git(dir: &Path, args: &[&str]) {
        let status = std::process::Command::new("git")
            .args(["-c", "user.name=T", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(dir)
            .status()
            .expect("git runs");
        assert!(status.success(), "git {args:?} failed");
    }

    #[test]
    fn the_report_is_written_where_asked_and_a_bad_place_is_a_sentence() {
        let home = tempfile::tempdir().expect("temp dir");
        let repo = tempfile::tempdir().expect("temp dir");
        git(repo.path(), &["init", "-q", "-b", "main"]);
        std::fs::write(repo.path().join("README.md"), "hello\n").expect("write");
        git(repo.path(), &["add", "."]);
        git(repo.path(), &["commit", "-q", "-m", "first"]);

        let paths = fanout_engine::paths::Paths::at(home.path().join("fanout"));
        let mut engine = Engine::open(paths).expect("engine");
        let approach = |name: &str| fanout_engine::experiment::ApproachSpec {
            name: name.into(),
            description: String::new(),
            guidelines: String::new(),
            agent: None,
            model: None,
        };
        let view = engine
            .create_experiment(fanout_engine::experiment::NewExperiment {
                repo: repo.path().to_owned(),
                task: "Add a greeting".into(),
                approaches: vec![approach("Small"), approach("Large")],
                include_uncommitted: false,
                worktree_root: None,
                default_agent: "claude-code".into(),
            })
            .expect("experiment");

        let out = home.path().join("report.md");
        write_report(&engine, &view.experiment.id, &out).expect("written");
        let text = std::fs::read_to_string(&out).expect("the file exists");
        assert!(
            text.contains("Add a greeting") && text.contains("Large"),
            "the report names the task and the variants:\n{text}"
        );

        let nowhere = home.path().join("missing-dir/report.md");
        let err = write_report(&engine, &view.experiment.id, &nowhere).expect_err("no folder");
        assert_eq!(err.code, "report.write");
        assert!(err.message.contains("missing-dir"), "{}", err.message);
    }
}
