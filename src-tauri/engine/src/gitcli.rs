//! Running the `git` program for Fanout's own work on repositories.
//!
//! Auto-commits, base snapshots, resets and the files a merge writes go
//! through git itself, not libgit2: only git applies a repository's external
//! filters (clean/smudge drivers such as git-crypt, Git LFS) and
//! `working-tree-encoding`, so only git produces exactly what `git add` and
//! `git checkout` would.
//!
//! Every call is isolated from what an agent could have written: the
//! directories are named explicitly (`--git-dir`, `--work-tree`, or `-C` on
//! the user's own checkout), none of git's directory variables is inherited,
//! hooks and fsmonitor are off, and the child runs in its own process group.
//! The repository's own configuration (filters, attributes, identity) applies
//! as it would for the user.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// git's environment variables that would point it at another repository,
/// index or object store than the one a call names.
const LOCATION_VARS: [&str; 8] = [
    "GIT_DIR",
    "GIT_WORK_TREE",
    "GIT_INDEX_FILE",
    "GIT_COMMON_DIR",
    "GIT_OBJECT_DIRECTORY",
    "GIT_ALTERNATE_OBJECT_DIRECTORIES",
    "GIT_NAMESPACE",
    "GIT_CEILING_DIRECTORIES",
];

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("git could not be run ({detail}). Install git and make sure it is on the PATH, then try again.")]
    Missing { detail: String },
    #[error("`git {command}` failed: {stderr}")]
    Failed { command: String, stderr: String },
}

impl GitError {
    pub fn code(&self) -> &'static str {
        match self {
            GitError::Missing { .. } => "git.missing",
            GitError::Failed { .. } => "git.failed",
        }
    }
}

/// One git invocation, built up and then run once.
pub struct Git {
    cmd: Command,
    /// The subcommand and its first arguments, for error sentences.
    shown: Vec<OsString>,
    input: Option<Vec<u8>>,
}

impl Git {
    fn new() -> Git {
        let mut cmd = Command::new("git");
        // The user's hooks would run once per variant in folders they never
        // expected; fsmonitor names a program to run, and a worktree's own
        // config could name one. Filters and attributes still apply.
        cmd.args([
            "-c",
            "core.hooksPath=/dev/null",
            "-c",
            "core.fsmonitor=false",
        ]);
        for name in LOCATION_VARS {
            cmd.env_remove(name);
        }
        for name in crate::process::private_env() {
            cmd.env_remove(name);
        }
        // A prompt for credentials or an editor would hang a background call.
        cmd.env("GIT_TERMINAL_PROMPT", "0")
            .env("GIT_EDITOR", "true");
        cmd.stdin(Stdio::null());
        #[cfg(unix)]
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        Git {
            cmd,
            shown: Vec::new(),
            input: None,
        }
    }

    /// git in a folder the user chose (their checkout) or one Fanout just
    /// created: git finds the repository from there.
    pub fn in_dir(dir: &Path) -> Git {
        let mut git = Git::new();
        git.cmd.arg("-C").arg(dir);
        git
    }

