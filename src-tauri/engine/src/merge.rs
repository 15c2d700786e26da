//! Bringing a variant into a branch: preview, squash or merge commit, undo.
//!
//! The safety rules (Vibe Kanban's bug #543, where a merge wiped a user's
//! uncommitted work, must be impossible here):
//!
//! - The merge is computed in memory first; a conflict fails before anything
//!   is written.
//! - The branch moves by compare-and-swap on the value read at the start
//!   (`reference_matching`); if someone moved it meanwhile nothing changes and
//!   the caller is told to try again.
//! - When the target branch is checked out in a working tree (the user's own
//!   checkout or a linked worktree; both are handled alike), only the files the
//!   merge changes are written there, and only when each of them is exactly as
//!   committed: no staged or unstaged edit, no untracked or ignored file in its
//!   place. Otherwise the merge refuses and names the files. This is strict on
//!   purpose: uncommitted content that happens to equal the merged result is
//!   still refused, because Fanout would otherwise have to guess whether the
//!   user's staging of it mattered. A directory standing where the merge puts
//!   a file is refused the same way.
//! - Files the merge does not touch are never written, whatever their state.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use git2::{BranchType, Commit, DiffOptions, ErrorCode, Oid, Repository, RepositoryState, Tree};
use serde::{Deserialize, Serialize};

use crate::gitcli::{Git, GitError};
use crate::repo::{self, RepoError};

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error("There is no local branch named \"{branch}\" to merge into. Check the name, or create the branch first.")]
    TargetMissing { branch: String },
    #[error("The commit \"{commit}\" to merge does not exist in this repository. Commit the variant's work first, or check that its branch still exists.")]
    SourceMissing { commit: String },
    #[error("\"{given}\" is not a merge strategy. Use \"squash\" or \"merge\".")]
    UnknownStrategy { given: String },
    #[error("The merge needs a commit message. Write one and try again.")]
    EmptyMessage,
    #[error("Branch {target} already contains every change of this variant, so there is nothing to merge.")]
    AlreadyMerged { target: String },
    #[error("The merge has conflicts in {}, so nothing was changed. Resolve them in the variant (or merge by hand) and try again.", list(paths))]
    Conflicts { paths: Vec<String> },
    #[error("The merge would overwrite uncommitted changes (or files in the way) in {}, so nothing was changed. Commit, stash or move them, then try again.", list(files))]
    UncommittedChanges { files: Vec<String> },
    #[error("A git operation ({state}) is in progress in {}, so nothing was changed. Finish or abort it, then try again.", worktree.display())]
    OperationInProgress { worktree: PathBuf, state: String },
    #[error("Branch {branch} moved while Fanout was updating it (someone committed to it meanwhile), so nothing was changed. Try again.")]
    BranchMoved { branch: String },
    #[error("The merge into {target} cannot be undone because {target} has moved on to {head} since. Revert the merge commit by hand if you still want it gone.")]
    UndoMovedOn { target: String, head: String },
    #[error("The merge into {target} cannot be undone because the recorded commits do not match: {reason}. Undo it by hand with git.")]
    UndoMismatch { target: String, reason: String },
    #[error("The merge cannot be undone because {} changed since the merge, and undoing it would overwrite that. Commit or stash those changes, then try again.", list(files))]
    UndoFilesChanged { files: Vec<String> },
    #[error("Git could not update the files in {}, so nothing was changed ({detail}). Try again once nothing else holds the repository.", worktree.display())]
    Checkout { worktree: PathBuf, detail: String },
    #[error(transparent)]
    GitCli(#[from] GitError),
    #[error("Git failed while {action}: {source}. Nothing else was changed; try again.")]
    Git {
        action: &'static str,
        source: git2::Error,
    },
}

