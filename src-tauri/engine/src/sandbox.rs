//! The sandbox agents, setup commands and checks run in: bubblewrap
//! (`bwrap`, Debian's `bubblewrap`), not a home-made namespace wrapper.
//!
//! Inside, the whole system is visible read-only (toolchains, the agent
//! CLIs, the repository's shared git objects and refs, so no agent can move a
//! branch); only the variant's worktree, its own git directory, a private
//! /tmp and the agent CLI's own state folders are writable. The user's
//! checkout, the other worktrees, Fanout's data folder, the D-Bus and keyring
//! sockets and the usual credential folders (`~/.ssh`, `~/.gnupg`, `~/.aws`,
//! `~/.config/gh`, …) are hidden behind empty ones. The files that tie the
//! worktree to its registration (its `.git` file, HEAD, `commondir`,
//! `gitdir`) are pinned read-only even inside the writable folders. The
//! sandbox has its own PID namespace: when the program ends, the kernel ends
//! everything it left inside, and bwrap dies with its parent.
//!
//! The network stays on (agents need their API); a repository can turn it
//! off for its checks.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Serialize;

/// Credential folders and files under the home folder that no sandboxed
/// program may read.
const HIDDEN_IN_HOME: [&str; 17] = [
    ".ssh",
    ".gnupg",
    ".aws",
    ".azure",
    ".kube",
    ".docker",
    ".config/gh",
    ".config/hub",
    ".config/gcloud",
    ".local/share/keyrings",
    ".password-store",
    ".netrc",
    ".git-credentials",
    ".npmrc",
    ".pypirc",
    ".cargo/credentials.toml",
    ".cargo/credentials",
];

/// Folders (separated by `:`) the sandbox shows read-only although /tmp, or
/// nothing else, would show them.
pub const READABLE_VAR: &str = "FANOUT_SANDBOX_READABLE";

/// The folders [`READABLE_VAR`] names.
fn shown_by_user() -> Vec<PathBuf> {
    std::env::var_os(READABLE_VAR)
        .map(|paths| {
            std::env::split_paths(&paths)
                .filter(|p| p.is_absolute())
                .collect()
        })
        .unwrap_or_default()
}

/// Variables that lead to sockets or agents outside the sandbox.
const UNSET: [&str; 4] = [
    "DBUS_SESSION_BUS_ADDRESS",
    "SSH_AUTH_SOCK",
    "GPG_AGENT_INFO",
    "GNOME_KEYRING_CONTROL",
];

/// One program's sandbox: what it may change, what it must not see.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    pub bwrap: PathBuf,
    /// Shown read-only before anything is hidden, even under /tmp: the
    /// folders the user names in [`READABLE_VAR`] (a toolchain under /tmp,
    /// an agent CLI installed in a scratch folder). What is hidden inside
    /// them stays hidden.
    pub shown: Vec<PathBuf>,
    /// Writable folders and files (created by Fanout beforehand when needed).
    pub writable: Vec<PathBuf>,
    /// Visible read-only although inside something hidden (the repository's
    /// git directory inside the hidden checkout, a prompt file in /tmp).
    pub readable: Vec<PathBuf>,
    /// Read-only although inside a writable folder.
    pub pinned: Vec<PathBuf>,
    /// Replaced by an empty folder (or an empty file).
    pub hidden: Vec<PathBuf>,
    pub network: bool,
    /// The worktree shown at the checkout's own path (see
    /// [`Sandbox::at_checkout`]); `None`: everything at its own path.
    pub moved: Option<Moved>,
}

/// A worktree shown at its checkout's path, its git folders elsewhere.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moved {
    pub worktree: PathBuf,
    pub checkout: PathBuf,
    /// The repository's git folder, shown at [`MOVED_GIT`] instead.
    pub common_dir: PathBuf,
    /// The worktree's own git folder (inside `common_dir`).
    pub git_dir: PathBuf,
    /// A `.git` file of Fanout's naming the worktree's git folder where
    /// the sandbox shows it ([`moved_git_file`]): shown as the checkout's
    /// `.git`, so git finds the worktree with no variable that every
    /// program the check starts would inherit.
    pub git_file: PathBuf,
}

