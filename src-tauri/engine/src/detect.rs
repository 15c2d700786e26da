//! Finding the agent CLIs (`claude`, `codex`) the way the user's terminal
//! would, and asking each for its version.
//!
//! A desktop app started from a menu inherits the session's PATH, not the one
//! the user's shell profile builds (nvm, ~/.local/bin, Homebrew), where npm
//! puts `claude` and `codex`. So the search PATH is the login shell's
//! (`$SHELL -lc 'printf %s "$PATH"'`), followed by the process's own entries;
//! the same PATH is given to the agents Fanout launches
//! ([`crate::settings::Settings::environment`]), since `claude` is a
//! node script that needs `node` on its PATH too.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Serialize;
use tokio::sync::OnceCell;

use crate::agent::AgentKind;
use crate::process::{self, ProcessEnd, ProcessSpec, Stream};
use crate::settings::Settings;

/// How long a login shell may take to print its PATH (nvm and friends are slow).
pub const LOGIN_SHELL_TIMEOUT: Duration = Duration::from_secs(5);
/// How long `--version` may take (node starting cold).
pub const VERSION_TIMEOUT: Duration = Duration::from_secs(15);

/// The PATH to search and to give agents.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SearchPath {
    pub value: OsString,
    /// Why the login shell's PATH is not part of it, as a sentence; `None`
    /// when it is.
    pub note: Option<String>,
}

static AGENT_PATH: OnceCell<SearchPath> = OnceCell::const_new();

/// The agents' PATH, worked out once per process (the first call runs the
/// login shell). The app calls this at start so that runs find it ready.
pub async fn agent_path() -> &'static SearchPath {
    AGENT_PATH
        .get_or_init(|| async {
            let shell = std::env::var_os("SHELL").filter(|s| !s.is_empty());
            search_path(shell.as_deref().map(Path::new), LOGIN_SHELL_TIMEOUT).await
        })
        .await
}

/// The agents' PATH if [`agent_path`] has worked it out already. The CLI never
/// does: run from a terminal, its own PATH is already the user's.
pub fn agent_path_if_known() -> Option<&'static SearchPath> {
    AGENT_PATH.get()
}

/// The login shell's PATH entries, then the process's that it lacks; the
/// process's PATH alone when there is no shell or it fails or hangs.
pub async fn search_path(shell: Option<&Path>, timeout: Duration) -> SearchPath {
    let own = std::env::var_os("PATH").unwrap_or_default();
    let Some(shell) = shell else {
        return SearchPath {
            value: own,
            note: Some("SHELL is not set, so Fanout searched its own PATH only.".into()),
        };
    };
    match login_shell_path(shell, timeout).await {
        Ok(login) => SearchPath {
            value: merge_paths(&login, &own),
            note: None,
        },
        Err(why) => {
            tracing::info!(%why, "using the process PATH for agents");
            SearchPath {
                value: own,
                note: Some(format!("{why} Fanout searched its own PATH only.")),
            }
        }
    }
}

async fn login_shell_path(shell: &Path, timeout: Duration) -> Result<OsString, String> {
    let spec = ProcessSpec::new(shell, "/")
        .args(["-lc", "printf %s \"$PATH\""])
        .timeout(Some(timeout))
        .grace(Duration::from_millis(500))
        .leak_grace(Duration::from_millis(500));
    let shell_name = shell.display();
    let (stdout, _, outcome) = run_collecting(spec)
        .await
        .map_err(|e| format!("Your login shell {shell_name} could not be started ({e})."))?;
    if outcome.end == ProcessEnd::TimedOut {
        return Err(format!(
            "Your login shell {shell_name} did not print its PATH within {}.",
            seconds(timeout)
        ));
    }
    // Profiles may print banners first; the PATH is what printf wrote last.
    match stdout.iter().rev().find(|l| !l.trim().is_empty()) {
        Some(line) if outcome.code == Some(0) => Ok(line.trim().into()),
        _ => Err(format!(
            "Your login shell {shell_name} did not print a PATH (exit code {}).",
            outcome.code.map_or("none".into(), |c| c.to_string())
        )),
    }
}

