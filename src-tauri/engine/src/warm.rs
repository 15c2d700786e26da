//! Warm worktrees: N variants must not mean N cold builds. The user's
//! checkout holds built state git ignores (Cargo's `target/`, npm's
//! `node_modules/`); each new worktree gets its own copy of it, so the first
//! check of a variant rebuilds what the variant changed, not the world.
//!
//! How: a copy-on-write clone where the filesystem has them (`cp
//! --reflink=always`: btrfs, XFS; instant, no space until written), else a
//! plain copy. Never a shared folder, a symlink or a hard link: through any
//! of them one variant's build could write into the user's checkout or into
//! another variant's. A symlink inside the copy that leads back into the
//! checkout is removed, for the same reason. A shared compiler cache
//! (sccache) was not chosen: a hostile agent could put what it likes into a
//! cache every other variant's build then reads.
//!
//! What is warmed is per repository ([`crate::repo_settings`]); by default
//! the folders [`detect`] finds, each only when git ignores it (a copy git
//! tracks would be committed as the variant's work).

use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Instant;

use serde::Serialize;

/// A folder of built state the checkout has, and whose it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Detected {
    /// Relative to the repository's root.
    pub path: String,
    /// "Cargo", "npm" …
    pub ecosystem: String,
    pub bytes: u64,
}

/// What warming one worktree did, for its run record.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct WarmReport {
    pub folders: Vec<WarmedFolder>,
    /// One sentence per folder that was not warmed, saying why.
    pub skipped: Vec<String>,
    pub millis: u64,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct WarmedFolder {
    pub path: String,
    pub bytes: u64,
    /// `reflink` (copy-on-write) or `copy`.
    pub method: String,
    /// Symlinks back into the checkout that were removed from the copy.
    pub links_removed: usize,
}

/// The ecosystems Fanout knows: a marker file at the root and the folder
/// its build fills. A Python `.venv` is not among them: its scripts name
/// the checkout's own interpreter, so `pip install` in a copy would write
/// into the checkout.
const ECOSYSTEMS: [(&str, &str, &str); 2] = [
    ("Cargo", "Cargo.toml", "target"),
    ("npm", "package.json", "node_modules"),
];

/// The built-state folders of the checkout at `root` (present, with their
/// marker file), with their sizes.
pub fn detect(root: &Path) -> Vec<Detected> {
    ECOSYSTEMS
        .iter()
        .filter(|(_, marker, folder)| root.join(marker).is_file() && root.join(folder).is_dir())
        .map(|(ecosystem, _, folder)| Detected {
            path: (*folder).to_owned(),
            ecosystem: (*ecosystem).to_owned(),
            bytes: crate::worktree::disk_usage(&root.join(folder)),
        })
        .collect()
}

/// The folders to warm: the settings' list, or what [`detect`] finds.
pub fn chosen(root: &Path, setting: Option<&[String]>) -> Vec<String> {
    match setting {
        Some(list) => list.to_vec(),
        None => detect(root).into_iter().map(|d| d.path).collect(),
    }
}

/// Copies each of `folders` from the checkout at `root` into every one of
/// `worktrees`, all worktrees at once. A folder that is missing, outside
/// the repository or not ignored by git is skipped with a sentence.
pub fn warm_all(root: &Path, folders: &[String], worktrees: &[PathBuf]) -> Vec<WarmReport> {
    let mut skipped = Vec::new();
    let usable: Vec<&String> = folders
        .iter()
        .filter(|f| match usable(root, f) {
            Ok(()) => true,
            Err(why) => {
                skipped.push(why);
                false
            }
        })
        .collect();
    std::thread::scope(|scope| {
        let handles: Vec<_> = worktrees
            .iter()
            .map(|wt| {
                let (usable, skipped) = (&usable, skipped.clone());
                scope.spawn(move || warm_one(root, usable, wt, skipped))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_default())
            .collect()
    })
}

fn warm_one(root: &Path, folders: &[&String], worktree: &Path, skipped: Vec<String>) -> WarmReport {
    let started = Instant::now();
    let mut report = WarmReport {
        skipped,
        ..WarmReport::default()
    };
    for folder in folders {
        // Files already there (copied by the repository's copy patterns, or
        // tracked) are the worktree's: never merged into, never deleted.
        if worktree.join(folder.as_str()).exists() {
            report.skipped.push(format!(
                "`{folder}` was not copied: the new worktree already has it."
            ));
            continue;
        }
        match clone_folder(&root.join(folder.as_str()), &worktree.join(folder.as_str())) {
            Ok(method) => {
                let copy = worktree.join(folder.as_str());
                let links_removed = remove_links_into(&copy, root);
                report.folders.push(WarmedFolder {
                    path: (*folder).clone(),
                    bytes: crate::worktree::disk_usage(&copy),
                    method: method.to_owned(),
                    links_removed,
                });
            }
            Err(why) => report
                .skipped
                .push(format!("`{folder}` was not copied: {why}.")),
        }
    }
    report.millis = started.elapsed().as_millis() as u64;
    report
}

/// A folder can be warmed: a plain relative path to a real folder (not a
/// link) that git ignores in the checkout.
fn usable(root: &Path, folder: &str) -> Result<(), String> {
    let relative = Path::new(folder);
    let plain = !folder.is_empty()
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)))
        && !relative.starts_with(".git");
    if !plain {
        return Err(format!(
            "`{folder}` is not a folder inside the repository, so it was not warmed."
        ));
    }
    let path = root.join(relative);
    match std::fs::symlink_metadata(&path) {
        Ok(meta) if meta.is_dir() => {}
        Ok(_) => return Err(format!("`{folder}` is not a folder (a link, or a file), so it was not warmed.")),
        Err(_) => return Err(format!("`{folder}` does not exist in the checkout yet: build once there, and later variants start warm.")),
    }
    let ignored = crate::gitcli::Git::in_dir(root)
        .args(["check-ignore", "-q", folder])
        .succeeds()
        .unwrap_or(false);
    if !ignored {
        return Err(format!(
            "`{folder}` is not ignored by git: a copy would be committed as the variant's work. Add it to .gitignore."
        ));
    }
    Ok(())
}