/// What the `.git` file of a moved worktree says: where its git folder is
/// shown inside the sandbox.
pub fn moved_git_file(git_dir: &Path, common_dir: &Path) -> String {
    let inside = git_dir.strip_prefix(common_dir).unwrap_or(git_dir);
    format!("gitdir: {}\n", Path::new(MOVED_GIT).join(inside).display())
}

/// Where a moved worktree's repository git folder is shown: the checkout's
/// own `.git` path holds the worktree's `.git` file there. Inside the
/// sandbox's private /tmp, where a mount point can be made.
const MOVED_GIT: &str = "/tmp/.fanout-git";

/// Whether this machine can sandbox, and if not why, for the settings screen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Availability {
    pub available: bool,
    pub bwrap: Option<PathBuf>,
    /// Why the sandbox cannot be used, as a sentence with what to do.
    pub reason: Option<String>,
}

/// Looks for bwrap and tries it once per process (a kernel without user
/// namespaces, or a container that forbids them, makes it fail).
pub fn availability() -> &'static Availability {
    static FOUND: OnceLock<Availability> = OnceLock::new();
    FOUND.get_or_init(probe)
}

fn probe() -> Availability {
    let Some(bwrap) = find_bwrap() else {
        return Availability {
            available: false,
            bwrap: None,
            reason: Some("bubblewrap (bwrap) is not installed. Install it (on Debian and Ubuntu: apt install bubblewrap) so agents run in a sandbox.".into()),
        };
    };
    let tried = std::process::Command::new(&bwrap)
        .args([
            "--ro-bind",
            "/",
            "/",
            "--unshare-pid",
            "--die-with-parent",
            "true",
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .output();
    match tried {
        Ok(out) if out.status.success() => Availability {
            available: true,
            bwrap: Some(bwrap),
            reason: None,
        },
        Ok(out) => Availability {
            available: false,
            bwrap: Some(bwrap),
            reason: Some(format!(
                "bubblewrap is installed but cannot create a sandbox here ({}). Allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1), or turn the sandbox off in the settings.",
                String::from_utf8_lossy(&out.stderr).trim()
            )),
        },
        Err(e) => Availability {
            available: false,
            bwrap: Some(bwrap),
            reason: Some(format!("bubblewrap could not be run ({e}). Reinstall it, or turn the sandbox off in the settings.")),
        },
    }
}

fn find_bwrap() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("FANOUT_BWRAP").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain([PathBuf::from("/usr/bin")])
        .map(|dir| dir.join("bwrap"))
        .find(|candidate| candidate.is_file())
}

impl Sandbox {
    /// This sandbox with its worktree shown at the checkout's own path, its
    /// `.git` file naming the worktree's git folder where it is shown:
    /// a build there finds the state copied from the checkout as the
    /// checkout left it (rustc's incremental state names its working
    /// folder), so a warm worktree's first check is as quick as a rebuild
    /// in the checkout. Run the program with the checkout as its `cwd`.
    /// The user's own files stay hidden: the checkout's path shows the
    /// worktree.
    pub fn at_checkout(mut self, moved: Moved) -> Sandbox {
        self.moved = Some(moved);
        self
    }

    /// Where `path` appears inside: the repository's git folder moves to
    /// [`MOVED_GIT`] when the worktree takes the checkout's place.
    fn shown_at(&self, path: &Path) -> PathBuf {
        match &self.moved {
            Some(moved) => match path.strip_prefix(&moved.common_dir) {
                Ok(rest) => Path::new(MOVED_GIT).join(rest),
                Err(_) => path.to_path_buf(),
            },
            None => path.to_path_buf(),
        }
    }

    /// The program and arguments that run `program args…` in this sandbox,
    /// in `cwd`.
    pub fn wrap(&self, program: &OsStr, args: &[OsString], cwd: &Path) -> (PathBuf, Vec<OsString>) {
        let mut argv: Vec<OsString> = Vec::new();
        let mut add = |items: &[&OsStr]| argv.extend(items.iter().map(|i| i.to_os_string()));
        add(&[
            "--ro-bind".as_ref(),
            "/".as_ref(),
            "/".as_ref(),
            "--dev".as_ref(),
            "/dev".as_ref(),
            "--proc".as_ref(),
            "/proc".as_ref(),
            "--tmpfs".as_ref(),
            "/tmp".as_ref(),
            "--tmpfs".as_ref(),
            "/dev/shm".as_ref(),
            "--unshare-pid".as_ref(),
            "--unshare-ipc".as_ref(),
            "--die-with-parent".as_ref(),
            "--new-session".as_ref(),
        ]);
        if !self.network {
            add(&["--unshare-net".as_ref()]);
        }
        for path in &self.shown {
            add(&["--ro-bind-try".as_ref(), path.as_os_str(), path.as_os_str()]);
        }
        for path in &self.hidden {
            match path.symlink_metadata() {
                Ok(meta) if meta.is_dir() => add(&["--tmpfs".as_ref(), path.as_os_str()]),
                Ok(_) => add(&["--ro-bind".as_ref(), "/dev/null".as_ref(), path.as_os_str()]),
                Err(_) => {}
            }
        }
        if let Some(moved) = &self.moved {
            add(&[
                "--bind".as_ref(),
                moved.worktree.as_os_str(),
                moved.checkout.as_os_str(),
                "--ro-bind".as_ref(),
                moved.git_file.as_os_str(),
                moved.checkout.join(".git").as_os_str(),
            ]);
        }
        for path in &self.readable {
            let at = self.shown_at(path);
            add(&["--ro-bind-try".as_ref(), path.as_os_str(), at.as_os_str()]);
        }
        for path in &self.writable {
            let at = self.shown_at(path);
            add(&["--bind-try".as_ref(), path.as_os_str(), at.as_os_str()]);
        }
        for path in &self.pinned {
            let at = self.shown_at(path);
            add(&["--ro-bind-try".as_ref(), path.as_os_str(), at.as_os_str()]);
        }
        // Hidden folders are empty and stay so: read-only once everything
        // inside them that is shown has been mounted (the remount does not
        // reach those mounts). A checkout that shows the worktree is not.
        let checkout = self.moved.as_ref().map(|m| m.checkout.as_path());
        for path in self
            .hidden
            .iter()
            .filter(|p| p.is_dir() && Some(p.as_path()) != checkout)
        {
            add(&["--remount-ro".as_ref(), path.as_os_str()]);
        }

        for name in UNSET {
            add(&["--unsetenv".as_ref(), name.as_ref()]);
        }
        add(&[
            "--setenv".as_ref(),
            "TMPDIR".as_ref(),
            "/tmp".as_ref(),
            "--chdir".as_ref(),
            cwd.as_os_str(),
            "--".as_ref(),
            program,
        ]);
        argv.extend(args.iter().cloned());
        (self.bwrap.clone(), argv)
    }
}

/// What a sandbox for one variant is made of; see [`for_worktree`].
pub struct Layout<'a> {
    pub bwrap: &'a Path,
    /// The user's checkout.
    pub repo_root: &'a Path,
    /// The repository's shared git directory.
    pub common_dir: &'a Path,
    /// The variant's worktree and its own git directory.
    pub worktree: &'a Path,
    pub git_dir: &'a Path,
    /// Fanout's data folder, and the folder holding every worktree of the
    /// repository (hidden: they are other variants').
    pub data_dir: &'a Path,
    pub worktrees_dir: Option<&'a Path>,
    /// The agent CLI's own state folders and files, writable.
    pub agent_state: Vec<PathBuf>,
    /// Configuration inside that state that stays read-only ([`agent_config`]).
    pub agent_config: Vec<PathBuf>,
    /// The session's own home folder when its environment names another
    /// than Fanout's: its credential folders are hidden too.
    pub session_home: Option<PathBuf>,
    pub network: bool,
}

