//! Worktrees: one folder and one branch per variant of an experiment.
//!
//! Fanout's worktrees are ordinary linked worktrees (`git worktree list` shows
//! them) under Fanout's data directory, on branches under `fanout/`. Nothing
//! here ever overwrites an existing branch or folder, and nothing here touches
//! the user's own checkout: committing, resetting and removing refuse any
//! folder that is not a linked worktree.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use git2::{BranchType, ErrorCode, ObjectType, Repository, WorktreePruneOptions};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::gitcli::{identity_env, Git, GitError, ScratchIndex};
use crate::linked::Linked;
use crate::repo::{self, RepoError};
use crate::slug;

/// Every branch Fanout creates lives under this prefix, and `remove` deletes
/// no other branch.
pub const BRANCH_PREFIX: &str = "fanout/";

#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(
        "No approaches were given, so there is no worktree to create. Add at least one approach."
    )]
    NoApproaches,
    #[error("{commit:?} is not a commit in the repository at {repo}. Check the commit id; it may have been garbage-collected.")]
    UnknownCommit { commit: String, repo: PathBuf },
    #[error("Fanout could not create the worktree for approach {index} ({approach}): {reason}. The worktrees created with it were removed again; fix the cause and try again.")]
    Create {
        index: u32,
        approach: String,
        reason: String,
    },
    #[error("The worktree folder {path} does not exist; it may have been deleted by hand. Clean the experiment up to prune it.")]
    Missing { path: PathBuf },
    #[error("{path} is not a linked worktree, so Fanout will not {action} it: Fanout only changes the worktrees it created, never your own checkout.")]
    NotALinkedWorktree { path: PathBuf, action: &'static str },
    #[error("{path} is not a worktree of the repository at {repo}, so Fanout will not remove it. Check the experiment's worktree paths.")]
    NotOwnWorktree { path: PathBuf, repo: PathBuf },
    #[error("The branch {branch:?} was not created by Fanout (its name does not start with {BRANCH_PREFIX:?}), so Fanout will not delete it.")]
    NotAFanoutBranch { branch: String },
    #[error("The commit message is empty. Give the commit a message and try again.")]
    EmptyMessage,
    #[error("The tag {tag} already exists and points at another commit, so Fanout will not move it. Delete or rename that tag, then archive the variant again.")]
    TagExists { tag: String },
    #[error("The agent changed its worktree's git metadata in {worktree}: {findings}. Fanout put it back and wrote nothing through it; look at the variant's files, then retry it.")]
    Tampered { worktree: PathBuf, findings: String },
    #[error(transparent)]
    GitCli(#[from] GitError),
    #[error("Git failed while {action} in {path}: {source}")]
    Git {
        action: &'static str,
        path: PathBuf,
        source: git2::Error,
    },
    #[error("Fanout could not {action} {path}: {source}. Check the folder's permissions and free space, then try again.")]
    Io {
        action: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
}

impl WorktreeError {
    pub fn code(&self) -> &'static str {
        match self {
            WorktreeError::Repo(e) => e.code(),
            WorktreeError::NoApproaches => "worktree.no_approaches",
            WorktreeError::UnknownCommit { .. } => "worktree.unknown_commit",
            WorktreeError::Create { .. } => "worktree.create",
            WorktreeError::Missing { .. } => "worktree.missing",
            WorktreeError::NotALinkedWorktree { .. } => "worktree.not_linked",
            WorktreeError::NotOwnWorktree { .. } => "worktree.not_own",
            WorktreeError::NotAFanoutBranch { .. } => "worktree.not_fanout_branch",
            WorktreeError::EmptyMessage => "worktree.empty_message",
            WorktreeError::TagExists { .. } => "worktree.tag_exists",
            WorktreeError::Tampered { .. } => "worktree.tampered",
            WorktreeError::GitCli(e) => e.code(),
            WorktreeError::Git { .. } => "worktree.git",
            WorktreeError::Io { .. } => "worktree.io",
        }
    }
}

/// One approach to give a worktree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewWorktree {
    pub index: u32,
    pub approach_slug: String,
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
pub struct CreatedWorktree {
    pub index: u32,
    pub branch: String,
    pub path: PathBuf,
}

#[derive(Serialize, Debug, Default, PartialEq, Eq, ts_rs::TS)]
pub struct RemoveReport {
    /// Worktree folders removed.
    pub removed: Vec<PathBuf>,
    /// Kept because they had uncommitted changes and removal was not forced.
    pub kept_dirty: Vec<PathBuf>,
    /// The folder was already gone (deleted by hand): pruned, not an error.
    pub missing_pruned: Vec<PathBuf>,
    pub branches_deleted: Vec<String>,
    pub branches_kept: Vec<String>,
    /// One sentence per worktree or branch that was kept, saying why and what to do.
    pub messages: Vec<String>,
}

/// `<worktree_root>/<repo-name>-<short-hash-of-repo-path>/<experiment_slug>`.
///
/// `repo_root` is the repository's top-level directory. The hash keeps two
/// repositories with the same folder name apart; the slug is re-applied so no
/// experiment name can point outside the root.
pub fn experiment_dir(worktree_root: &Path, repo_root: &Path, experiment_slug: &str) -> PathBuf {
    let canonical = repo_root
        .canonicalize()
        .unwrap_or_else(|_| repo_root.to_path_buf());
    let name = canonical
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let hash = Sha256::digest(canonical.as_os_str().as_encoded_bytes());
    let short: String = hash.iter().take(4).map(|b| format!("{b:02x}")).collect();
    worktree_root
        .join(format!("{}-{short}", slug::slugify_or(&name, 40, "repo")))
        .join(clean_slug(experiment_slug, "experiment"))
}

/// Creates one worktree + branch per approach, in parallel, from `base_commit`:
/// branch `fanout/<experiment_slug>/<n>-<approach_slug>`, folder
/// `<experiment_dir>/<n>-<approach_slug>`. Existing branches or folders are
/// never overwritten: a suffix (-2, -3, …) is added, the same to branch and
/// folder. If one fails, every worktree made by this call is removed again
/// (branch and folder) and the error names the approach that failed.
pub fn create_all(
    repo_root: &Path,
    worktree_root: &Path,
    experiment_slug: &str,
    base_commit: &str,
    approaches: &[NewWorktree],
) -> Result<Vec<CreatedWorktree>, WorktreeError> {
    if approaches.is_empty() {
        return Err(WorktreeError::NoApproaches);
    }
    let repo = repo::open(repo_root)?;
    let root = repo::workdir(&repo)?;
    let base = resolve_commit(&repo, &root, base_commit)?;
    // git runs with the repository as its working directory, so a relative
    // root must be made absolute against ours first.
    let worktree_root = std::path::absolute(worktree_root).map_err(|source| WorktreeError::Io {
        action: "resolve the worktree folder",
        path: worktree_root.to_path_buf(),
        source,
    })?;
    let dir = experiment_dir(&worktree_root, &root, experiment_slug);
    std::fs::create_dir_all(&dir).map_err(|source| WorktreeError::Io {
        action: "create the experiment folder",
        path: dir.clone(),
        source,
    })?;
    let plans = plan(&repo, &root, &dir, experiment_slug, approaches)?;
    let outcome = register_each(&root, &base, &plans).and_then(|()| check_out_in_parallel(&plans));
    if let Err((failed, reason)) = outcome {
        // Every planned name was free when planned, so whatever now exists
        // under them was made by this call and is ours to take back.
        for p in &plans {
            if let Err(e) = discard(&repo, &root, &p.branch, &p.path) {
                tracing::warn!(branch = %p.branch, path = %p.path.display(), error = %e, "rollback left something behind");
            }
        }
        return Err(WorktreeError::Create {
            index: failed.index,
            approach: failed.name.clone(),
            reason,
        });
    }
    Ok(plans
        .into_iter()
        .map(|p| CreatedWorktree {
            index: p.index,
            branch: p.branch,
            path: p.path,
        })
        .collect())
}

/// Commits everything the worktree changed (modified, new, deleted;
/// .gitignore respected) on the variant's branch, exactly as `git add --all`
/// and `git commit` would store it (filters, line endings, LFS), as the
/// repository's configured user or `Fanout <fanout@localhost>`. Returns the
/// new commit id, or `None` when there was nothing to commit.
///
/// Goes through the registration only ([`Linked`]), after checking it; the
/// branch moves by compare-and-swap from the tip the commit was made on.
pub fn auto_commit(linked: &Linked, message: &str) -> Result<Option<String>, WorktreeError> {
    if message.trim().is_empty() {
        return Err(WorktreeError::EmptyMessage);
    }
    linked.guard()?;
    let tip = resolve_with_git(linked, &linked.branch_ref)?;
    let scratch = stage_all(linked, &tip)?;
    let tree = linked
        .git()
        .index_file(scratch.path())
        .arg("write-tree")
        .run()?;
    let tip_tree = linked
        .git_common()
        .args(["rev-parse", &format!("{tip}^{{tree}}")])
        .run()?;
    let commit = if tree == tip_tree {
        None
    } else {
        let main = repo::open(&linked.root)?;
        let mut commit_tree = linked.git_common();
        for (key, value) in identity_env(&main) {
            commit_tree = commit_tree.env(key, value);
        }
        let commit = commit_tree
            .args(["commit-tree", &tree, "-p", &tip, "-F", "-"])
            .input(message)
            .run()?;
        linked
            .git_common()
            .args(["update-ref", "-m", "fanout: auto-commit"])
            .args([&linked.branch_ref, &commit, &tip])
            .run()?;
        Some(commit)
    };
    // The worktree's own index now matches its branch, so `git status`
    // there shows a clean tree.
    scratch
        .install(&linked.git_dir.join("index"))
        .map_err(|source| WorktreeError::Io {
            action: "update the index of",
            path: linked.worktree.clone(),
            source,
        })?;
    Ok(commit)
}

/// A scratch index holding `tip` plus everything in the working tree, staged
/// by `git add --all`. Seeded with the worktree's index where git can read
/// it, so unchanged files are not hashed again.
fn stage_all(linked: &Linked, tip: &str) -> Result<ScratchIndex, WorktreeError> {
    let io = |source| WorktreeError::Io {
        action: "prepare a scratch index for",
        path: linked.worktree.clone(),
        source,
    };
    let own = linked.git_dir.join("index");
    let seeded = ScratchIndex::new(&linked.git_dir, Some(&own)).map_err(io)?;
    let read = linked
        .git()
        .index_file(seeded.path())
        .args(["read-tree", "-m", tip])
        .run();
    let scratch = match read {
        Ok(_) => seeded,
        // The agent's index may be anything; start from the tip alone.
        Err(_) => {
            drop(seeded);
            let fresh = ScratchIndex::new(&linked.git_dir, None).map_err(io)?;
            linked
                .git()
                .index_file(fresh.path())
                .args(["read-tree", tip])
                .run()?;
            fresh
        }
    };
    linked
        .git()
        .index_file(scratch.path())
        .args(["add", "--all", "--", "."])
        .run()?;
    Ok(scratch)
}

/// The full commit id `rev` names, read through the shared repository.
fn resolve_with_git(linked: &Linked, rev: &str) -> Result<String, WorktreeError> {
    linked
        .git_common()
        .args(["rev-parse", "--verify", "--quiet", "--end-of-options"])
        .arg(format!("{rev}^{{commit}}"))
        .run()
        .map_err(|_| WorktreeError::UnknownCommit {
            commit: rev.to_string(),
            repo: linked.root.clone(),
        })
}

/// Resets a worktree to `commit`, for retrying a variant: its branch moves
/// there, tracked files are restored as `git checkout` writes them, and
/// untracked files are removed. Ignored files (build output, dependencies)
/// stay, as with `git clean -fd`.
pub fn reset_to(linked: &Linked, commit: &str) -> Result<(), WorktreeError> {
    move_to(linked, commit, None, "fanout: retry from the base")
}

/// Moves the variant's branch to `commit` and makes the worktree match it,
/// as [`reset_to`] does; only from `expected` when given (compare and
/// swap); `reason` goes into the branch's reflog.
pub fn move_to(
    linked: &Linked,
    commit: &str,
    expected: Option<&str>,
    reason: &str,
) -> Result<(), WorktreeError> {
    linked.guard()?;
    let target = resolve_with_git(linked, commit)?;
    linked
        .git_common()
        .args(["update-ref", "-m", reason])
        .args([&linked.branch_ref, &target])
        .args(expected)
        .run()?;
    let reset = || {
        linked
            .git()
            .args(["read-tree", "--reset", "-u", &target])
            .run()
    };
    if reset().is_err() {
        // An index git cannot read (the agent's to write) is rebuilt from scratch.
        let _ = std::fs::remove_file(linked.git_dir.join("index"));
        reset()?;
    }
    linked.git().args(["clean", "-ffdq"]).run()?;
    Ok(())
}

/// Removes worktrees and their branches (pairs of (branch, path)), except the
/// branch named `keep_branch` (its worktree folder is still removed). A
/// worktree with uncommitted changes is kept unless `force`, and listed in
/// `kept_dirty` with a message; its branch is kept too. Git's administrative
/// files are pruned; a folder deleted by hand is pruned, not an error.
///
/// Every pair is checked before anything is removed: a path that is not a
/// worktree of this repository, or a branch outside `fanout/`, is refused.
pub fn remove(
    repo_root: &Path,
    worktrees: &[(String, PathBuf)],
    keep_branch: Option<&str>,
    force: bool,
) -> Result<RemoveReport, WorktreeError> {
    let repo = repo::open(repo_root)?;
    let root = repo::workdir(&repo)?;
    for (branch, path) in worktrees {
        check_removable(&repo, &root, branch, path)?;
    }
    let mut report = RemoveReport::default();
    for (branch, path) in worktrees {
        remove_one(&repo, &root, branch, path, keep_branch, force, &mut report)?;
    }
    Ok(report)
}

/// Tags that keep rejected variants live under this prefix.
pub const ARCHIVE_PREFIX: &str = "fanout/archive/";

/// How many commits of `branch` no other local branch or tag holds, counted
/// from `base` (the experiment's base, which may be a snapshot only Fanout
/// references). Branches in `ignoring` do not count as holding anything:
/// they are about to be deleted too. 0 when the branch does not exist.
pub fn unmerged_commits(
    repo_root: &Path,
    branch: &str,
    base: &str,
    ignoring: &[String],
) -> Result<usize, WorktreeError> {
    let repo = repo::open(repo_root)?;
    let git = |action| move |source| git_error(action, repo_root, source);
    let tip = match repo.find_branch(branch, BranchType::Local) {
        Ok(b) => b
            .get()
            .peel_to_commit()
            .map_err(git("reading a branch"))?
            .id(),
        Err(e) if e.code() == ErrorCode::NotFound => return Ok(0),
        Err(e) => return Err(git_error("looking up a branch", repo_root, e)),
    };
    let mut walk = repo.revwalk().map_err(git("walking the history"))?;
    walk.push(tip).map_err(git("walking the history"))?;
    if let Ok(base) = resolve_object(&repo, repo_root, base) {
        walk.hide(base.id()).map_err(git("walking the history"))?;
    }
    let own = format!("refs/heads/{branch}");
    let skipped: HashSet<String> = ignoring.iter().map(|b| format!("refs/heads/{b}")).collect();
    for reference in repo
        .references()
        .map_err(git("listing branches and tags"))?
        .flatten()
    {
        let Some(name) = reference.name() else {
            continue;
        };
        let holds =
            (reference.is_branch() || reference.is_tag()) && name != own && !skipped.contains(name);
        if let (true, Ok(commit)) = (holds, reference.peel_to_commit()) {
            walk.hide(commit.id()).map_err(git("walking the history"))?;
        }
    }
    Ok(walk.count())
}

/// Keeps a variant's work as the tag `fanout/archive/<experiment>/<n>-<slug>`
/// (lightweight, at the branch's tip) so its branch can go. Returns the tag's
/// name and commit. An existing tag at the same commit is fine; one elsewhere
/// is never moved.
pub fn archive_branch(repo_root: &Path, branch: &str) -> Result<(String, String), WorktreeError> {
    let Some(rest) = branch.strip_prefix(BRANCH_PREFIX) else {
        return Err(WorktreeError::NotAFanoutBranch {
            branch: branch.to_string(),
        });
    };
    let repo = repo::open(repo_root)?;
    let git = |action| move |source| git_error(action, repo_root, source);
    let tag = format!("{ARCHIVE_PREFIX}{rest}");
    let name = format!("refs/tags/{tag}");
    let tip = match repo.find_branch(branch, BranchType::Local) {
        Ok(found) => found
            .get()
            .peel_to_commit()
            .map_err(git("reading the branch to archive"))?
            .id(),
        // An earlier cleanup archived it, then deleted the branch (and stopped
        // at a dirty worktree): asking again finds the work in its tag.
        Err(missing) if missing.code() == git2::ErrorCode::NotFound => {
            let archived = repo
                .find_reference(&name)
                .and_then(|r| r.peel_to_commit())
                .map_err(|_| git("reading the branch to archive")(missing))?;
            return Ok((tag, archived.id().to_string()));
        }
        Err(other) => return Err(git("reading the branch to archive")(other)),
    };
    match repo.find_reference(&name) {
        Ok(existing) if existing.peel_to_commit().map(|c| c.id()).ok() == Some(tip) => {}
        Ok(_) => return Err(WorktreeError::TagExists { tag }),
        Err(_) => {
            repo.reference(&name, tip, false, "fanout: archive a rejected variant")
                .map_err(git("creating the archive tag"))?;
        }
    }
    Ok((tag, tip.to_string()))
}

/// Size on disk in bytes of a folder and everything in it, not following
/// symlinks. Entries that cannot be read count as zero: this is an estimate of
/// what cleanup frees, not an inventory.
pub fn disk_usage(path: &Path) -> u64 {
    let mut total = 0;
    let mut pending = vec![path.to_path_buf()];
    while let Some(next) = pending.pop() {
        let Ok(meta) = next.symlink_metadata() else {
            continue;
        };
        total += allocated(&meta);
        if meta.is_dir() {
            if let Ok(entries) = std::fs::read_dir(&next) {
                pending.extend(entries.flatten().map(|e| e.path()));
            }
        }
    }
    total
}

#[cfg(unix)]
fn allocated(meta: &std::fs::Metadata) -> u64 {
    use std::os::unix::fs::MetadataExt;
    // Blocks, not length: a sparse or tiny file frees what it occupies.
    meta.blocks() * 512
}

#[cfg(not(unix))]
fn allocated(meta: &std::fs::Metadata) -> u64 {
    meta.len()
}

/// The names chosen for one approach, before anything is created.
struct Plan {
    index: u32,
    /// `<n>-<approach-slug>[-<suffix>]`, the folder's name and the branch's last part.
    name: String,
    branch: String,
    path: PathBuf,
}

/// Picks free names for every approach, one after another so two approaches
/// of this call cannot claim the same name.
fn plan(
    repo: &Repository,
    root: &Path,
    dir: &Path,
    experiment_slug: &str,
    approaches: &[NewWorktree],
) -> Result<Vec<Plan>, WorktreeError> {
    let experiment = clean_slug(experiment_slug, "experiment");
    let mut claimed = registered_paths(repo, root)?;
    let mut plans = Vec::with_capacity(approaches.len());
    for approach in approaches {
        let stem = format!(
            "{}-{}",
            approach.index,
            clean_slug(&approach.approach_slug, "approach")
        );
        let (name, branch, path) = (1..)
            .map(|n| match n {
                1 => stem.clone(),
                n => format!("{stem}-{n}"),
            })
            .map(|name| {
                let branch = format!("{BRANCH_PREFIX}{experiment}/{name}");
                let path = dir.join(&name);
                (name, branch, path)
            })
            .find(|(_, branch, path)| {
                !claimed.contains(path)
                    && path.symlink_metadata().is_err()
                    && repo.find_branch(branch, BranchType::Local).is_err()
            })
            .expect("an unbounded range always has a free name");
        claimed.insert(path.clone());
        plans.push(Plan {
            index: approach.index,
            name,
            branch,
            path,
        });
    }
    Ok(plans)
}

/// Registers every worktree and creates its branch, one after another, without
/// checking files out.
///
/// Not in parallel: `git worktree add` reads every registered worktree's
/// administrative folder, and one that a concurrent `git worktree add` has
/// only half written makes it fail ("failed to read .git/worktrees/…/commondir",
/// seen in the fan-out benchmark). Registering is cheap; the checkout is what
/// takes time, and that part runs in parallel.
///
/// Why git and not libgit2 (which the design names): libgit2's
/// `git_worktree_add` registers and checks out in one call, and run in
/// parallel it fails the same way ("reference … is already checked out",
/// "failed to make directory '.git/worktrees': directory exists" in about half
/// of the benchmark's rounds); git2 0.20 offers no way to register without the
/// checkout, and one at a time it cannot meet the 0.7× target. Speed is not
/// the difference (its successful parallel rounds took about as long as
/// this); correctness is. git is a requirement of the app anyway, and the
/// result is the same linked worktree.
fn register_each<'p>(root: &Path, base: &str, plans: &'p [Plan]) -> Result<(), (&'p Plan, String)> {
    for plan in plans {
        Git::in_dir(root)
            .args([
                "worktree",
                "add",
                "--quiet",
                "--no-checkout",
                "--no-track",
                "-b",
            ])
            .arg(&plan.branch)
            .arg(&plan.path)
            .arg(base)
            .run()
            .map_err(|e| (plan, e.to_string()))?;
    }
    Ok(())
}