impl MergeError {
    pub fn code(&self) -> &'static str {
        match self {
            MergeError::Repo(e) => e.code(),
            MergeError::TargetMissing { .. } => "merge.target_missing",
            MergeError::SourceMissing { .. } => "merge.source_missing",
            MergeError::UnknownStrategy { .. } => "merge.unknown_strategy",
            MergeError::EmptyMessage => "merge.empty_message",
            MergeError::AlreadyMerged { .. } => "merge.already_merged",
            MergeError::Conflicts { .. } => "merge.conflicts",
            MergeError::UncommittedChanges { .. } => "merge.uncommitted_changes",
            MergeError::OperationInProgress { .. } => "merge.operation_in_progress",
            MergeError::BranchMoved { .. } => "merge.branch_moved",
            MergeError::UndoMovedOn { .. } => "merge.undo_moved_on",
            MergeError::UndoMismatch { .. } => "merge.undo_mismatch",
            MergeError::UndoFilesChanged { .. } => "merge.undo_files_changed",
            MergeError::Checkout { .. } => "merge.git",
            MergeError::GitCli(e) => e.code(),
            MergeError::Git { .. } => "merge.git",
        }
    }
}

/// A short, readable list of paths for error sentences; long lists are cut
/// because the full list travels in the error's fields.
fn list(paths: &[String]) -> String {
    const SHOWN: usize = 10;
    let mut text = paths
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if paths.len() > SHOWN {
        text.push_str(&format!(" and {} more", paths.len() - SHOWN));
    }
    text
}

fn git_err(action: &'static str) -> impl FnOnce(git2::Error) -> MergeError {
    move |source| MergeError::Git { action, source }
}

#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Default, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Strategy {
    /// One commit on the target whose only parent is the target's head.
    #[default]
    Squash,
    /// A commit with two parents: the target's head and the variant's commit.
    Merge,
}

impl FromStr for Strategy {
    type Err = MergeError;

    fn from_str(s: &str) -> Result<Strategy, MergeError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "squash" => Ok(Strategy::Squash),
            "merge" => Ok(Strategy::Merge),
            _ => Err(MergeError::UnknownStrategy {
                given: s.to_string(),
            }),
        }
    }
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq, ts_rs::TS)]
pub struct MergePreview {
    /// The target branch's short name.
    pub target: String,
    /// The target's current commit.
    pub target_head: String,
    /// The variant's commit.
    pub source: String,
    /// Paths the merge would change on the target, sorted. With conflicts,
    /// the conflicted paths are included.
    pub files: Vec<String>,
    /// Conflicted paths from the in-memory three-way merge, sorted.
    pub conflicts: Vec<String>,
    /// The target is checked out in a working tree of this repository (the
    /// user's checkout at `repo_root`, or a linked worktree); `checked_out_at`
    /// says which one. That working tree is updated by `apply`.
    pub checked_out: bool,
    pub checked_out_at: Option<PathBuf>,
    /// Files the merge touches that have uncommitted changes (or an untracked
    /// or ignored file in their place) in that working tree; `apply` refuses
    /// while this is not empty.
    pub blocked_by_uncommitted: Vec<String>,
    /// Nothing to do: the target already contains the variant's changes.
    pub already_merged: bool,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, Eq, ts_rs::TS)]
pub struct MergeOutcome {
    pub target: String,
    /// The new commit on the target.
    pub commit: String,
    /// The target's commit before the merge, which `undo` restores.
    pub previous: String,
    /// The variant's commit that was merged.
    pub source: String,
    pub strategy: Strategy,
    /// Paths the merge changed, sorted.
    pub files: Vec<String>,
}

/// What a merge would do. Writes nothing: no ref, no index, no working tree.
pub fn preview(
    repo_root: &Path,
    source_commit: &str,
    target_branch: &str,
) -> Result<MergePreview, MergeError> {
    preview_ignoring(repo_root, source_commit, target_branch, &[])
}