/// The sandbox of one variant's programs (agent, setup, check).
pub fn for_worktree(layout: Layout<'_>) -> Sandbox {
    let home = home_dir();
    let homes: Vec<PathBuf> = home.iter().chain(&layout.session_home).cloned().collect();
    let mut hidden: Vec<PathBuf> = homes
        .iter()
        .flat_map(|home| HIDDEN_IN_HOME.iter().map(move |rel| home.join(rel)))
        .collect();
    if let Some(runtime) = std::env::var_os("XDG_RUNTIME_DIR").filter(|d| !d.is_empty()) {
        hidden.push(PathBuf::from(runtime));
    }
    // The checkout goes, unless it holds the home folder (a repository of
    // dotfiles) or the whole system: hiding it would hide the toolchains.
    let holds_home = home
        .as_deref()
        .is_some_and(|h| h.starts_with(layout.repo_root));
    if !holds_home && layout.repo_root.parent().is_some() {
        hidden.push(layout.repo_root.to_path_buf());
    }
    hidden.push(layout.data_dir.to_path_buf());
    hidden.extend(layout.worktrees_dir.map(Path::to_path_buf));
    let mut pinned = vec![
        layout.worktree.join(".git"),
        layout.git_dir.join("HEAD"),
        layout.git_dir.join("commondir"),
        layout.git_dir.join("gitdir"),
    ];
    pinned.extend(layout.agent_config);
    let mut writable = vec![layout.worktree.to_path_buf(), layout.git_dir.to_path_buf()];
    writable.extend(layout.agent_state);
    Sandbox {
        bwrap: layout.bwrap.to_path_buf(),
        shown: shown_by_user(),
        writable,
        readable: vec![layout.common_dir.to_path_buf()],
        pinned,
        hidden,
        network: layout.network,
        moved: None,
    }
}