/// Fills every registered worktree's index and files from its HEAD, all at
/// once, each worktree touching only its own folder and index. The scope
/// waits for every checkout, so a rollback never races one still running.
fn check_out_in_parallel(plans: &[Plan]) -> Result<(), (&Plan, String)> {
    std::thread::scope(|scope| {
        let handles: Vec<_> = plans
            .iter()
            .map(|p| {
                // `read-tree --reset -u` is the checkout itself, without the
                // reflog entry and ORIG_HEAD a `reset --hard` would leave.
                // The folder is Fanout's own and brand new: no agent has
                // touched its `.git` file yet.
                let checkout = move || {
                    Git::in_dir(&p.path)
                        .args(["read-tree", "--reset", "-u", "HEAD"])
                        .run()
                        .map(|_| ())
                        .map_err(|e| e.to_string())
                };
                (p, scope.spawn(checkout))
            })
            .collect();
        handles.into_iter().try_for_each(|(p, h)| {
            h.join()
                .unwrap_or_else(|_| Err("the worker thread panicked".to_string()))
                .map_err(|reason| (p, reason))
        })
    })
}

/// Removes whatever exists of one worktree: folder, git's registration, branch.
fn discard(repo: &Repository, root: &Path, branch: &str, path: &Path) -> Result<(), WorktreeError> {
    remove_folder(path)?;
    prune_registration(repo, root, path)?;
    delete_branch(repo, root, branch).map(|_| ())
}

