//! Opening a user's repository, reporting its state, and snapshotting the base
//! of an experiment.
//!
//! Nothing here writes to the user's index, working tree or branches. The one
//! thing it may create is a base snapshot: a commit object on no branch, kept
//! alive by a ref under `refs/fanout/`.

use std::path::{Path, PathBuf};

use git2::{ErrorCode, Oid, Repository, Signature, Status, StatusOptions};
use serde::Serialize;

use crate::gitcli::{identity_env, Git, GitError, ScratchIndex};

/// The author used when the repository's config names nobody.
pub const FALLBACK_NAME: &str = "Fanout";
pub const FALLBACK_EMAIL: &str = "fanout@localhost";

#[derive(Debug, thiserror::Error)]
pub enum RepoError {
    #[error("{path} does not exist. Check the path, or pick the folder with the folder dialog.")]
    NotFound { path: PathBuf },
    #[error("{path} is a file, not a folder. Pick the repository's folder instead.")]
    NotADirectory { path: PathBuf },
    #[error("{path} is not inside a git repository. Run `git init` there first, or pick another folder.")]
    NotARepository { path: PathBuf },
    #[error("{path} is a bare repository, which has no working tree to run agents in. Open a clone of it that has one.")]
    Bare { path: PathBuf },
    #[error("The repository at {path} has no commits yet, so there is no base to start from. Make a first commit and try again.")]
    NoCommits { path: PathBuf },
    #[error(transparent)]
    GitCli(#[from] GitError),
    #[error("Git failed while {action} in {path}: {source}")]
    Git {
        action: &'static str,
        path: PathBuf,
        source: git2::Error,
    },
    #[error("Fanout could not read {path} while {action}: {source}. Check the file's permissions and try again.")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl RepoError {
    pub fn code(&self) -> &'static str {
        match self {
            RepoError::NotFound { .. } => "repo.not_found",
            RepoError::NotADirectory { .. } => "repo.not_a_directory",
            RepoError::NotARepository { .. } => "repo.not_a_repository",
            RepoError::Bare { .. } => "repo.bare",
            RepoError::NoCommits { .. } => "repo.no_commits",
            RepoError::GitCli(e) => e.code(),
            RepoError::Git { .. } => "repo.git",
            RepoError::Io { .. } => "repo.io",
        }
    }
}

/// A commit, as shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct CommitInfo {
    pub id: String,
    pub summary: String,
}

/// What the user sees after opening a repository.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct RepoInfo {
    /// The top-level directory of the working tree.
    pub root: PathBuf,
    /// The checked-out branch, or `None` when HEAD is detached.
    pub branch: Option<String>,
    pub head: CommitInfo,
    /// Files with uncommitted changes: staged, unstaged or untracked (not ignored).
    pub dirty_files: usize,
}

/// The commit an experiment starts from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Base {
    pub commit: String,
    /// The ref keeping a snapshot commit alive, when the base is one.
    pub snapshot_ref: Option<String>,
}

/// Opens the repository containing `path` and reports its state.
pub fn inspect(path: &Path) -> Result<RepoInfo, RepoError> {
    let repo = open(path)?;
    let root = workdir(&repo)?;
    let head = head_commit(&repo, &root)?;
    Ok(RepoInfo {
        branch: current_branch(&repo),
        head: CommitInfo {
            id: head.id().to_string(),
            summary: head.summary().unwrap_or_default().to_string(),
        },
        dirty_files: uncommitted_paths(&repo, &root)?.len(),
        root,
    })
}

/// Opens the repository containing `path`, refusing what Fanout cannot work
/// with (no such path, a file, no repository, a bare one, no commits).
pub fn open(path: &Path) -> Result<Repository, RepoError> {
    let meta = std::fs::metadata(path).map_err(|_| RepoError::NotFound {
        path: path.to_path_buf(),
    })?;
    if !meta.is_dir() {
        return Err(RepoError::NotADirectory {
            path: path.to_path_buf(),
        });
    }
    let repo = Repository::discover(path).map_err(|e| match e.code() {
        ErrorCode::NotFound => RepoError::NotARepository {
            path: path.to_path_buf(),
        },
        _ => git_error("opening the repository", path, e),
    })?;
    if repo.is_bare() {
        return Err(RepoError::Bare {
            path: path.to_path_buf(),
        });
    }
    let root = workdir(&repo)?;
    head_commit(&repo, &root)?;
    Ok(repo)
}

/// The top-level directory of a non-bare repository's working tree.
pub fn workdir(repo: &Repository) -> Result<PathBuf, RepoError> {
    let dir = repo.workdir().ok_or_else(|| RepoError::Bare {
        path: repo.path().to_path_buf(),
    })?;
    // git2 reports the workdir with a trailing slash; canonical form keeps
    // paths comparable (and hashes of them stable) across calls.
    let dir = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    Ok(dir)
}