    /// git on exactly this repository directory and working tree: nothing in
    /// the working tree (a `.git` file or folder) can redirect it.
    pub fn with_dirs(git_dir: &Path, work_tree: Option<&Path>) -> Git {
        let mut git = Git::new();
        let mut flag = OsString::from("--git-dir=");
        flag.push(git_dir);
        git.cmd.arg(flag);
        if let Some(work_tree) = work_tree {
            let mut flag = OsString::from("--work-tree=");
            flag.push(work_tree);
            git.cmd.arg(flag).current_dir(work_tree);
        } else {
            git.cmd.current_dir(git_dir);
        }
        git
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Git {
        if self.shown.len() < 3 {
            self.shown.push(arg.as_ref().to_owned());
        }
        self.cmd.arg(arg);
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Git
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        for arg in args {
            self = self.arg(arg);
        }
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Git {
        self.cmd.env(key, value);
        self
    }

    /// Uses `index` instead of the repository's index file.
    pub fn index_file(self, index: &Path) -> Git {
        self.env("GIT_INDEX_FILE", index)
    }

    /// Feeds `input` on stdin.
    pub fn input(mut self, input: impl Into<Vec<u8>>) -> Git {
        self.input = Some(input.into());
        self
    }

    /// Runs git; its stdout, with the trailing newline removed.
    pub fn run(self) -> Result<String, GitError> {
        let out = self.output()?;
        let mut text = String::from_utf8_lossy(&out).into_owned();
        while text.ends_with('\n') {
            text.pop();
        }
        Ok(text)
    }

    /// Runs git; its raw stdout.
    pub fn output(mut self) -> Result<Vec<u8>, GitError> {
        let shown = self.describe();
        self.cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        if self.input.is_some() {
            self.cmd.stdin(Stdio::piped());
        }
        let mut child = self.cmd.spawn().map_err(|e| GitError::Missing {
            detail: e.to_string(),
        })?;
        if let (Some(input), Some(mut stdin)) = (self.input.take(), child.stdin.take()) {
            // A thread, so a child that writes a lot before reading cannot deadlock us.
            std::thread::spawn(move || {
                use std::io::Write;
                let _ = stdin.write_all(&input);
            });
        }
        let out = child.wait_with_output().map_err(|e| GitError::Missing {
            detail: e.to_string(),
        })?;
        if out.status.success() {
            Ok(out.stdout)
        } else {
            Err(GitError::Failed {
                command: shown,
                stderr: failure_text(&out.stderr, out.status),
            })
        }
    }

    /// Runs git and tells whether it exited with 0; other failures are errors.
    pub fn succeeds(mut self) -> Result<bool, GitError> {
        self.cmd.stdout(Stdio::null()).stderr(Stdio::null());
        let status = self.cmd.status().map_err(|e| GitError::Missing {
            detail: e.to_string(),
        })?;
        Ok(status.success())
    }

    fn describe(&self) -> String {
        self.shown
            .iter()
            .map(|a| a.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ")
    }
}

fn failure_text(stderr: &[u8], status: std::process::ExitStatus) -> String {
    let text = String::from_utf8_lossy(stderr).trim().to_owned();
    if text.is_empty() {
        format!("it exited with {status}")
    } else {
        crate::events::bound(&text, 2_000)
    }
}

/// Who commits for Fanout: the repository's configured user, or
/// `Fanout <fanout@localhost>`, as environment variables for `commit-tree`
/// (which refuses to guess an identity).
pub fn identity_env(repo: &git2::Repository) -> Vec<(&'static str, String)> {
    let sig = crate::repo::signature(repo);
    let name = sig.name().unwrap_or(crate::repo::FALLBACK_NAME).to_owned();
    let email = sig
        .email()
        .unwrap_or(crate::repo::FALLBACK_EMAIL)
        .to_owned();
    vec![
        ("GIT_AUTHOR_NAME", name.clone()),
        ("GIT_AUTHOR_EMAIL", email.clone()),
        ("GIT_COMMITTER_NAME", name),
        ("GIT_COMMITTER_EMAIL", email),
    ]
}

/// A scratch index file in a git directory, removed when dropped, so Fanout
/// can stage without touching an index anyone else uses.
pub struct ScratchIndex {
    path: Option<PathBuf>,
}

impl ScratchIndex {
    /// A new index path in `git_dir`; with `seed`, a copy of that index (its
    /// stat data lets git skip hashing unchanged files).
    ///
    /// The copy keeps the seed's modification time: git trusts an entry's
    /// stat data only when the file is older than the index itself ("racy
    /// git"), so a copy stamped now would hide a same-size edit made in the
    /// second before.
    pub fn new(git_dir: &Path, seed: Option<&Path>) -> std::io::Result<ScratchIndex> {
        let path = git_dir.join(format!("index.fanout-{}", uuid::Uuid::new_v4().simple()));
        let scratch = ScratchIndex { path: Some(path) };
        if let Some(seed) = seed.filter(|s| s.is_file()) {
            std::fs::copy(seed, scratch.path())?;
            let modified = std::fs::metadata(seed)?.modified()?;
            std::fs::File::options()
                .write(true)
                .open(scratch.path())?
                .set_modified(modified)?;
        }
        Ok(scratch)
    }

    pub fn path(&self) -> &Path {
        self.path.as_deref().unwrap_or(Path::new(""))
    }

    /// Puts this index in place of `target` (a rename within one folder, so
    /// readers see the old index or the new one, never half of either).
    pub fn install(mut self, target: &Path) -> std::io::Result<()> {
        let Some(path) = self.path.take() else {
            return Ok(());
        };
        std::fs::rename(&path, target).inspect_err(|_| {
            let _ = std::fs::remove_file(&path);
        })
    }
}

impl Drop for ScratchIndex {
    fn drop(&mut self) {
        if let Some(path) = self.path.take() {
            let mut lock = path.clone().into_os_string();
            lock.push(".lock");
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(lock);
        }
    }
}