fn check_removable(
    repo: &Repository,
    root: &Path,
    branch: &str,
    path: &Path,
) -> Result<(), WorktreeError> {
    if !branch.starts_with(BRANCH_PREFIX) {
        return Err(WorktreeError::NotAFanoutBranch {
            branch: branch.to_string(),
        });
    }
    let exists = path.symlink_metadata().is_ok();
    if exists && registration(repo, root, path)?.is_none() {
        return Err(WorktreeError::NotOwnWorktree {
            path: path.to_path_buf(),
            repo: root.to_path_buf(),
        });
    }
    Ok(())
}

fn remove_one(
    repo: &Repository,
    root: &Path,
    branch: &str,
    path: &Path,
    keep_branch: Option<&str>,
    force: bool,
    report: &mut RemoveReport,
) -> Result<(), WorktreeError> {
    if path.symlink_metadata().is_err() {
        prune_registration(repo, root, path)?;
        report.missing_pruned.push(path.to_path_buf());
    } else {
        let linked = Linked::open(root, path, branch)?;
        if let Err(WorktreeError::Tampered { findings, .. }) = linked.guard() {
            report.messages.push(format!(
                "The worktree {} had its git metadata changed ({findings}); Fanout put it back before cleaning up.",
                path.display()
            ));
        }
        let dirty = shorten(linked.uncommitted()?);
        if !dirty.is_empty() && !force {
            report.messages.push(format!(
                "Kept {} and its branch {branch} because it has uncommitted changes ({}). Commit or discard them, or remove it with force.",
                path.display(),
                dirty.join(", ")
            ));
            report.kept_dirty.push(path.to_path_buf());
            report.branches_kept.push(branch.to_string());
            return Ok(());
        }
        remove_folder(path)?;
        prune_registration(repo, root, path)?;
        report.removed.push(path.to_path_buf());
    }
    if keep_branch == Some(branch) {
        report.branches_kept.push(branch.to_string());
        return Ok(());
    }
    match delete_branch(repo, root, branch) {
        Ok(true) => report.branches_deleted.push(branch.to_string()),
        Ok(false) => {}
        // Typically the user checked the branch out in their own checkout;
        // the worktree is gone either way, so report it instead of failing.
        Err(e) => {
            report.messages.push(format!(
                "Kept the branch {branch} because it could not be deleted: {e}"
            ));
            report.branches_kept.push(branch.to_string());
        }
    }
    Ok(())
}

