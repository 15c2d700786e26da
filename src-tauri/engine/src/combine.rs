//! Combining the best parts of several variants by hand: whole files or
//! single hunks (as the diff viewer numbers them against the base) from any
//! variants, applied to the base in order, become a new variant with its own
//! branch and worktree. The combined commit is built in memory from the
//! variants' own blobs (their exact bytes, no filters run again), so it is
//! what `git apply` of the same hunks onto the base gives. Two picks that
//! overlap are refused before anything is written, naming both.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

use git2::{Oid, Repository};
use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::diff::{DiffOptions, FileChange, FileDiff, FileStatus};
use crate::experiment::{variant_of, Engine, ExperimentView};
use crate::ids::{ExperimentId, VariantIndex};
use crate::store::{Variant, VariantStatus};
use crate::worktree::{self, NewWorktree};
use crate::Error;

/// The most variants an experiment may have once combined ones are added.
pub const MAX_WITH_COMBINED: usize = 2 * crate::experiment::MAX_VARIANTS;

/// One pick: a file of a variant, whole or one of its hunks (1-based, as
/// the diff against the base numbers them with 3 lines of context).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Take {
    pub variant: VariantIndex,
    pub path: String,
    pub hunk: Option<u32>,
}

impl fmt::Display for Take {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.hunk {
            Some(h) => write!(f, "{}:{}#{h}", self.variant, self.path),
            None => write!(f, "{}:{}", self.variant, self.path),
        }
    }
}

impl FromStr for Take {
    type Err = CombineError;

