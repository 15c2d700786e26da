//! The recently opened repositories, newest first, kept in a small JSON file
//! in Fanout's data directory.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::repo::{self, RepoInfo};

/// How many repositories the list remembers.
pub const MAX_RECENT: usize = 12;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
struct Entry {
    root: PathBuf,
}

/// Moves `root` to the front of the list in `file`, dropping the oldest
/// entries past [`MAX_RECENT`]. A list that cannot be written is not worth
/// failing the open for, so errors are logged, not returned.
pub fn remember(file: &Path, root: &Path) {
    let mut entries = load(file);
    entries.retain(|e| e.root != root);
    entries.insert(
        0,
        Entry {
            root: root.to_path_buf(),
        },
    );
    entries.truncate(MAX_RECENT);
    let write = serde_json::to_vec_pretty(&entries)
        .map_err(std::io::Error::other)
        .and_then(|bytes| {
            let tmp = file.with_extension("json.tmp");
            std::fs::write(&tmp, bytes)?;
            std::fs::rename(&tmp, file)
        });
    if let Err(err) = write {
        tracing::warn!(file = %file.display(), %err, "could not save the recent repositories");
    }
}

/// The remembered repositories that still open, each freshly inspected so
/// its branch and dirty count are current.
pub fn list(file: &Path) -> Vec<RepoInfo> {
    load(file)
        .into_iter()
        .filter_map(|e| repo::inspect(&e.root).ok())
        .collect()
}

fn load(file: &Path) -> Vec<Entry> {
    std::fs::read(file)
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn newest_first_without_duplicates_and_bounded() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("recent.json");
        for i in 0..20 {
            remember(&file, Path::new(&format!("/r/{i}")));
        }
        remember(&file, Path::new("/r/5"));
        let roots: Vec<PathBuf> = load(&file).into_iter().map(|e| e.root).collect();
        assert_eq!(roots.len(), MAX_RECENT, "the list is bounded");
        assert_eq!(
            roots[0],
            Path::new("/r/5"),
            "reopening moves a repository to the front"
        );
        assert_eq!(roots.iter().filter(|r| *r == Path::new("/r/5")).count(), 1);
    }

    #[test]
    fn a_corrupt_file_is_an_empty_list_and_gone_repositories_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("recent.json");
        std::fs::write(&file, b"{not json").unwrap();
        assert!(list(&file).is_empty());
        remember(&file, &dir.path().join("no-longer-there"));
        assert!(
            list(&file).is_empty(),
            "a repository that no longer opens is not offered"
        );
    }
}