/// The commit HEAD points at.
pub fn head_commit<'r>(repo: &'r Repository, root: &Path) -> Result<git2::Commit<'r>, RepoError> {
    let head = repo.head().map_err(|e| match e.code() {
        ErrorCode::UnbornBranch | ErrorCode::NotFound => RepoError::NoCommits {
            path: root.to_path_buf(),
        },
        _ => git_error("reading HEAD", root, e),
    })?;
    head.peel_to_commit()
        .map_err(|e| git_error("reading the HEAD commit", root, e))
}

/// The short name of the checked-out branch, `None` when HEAD is detached.
pub fn current_branch(repo: &Repository) -> Option<String> {
    if repo.head_detached().unwrap_or(false) {
        return None;
    }
    repo.head()
        .ok()
        .and_then(|h| h.shorthand().map(str::to_string))
}

/// Paths with uncommitted changes (staged, unstaged, untracked; ignored files
/// excluded), relative to the root, sorted.
pub fn uncommitted_paths(repo: &Repository, root: &Path) -> Result<Vec<String>, RepoError> {
    let mut opts = StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .exclude_submodules(true)
        .renames_head_to_index(false);
    let statuses = repo
        .statuses(Some(&mut opts))
        .map_err(|e| git_error("reading the working tree's status", root, e))?;
    let mut paths: Vec<String> = statuses
        .iter()
        .filter(|s| !s.status().is_empty() && !s.status().contains(Status::IGNORED))
        .filter_map(|s| s.path().map(str::to_string))
        .collect();
    paths.sort();
    paths.dedup();
    Ok(paths)
}

/// The signature Fanout commits with: the repository's configured user, or
/// `Fanout <fanout@localhost>` when none is configured.
pub fn signature(repo: &Repository) -> Signature<'static> {
    repo.signature()
        .map(|s| s.to_owned())
        .or_else(|_| Signature::now(FALLBACK_NAME, FALLBACK_EMAIL))
        .unwrap_or_else(|_| {
            // `now` only fails on an unusable clock; a fixed epoch still commits.
            Signature::new(FALLBACK_NAME, FALLBACK_EMAIL, &git2::Time::new(0, 0))
                .expect("static signature fields are valid")
        })
}

/// Resolves the base of a new experiment. With `include_uncommitted`, and
/// when there is something uncommitted, the working tree (tracked changes,
/// deletions and untracked files that are not ignored) is written as a commit
/// whose parent is HEAD, on no branch, kept alive by `snapshot_ref`. The
/// content is staged by `git add --all` into a scratch index, so it is stored
/// exactly as git would store it (clean filters, line endings, LFS); the
/// user's index file and working tree are not touched.
pub fn resolve_base(
    repo_path: &Path,
    include_uncommitted: bool,
    snapshot_ref: &str,
) -> Result<Base, RepoError> {
    let repo = open(repo_path)?;
    let root = workdir(&repo)?;
    let head = head_commit(&repo, &root)?;
    if !include_uncommitted || uncommitted_paths(&repo, &root)?.is_empty() {
        return Ok(Base {
            commit: head.id().to_string(),
            snapshot_ref: None,
        });
    }
    let tree = snapshot_tree(&repo, &root)?;
    let message = format!(
        "Fanout base snapshot: {} plus uncommitted changes\n",
        short(head.id())
    );
    let mut commit_tree = Git::in_dir(&root);
    for (key, value) in identity_env(&repo) {
        commit_tree = commit_tree.env(key, value);
    }
    let snapshot = commit_tree
        .args([
            "commit-tree",
            &tree,
            "-p",
            &head.id().to_string(),
            "-F",
            "-",
        ])
        .input(message)
        .run()?;
    Git::in_dir(&root)
        .args([
            "update-ref",
            "-m",
            "fanout: base snapshot",
            snapshot_ref,
            &snapshot,
        ])
        .run()?;
    Ok(Base {
        commit: snapshot,
        snapshot_ref: Some(snapshot_ref.to_string()),
    })
}

/// Writes the working tree's content as a tree object, staged in a copy of
/// the user's index (its stat data spares hashing unchanged files) that is
/// thrown away afterwards.
fn snapshot_tree(repo: &Repository, root: &Path) -> Result<String, RepoError> {
    let scratch_dir = tempfile::tempdir().map_err(|source| RepoError::Io {
        action: "preparing the snapshot of uncommitted work",
        path: std::env::temp_dir(),
        source,
    })?;
    let scratch = ScratchIndex::new(scratch_dir.path(), Some(&repo.path().join("index"))).map_err(
        |source| RepoError::Io {
            action: "copying the index for the snapshot",
            path: repo.path().join("index"),
            source,
        },
    )?;
    Git::in_dir(root)
        .index_file(scratch.path())
        .args(["add", "--all", "--", "."])
        .run()?;
    Ok(Git::in_dir(root)
        .index_file(scratch.path())
        .arg("write-tree")
        .run()?)
}

/// The first 8 hex digits of a commit id.
pub fn short(id: Oid) -> String {
    id.to_string()[..8].to_string()
}

pub(crate) fn git_error(action: &'static str, path: &Path, source: git2::Error) -> RepoError {
    RepoError::Git {
        action,
        path: path.to_path_buf(),
        source,
    }
}
