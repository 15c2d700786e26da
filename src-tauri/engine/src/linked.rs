//! A variant's worktree as the main repository registered it.
//!
//! An agent owns every byte of its worktree, including the `.git` file that
//! tells git where the worktree's repository is: an agent that rewrites it
//! (`gitdir: evil`, with `evil/commondir` naming the user's repository) would
//! make anything that opens the worktree through it commit onto, or reset,
//! the user's own branch and checkout. So Fanout never opens a variant that
//! way. It finds the worktree in the main repository's registration
//! (`.git/worktrees/<name>`, whose `gitdir` file names the worktree), checks
//! before every write that the worktree still points there and that HEAD
//! still names the variant's branch, and runs git with both directories named
//! explicitly ([`Linked::git`]). When the check fails, the metadata is put
//! back and nothing is written through it; the caller says what the agent did.

use std::path::{Path, PathBuf};

use crate::gitcli::{Git, GitError};
use crate::repo;
use crate::worktree::{comparable, WorktreeError};

/// Where one variant's worktree and its git metadata are, as registered.
#[derive(Debug, Clone)]
pub struct Linked {
    /// The user's checkout (the main working tree).
    pub root: PathBuf,
    /// The repository's shared git directory (objects, refs, config).
    pub common_dir: PathBuf,
    /// The worktree's own git directory, `<common_dir>/worktrees/<name>`.
    pub git_dir: PathBuf,
    /// The worktree folder.
    pub worktree: PathBuf,
    /// The variant's branch, `refs/heads/fanout/…`.
    pub branch_ref: String,
}

impl Linked {
    /// Finds the registration of `worktree` in the repository at `repo_root`.
    /// `branch` is the variant's branch, short (`fanout/…`) or full.
    pub fn open(repo_root: &Path, worktree: &Path, branch: &str) -> Result<Linked, WorktreeError> {
        if worktree.symlink_metadata().is_err() {
            return Err(WorktreeError::Missing {
                path: worktree.to_path_buf(),
            });
        }
        let main = repo::open(repo_root)?;
        let root = repo::workdir(&main)?;
        let common_dir = main
            .commondir()
            .canonicalize()
            .unwrap_or_else(|_| main.commondir().to_path_buf());
        let wanted = comparable(worktree);
        let mut found = registrations(&common_dir)
            .into_iter()
            .filter(|(_, path)| comparable(path) == wanted);
        let Some((git_dir, _)) = found.next() else {
            return Err(WorktreeError::NotOwnWorktree {
                path: worktree.to_path_buf(),
                repo: root,
            });
        };
        if let Some((other, _)) = found.next() {
            return Err(WorktreeError::Tampered {
                worktree: worktree.to_path_buf(),
                findings: format!(
                    "two registrations ({} and {}) both claim the worktree",
                    git_dir.display(),
                    other.display()
                ),
            });
        }
        let branch_ref = if branch.starts_with("refs/") {
            branch.to_owned()
        } else {
            format!("refs/heads/{branch}")
        };
        Ok(Linked {
            root,
            common_dir,
            git_dir,
            worktree: wanted,
            branch_ref,
        })
    }

    /// git on this worktree, through its registered git directory.
    pub fn git(&self) -> Git {
        Git::with_dirs(&self.git_dir, Some(&self.worktree))
    }

    /// git on the shared repository, for refs and objects.
    pub fn git_common(&self) -> Git {
        Git::with_dirs(&self.common_dir, None)
    }

    /// What is not as Fanout registered it, one phrase per finding; empty
    /// when the worktree is intact.
    pub fn inspect(&self) -> Vec<String> {
        let mut findings = Vec::new();
        match self.worktree.symlink_metadata() {
            Ok(meta) if meta.file_type().is_symlink() => findings.push(format!(
                "the worktree folder {} was replaced by a symlink",
                self.worktree.display()
            )),
            _ => {}
        }
        findings.extend(self.inspect_dot_git());
        let head = read_trimmed(&self.git_dir.join("HEAD"));
        let expected = format!("ref: {}", self.branch_ref);
        if head.as_deref() != Some(expected.as_str()) {
            findings.push(format!(
                "its HEAD names {} instead of the variant's branch {}",
                shown(head.as_deref()),
                self.branch_ref
            ));
        }
        if !commondir_is(&self.git_dir, &self.common_dir) {
            let commondir = read_trimmed(&self.git_dir.join("commondir"));
            findings.push(format!(
                "its commondir names {} instead of the repository's {}",
                shown(commondir.as_deref()),
                self.common_dir.display()
            ));
        }
        if self
            .git_dir
            .join("config.worktree")
            .symlink_metadata()
            .is_ok()
        {
            findings.push(
                "a per-worktree git config (config.worktree) appeared, which could make git run programs"
                    .to_owned(),
            );
        }
        findings
    }