/// `first`'s entries, then `second`'s that are not in `first`.
pub fn merge_paths(first: &OsStr, second: &OsStr) -> OsString {
    let mut entries: Vec<PathBuf> = std::env::split_paths(first).collect();
    for entry in std::env::split_paths(second) {
        if !entries.contains(&entry) {
            entries.push(entry);
        }
    }
    entries.retain(|e| !e.as_os_str().is_empty());
    std::env::join_paths(entries).unwrap_or_else(|_| first.to_owned())
}

/// One agent CLI as the settings screen shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct AgentStatus {
    pub kind: AgentKind,
    /// `claude` or `codex`.
    pub program: &'static str,
    /// The program exists (whether or not it answered).
    pub found: bool,
    pub path: Option<PathBuf>,
    /// The first line of `--version`.
    pub version: Option<String>,
    /// What went wrong, as a sentence saying what to do.
    pub problem: Option<String>,
    /// The command that installs it.
    pub install: &'static str,
}

/// Where both CLIs are and which versions they are; `search_path` is
/// [`agent_path`]'s value outside tests.
pub async fn detect_agents(
    settings: &Settings,
    search_path: &OsStr,
    timeout: Duration,
) -> Vec<AgentStatus> {
    let explicit = settings.executables();
    let claude = detect(
        AgentKind::ClaudeCode,
        explicit.claude.as_deref(),
        search_path,
        timeout,
    );
    let codex = detect(
        AgentKind::Codex,
        explicit.codex.as_deref(),
        search_path,
        timeout,
    );
    let (claude, codex) = tokio::join!(claude, codex);
    vec![claude, codex]
}

/// What the settings screen shows of this machine's agents.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct AgentsReport {
    pub agents: Vec<AgentStatus>,
    /// Why the login shell's PATH was not used, when it was not.
    pub path_note: Option<String>,
    /// Whether agents can be sandboxed here, and if not why.
    pub sandbox: crate::sandbox::Availability,
}

/// The agents [`detect_agents`] finds on the login shell's PATH, and the
/// sandbox's availability (tried once per process, off the async runtime).
pub async fn report(settings: &Settings) -> AgentsReport {
    let path = agent_path().await;
    let agents = detect_agents(settings, &path.value, VERSION_TIMEOUT).await;
    let sandbox = tokio::task::spawn_blocking(|| crate::sandbox::availability().clone())
        .await
        .unwrap_or_else(|e| crate::sandbox::Availability {
            available: false,
            bwrap: None,
            reason: Some(format!(
                "Checking for the sandbox failed ({e}). Restart Fanout."
            )),
        });
    AgentsReport {
        agents,
        path_note: path.note.clone(),
        sandbox,
    }
}

fn program_and_install(kind: AgentKind) -> (&'static str, &'static str) {
    match kind {
        AgentKind::Codex => ("codex", "npm install -g @openai/codex"),
        _ => ("claude", "npm install -g @anthropic-ai/claude-code"),
    }
}

/// One CLI: at `explicit` (a path, or a bare name to search for) or as its
/// usual name on `search_path`.
pub async fn detect(
    kind: AgentKind,
    explicit: Option<&Path>,
    search_path: &OsStr,
    timeout: Duration,
) -> AgentStatus {
    let (program, install) = program_and_install(kind);
    let mut status = AgentStatus {
        kind,
        program,
        found: false,
        path: None,
        version: None,
        problem: None,
        install,
    };
    let wanted = explicit.unwrap_or(Path::new(program));
    let located = if wanted.components().count() > 1 {
        Some(wanted.to_owned()).filter(|p| is_executable(p))
    } else {
        find_on_path(wanted.as_os_str(), search_path)
    };
    let Some(path) = located else {
        status.problem = Some(match explicit {
            Some(p) if p.components().count() > 1 => format!(
                "{} is set to {}, which is not an executable file. Fix the path, or clear it to search the PATH.",
                program,
                p.display()
            ),
            _ => format!(
                "{} was not found on your PATH. Install it with `{install}`, or set its path.",
                wanted.display()
            ),
        });
        return status;
    };
    status.found = true;
    match version(&path, search_path, timeout).await {
        Ok(v) => status.version = Some(v),
        Err(problem) => status.problem = Some(problem),
    }
    status.path = Some(path);
    status
}