/// At most a handful of paths, for a message.
fn shorten(mut paths: Vec<String>) -> Vec<String> {
    if paths.len() > 5 {
        let more = paths.len() - 5;
        paths.truncate(5);
        paths.push(format!("and {more} more"));
    }
    paths
}

fn remove_folder(path: &Path) -> Result<(), WorktreeError> {
    // remove_dir_all does not follow symlinks, so a link an agent left in the
    // worktree cannot make this delete anything outside it.
    match std::fs::remove_dir_all(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(WorktreeError::Io {
            action: "remove the worktree folder",
            path: path.to_path_buf(),
            source: e,
        }),
        _ => Ok(()),
    }
}

/// Deletes git's administrative files (`.git/worktrees/<name>`) for `path`.
fn prune_registration(repo: &Repository, root: &Path, path: &Path) -> Result<(), WorktreeError> {
    let Some(name) = registration(repo, root, path)? else {
        return Ok(());
    };
    let wt = repo
        .find_worktree(&name)
        .map_err(|e| git_error("reading a worktree's registration", root, e))?;
    wt.prune(Some(
        WorktreePruneOptions::new()
            .valid(true)
            .locked(true)
            .working_tree(false),
    ))
    .map_err(|e| git_error("pruning a worktree's registration", root, e))
}