    fn inspect_dot_git(&self) -> Option<String> {
        let dot_git = self.worktree.join(".git");
        let meta = match dot_git.symlink_metadata() {
            Ok(meta) => meta,
            Err(_) => return Some("its .git file was deleted".to_owned()),
        };
        if meta.is_dir() {
            return Some("its .git file was replaced by a folder (a repository of its own)".into());
        }
        if meta.file_type().is_symlink() {
            return Some("its .git file was replaced by a symlink".into());
        }
        (!dot_git_is(&self.worktree, &self.git_dir)).then(|| {
            format!(
                "its .git file names {} instead of Fanout's registration {}",
                shown(read_trimmed(&dot_git).as_deref()),
                self.git_dir.display()
            )
        })
    }

    /// Puts the worktree's git metadata back as registered.
    pub fn restore(&self) -> std::io::Result<()> {
        let dot_git = self.worktree.join(".git");
        match dot_git.symlink_metadata() {
            Ok(meta) if meta.is_dir() => std::fs::remove_dir_all(&dot_git)?,
            Ok(_) => std::fs::remove_file(&dot_git)?,
            Err(_) => {}
        }
        std::fs::write(&dot_git, format!("gitdir: {}\n", self.git_dir.display()))?;
        std::fs::write(
            self.git_dir.join("HEAD"),
            format!("ref: {}\n", self.branch_ref),
        )?;
        std::fs::write(self.git_dir.join("commondir"), "../..\n")?;
        match std::fs::remove_file(self.git_dir.join("config.worktree")) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e),
            _ => Ok(()),
        }
    }

    /// Checks the worktree before Fanout writes through it. Tampered
    /// metadata is restored, and the error says what was found: nothing may
    /// be written for this variant until someone looked at it.
    pub fn guard(&self) -> Result<(), WorktreeError> {
        if self.worktree.symlink_metadata().is_err() {
            return Err(WorktreeError::Missing {
                path: self.worktree.clone(),
            });
        }
        let findings = self.inspect();
        if findings.is_empty() {
            return Ok(());
        }
        if let Err(e) = self.restore() {
            tracing::warn!(error = %e, worktree = %self.worktree.display(), "restoring a tampered worktree failed");
        }
        Err(WorktreeError::Tampered {
            worktree: self.worktree.clone(),
            findings: findings.join("; "),
        })
    }

    /// Paths with uncommitted changes (tracked, untracked; not ignored), at
    /// most a handful, as git itself reports them.
    pub fn uncommitted(&self) -> Result<Vec<String>, GitError> {
        let out = self
            .git()
            .args([
                "status",
                "--porcelain=v1",
                "-z",
                "--untracked-files=all",
                "--no-renames",
            ])
            .output()?;
        Ok(out
            .split(|b| *b == 0)
            .filter(|entry| entry.len() > 3)
            .map(|entry| String::from_utf8_lossy(&entry[3..]).into_owned())
            .collect())
    }
}

/// Whether the worktree at `folder` still points at its registration
/// `git_dir`, and that registration at the repository's `common_dir`.
pub(crate) fn points_home(folder: &Path, git_dir: &Path, common_dir: &Path) -> bool {
    let is_file = folder
        .join(".git")
        .symlink_metadata()
        .is_ok_and(|m| m.is_file());
    is_file && dot_git_is(folder, git_dir) && commondir_is(git_dir, &comparable(common_dir))
}

/// `<folder>/.git` reads `gitdir: <git_dir>` (relative paths from the folder).
fn dot_git_is(folder: &Path, git_dir: &Path) -> bool {
    let text = read_trimmed(&folder.join(".git"));
    let named = text.as_deref().and_then(|t| t.strip_prefix("gitdir:"));
    named.is_some_and(|n| comparable(&folder.join(n.trim())) == comparable(git_dir))
}

/// `<git_dir>/commondir` names `common_dir` (canonical; relative paths from `git_dir`).
fn commondir_is(git_dir: &Path, common_dir: &Path) -> bool {
    read_trimmed(&git_dir.join("commondir"))
        .is_some_and(|c| comparable(&git_dir.join(c)) == common_dir)
}

/// Each registered worktree: its git directory and the folder its `gitdir`
/// file names. Read from the files themselves, the way git does.
fn registrations(common_dir: &Path) -> Vec<(PathBuf, PathBuf)> {
    let Ok(entries) = std::fs::read_dir(common_dir.join("worktrees")) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| {
            let git_dir = entry.path();
            let gitdir_file = read_trimmed(&git_dir.join("gitdir"))?;
            let dot_git = PathBuf::from(gitdir_file);
            let folder = dot_git.parent()?.to_path_buf();
            Some((git_dir, folder))
        })
        .collect()
}

fn read_trimmed(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|t| t.trim().to_owned())
}

fn shown(text: Option<&str>) -> String {
    match text {
        Some(t) => format!("{:?}", crate::events::bound(t, 200)),
        None => "nothing".to_owned(),
    }
}
