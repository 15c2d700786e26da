//! Fixture repositories: every one a real git repository in a temporary
//! folder, built with the real `git` command under an isolated configuration
//! (no global or system config, fixed author and dates), so tests behave the
//! same on every machine.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Runs git in `dir` with an isolated configuration; panics with git's stderr
/// when it fails, because a fixture that cannot be built is a broken test.
pub fn git(dir: &Path, args: &[&str]) -> String {
    git_stdout(dir, args, git_command(dir, args).output())
}

/// What [`git`] makes of a finished git command: its stdout without the
/// trailing newline, or a panic with its stderr. Apart from [`git`] so a
/// test that runs the command otherwise (asynchronously, say) judges it the
/// same way.
pub fn git_stdout(dir: &Path, args: &[&str], out: std::io::Result<Output>) -> String {
    let out = out.unwrap_or_else(|e| panic!("cannot run git {args:?}: {e}"));
    assert!(
        out.status.success(),
        "git {args:?} failed in {}: {}",
        dir.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim_end().to_string()
}

/// A git command with the isolated environment, for tests that need its raw
/// output or exit status.
pub fn git_command(dir: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new("git");
    cmd.current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Fixture Author")
        .env("GIT_AUTHOR_EMAIL", "author@example.com")
        .env("GIT_COMMITTER_NAME", "Fixture Author")
        .env("GIT_COMMITTER_EMAIL", "author@example.com")
        .env("GIT_AUTHOR_DATE", "2026-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2026-01-01T00:00:00Z")
        .env_remove("GIT_DIR")
        .env_remove("GIT_WORK_TREE");
    cmd
}

/// A temporary repository on branch `main` with one commit.
pub struct Fixture {
    pub dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Default for Fixture {
    fn default() -> Fixture {
        Fixture::new()
    }
}

impl Fixture {
    /// A repository whose first commit holds `README.md`.
    pub fn new() -> Fixture {
        let fx = Fixture::empty();
        fx.write("README.md", "# fixture\n");
        fx.commit_all("initial commit");
        fx
    }

    /// [`Fixture::new`] in a folder of `parent` rather than the system's
    /// temporary folder: a sandboxed agent has a private /tmp, so a test of
    /// what the sandbox hides must keep its files elsewhere.
    pub fn new_in(parent: &Path) -> Fixture {
        std::fs::create_dir_all(parent).expect("create the parent folder");
        let fx = Fixture::empty_in(tempfile::tempdir_in(parent).expect("temp dir"));
        fx.write("README.md", "# fixture\n");
        fx.commit_all("initial commit");
        fx
    }

    /// A repository with no commits.
    pub fn empty() -> Fixture {
        Fixture::empty_in(tempfile::tempdir().expect("temp dir"))
    }

    fn empty_in(dir: tempfile::TempDir) -> Fixture {
        let root = dir.path().join("repo");
        std::fs::create_dir(&root).expect("create repo dir");
        git(&root, &["init", "-q", "-b", "main"]);
        git(&root, &["config", "user.name", "Fixture Author"]);
        git(&root, &["config", "user.email", "author@example.com"]);
        git(&root, &["config", "core.autocrlf", "false"]);
        let root = root.canonicalize().expect("canonical root");
        Fixture { dir, root }
    }

    pub fn git(&self, args: &[&str]) -> String {
        git(&self.root, args)
    }

    /// Writes a file (creating folders), relative to the repository root.
    pub fn write(&self, rel: &str, content: impl AsRef<[u8]>) {
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent");
        }
        std::fs::write(&path, content).expect("write fixture file");
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.root.join(rel)).expect("read fixture file")
    }

    pub fn remove(&self, rel: &str) {
        std::fs::remove_file(self.root.join(rel)).expect("remove fixture file");
    }

    /// Stages everything and commits; returns the new commit id.
    pub fn commit_all(&self, message: &str) -> String {
        self.git(&["add", "-A"]);
        self.git(&["commit", "-q", "--allow-empty", "-m", message]);
        self.head()
    }

    pub fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"])
    }

    /// `git status --porcelain`, for asserting that nothing changed.
    pub fn status(&self) -> String {
        self.git(&["status", "--porcelain"])
    }

    /// A folder next to the repository for worktrees, data and the like.
    pub fn sibling(&self, name: &str) -> PathBuf {
        let path = self.dir.path().join(name);
        std::fs::create_dir_all(&path).expect("create sibling dir");
        path
    }
}