/// Where an agent CLI keeps its own state (sign-in, sessions, settings):
/// writable in its sandbox, created beforehand so it can be mounted.
/// `env` is the session's environment, which may move those folders.
pub fn agent_state(
    kind: crate::agent::AgentKind,
    env: &[(String, String)],
    data_dir: &Path,
) -> Vec<PathBuf> {
    use crate::agent::AgentKind;
    let var = |name: &str| {
        env.iter()
            .rev()
            .find(|(k, _)| k == name)
            .map(|(_, v)| PathBuf::from(v))
            .or_else(|| {
                std::env::var_os(name)
                    .filter(|v| !v.is_empty())
                    .map(PathBuf::from)
            })
    };
    let home = var("HOME");
    let in_home = |rel: &str| home.as_ref().map(|h| h.join(rel));
    let state: Vec<Option<PathBuf>> = match kind {
        AgentKind::ClaudeCode => vec![
            var("CLAUDE_CONFIG_DIR").or_else(|| in_home(".claude")),
            in_home(".claude.json"),
            in_home(".cache/claude-cli-nodejs"),
            in_home(".cache/claude"),
            in_home(".local/state/claude"),
        ],
        AgentKind::Codex => vec![var("CODEX_HOME").or_else(|| in_home(".codex"))],
        AgentKind::Gemini => vec![
            var(crate::agent::gemini::CONFIG_HOME_VAR)
                .or_else(|| Some(data_dir.join("gemini-cli"))),
            in_home(".gemini"),
        ],
        AgentKind::Command | AgentKind::Api => Vec::new(),
    };
    state.into_iter().flatten().collect()
}

/// The files in an agent CLI's state that name programs to run (hooks, MCP
/// servers, notification commands): read-only in its sandbox, so an agent
/// cannot plant a program that its CLI would run later, here or in the
/// user's own sessions. (`~/.claude.json`, which Claude Code rewrites all
/// the time, cannot be pinned; see SECURITY.md.)
pub fn agent_config(
    kind: crate::agent::AgentKind,
    env: &[(String, String)],
    data_dir: &Path,
) -> Vec<PathBuf> {
    use crate::agent::AgentKind;
    let state = agent_state(kind, env, data_dir);
    let Some(first) = state.first() else {
        return Vec::new();
    };
    match kind {
        AgentKind::ClaudeCode => ["settings.json", "settings.local.json", "hooks", "plugins"]
            .iter()
            .map(|name| first.join(name))
            .collect(),
        AgentKind::Codex => vec![first.join("config.toml")],
        // Fanout writes the Gemini CLI's settings in its own folder before
        // each session; the user's own Gemini settings are not involved.
        AgentKind::Gemini | AgentKind::Command | AgentKind::Api => Vec::new(),
    }
}

/// Creates the state folders (and the one state file, `~/.claude.json`)
/// that do not exist yet, so they can be mounted writable.
pub fn prepare_state(paths: &[PathBuf]) -> std::io::Result<()> {
    for path in paths {
        if path.symlink_metadata().is_ok() {
            continue;
        }
        let is_file = path.extension().is_some_and(|e| e == "json");
        if is_file {
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(path, "{}\n")?;
        } else {
            std::fs::create_dir_all(path)?;
        }
    }
    Ok(())
}

pub fn home_dir() -> Option<PathBuf> {
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(PathBuf::from)
}
