//! Reading a file of the user's repository without leaving it.
//!
//! What a repository holds is partly other people's (and agents') work: a
//! methodology file committed as a symlink to `~/.ssh/id_ed25519` would
//! otherwise be read and sent to a model. Every file Fanout reads from a
//! repository is resolved first, symlinks followed, and read only when it
//! still lies inside the repository's working tree (and not in its `.git`).

use std::path::{Component, Path, PathBuf};

/// Where a file of the repository turned out to be.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolved {
    /// Inside the repository: this path, links resolved.
    Inside(PathBuf),
    /// Nothing there.
    Missing,
    /// It leads out of the repository (or into git's own folder): refused.
    Outside { target: PathBuf },
}

/// Resolves `relative` (a path inside `repo_root`, as a setting names it).
pub fn resolve(repo_root: &Path, relative: &Path) -> Resolved {
    let root = repo_root
        .canonicalize()
        .unwrap_or_else(|_| repo_root.to_path_buf());
    let path = root.join(relative);
    match path.canonicalize() {
        Ok(target) if is_inside(&root, &target) => Resolved::Inside(target),
        Ok(target) => Resolved::Outside { target },
        // A dangling link is still a link out (or nowhere): not the user's text.
        Err(_) if path.symlink_metadata().is_ok() => Resolved::Outside {
            target: std::fs::read_link(&path).unwrap_or(path),
        },
        Err(_) => Resolved::Missing,
    }
}

fn is_inside(root: &Path, target: &Path) -> bool {
    let Ok(inside) = target.strip_prefix(root) else {
        return false;
    };
    !inside
        .components()
        .any(|c| matches!(c, Component::Normal(name) if name == ".git"))
}

/// The sentence for a run record when a file was refused.
pub fn refused(what: &str, path: &Path, target: &Path) -> String {
    format!(
        "The {what} {} leads outside the repository (to {}), so Fanout did not read it. Replace the link with the file itself.",
        path.display(),
        target.display()
    )
}