/// The first executable file named `name` in `search_path`'s folders.
pub fn find_on_path(name: &OsStr, search_path: &OsStr) -> Option<PathBuf> {
    std::env::split_paths(search_path)
        .filter(|dir| dir.is_absolute())
        .map(|dir| dir.join(name))
        .find(|candidate| is_executable(candidate))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
        .unwrap_or(false)
}

async fn version(path: &Path, search_path: &OsStr, timeout: Duration) -> Result<String, String> {
    let shown = path.display();
    let spec = ProcessSpec::new(path, "/")
        .arg("--version")
        .env("PATH", search_path)
        .timeout(Some(timeout))
        .grace(Duration::from_millis(500))
        .leak_grace(Duration::from_millis(500))
        .max_line_bytes(4096);
    let (stdout, stderr, outcome) = run_collecting(spec)
        .await
        .map_err(|e| format!("`{shown} --version` could not be started: {e}"))?;
    if outcome.end == ProcessEnd::TimedOut {
        return Err(format!(
            "`{shown} --version` did not answer within {}. Run it in a terminal to see what it waits for.",
            seconds(timeout)
        ));
    }
    let first = |lines: &[String]| {
        lines
            .iter()
            .map(|l| l.trim())
            .find(|l| !l.is_empty())
            .map(|l| l.chars().take(200).collect::<String>())
    };
    match (outcome.code, first(&stdout)) {
        (Some(0), Some(v)) => Ok(v),
        (Some(0), None) => Err(format!(
            "`{shown} --version` printed nothing. Reinstall it, or check that it is the right program."
        )),
        (code, _) => Err(format!(
            "`{shown} --version` failed (exit code {}){}. Run it in a terminal to see why.",
            code.map_or("none".into(), |c| c.to_string()),
            first(&stderr).map_or(String::new(), |e| format!(": {e}"))
        )),
    }
}

fn seconds(d: Duration) -> String {
    match d.as_secs() {
        1 => "1 second".into(),
        n => format!("{n} seconds"),
    }
}

type Collected = (Vec<String>, Vec<String>, process::ProcessOutcome);