    /// `3:src/b.rs` (the whole file) or `3:src/b.rs#2` (its second hunk).
    fn from_str(text: &str) -> Result<Take, CombineError> {
        let bad = || CombineError::BadTake {
            take: text.to_owned(),
        };
        let (variant, rest) = text.split_once(':').ok_or_else(bad)?;
        let variant = variant.trim().parse::<u32>().map_err(|_| bad())?;
        // A `#` followed by anything but a number is part of the file's name.
        let (path, hunk) = match rest.rsplit_once('#') {
            Some((path, hunk)) if hunk.chars().all(|c| c.is_ascii_digit()) && !hunk.is_empty() => {
                (path, Some(hunk.parse::<u32>().map_err(|_| bad())?))
            }
            _ => (rest, None),
        };
        if path.trim().is_empty() || hunk == Some(0) {
            return Err(bad());
        }
        Ok(Take {
            variant: VariantIndex(variant),
            path: path.trim().to_owned(),
            hunk,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CombineError {
    #[error("Nothing was picked. Pick whole files or hunks from the variants first.")]
    NothingTaken,
    #[error("`{take}` is not a pick: write VARIANT:PATH for a whole file or VARIANT:PATH#HUNK for one hunk, e.g. 3:src/lib.rs#2.")]
    BadTake { take: String },
    #[error("Variant {variant} did not change {path}, so there is nothing of it to take. Pick a file from its changed-file list.")]
    NotChanged { variant: u32, path: String },
    #[error("{path} has {count} hunk(s) in variant {variant}; there is no hunk {hunk}.")]
    NoSuchHunk {
        variant: u32,
        path: String,
        hunk: u32,
        count: usize,
    },
    #[error("{path} was {how} in variant {variant}: take it whole, not by hunk.")]
    WholeOnly {
        variant: u32,
        path: String,
        how: &'static str,
    },
    #[error("{first} and {second} overlap in {path}: they change the same lines (or lines next to each other). Keep one of the two.")]
    Overlap {
        path: String,
        first: String,
        second: String,
    },
    #[error("The experiment already has {count} variants, the most it may have with combined ones. Clean up or start a new experiment.")]
    TooMany { count: usize },
}

impl CombineError {
    pub fn code(&self) -> &'static str {
        match self {
            CombineError::NothingTaken => "combine.nothing_taken",
            CombineError::BadTake { .. } => "combine.bad_take",
            CombineError::NotChanged { .. } => "combine.not_changed",
            CombineError::NoSuchHunk { .. } => "combine.no_such_hunk",
            CombineError::WholeOnly { .. } => "combine.whole_only",
            CombineError::Overlap { .. } => "combine.overlap",
            CombineError::TooMany { .. } => "combine.too_many",
        }
    }
}

fn git(action: &'static str) -> impl FnOnce(git2::Error) -> Error {
    move |source| crate::diff::DiffError::Git { action, source }.into()
}

/// One pick, resolved: where the lines come from and which of them.
#[derive(Debug, Clone)]
struct Pick {
    take: Take,
    head: String,
    change: FileChange,
    /// The hunk's lines; `None` for a whole file.
    lines: Option<HunkLines>,
}

impl Engine {
    /// Builds a new variant from `takes` and records it: its own branch and
    /// worktree at the combined commit, its approach "combined from …".
    pub fn combine(&self, id: &ExperimentId, takes: &[Take]) -> Result<Variant, Error> {
        if takes.is_empty() {
            return Err(CombineError::NothingTaken.into());
        }
        let view = self.experiment(id)?;
        if view.variants.len() >= MAX_WITH_COMBINED {
            return Err(CombineError::TooMany {
                count: view.variants.len(),
            }
            .into());
        }
        let _lease = self.lease(id, "combining variants")?;
        let repo = crate::experiment::experiment_repo(&view.experiment)?;
        let mut diffs = Diffs::default();
        let picks = takes
            .iter()
            .map(|take| pick(&repo, &view, &mut diffs, take))
            .collect::<Result<Vec<_>, _>>()?;
        refuse_overlaps(&picks)?;
        let commit = combined_commit(&repo, &view, &picks)?;
        self.add_combined(&view, takes, &commit)
    }

    /// Records the combined commit as a new variant with its own worktree.
    fn add_combined(
        &self,
        view: &ExperimentView,
        takes: &[Take],
        commit: &str,
    ) -> Result<Variant, Error> {
        let described = describe(takes);
        let now = crate::experiment::now_rfc3339();
        self.add_variant(
            view,
            commit,
            Added {
                name: "Combined",
                description: format!("combined from {described}"),
                guidelines: String::new(),
                agent: "combined".into(),
                status: VariantStatus::Succeeded,
                summary: Some(format!("Combined by hand from {described}.")),
                times: Some(now),
            },
        )
    }

    /// Adds a variant that an agent will write from the chosen variants'
    /// work: its prompt carries their diffs against the base, the judge's
    /// rationale when there is one, and the user's note. It starts from
    /// the base, ready to run with `agent` (the experiment's first agent by
    /// default).
    pub fn add_synthesis(
        &self,
        id: &ExperimentId,
        from: &[VariantIndex],
        note: &str,
        agent: Option<String>,
    ) -> Result<Variant, Error> {
        if from.is_empty() {
            return Err(CombineError::NothingTaken.into());
        }
        let view = self.experiment(id)?;
        if view.variants.len() >= MAX_WITH_COMBINED {
            return Err(CombineError::TooMany {
                count: view.variants.len(),
            }
            .into());
        }
        let _lease = self.lease(id, "adding a synthesis")?;
        let budget = crate::review::DEFAULT_BUDGET_TOKENS / from.len();
        let mut guidelines = String::new();
        if !note.trim().is_empty() {
            guidelines.push_str(&format!("The user's note: {}\n\n", note.trim()));
        }
        if let Some(ranking) = self.ranking(id)? {
            guidelines.push_str(&format!("The judge's rationale: {}\n\n", ranking.rationale));
        }
        let mut names = Vec::new();
        for index in from {
            let v = variant_of(&view, *index)?;
            let files = self.render_all(id, *index, None, &DiffOptions::default())?;
            let diff = crate::review::bounded_diff(&files, budget);
            guidelines.push_str(&format!(
                "Variant {} ({}: {}) changed the base like this:\n```diff\n{}```\n",
                v.index,
                v.name,
                v.description.trim(),
                diff.text
            ));
            if !diff.summarised.is_empty() {
                guidelines.push_str("Not shown whole:\n");
                for change in &diff.summarised {
                    guidelines.push_str(&crate::review::summary_line(&diff, change));
                }
            }
            guidelines.push('\n');
            names.push(v.index.to_string());
        }
        guidelines.push_str(
            "Write one result that takes the best of these, as the note asks; it starts from the base, not from any of them.",
        );
        let agent = agent.unwrap_or_else(|| {
            view.variants
                .iter()
                .find(|v| v.agent.parse::<crate::agent::AgentKind>().is_ok())
                .map_or_else(|| "claude-code".to_owned(), |v| v.agent.clone())
        });
        agent.parse::<crate::agent::AgentKind>()?;
        let base = view.experiment.base_commit.clone();
        self.add_variant(
            &view,
            &base,
            Added {
                name: "Synthesis",
                description: format!("synthesized from {}: {}", names.join(", "), note.trim()),
                guidelines,
                agent,
                status: VariantStatus::Ready,
                summary: None,
                times: None,
            },
        )
    }

    /// Records a new variant of the experiment at `commit`, with its own
    /// branch and worktree beside the others.
    fn add_variant(
        &self,
        view: &ExperimentView,
        commit: &str,
        added: Added,
    ) -> Result<Variant, Error> {
        let index = view.variants.iter().map(|v| v.index).max().unwrap_or(0) + 1;
        let slug = format!("{}-{index}", added.name.to_lowercase());
        let created = worktree::create_all(
            &view.experiment.repo_root,
            &worktree_root(view)?,
            &view.experiment.slug,
            commit,
            &[NewWorktree {
                index,
                approach_slug: slug.clone(),
            }],
        )?;
        let made = created
            .first()
            .cloned()
            .ok_or(worktree::WorktreeError::NoApproaches)?;
        let variant = Variant {
            experiment_id: view.experiment.id.clone(),
            index,
            name: format!("{} {index}", added.name),
            slug,
            description: added.description,
            guidelines: added.guidelines,
            agent: added.agent,
            model: None,
            branch: made.branch.clone(),
            worktree: made.path.clone(),
            status: added.status,
            started_at: added.times.clone(),
            finished_at: added.times,
            exit_code: None,
            error: None,
            summary: added.summary,
            cost_usd: None,
            input_tokens: None,
            output_tokens: None,
            turns: None,
            check: None,
            head_commit: Some(commit.to_owned()),
            // Combined here, from branches that are all here.
            host: None,
        };
        let stored = variant.clone();
        let recorded = self
            .writer()
            .call_blocking(move |s| s.add_variant(&stored))
            .map_err(Error::from)
            .and_then(|added| added.map_err(Error::from));
        if let Err(err) = recorded {
            crate::experiment::remove_created(&view.experiment.repo_root, &created);
            return Err(err);
        }
        Ok(variant)
    }
}

/// What a new variant of an existing experiment is.
struct Added {
    name: &'static str,
    description: String,
    guidelines: String,
    agent: String,
    status: VariantStatus,
    summary: Option<String>,
    /// Its start and end, for a variant that is finished when it is made.
    times: Option<String>,
}

/// The folder the experiment's worktrees live in: its variants' parent's parent.
fn worktree_root(view: &ExperimentView) -> Result<std::path::PathBuf, Error> {
    view.variants
        .iter()
        .find_map(|v| v.worktree.parent()?.parent().map(Path::to_path_buf))
        .ok_or_else(|| CombineError::NothingTaken.into())
}

/// "1: src/a.rs, 3: src/b.rs#2".
pub fn describe(takes: &[Take]) -> String {
    takes
        .iter()
        .map(|t| match t.hunk {
            Some(h) => format!("{}: {}#{h}", t.variant, t.path),
            None => format!("{}: {}", t.variant, t.path),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// `(old_start, old_lines, new_start, new_lines)` of one hunk.
type HunkLines = (u32, u32, u32, u32);

/// Each variant's changed files and each file's hunks, read once however
/// many picks name them.
#[derive(Default)]
struct Diffs {
    files: BTreeMap<String, Vec<FileChange>>,
    hunks: BTreeMap<(String, String), Option<Vec<HunkLines>>>,
}

impl Diffs {
    fn files(&mut self, repo: &Repository, base: &str, head: &str) -> Result<&[FileChange], Error> {
        if !self.files.contains_key(head) {
            let files = crate::diff::changed_files(repo, base, head)?;
            self.files.insert(head.to_owned(), files);
        }
        Ok(self.files.get(head).map(Vec::as_slice).unwrap_or_default())
    }

    /// The hunks of `path` as the viewer numbers them; `None` when the file
    /// has no patch to number (changed too much to show).
    fn hunks(
        &mut self,
        repo: &Repository,
        base: &str,
        head: &str,
        path: &str,
    ) -> Result<Option<&[HunkLines]>, Error> {
        let key = (head.to_owned(), path.to_owned());
        if !self.hunks.contains_key(&key) {
            // Numbered exactly as the diff viewer numbers them (DiffOptions::paged).
            let diff = crate::diff::file_diff(repo, base, head, path, &DiffOptions::paged(false))?;
            let hunks = match diff {
                FileDiff::Patch { hunks, .. } => Some(
                    hunks
                        .iter()
                        .map(|h| (h.old_start, h.old_lines, h.new_start, h.new_lines))
                        .collect(),
                ),
                _ => None,
            };
            self.hunks.insert(key.clone(), hunks);
        }
        Ok(self.hunks.get(&key).and_then(|h| h.as_deref()))
    }
}

/// Resolves a take against its variant's diff from the base.
fn pick(
    repo: &Repository,
    view: &ExperimentView,
    diffs: &mut Diffs,
    take: &Take,
) -> Result<Pick, Error> {
    let variant = variant_of(view, take.variant)?;
    let head = variant.branch_ref();
    let base = &view.experiment.base_commit;
    let change = diffs
        .files(repo, base, &head)?
        .iter()
        .find(|c| c.path == take.path || c.old_path.as_deref() == Some(take.path.as_str()))
        .cloned()
        .ok_or_else(|| CombineError::NotChanged {
            variant: variant.index,
            path: take.path.clone(),
        })?;
    let Some(hunk) = take.hunk else {
        return Ok(Pick {
            take: take.clone(),
            head,
            change,
            lines: None,
        });
    };
    let whole_only = |how| CombineError::WholeOnly {
        variant: variant.index,
        path: change.path.clone(),
        how,
    };
    let how = match change.status {
        FileStatus::Added => Some("added"),
        FileStatus::Deleted => Some("deleted"),
        FileStatus::Renamed => Some("renamed"),
        _ if change.binary => Some("changed (a binary file)"),
        _ => None,
    };
    if let Some(how) = how {
        return Err(whole_only(how).into());
    }
    let Some(hunks) = diffs.hunks(repo, base, &head, &change.path)? else {
        return Err(whole_only("changed too much to show").into());
    };
    let lines = *hunks
        .get(hunk as usize - 1)
        .ok_or_else(|| CombineError::NoSuchHunk {
            variant: variant.index,
            path: change.path.clone(),
            hunk,
            count: hunks.len(),
        })?;
    Ok(Pick {
        take: take.clone(),
        head,
        change,
        lines: Some(lines),
    })
}

/// The base lines a pick replaces, as a half-open range `[from, to)` of
/// 0-based line positions; an insertion is the empty range at its place.
fn base_range(lines: HunkLines) -> (u32, u32) {
    let (old_start, old_lines, ..) = lines;
    if old_lines == 0 {
        (old_start, old_start)
    } else {
        (old_start - 1, old_start - 1 + old_lines)
    }
}

/// Two picks of one file overlap when one is whole, or when their base
/// ranges (context included) meet: applied one after the other, the second
/// would no longer find its context.
fn refuse_overlaps(picks: &[Pick]) -> Result<(), CombineError> {
    fn paths(p: &Pick) -> impl Iterator<Item = &str> {
        std::iter::once(p.change.path.as_str()).chain(p.change.old_path.as_deref())
    }
    for (i, a) in picks.iter().enumerate() {
        for b in &picks[i + 1..] {
            let same = paths(a).any(|x| paths(b).any(|y| x == y));
            if !same {
                continue;
            }
            let meet = match (a.lines, b.lines) {
                (Some(x), Some(y)) => {
                    let ((a0, a1), (b0, b1)) = (base_range(x), base_range(y));
                    a0 <= b1 && b0 <= a1
                }
                _ => true,
            };
            if meet {
                return Err(CombineError::Overlap {
                    path: a.change.path.clone(),
                    first: a.take.to_string(),
                    second: b.take.to_string(),
                });
            }
        }
    }
    Ok(())
}

/// The base with the picks applied, committed (not on any branch yet).
fn combined_commit(
    repo: &Repository,
    view: &ExperimentView,
    picks: &[Pick],
) -> Result<String, Error> {
    let base = repo
        .revparse_single(&view.experiment.base_commit)
        .and_then(|o| o.peel_to_commit())
        .map_err(git("reading the base commit"))?;
    let base_tree = base.tree().map_err(git("reading the base tree"))?;
    let mut index = git2::Index::new().map_err(git("making an index"))?;
    index
        .read_tree(&base_tree)
        .map_err(git("reading the base tree"))?;
    let mut by_file: BTreeMap<String, Vec<&Pick>> = BTreeMap::new();
    for p in picks {
        match p.lines {
            None => take_whole(repo, &mut index, p)?,
            Some(_) => by_file.entry(p.change.path.clone()).or_default().push(p),
        }
    }
    for (path, hunks) in by_file {
        take_hunks(repo, &base_tree, &mut index, &path, &hunks)?;
    }
    let tree_id = index
        .write_tree_to(repo)
        .map_err(git("writing the combined tree"))?;
    let tree = repo
        .find_tree(tree_id)
        .map_err(git("reading the combined tree"))?;
    let signature = crate::repo::signature(repo);
    let message = format!(
        "Combined from {}\n\nTask: {}",
        describe(&picks.iter().map(|p| p.take.clone()).collect::<Vec<_>>()),
        view.experiment.task.trim()
    );
    let commit = repo
        .commit(None, &signature, &signature, &message, &tree, &[&base])
        .map_err(git("committing the combination"))?;
    Ok(commit.to_string())
}

/// The variant's version of a whole file: added, replaced, deleted or renamed.
fn take_whole(repo: &Repository, index: &mut git2::Index, p: &Pick) -> Result<(), Error> {
    if let Some(old) = &p.change.old_path {
        index
            .remove_path(Path::new(old))
            .map_err(git("removing a renamed file"))?;
    }
    if p.change.status == FileStatus::Deleted {
        return index
            .remove_path(Path::new(&p.change.path))
            .map_err(git("removing a deleted file"));
    }
    let tree = head_tree(repo, &p.head)?;
    let entry = tree
        .get_path(Path::new(&p.change.path))
        .map_err(git("finding the variant's file"))?;
    add_entry(index, &p.change.path, entry.id(), entry.filemode() as u32)
}

/// The base's file with the chosen hunks' lines replaced by each variant's.
fn take_hunks(
    repo: &Repository,
    base_tree: &git2::Tree<'_>,
    index: &mut git2::Index,
    path: &str,
    hunks: &[&Pick],
) -> Result<(), Error> {
    let base_entry = base_tree
        .get_path(Path::new(path))
        .map_err(git("finding the base's file"))?;
    let base_blob = repo
        .find_blob(base_entry.id())
        .map_err(git("reading the base's file"))?;
    let mut lines = split_lines(base_blob.content());
    let mut ordered: Vec<&&Pick> = hunks.iter().collect();
    // From the bottom up, so earlier positions stay valid.
    ordered.sort_by_key(|p| std::cmp::Reverse(p.lines.map(base_range)));
    // Each variant's version of the file, read once however many of its hunks are picked.
    let mut theirs_by_head: BTreeMap<&str, Vec<Vec<u8>>> = BTreeMap::new();
    for p in ordered {
        let Some(h) = p.lines else { continue };
        if !theirs_by_head.contains_key(p.head.as_str()) {
            let tree = head_tree(repo, &p.head)?;
            let entry = tree
                .get_path(Path::new(path))
                .map_err(git("finding the variant's file"))?;
            let blob = repo
                .find_blob(entry.id())
                .map_err(git("reading the variant's file"))?;
            theirs_by_head.insert(p.head.as_str(), split_lines(blob.content()));
        }
        let theirs = theirs_by_head
            .get(p.head.as_str())
            .map(Vec::as_slice)
            .unwrap_or_default();
        let (from, to) = base_range(h);
        let (new_start, new_lines) = (h.2, h.3);
        let new_from = if new_lines == 0 {
            new_start
        } else {
            new_start - 1
        } as usize;
        let replacement: Vec<Vec<u8>> = theirs
            .get(new_from..new_from + new_lines as usize)
            .unwrap_or_default()
            .to_vec();
        let end = (to as usize).min(lines.len());
        lines.splice(from as usize..end, replacement);
    }
    let content: Vec<u8> = lines.concat();
    let id = repo
        .blob(&content)
        .map_err(git("writing the combined file"))?;
    add_entry(index, path, id, base_entry.filemode() as u32)
}

fn head_tree<'r>(repo: &'r Repository, head: &str) -> Result<git2::Tree<'r>, Error> {
    repo.revparse_single(head)
        .and_then(|o| o.peel_to_tree())
        .map_err(git("reading the variant's tree"))
}

fn add_entry(index: &mut git2::Index, path: &str, id: Oid, mode: u32) -> Result<(), Error> {
    let entry = git2::IndexEntry {
        ctime: git2::IndexTime::new(0, 0),
        mtime: git2::IndexTime::new(0, 0),
        dev: 0,
        ino: 0,
        mode,
        uid: 0,
        gid: 0,
        file_size: 0,
        id,
        flags: 0,
        flags_extended: 0,
        path: path.as_bytes().to_vec(),
    };
    index.add(&entry).map_err(git("adding a combined file"))
}

/// Lines with their endings, as the diff counts them (a last line without
/// a newline is a line too).
fn split_lines(bytes: &[u8]) -> Vec<Vec<u8>> {
    bytes
        .split_inclusive(|b| *b == b'\n')
        .map(<[u8]>::to_vec)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picks_are_read_from_the_command_line() {
        let take: Take = "3:src/b.rs#2".parse().expect("a hunk");
        assert_eq!(
            take,
            Take {
                variant: VariantIndex(3),
                path: "src/b.rs".into(),
                hunk: Some(2)
            }
        );
        assert_eq!(take.to_string(), "3:src/b.rs#2");
        let whole: Take = "1:a#b.rs".parse().expect("a file whose name holds #");
        assert_eq!(
            whole.path, "a#b.rs",
            "a # followed by a non-number is part of the name"
        );
        for bad in ["src/b.rs", "x:src/b.rs", "3:", "3:a.rs#0"] {
            assert!(bad.parse::<Take>().is_err(), "{bad}");
        }
    }

    #[test]
    fn ranges_that_meet_overlap_and_apart_they_do_not() {
        assert_eq!(base_range((10, 7, 10, 8)), (9, 16));
        assert_eq!(
            base_range((4, 0, 5, 2)),
            (4, 4),
            "an insertion after line 4"
        );
    }
}