/// [`preview`], never taking one of `ignored` (Fanout's own variant
/// worktrees, whose HEAD an agent may have pointed at the target) for the
/// target's checkout.
pub fn preview_ignoring(
    repo_root: &Path,
    source_commit: &str,
    target_branch: &str,
    ignored: &[PathBuf],
) -> Result<MergePreview, MergeError> {
    let repo = repo::open(repo_root)?;
    let plan = Plan::new(&repo, source_commit, target_branch)?;
    let checkout = find_checkout(&repo, &plan.refname, ignored)?;
    let blocked = match &checkout {
        Some(co) => in_the_way(co, &plan.files)?,
        None => Vec::new(),
    };
    Ok(MergePreview {
        target: plan.target.clone(),
        target_head: plan.head.id().to_string(),
        source: plan.source.id().to_string(),
        files: display_all(&plan.files),
        already_merged: plan.files.is_empty() && plan.conflicts.is_empty(),
        conflicts: plan.conflicts,
        checked_out: checkout.is_some(),
        checked_out_at: checkout.map(|co| co.root),
        blocked_by_uncommitted: blocked,
    })
}

/// Merges `source_commit` into `target_branch`.
///
/// Squash: one commit on the target whose parent is the target's head. Merge:
/// a commit with two parents (target head, source). The message is the
/// caller's. Conflicts, or uncommitted changes in files the merge touches
/// where the target is checked out, refuse with nothing changed. Otherwise the
/// touched files (and only those) are written in that working tree and its
/// index, and the branch moves by compare-and-swap.
pub fn apply(
    repo_root: &Path,
    source_commit: &str,
    target_branch: &str,
    strategy: Strategy,
    message: &str,
) -> Result<MergeOutcome, MergeError> {
    apply_ignoring(
        repo_root,
        source_commit,
        target_branch,
        strategy,
        message,
        &[],
    )
}

/// [`apply`], never taking one of `ignored` for the target's checkout (see
/// [`preview_ignoring`]).
pub fn apply_ignoring(
    repo_root: &Path,
    source_commit: &str,
    target_branch: &str,
    strategy: Strategy,
    message: &str,
    ignored: &[PathBuf],
) -> Result<MergeOutcome, MergeError> {
    if message.trim().is_empty() {
        return Err(MergeError::EmptyMessage);
    }
    let repo = repo::open(repo_root)?;
    let plan = Plan::new(&repo, source_commit, target_branch)?;
    if !plan.conflicts.is_empty() {
        return Err(MergeError::Conflicts {
            paths: plan.conflicts,
        });
    }
    let merged = match (&plan.merged, plan.files.is_empty()) {
        (Some(tree), false) => tree,
        _ => {
            return Err(MergeError::AlreadyMerged {
                target: plan.target,
            })
        }
    };
    let checkout = find_checkout(&repo, &plan.refname, ignored)?;
    if let Some(co) = &checkout {
        ensure_clean(co, &plan.files, |files| MergeError::UncommittedChanges {
            files,
        })?;
    }
    let parents: Vec<&Commit> = match strategy {
        Strategy::Squash => vec![&plan.head],
        Strategy::Merge => vec![&plan.head, &plan.source],
    };
    let sig = repo::signature(&repo);
    let commit = repo
        .commit(None, &sig, &sig, message, merged, &parents)
        .map_err(git_err("writing the merge commit"))?;
    let reflog = format!(
        "fanout: {} {} into {}",
        match strategy {
            Strategy::Squash => "squash merge of",
            Strategy::Merge => "merge of",
        },
        repo::short(plan.source.id()),
        plan.target
    );
    let switch = Switch {
        refname: &plan.refname,
        branch: &plan.target,
        from: (plan.head.id(), plan.head.tree_id()),
        to: (commit, merged.id()),
        files: &plan.files,
    };
    switch.run(&repo, checkout.as_ref(), &reflog, |files| {
        MergeError::UncommittedChanges { files }
    })?;
    Ok(MergeOutcome {
        target: plan.target,
        commit: commit.to_string(),
        previous: plan.head.id().to_string(),
        source: plan.source.id().to_string(),
        strategy,
        files: display_all(&plan.files),
    })
}

/// Restores the target to `outcome.previous`, while the target's head is
/// still `outcome.commit` and, where it is checked out, the files the merge
/// changed are still as the merge left them. Otherwise refuses and says why.
pub fn undo(repo_root: &Path, outcome: &MergeOutcome) -> Result<(), MergeError> {
    undo_ignoring(repo_root, outcome, &[])
}