/// Deletes a local branch; `false` when there was no such branch.
fn delete_branch(repo: &Repository, root: &Path, branch: &str) -> Result<bool, WorktreeError> {
    match repo.find_branch(branch, BranchType::Local) {
        Ok(mut b) => b
            .delete()
            .map(|_| true)
            .map_err(|e| git_error("deleting a branch", root, e)),
        Err(e) if e.code() == ErrorCode::NotFound => Ok(false),
        Err(e) => Err(git_error("looking up a branch", root, e)),
    }
}

/// The name of the worktree registered at `path`, if any.
fn registration(
    repo: &Repository,
    root: &Path,
    path: &Path,
) -> Result<Option<String>, WorktreeError> {
    let wanted = comparable(path);
    let names = repo
        .worktrees()
        .map_err(|e| git_error("listing worktrees", root, e))?;
    Ok(names
        .iter()
        .flatten()
        .find(|name| {
            repo.find_worktree(name)
                .is_ok_and(|wt| comparable(wt.path()) == wanted)
        })
        .map(str::to_string))
}

/// Paths of every registered worktree, including ones whose folder is gone:
/// git refuses to add a worktree where a missing one is still registered.
fn registered_paths(repo: &Repository, root: &Path) -> Result<HashSet<PathBuf>, WorktreeError> {
    let names = repo
        .worktrees()
        .map_err(|e| git_error("listing worktrees", root, e))?;
    Ok(names
        .iter()
        .flatten()
        .filter_map(|name| repo.find_worktree(name).ok())
        .map(|wt| comparable(wt.path()))
        .collect())
}

