//! Diffs between commits: the changed-file list, one file's rendered patch
//! (hunks, word-level emphasis, split-view rows) and how alike two variants'
//! changes are.
//!
//! The file list and its counts come from git2 (libgit2's xdiff), so they equal
//! `git diff --numstat -M`. Rendering uses `similar` (Myers, with a deadline) on
//! interned lines. Both are minimal line diffs, so a patch's `added`/`removed`
//! equal numstat except where git's heuristics give a non-minimal script (rare,
//! large files) or the deadline cut the diff short: a patch always counts the
//! lines it shows, and [`changed_files`] is the authority for numstat figures.

mod paged;
mod render;
mod similarity;
mod split;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use git2::{Delta, DiffFindOptions, Oid, Repository, Tree};
use serde::Serialize;

pub use paged::{FileDiffView, Outline, PageCache, PageLine, PagedDiff, CACHED_FILES, MAX_PAGE};
pub use render::{FileDiff, Gap, Hunk, Line, LineKind};
pub use similarity::{similarity, similarity_matrix};
pub use split::{split_rows, SplitRow};

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("`{rev}` does not name a commit in this repository ({source}). Check the commit id or branch name.")]
    BadRevision { rev: String, source: git2::Error },
    #[error("{path} did not change between {from} and {to}, so there is no diff to show. Pick a file from the changed-file list.")]
    NoSuchFile {
        path: String,
        from: String,
        to: String,
    },
    #[error("Git failed while {action}: {source}. Check that the repository is readable and not corrupt.")]
    Git {
        action: &'static str,
        source: git2::Error,
    },
    #[error("A worker thread stopped unexpectedly while {action}. Try again; if it keeps happening, report it with the repository's size.")]
    Worker { action: &'static str },
    #[error("This diff is no longer held because several other files were opened since. Open the file again.")]
    PageGone { token: u64 },
}

impl DiffError {
    pub fn code(&self) -> &'static str {
        match self {
            DiffError::BadRevision { .. } => "diff.bad_revision",
            DiffError::NoSuchFile { .. } => "diff.no_such_file",
            DiffError::Git { .. } => "diff.git",
            DiffError::Worker { .. } => "diff.worker",
            DiffError::PageGone { .. } => "diff.page_gone",
        }
    }
}

pub(crate) fn git_err(action: &'static str) -> impl FnOnce(git2::Error) -> DiffError {
    move |source| DiffError::Git { action, source }
}

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum FileStatus {
    Added,
    Modified,
    Deleted,
    Renamed,
    TypeChange,
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq, ts_rs::TS)]
pub struct FileChange {
    /// The new path, or the old one for deletions.
    pub path: String,
    /// The path before a rename.
    pub old_path: Option<String>,
    pub status: FileStatus,
    pub binary: bool,
    pub added: usize,
    pub removed: usize,
}

/// How one file's patch is rendered.
#[derive(Clone, Debug)]
pub struct DiffOptions {
    /// Unchanged lines shown around each change.
    pub context: usize,
    /// Either side larger than this gives [`FileDiff::TooLarge`] unless forced.
    pub max_bytes: u64,
    /// Either side with more lines than this gives [`FileDiff::TooLarge`] unless forced.
    pub max_lines: usize,
    /// Render binary and oversized files anyway (binary content as lossy text).
    pub force: bool,
    /// Time budget for one file; past it the patch is coarser and `timed_out`.
    pub deadline: Duration,
    /// Word-level emphasis on paired lines. A viewer that reads the patch by
    /// page ([`PagedDiff`]) turns it off: it computes emphasis per page read,
    /// so a 50,000-line file's first rows need not wait for all of it.
    pub emphasis: bool,
}

impl Default for DiffOptions {
    fn default() -> Self {
        DiffOptions {
            context: 3,
            max_bytes: 5 * 1024 * 1024,
            max_lines: 50_000,
            force: false,
            deadline: Duration::from_secs(2),
            emphasis: true,
        }
    }
}

impl DiffOptions {
    /// For a viewer that reads the patch by page ([`PagedDiff`]): word
    /// emphasis is computed per page read instead.
    pub fn paged(force: bool) -> DiffOptions {
        DiffOptions {
            force,
            emphasis: false,
            ..DiffOptions::default()
        }
    }
}

/// One changed file with the blob ids of both sides (zero when absent), so
/// rendering can skip the tree walk.
#[derive(Clone, Debug)]
pub(crate) struct Entry {
    pub change: FileChange,
    pub old_path: String,
    pub old_id: Oid,
    pub new_id: Oid,
}