/// [`undo`], never taking one of `ignored` for the target's checkout (see
/// [`preview_ignoring`]).
pub fn undo_ignoring(
    repo_root: &Path,
    outcome: &MergeOutcome,
    ignored: &[PathBuf],
) -> Result<(), MergeError> {
    let repo = repo::open(repo_root)?;
    let (refname, head) = find_target(&repo, &outcome.target)?;
    if head.id().to_string() != outcome.commit {
        return Err(MergeError::UndoMovedOn {
            target: outcome.target.clone(),
            head: repo::short(head.id()),
        });
    }
    let previous = recorded_parent(&head, outcome)?;
    let files = changed_paths(&repo, &head.tree_id(), &previous.tree_id())?;
    let checkout = find_checkout(&repo, &refname, ignored)?;
    if let Some(co) = &checkout {
        ensure_clean(co, &files, |files| MergeError::UndoFilesChanged { files })?;
    }
    let switch = Switch {
        refname: &refname,
        branch: &outcome.target,
        from: (head.id(), head.tree_id()),
        to: (previous.id(), previous.tree_id()),
        files: &files,
    };
    let reflog = format!("fanout: undo merge {}", repo::short(head.id()));
    switch.run(&repo, checkout.as_ref(), &reflog, |files| {
        MergeError::UndoFilesChanged { files }
    })
}

/// `outcome.previous`, checked to be the merge commit's first parent, so an
/// outcome from another repository or another merge cannot move the branch
/// somewhere unrelated.
fn recorded_parent<'r>(
    head: &Commit<'r>,
    outcome: &MergeOutcome,
) -> Result<Commit<'r>, MergeError> {
    let mismatch = |reason: &str| MergeError::UndoMismatch {
        target: outcome.target.clone(),
        reason: reason.to_string(),
    };
    let parent = head
        .parent(0)
        .map_err(|_| mismatch("the merge commit has no parent"))?;
    if parent.id().to_string() != outcome.previous {
        return Err(mismatch(
            "the recorded previous commit is not the merge commit's parent",
        ));
    }
    Ok(parent)
}

/// The in-memory three-way merge of a source commit into a target branch.
struct Plan<'r> {
    target: String,
    refname: String,
    head: Commit<'r>,
    source: Commit<'r>,
    /// The merged tree, when there are no conflicts.
    merged: Option<Tree<'r>>,
    /// Paths that would change on the target, sorted.
    files: Vec<PathBuf>,
    conflicts: Vec<String>,
}

impl<'r> Plan<'r> {
    fn new(repo: &'r Repository, source: &str, target: &str) -> Result<Plan<'r>, MergeError> {
        let (refname, head) = find_target(repo, target)?;
        let source = find_source(repo, source)?;
        // merge_commits finds the merge base itself, so a target that moved
        // since the variant branched still merges three-way.
        let mut index = repo
            .merge_commits(&head, &source, None)
            .map_err(git_err("merging in memory"))?;
        let conflicts = conflicted_paths(&index)?;
        let head_tree = head.tree().map_err(git_err("reading the target's tree"))?;
        let (merged, files) = if conflicts.is_empty() {
            let id = index
                .write_tree_to(repo)
                .map_err(git_err("writing the merged tree"))?;
            let tree = repo
                .find_tree(id)
                .map_err(git_err("reading the merged tree"))?;
            let files = changed_paths(repo, &head_tree.id(), &id)?;
            (Some(tree), files)
        } else {
            (
                None,
                changed_in_index(repo, &head_tree, &index, &conflicts)?,
            )
        };
        Ok(Plan {
            target: target.trim_start_matches("refs/heads/").to_string(),
            refname,
            head,
            source,
            merged,
            files,
            conflicts,
        })
    }
}

fn find_target<'r>(repo: &'r Repository, target: &str) -> Result<(String, Commit<'r>), MergeError> {
    let name = target.trim_start_matches("refs/heads/");
    let missing = || MergeError::TargetMissing {
        branch: name.to_string(),
    };
    let branch = repo
        .find_branch(name, BranchType::Local)
        .map_err(|_| missing())?;
    let refname = branch.get().name().ok_or_else(missing)?.to_string();
    let head = branch.get().peel_to_commit().map_err(|_| missing())?;
    Ok((refname, head))
}