async fn run_collecting(spec: ProcessSpec) -> Result<Collected, process::ProcessError> {
    let mut running = process::spawn(spec)?;
    let (mut stdout, mut stderr) = (Vec::new(), Vec::new());
    while let Some(line) = running.next_line().await {
        match line.stream {
            Stream::Stdout => stdout.push(line.text),
            Stream::Stderr => stderr.push(line.text),
        }
    }
    Ok((stdout, stderr, running.finish().await))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn script(dir: &Path, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    }

    #[tokio::test]
    async fn a_cli_on_the_path_reports_its_version() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = script(dir.path(), "claude", "echo '2.0.14 (Claude Code)'");
        let status = detect(
            AgentKind::ClaudeCode,
            None,
            dir.path().as_os_str(),
            VERSION_TIMEOUT,
        )
        .await;
        assert!(status.found, "the script is on the search path");
        assert_eq!(status.path.as_deref(), Some(path.as_path()));
        assert_eq!(status.version.as_deref(), Some("2.0.14 (Claude Code)"));
        assert_eq!(status.problem, None, "nothing went wrong");
    }

    #[tokio::test]
    async fn a_missing_cli_says_how_to_install_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let status = detect(
            AgentKind::Codex,
            None,
            dir.path().as_os_str(),
            VERSION_TIMEOUT,
        )
        .await;
        assert!(!status.found, "an empty folder holds no codex");
        let problem = status.problem.expect("a sentence");
        assert!(
            problem.contains("npm install -g @openai/codex"),
            "the fix is named: {problem}"
        );

        let wrong = dir.path().join("nowhere/claude");
        let status = detect(
            AgentKind::ClaudeCode,
            Some(&wrong),
            dir.path().as_os_str(),
            VERSION_TIMEOUT,
        )
        .await;
        let problem = status.problem.expect("a sentence");
        assert!(
            problem.contains("nowhere/claude") && problem.contains("clear it"),
            "a wrong explicit path is named, with what to do: {problem}"
        );
    }

    #[tokio::test]
    async fn an_explicit_path_wins_and_a_failing_cli_is_a_sentence() {
        let dir = tempfile::tempdir().expect("temp dir");
        script(dir.path(), "claude", "echo 'on the path'");
        let other = tempfile::tempdir().expect("temp dir");
        let explicit = script(other.path(), "my-claude", "echo 'nope' >&2; exit 3");
        let status = detect(
            AgentKind::ClaudeCode,
            Some(&explicit),
            dir.path().as_os_str(),
            VERSION_TIMEOUT,
        )
        .await;
        assert_eq!(
            status.path.as_deref(),
            Some(explicit.as_path()),
            "the setting is used, not the PATH"
        );
        assert!(status.found && status.version.is_none());
        let problem = status.problem.expect("a failure is reported");
        assert!(
            problem.contains("exit code 3") && problem.contains("nope"),
            "the exit code and stderr are in the sentence: {problem}"
        );
    }

    #[tokio::test]
    async fn a_hanging_cli_times_out_with_a_sentence() {
        let dir = tempfile::tempdir().expect("temp dir");
        // The search path is all the CLI gets as PATH, so sleep by its full path.
        script(dir.path(), "codex", "exec /bin/sleep 600");
        let status = detect(
            AgentKind::Codex,
            None,
            dir.path().as_os_str(),
            Duration::from_secs(1),
        )
        .await;
        assert!(status.found, "it exists, it just does not answer");
        let problem = status.problem.expect("a timeout is reported");
        assert!(
            problem.contains("did not answer within 1 second"),
            "{problem}"
        );
    }

    #[tokio::test]
    async fn the_login_shells_path_comes_first_and_a_hanging_shell_falls_back() {
        let dir = tempfile::tempdir().expect("temp dir");
        // A "login shell" that prints a banner, then the PATH, as profiles do.
        let shell = script(
            dir.path(),
            "fake-sh",
            "echo 'Welcome'; printf %s '/opt/login/bin:/usr/bin'",
        );
        let found = search_path(Some(&shell), Duration::from_secs(10)).await;
        assert_eq!(found.note, None, "the shell answered");
        let entries: Vec<PathBuf> = std::env::split_paths(&found.value).collect();
        assert_eq!(
            entries.first().map(PathBuf::as_path),
            Some(Path::new("/opt/login/bin")),
            "the login PATH leads: {entries:?}"
        );
        let own: Vec<PathBuf> =
            std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()).collect();
        assert!(
            own.iter()
                .all(|e| e.as_os_str().is_empty() || entries.contains(e)),
            "the process's entries are kept after it"
        );

        let hanging = script(dir.path(), "slow-sh", "exec /bin/sleep 600");
        let fallback = search_path(Some(&hanging), Duration::from_secs(1)).await;
        assert_eq!(
            fallback.value,
            std::env::var_os("PATH").unwrap_or_default(),
            "the process PATH is used"
        );
        let note = fallback.note.expect("the fallback is explained");
        assert!(note.contains("within 1 second"), "{note}");
    }

    #[test]
    fn merging_keeps_order_and_drops_duplicates() {
        let merged = merge_paths(OsStr::new("/a:/b"), OsStr::new("/b:/c::"));
        assert_eq!(merged, OsString::from("/a:/b:/c"));
    }
}
