//! Copying the files a checkout has but git does not track (`.env`,
//! `config/.env.test`) into new worktrees, which otherwise lack them.
//!
//! Only files git ignores or does not track are candidates: tracked files
//! come with the worktree's checkout. Symlinks are never followed, neither
//! when looking for files nor when writing them: a symlink is skipped with a
//! sentence, and nothing is written through a symlinked folder of the
//! worktree, so no copy reads or writes outside the two folders.

use std::path::{Path, PathBuf};

use git2::{Repository, Status, StatusOptions};
use serde::Serialize;

use crate::repo_settings::CopyMatcher;
use crate::worktree::WorktreeError;

/// What one worktree received.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct CopyReport {
    /// Relative to the repository's root.
    pub copied: Vec<PathBuf>,
    /// One sentence per matching file that was not copied, saying why.
    pub skipped: Vec<String>,
}

/// The files of the checkout at `repo_root` that git ignores or does not
/// track and `matcher` selects, relative to the root. A folder git ignores as
/// a whole is searched only when a path glob points into it.
pub fn select(repo_root: &Path, matcher: &CopyMatcher) -> Result<Vec<PathBuf>, WorktreeError> {
    let repo = Repository::open(repo_root).map_err(|source| WorktreeError::Git {
        action: "opening the repository to find ignored files",
        path: repo_root.to_path_buf(),
        source,
    })?;
    let mut opts = StatusOptions::new();
    opts.include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(true)
        .recurse_ignored_dirs(false)
        .exclude_submodules(true);
    let statuses = repo
        .statuses(Some(&mut opts))
        .map_err(|source| WorktreeError::Git {
            action: "listing ignored and untracked files",
            path: repo_root.to_path_buf(),
            source,
        })?;
    let mut found = Vec::new();
    for entry in statuses.iter() {
        if !entry.status().intersects(Status::IGNORED | Status::WT_NEW) {
            continue;
        }
        let Some(rel) = entry.path() else { continue };
        if rel.ends_with('/') {
            if matcher.may_contain(rel) {
                walk_ignored_dir(repo_root, rel, matcher, &mut found);
            }
        } else if matcher.matches(rel) {
            found.push(PathBuf::from(rel));
        }
    }
    found.sort();
    Ok(found)
}

/// Adds the matching entries under an ignored folder, not following symlinks
/// and not entering nested repositories.
fn walk_ignored_dir(root: &Path, rel_dir: &str, matcher: &CopyMatcher, found: &mut Vec<PathBuf>) {
    let mut pending = vec![rel_dir.trim_end_matches('/').to_string()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&dir)) else {
            continue;
        };
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_string) else {
                continue;
            };
            let rel = format!("{dir}/{name}");
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            if kind.is_dir() {
                if name != ".git" && matcher.may_contain(&format!("{rel}/")) {
                    pending.push(rel);
                }
            } else if matcher.matches(&rel) {
                found.push(PathBuf::from(rel));
            }
        }
    }
}

/// Copies `files` (from [`select`]) from `repo_root` into `worktree`, keeping
/// relative paths and permission bits. Never overwrites: a file the worktree
/// already has is skipped, with a sentence.
pub fn copy_into(
    repo_root: &Path,
    files: &[PathBuf],
    worktree: &Path,
) -> Result<CopyReport, WorktreeError> {
    let mut report = CopyReport::default();
    for rel in files {
        let source = repo_root.join(rel);
        let target = worktree.join(rel);
        if let Some(why) = refusal(&source, worktree, rel) {
            report.skipped.push(why);
            continue;
        }
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|source| WorktreeError::Io {
                action: "create the folder for a copied file",
                path: parent.to_path_buf(),
                source,
            })?;
        }
        // fs::copy copies the permission bits, so an executable stays one.
        std::fs::copy(&source, &target).map_err(|e| WorktreeError::Io {
            action: "copy an ignored file into the worktree",
            path: source.clone(),
            source: e,
        })?;
        report.copied.push(rel.clone());
    }
    for why in &report.skipped {
        tracing::warn!(worktree = %worktree.display(), "{why}");
    }
    Ok(report)
}

/// Why `rel` must not be copied, if it must not.
fn refusal(source: &Path, worktree: &Path, rel: &Path) -> Option<String> {
    let shown = rel.display();
    match source.symlink_metadata() {
        Err(_) => return Some(format!("{shown} was not copied: it disappeared from the checkout while Fanout was copying.")),
        Ok(meta) if meta.file_type().is_symlink() => {
            return Some(format!("{shown} was not copied: it is a symbolic link, and Fanout copies only regular files so that nothing outside the repository is read. Copy its target by hand if the worktree needs it."))
        }
        Ok(meta) if !meta.is_file() => {
            return Some(format!("{shown} was not copied: it is not a regular file."))
        }
        Ok(_) => {}
    }
    let mut at = worktree.to_path_buf();
    let parts: Vec<_> = rel.components().collect();
    for (i, part) in parts.iter().enumerate() {
        at.push(part);
        let Ok(meta) = at.symlink_metadata() else {
            return None;
        };
        if meta.file_type().is_symlink() {
            return Some(format!("{shown} was not copied: {} is a symbolic link in the worktree, and Fanout never writes through one.", at.display()));
        }
        if i == parts.len() - 1 {
            return Some(format!(
                "{shown} was not copied: the worktree already has it (it came with the checkout)."
            ));
        }
    }
    None
}
