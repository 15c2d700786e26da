//! Real git repositories for the end-to-end scenarios, and the git questions
//! the test asks to check what the app did. git runs as a tokio child process
//! so the async test never blocks its runtime.

use std::path::{Path, PathBuf};

/// Runs git in `dir` as testsupport's `git` does (isolated configuration,
/// fixed identity and dates; the test fails with git's stderr when git
/// fails), without blocking the runtime.
pub async fn git(dir: &Path, args: &[&str]) -> String {
    let command = fanout_testsupport::git_command(dir, args);
    let out = tokio::process::Command::from(command).output().await;
    fanout_testsupport::git_stdout(dir, args, out)
}

/// A repository on `main` with a README and a small source file, committed.
pub struct Repo {
    _dir: tempfile::TempDir,
    pub root: PathBuf,
}

impl Repo {
    pub async fn new(name: &str) -> Repo {
        let dir = tempfile::tempdir().expect("temp dir for the fixture repository");
        let root = dir.path().join(name);
        std::fs::create_dir(&root).expect("create the repository folder");
        let root = root.canonicalize().expect("canonical repository path");
        git(&root, &["init", "-q", "-b", "main"]).await;
        git(&root, &["config", "user.name", "Fixture Author"]).await;
        git(&root, &["config", "user.email", "author@example.com"]).await;
        write(&root, "README.md", "# greeter\n\nSays hello.\n");
        write(
            &root,
            "src/lib.rs",
            "pub fn greet() -> &'static str {\n    \"hello\"\n}\n",
        );
        git(&root, &["add", "-A"]).await;
        git(&root, &["commit", "-q", "-m", "initial commit"]).await;
        Repo { _dir: dir, root }
    }

    pub async fn git(&self, args: &[&str]) -> String {
        git(&self.root, args).await
    }

    pub async fn head(&self) -> String {
        self.git(&["rev-parse", "HEAD"]).await
    }

    /// `git status --porcelain`, with untracked files: empty means clean.
    pub async fn status(&self) -> String {
        self.git(&["status", "--porcelain", "--untracked-files=all"])
            .await
    }

    /// The paths of the linked worktrees (not the main checkout).
    pub async fn linked_worktrees(&self) -> Vec<String> {
        let list = self.git(&["worktree", "list", "--porcelain"]).await;
        let main = format!("worktree {}", self.root.display());
        list.lines()
            .filter(|l| l.starts_with("worktree ") && *l != main)
            .map(|l| l["worktree ".len()..].to_string())
            .collect()
    }

    /// The names of the branches under fanout/.
    pub async fn fanout_branches(&self) -> Vec<String> {
        let out = self
            .git(&[
                "for-each-ref",
                "--format=%(refname:short)",
                "refs/heads/fanout/",
            ])
            .await;
        out.lines().map(str::to_string).collect()
    }

    pub fn read(&self, rel: &str) -> Option<String> {
        std::fs::read_to_string(self.root.join(rel)).ok()
    }
}

/// Writes a file under `root`, creating folders: what an agent would do.
pub fn write(root: &Path, rel: &str, content: &str) {
    let path = root.join(rel);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).expect("create folders");
    }
    std::fs::write(&path, content).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}