fn find_source<'r>(repo: &'r Repository, source: &str) -> Result<Commit<'r>, MergeError> {
    let missing = || MergeError::SourceMissing {
        commit: source.to_string(),
    };
    if source.trim().is_empty() {
        return Err(missing());
    }
    repo.revparse_single(source)
        .and_then(|o| o.peel_to_commit())
        .map_err(|_| missing())
}

fn conflicted_paths(index: &git2::Index) -> Result<Vec<String>, MergeError> {
    let mut paths = BTreeSet::new();
    for conflict in index.conflicts().map_err(git_err("reading conflicts"))? {
        let conflict = conflict.map_err(git_err("reading conflicts"))?;
        for entry in [conflict.our, conflict.their, conflict.ancestor]
            .into_iter()
            .flatten()
        {
            paths.insert(String::from_utf8_lossy(&entry.path).into_owned());
        }
    }
    Ok(paths.into_iter().collect())
}

/// Paths whose content differs between two trees, sorted. Renames are not
/// detected, so a rename lists both its old and its new path.
fn changed_paths(repo: &Repository, from: &Oid, to: &Oid) -> Result<Vec<PathBuf>, MergeError> {
    let from = repo.find_tree(*from).map_err(git_err("reading a tree"))?;
    let to = repo.find_tree(*to).map_err(git_err("reading a tree"))?;
    let diff = repo
        .diff_tree_to_tree(Some(&from), Some(&to), Some(&mut diff_options()))
        .map_err(git_err("comparing trees"))?;
    Ok(delta_paths(&diff))
}

/// With conflicts there is no merged tree; the files are what the merged
/// index changes against the target, plus the conflicted paths.
fn changed_in_index(
    repo: &Repository,
    head_tree: &Tree,
    index: &git2::Index,
    conflicts: &[String],
) -> Result<Vec<PathBuf>, MergeError> {
    let diff = repo
        .diff_tree_to_index(Some(head_tree), Some(index), Some(&mut diff_options()))
        .map_err(git_err("comparing the merge with the target"))?;
    let mut paths: BTreeSet<PathBuf> = delta_paths(&diff).into_iter().collect();
    paths.extend(conflicts.iter().map(PathBuf::from));
    Ok(paths.into_iter().collect())
}

fn diff_options() -> DiffOptions {
    let mut opts = DiffOptions::new();
    opts.ignore_submodules(false).include_typechange(true);
    opts
}

fn delta_paths(diff: &git2::Diff) -> Vec<PathBuf> {
    let mut paths = BTreeSet::new();
    for delta in diff.deltas() {
        for file in [delta.old_file(), delta.new_file()] {
            if let Some(path) = file.path() {
                paths.insert(path.to_path_buf());
            }
        }
    }
    paths.into_iter().collect()
}

fn display_all(paths: &[PathBuf]) -> Vec<String> {
    paths.iter().map(|p| display(p)).collect()
}

fn display(path: &Path) -> String {
    path.to_string_lossy().into_owned()
}

/// A working tree that has the target branch checked out.
struct Checkout {
    repo: Repository,
    root: PathBuf,
    /// For a linked worktree, its registered git directory: git is pointed
    /// at it explicitly rather than through the worktree's `.git` file.
    git_dir: Option<PathBuf>,
}

impl Checkout {
    /// git on this working tree and its index.
    fn git(&self) -> Git {
        match &self.git_dir {
            Some(git_dir) => Git::with_dirs(git_dir, Some(&self.root)),
            None => Git::in_dir(&self.root),
        }
    }
}

/// The working tree (main or linked, none of `ignored`) whose HEAD is the
/// branch `refname`. The user's own checkout is looked at first.
fn find_checkout(
    repo: &Repository,
    refname: &str,
    ignored: &[PathBuf],
) -> Result<Option<Checkout>, MergeError> {
    let ignored: Vec<PathBuf> = ignored
        .iter()
        .map(|p| crate::worktree::comparable(p))
        .collect();
    for candidate in working_trees(repo)? {
        if ignored.contains(&crate::worktree::comparable(&candidate.root)) {
            continue;
        }
        let has_it = candidate
            .repo
            .find_reference("HEAD")
            .map_err(git_err("reading a working tree's HEAD"))?
            .symbolic_target()
            == Some(refname);
        if has_it {
            return Ok(Some(candidate));
        }
    }
    Ok(None)
}