/// Files that differ between two commits (ids or anything git2 revparse_single
/// accepts, peeled to commits), with rename detection, sorted by path.
/// Per-file added/removed equal `git diff --numstat <from> <to>` (binary files:
/// binary = true, added = removed = 0).
pub fn changed_files(
    repo: &Repository,
    from: &str,
    to: &str,
) -> Result<Vec<FileChange>, DiffError> {
    let entries = entries(repo, from, to)?;
    let mut entries = count_lines(repo, entries)?;
    entries.sort_by(|a, b| a.change.path.cmp(&b.change.path));
    Ok(entries.into_iter().map(|e| e.change).collect())
}

/// One file's diff between two commits. `path` is the new path (or the old one
/// for deletions); renames are followed (the old side is read from the old path).
pub fn file_diff(
    repo: &Repository,
    from: &str,
    to: &str,
    path: &str,
    opts: &DiffOptions,
) -> Result<FileDiff, DiffError> {
    let entry = entries(repo, from, to)?
        .into_iter()
        .find(|e| e.change.path == path)
        .ok_or_else(|| DiffError::NoSuchFile {
            path: path.to_string(),
            from: from.to_string(),
            to: to.to_string(),
        })?;
    render::render_entry(repo, &entry, opts)
}

/// Every changed file with its rendered diff, as the UI's "expand all" needs:
/// the same results as [`changed_files`] followed by [`file_diff`] for each
/// path, computed once per file and spread over the machine's cores.
pub fn render_all(
    repo: &Repository,
    from: &str,
    to: &str,
    opts: &DiffOptions,
) -> Result<Vec<(FileChange, FileDiff)>, DiffError> {
    let entries = entries(repo, from, to)?;
    let mut out = parallel(repo, &entries, |repo, entry| {
        let old = blob(repo, entry.old_id)?;
        let new = blob(repo, entry.new_id)?;
        let mut change = entry.change.clone();
        (change.binary, change.added, change.removed) = blob_stats(entry, &old, &new)?;
        let diff = render::render_bytes(content(&old), content(&new), opts);
        Ok((change, diff))
    })?;
    out.sort_by(|a, b| a.0.path.cmp(&b.0.path));
    Ok(out)
}

pub(crate) fn tree_of<'r>(repo: &'r Repository, rev: &str) -> Result<Tree<'r>, DiffError> {
    skip_hash_verification();
    let bad = |source| DiffError::BadRevision {
        rev: rev.to_string(),
        source,
    };
    repo.revparse_single(rev)
        .and_then(|o| o.peel_to_commit())
        .and_then(|c| c.tree())
        .map_err(bad)
}

/// libgit2 re-hashes every object it reads (SHA-1 with collision detection)
/// unless told not to, which made reading blobs half the cost of a diff; git
/// itself does not re-hash on read, and Fanout reads only objects it found by
/// id in the repository's own store. The setting is process-wide.
fn skip_hash_verification() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| git2::opts::strict_hash_verification(false));
}

/// The tree-to-tree diff with git's default rename detection (exact renames
/// and renames at 50% similarity; no copies), type changes kept as one entry
/// as `git diff` reports them.
pub(crate) fn tree_diff<'r>(
    repo: &'r Repository,
    from: &str,
    to: &str,
) -> Result<git2::Diff<'r>, DiffError> {
    let old = tree_of(repo, from)?;
    let new = tree_of(repo, to)?;
    let mut opts = git2::DiffOptions::new();
    opts.include_typechange(true);
    let mut diff = repo
        .diff_tree_to_tree(Some(&old), Some(&new), Some(&mut opts))
        .map_err(git_err("comparing the two commits' trees"))?;
    let mut find = DiffFindOptions::new();
    find.renames(true).rename_threshold(50).rename_limit(1000);
    diff.find_similar(Some(&mut find))
        .map_err(git_err("detecting renamed files"))?;
    Ok(diff)
}

/// The changed files without line counts (those cost a line diff each).
fn entries(repo: &Repository, from: &str, to: &str) -> Result<Vec<Entry>, DiffError> {
    let diff = tree_diff(repo, from, to)?;
    Ok(diff.deltas().filter_map(entry_of).collect())
}

fn entry_of(delta: git2::DiffDelta<'_>) -> Option<Entry> {
    let status = match delta.status() {
        Delta::Added => FileStatus::Added,
        Delta::Modified => FileStatus::Modified,
        Delta::Deleted => FileStatus::Deleted,
        Delta::Renamed => FileStatus::Renamed,
        Delta::Typechange => FileStatus::TypeChange,
        // Copies are not detected, and the rest never appear in a tree diff.
        _ => return None,
    };
    let old_path = path_string(delta.old_file().path());
    let new_path = path_string(delta.new_file().path());
    let path = if status == FileStatus::Deleted {
        old_path.clone()
    } else {
        new_path
    };
    Some(Entry {
        change: FileChange {
            old_path: (status == FileStatus::Renamed).then(|| old_path.clone()),
            path,
            status,
            binary: false,
            added: 0,
            removed: 0,
        },
        old_path,
        old_id: delta.old_file().id(),
        new_id: delta.new_file().id(),
    })
}