/// A copy-on-write clone, else a plain copy; says which.
fn clone_folder(from: &Path, to: &Path) -> Result<&'static str, String> {
    if copy(from, to, "always").is_ok() {
        return Ok("reflink");
    }
    // A partial clone stays from the failed attempt: start over.
    let _ = std::fs::remove_dir_all(to);
    copy(from, to, "never").map(|()| "copy")
}

fn copy(from: &Path, to: &Path, reflink: &str) -> Result<(), String> {
    let output = Command::new("cp")
        .arg("-a")
        .arg(format!("--reflink={reflink}"))
        .arg("--")
        .arg(from)
        .arg(to)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cp could not start ({e})"))?;
    if output.status.success() {
        return Ok(());
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    Err(stderr
        .lines()
        .last()
        .unwrap_or("cp failed")
        .trim()
        .to_owned())
}

/// Removes every symlink in `copy` that leads into `checkout` (the user's
/// own files): a variant's build must not write through one. Returns how
/// many there were.
fn remove_links_into(copy: &Path, checkout: &Path) -> usize {
    // Both spellings of the checkout: a link may name it through a
    // symlinked folder (`/home/u` → `/data/u`) or by its real path.
    let real = checkout
        .canonicalize()
        .unwrap_or_else(|_| checkout.to_path_buf());
    let names = [checkout.to_path_buf(), real];
    let mut removed = 0;
    let mut pending = vec![copy.to_path_buf()];
    while let Some(dir) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else {
                continue;
            };
            let path = entry.path();
            if kind.is_dir() {
                pending.push(path);
            } else if kind.is_symlink()
                && names.iter().any(|name| leads_into(&path, name))
                && std::fs::remove_file(&path).is_ok()
            {
                removed += 1;
            }
        }
    }
    removed
}

/// Where a link points, resolved by its text (not followed): inside `dir`?
fn leads_into(link: &Path, dir: &Path) -> bool {
    let Ok(target) = std::fs::read_link(link) else {
        return false;
    };
    let base = link.parent().unwrap_or(Path::new("/"));
    let mut resolved = if target.is_absolute() {
        PathBuf::new()
    } else {
        base.to_path_buf()
    };
    for part in target.components() {
        match part {
            Component::ParentDir => {
                resolved.pop();
            }
            Component::CurDir => {}
            other => resolved.push(other),
        }
    }
    resolved.starts_with(dir)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_link_is_judged_by_where_its_text_leads() {
        let dir = tempfile::tempdir().unwrap();
        let checkout = dir.path().join("checkout");
        let copy = dir.path().join("wt/target");
        std::fs::create_dir_all(&checkout).unwrap();
        std::fs::create_dir_all(copy.join("debug")).unwrap();
        std::os::unix::fs::symlink(checkout.join("src"), copy.join("debug/abs")).unwrap();
        std::os::unix::fs::symlink("../../../checkout/x", copy.join("debug/rel")).unwrap();
        std::os::unix::fs::symlink("../debug", copy.join("debug/inside")).unwrap();
        std::os::unix::fs::symlink("/usr/bin/env", copy.join("debug/system")).unwrap();
        // Two lead into the checkout; one stays in the copy; one is the system's.
        assert_eq!(remove_links_into(&copy, &checkout), 2);
        assert!(std::fs::symlink_metadata(copy.join("debug/inside")).is_ok());
        assert!(std::fs::symlink_metadata(copy.join("debug/system")).is_ok());
    }
}