/// Every working tree of the repository: the main one (unless bare) and the
/// linked ones whose folders still exist and still point at their
/// registration (one whose `.git` an agent rewrote is not trusted to be
/// anything).
fn working_trees(repo: &Repository) -> Result<Vec<Checkout>, MergeError> {
    let main = Repository::open(repo.commondir()).map_err(git_err("opening the repository"))?;
    let mut trees = Vec::new();
    for name in main
        .worktrees()
        .map_err(git_err("listing worktrees"))?
        .iter()
        .flatten()
    {
        let Ok(worktree) = main.find_worktree(name) else {
            continue;
        };
        // A worktree whose folder was deleted by hand has no files to update.
        if worktree.validate().is_err() {
            continue;
        }
        let git_dir = main.commondir().join("worktrees").join(name);
        if !crate::linked::points_home(worktree.path(), &git_dir, main.commondir()) {
            continue;
        }
        let linked =
            Repository::open_from_worktree(&worktree).map_err(git_err("opening a worktree"))?;
        let root = repo::workdir(&linked)?;
        trees.push(Checkout {
            repo: linked,
            root,
            git_dir: Some(git_dir),
        });
    }
    if !main.is_bare() {
        let root = repo::workdir(&main)?;
        trees.insert(
            0,
            Checkout {
                repo: main,
                root,
                git_dir: None,
            },
        );
    }
    Ok(trees)
}

/// Refuses when a git operation is in progress in the working tree or when any
/// of `files` is not exactly as committed there.
fn ensure_clean(
    co: &Checkout,
    files: &[PathBuf],
    refuse: impl FnOnce(Vec<String>) -> MergeError,
) -> Result<(), MergeError> {
    let state = co.repo.state();
    if state != RepositoryState::Clean {
        return Err(MergeError::OperationInProgress {
            worktree: co.root.clone(),
            state: format!("{state:?}").to_lowercase(),
        });
    }
    let blocked = in_the_way(co, files)?;
    if blocked.is_empty() {
        Ok(())
    } else {
        Err(refuse(blocked))
    }
}

/// Of `files`, those that are not exactly as committed in the working tree,
/// as git itself sees it (filters and line endings applied): staged or
/// unstaged changes, conflicts, an untracked or ignored file where the merge
/// writes one, a folder holding anything the merge does not itself remove
/// where it writes a file, and files in the way of a folder the merge
/// creates. Sorted.
fn in_the_way(co: &Checkout, files: &[PathBuf]) -> Result<Vec<String>, MergeError> {
    if files.is_empty() {
        return Ok(Vec::new());
    }
    let touched: BTreeSet<&Path> = files.iter().map(PathBuf::as_path).collect();
    let dirty = dirty_paths(co)?;
    let index = co.repo.index().map_err(git_err("reading the index"))?;
    let tracked = |path: &Path| index.get_path(path, 0).is_some();
    let mut blocked = BTreeSet::new();
    for file in files {
        if let Some(obstacle) = file_in_place_of_folder(&co.root, file, &touched) {
            blocked.insert(display(&obstacle));
        }
        let on_disk = std::fs::symlink_metadata(co.root.join(file)).ok();
        let clean = match on_disk {
            Some(meta) if meta.is_dir() => {
                folder_goes_away(&co.root, file, &touched, &dirty, &tracked)
            }
            Some(_) => tracked(file) && !dirty.contains(file.as_path()),
            // Gone from disk: git status lists a deleted tracked file.
            None => !dirty.contains(file.as_path()),
        };
        if !clean {
            blocked.insert(display(file));
        }
    }
    Ok(blocked.into_iter().collect())
}