fn path_string(path: Option<&Path>) -> String {
    path.map(|p| p.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Fills in binary/added/removed for each entry with libgit2's own line diff,
/// which is git's xdiff with git's binary rule, so the figures are numstat's.
fn count_lines(repo: &Repository, entries: Vec<Entry>) -> Result<Vec<Entry>, DiffError> {
    parallel(repo, &entries, |repo, entry| {
        let mut entry = entry.clone();
        let (binary, added, removed) = line_stats(repo, &entry)?;
        (
            entry.change.binary,
            entry.change.added,
            entry.change.removed,
        ) = (binary, added, removed);
        Ok(entry)
    })
}

fn line_stats(repo: &Repository, entry: &Entry) -> Result<(bool, usize, usize), DiffError> {
    let old = blob(repo, entry.old_id)?;
    let new = blob(repo, entry.new_id)?;
    blob_stats(entry, &old, &new)
}

fn blob_stats(
    entry: &Entry,
    old: &Option<git2::Blob<'_>>,
    new: &Option<git2::Blob<'_>>,
) -> Result<(bool, usize, usize), DiffError> {
    let old_path = Some(Path::new(&entry.old_path));
    let new_path = Some(Path::new(&entry.change.path));
    // From two blobs libgit2 knows both ids; from buffers it would hash them
    // again, which is most of the cost of counting a small file.
    let patch = match (old, new) {
        (Some(o), Some(n)) => git2::Patch::from_blobs(o, old_path, n, new_path, None),
        _ => git2::Patch::from_buffers(content(old), old_path, content(new), new_path, None),
    }
    .map_err(git_err("counting a file's changed lines"))?;
    if patch.delta().flags().is_binary() {
        return Ok((true, 0, 0));
    }
    let (_, added, removed) = patch
        .line_stats()
        .map_err(git_err("counting a file's changed lines"))?;
    Ok((false, added, removed))
}

/// A blob's bytes; the absent side of an addition or deletion is empty.
pub(crate) fn content<'b>(blob: &'b Option<git2::Blob<'_>>) -> &'b [u8] {
    blob.as_ref().map_or(&[], |b| b.content())
}

/// The blob with this id, `None` for the absent side of an addition or deletion.
pub(crate) fn blob(repo: &Repository, id: Oid) -> Result<Option<git2::Blob<'_>>, DiffError> {
    if id.is_zero() {
        return Ok(None);
    }
    repo.find_blob(id)
        .map(Some)
        .map_err(git_err("reading a file's content"))
}

/// Maps `work` over `items` on up to one thread per core, in order. git2
/// objects are not Sync, so each thread opens its own `Repository` on the same
/// git directory and takes the next unclaimed item, which keeps the cores busy
/// when file sizes are uneven. Small inputs stay on the caller's thread, where
/// opening a repository costs more than it saves.
pub(crate) fn parallel<T, R, F>(
    repo: &Repository,
    items: &[T],
    work: F,
) -> Result<Vec<R>, DiffError>
where
    T: Sync,
    R: Send,
    F: Fn(&Repository, &T) -> Result<R, DiffError> + Sync,
{
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(items.len() / 16);
    if threads < 2 {
        return items.iter().map(|item| work(repo, item)).collect();
    }
    let git_dir = repo.path().to_path_buf();
    let next = AtomicUsize::new(0);
    let worker = || -> Result<Vec<(usize, R)>, DiffError> {
        let repo = Repository::open(&git_dir)
            .map_err(git_err("opening the repository on a worker thread"))?;
        let mut done = Vec::new();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(item) = items.get(i) else {
                return Ok(done);
            };
            done.push((i, work(&repo, item)?));
        }
    };
    let parts: Vec<Result<Vec<(usize, R)>, DiffError>> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(worker)).collect();
        handles
            .into_iter()
            .map(|h| {
                h.join().unwrap_or(Err(DiffError::Worker {
                    action: "diffing files",
                }))
            })
            .collect()
    });
    let mut all = Vec::with_capacity(items.len());
    for part in parts {
        all.extend(part?);
    }
    all.sort_by_key(|(i, _)| *i);
    Ok(all.into_iter().map(|(_, r)| r).collect())
}