/// A path in a form two spellings of the same place agree on, even when the
/// place itself no longer exists (its parent is canonicalized instead).
pub(crate) fn comparable(path: &Path) -> PathBuf {
    let path = path.components().collect::<PathBuf>();
    if let Ok(canonical) = path.canonicalize() {
        return canonical;
    }
    match (path.parent(), path.file_name()) {
        (Some(parent), Some(name)) => parent.canonicalize().map(|p| p.join(name)).unwrap_or(path),
        _ => path,
    }
}

fn resolve_object<'r>(
    repo: &'r Repository,
    path: &Path,
    commit: &str,
) -> Result<git2::Object<'r>, WorktreeError> {
    repo.revparse_single(commit)
        .and_then(|o| o.peel(ObjectType::Commit))
        .map_err(|_| WorktreeError::UnknownCommit {
            commit: commit.to_string(),
            repo: path.to_path_buf(),
        })
}

/// The full id of `commit`, so every git process sees the same commit even
/// if a branch named by `commit` moves meanwhile.
fn resolve_commit(repo: &Repository, root: &Path, commit: &str) -> Result<String, WorktreeError> {
    resolve_object(repo, root, commit).map(|o| o.id().to_string())
}

/// Slugs are re-applied, not trusted: a caller's slug comes through unchanged,
/// anything else cannot escape its folder or make an invalid ref.
fn clean_slug(text: &str, fallback: &str) -> String {
    slug::slugify_or(text, slug::MAX_SLUG_LEN, fallback)
}

fn git_error(action: &'static str, path: &Path, source: git2::Error) -> WorktreeError {
    WorktreeError::Git {
        action,
        path: path.to_path_buf(),
        source,
    }
}