/// Paths git reports as changed, staged, conflicted or untracked (ignored
/// files excluded) in the working tree, with untracked folders listed file by file.
fn dirty_paths(co: &Checkout) -> Result<BTreeSet<PathBuf>, MergeError> {
    let out = co
        .git()
        .args([
            "status",
            "--porcelain=v1",
            "-z",
            "--untracked-files=all",
            "--no-renames",
            "--ignore-submodules=none",
        ])
        .output()?;
    Ok(out
        .split(|b| *b == 0)
        .filter(|entry| entry.len() > 3)
        .map(|entry| PathBuf::from(String::from_utf8_lossy(&entry[3..]).into_owned()))
        .collect())
}

/// A folder stands where the merge writes `file` (a folder becomes a file or
/// a symlink): it may go only when everything in it is tracked, as committed,
/// and removed by the merge itself. Symlinks inside are not followed.
fn folder_goes_away(
    root: &Path,
    folder: &Path,
    touched: &BTreeSet<&Path>,
    dirty: &BTreeSet<PathBuf>,
    tracked: &dyn Fn(&Path) -> bool,
) -> bool {
    let mut pending = vec![folder.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&dir)) else {
            return false;
        };
        for entry in entries.flatten() {
            let rel = dir.join(entry.file_name());
            match entry.file_type() {
                Ok(kind) if kind.is_dir() => pending.push(rel),
                Ok(_) => {
                    let expendable =
                        touched.contains(rel.as_path()) && tracked(&rel) && !dirty.contains(&rel);
                    if !expendable {
                        return false;
                    }
                }
                Err(_) => return false,
            }
        }
    }
    true
}

/// A file or symlink standing where `file` needs a folder, that the merge
/// does not itself remove: the user's, so it must not be replaced.
fn file_in_place_of_folder(root: &Path, file: &Path, touched: &BTreeSet<&Path>) -> Option<PathBuf> {
    file.ancestors()
        .skip(1)
        .filter(|a| !a.as_os_str().is_empty())
        .find(|a| {
            let is_file = std::fs::symlink_metadata(root.join(a))
                .map(|m| !m.is_dir())
                .unwrap_or(false);
            is_file && !touched.contains(a)
        })
        .map(Path::to_path_buf)
}

/// Moving a branch from one commit to another, and with it the touched files
/// of the working tree that has it checked out.
struct Switch<'a> {
    refname: &'a str,
    branch: &'a str,
    /// (commit, tree) before and after.
    from: (Oid, Oid),
    to: (Oid, Oid),
    files: &'a [PathBuf],
}

impl Switch<'_> {
    /// Files first, while HEAD still names `from`; then the branch by
    /// compare-and-swap. If the swap fails, the files are put back as they were.
    fn run(
        &self,
        repo: &Repository,
        checkout: Option<&Checkout>,
        reflog: &str,
        refuse: impl FnOnce(Vec<String>) -> MergeError,
    ) -> Result<(), MergeError> {
        if let Some(co) = checkout {
            if let Err(err) = write_files(co, self.from.1, self.to.1, self.files) {
                // git's two-tree read-tree checks every path before it
                // writes one: a refusal means someone edited a file between
                // our check and the write, and nothing was written.
                let blocked = in_the_way(co, self.files).unwrap_or_default();
                return Err(if blocked.is_empty() {
                    err
                } else {
                    refuse(blocked)
                });
            }
        }
        let moved = repo.reference_matching(self.refname, self.to.0, true, self.from.0, reflog);
        if let Err(source) = moved {
            if let Some(co) = checkout {
                // These files were as committed before we wrote them, so
                // switching them back restores exactly what the user had.
                write_files(co, self.to.1, self.from.1, self.files)?;
            }
            return Err(match source.code() {
                ErrorCode::Modified | ErrorCode::Locked | ErrorCode::Exists => {
                    MergeError::BranchMoved {
                        branch: self.branch.to_string(),
                    }
                }
                _ => MergeError::Git {
                    action: "moving the branch",
                    source,
                },
            });
        }
        Ok(())
    }
}

/// Moves the working tree and its index from tree `from` to tree `to` the
/// way `git checkout` does (`git read-tree -m -u`): the smudge filters, line
/// endings and LFS of the repository apply, only paths that differ between
/// the two trees are written, other staged or unstaged work stays, and git
/// refuses before writing anything if a path it would write is not as
/// committed.
fn write_files(co: &Checkout, from: Oid, to: Oid, files: &[PathBuf]) -> Result<(), MergeError> {
    if files.is_empty() {
        return Ok(());
    }
    co.git()
        .args(["read-tree", "-m", "-u"])
        .arg(from.to_string())
        .arg(to.to_string())
        .run()
        .map_err(|e| MergeError::Checkout {
            worktree: co.root.clone(),
            detail: match e {
                GitError::Failed { stderr, .. } => stderr,
                other => other.to_string(),
            },
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use git2::build::CheckoutBuilder;
    use git2::{Signature, Status};

    fn commit_files(repo: &Repository, files: &[(&str, &str)], parent: Option<Oid>) -> Oid {
        let mut builder = repo.treebuilder(None).expect("treebuilder");
        for (name, text) in files {
            let blob = repo.blob(text.as_bytes()).expect("blob");
            builder.insert(name, blob, 0o100644).expect("insert");
        }
        let tree = repo
            .find_tree(builder.write().expect("tree"))
            .expect("find tree");
        let sig = Signature::new("T", "t@example.com", &git2::Time::new(0, 0)).expect("sig");
        let parents: Vec<Commit> = parent
            .map(|p| repo.find_commit(p).expect("parent"))
            .into_iter()
            .collect();
        let parents: Vec<&Commit> = parents.iter().collect();
        repo.commit(None, &sig, &sig, "c", &tree, &parents)
            .expect("commit")
    }

    /// The compare-and-swap cannot be raced from outside a test, so this
    /// drives `Switch` with an expected old value the branch no longer has
    /// (a twin commit with the same tree): the files written first must be
    /// put back and the branch left alone.
    #[test]
    fn a_failed_compare_and_swap_puts_the_files_back() {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = Repository::init(dir.path()).expect("init");
        let head = commit_files(&repo, &[("a.txt", "old\n"), ("keep.txt", "k\n")], None);
        let twin = commit_files(
            &repo,
            &[("a.txt", "old\n"), ("keep.txt", "k\n")],
            Some(head),
        );
        let merged = commit_files(
            &repo,
            &[("a.txt", "new\n"), ("keep.txt", "k\n")],
            Some(head),
        );
        repo.reference("refs/heads/main", head, true, "t")
            .expect("ref");
        repo.set_head("refs/heads/main").expect("set head");
        repo.checkout_head(Some(CheckoutBuilder::new().force()))
            .expect("checkout");
        std::fs::write(dir.path().join("keep.txt"), "user edit\n").expect("edit");
        let tree = |id: Oid| repo.find_commit(id).expect("commit").tree_id();
        let checkout = find_checkout(&repo, "refs/heads/main", &[])
            .expect("find checkout")
            .expect("main is checked out");
        let files = [PathBuf::from("a.txt")];
        let switch = Switch {
            refname: "refs/heads/main",
            branch: "main",
            from: (twin, tree(twin)),
            to: (merged, tree(merged)),
            files: &files,
        };

        let err = switch
            .run(&repo, Some(&checkout), "t", |files| {
                MergeError::UncommittedChanges { files }
            })
            .expect_err("the branch is not at the expected commit");

        assert_eq!(err.code(), "merge.branch_moved", "{err}");
        assert!(
            err.to_string().contains("Try again"),
            "the sentence says what to do"
        );
        assert_eq!(
            repo.refname_to_id("refs/heads/main").expect("main"),
            head,
            "the branch did not move"
        );
        let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).expect("read");
        assert_eq!(read("a.txt"), "old\n", "the written file is put back");
        assert_eq!(
            read("keep.txt"),
            "user edit\n",
            "the user's edit is untouched"
        );
        let status = repo.status_file(Path::new("a.txt")).expect("status");
        assert_eq!(status, Status::CURRENT, "the index entry is put back too");
    }
}
