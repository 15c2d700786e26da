//! Merge safety as a property: whatever the user left uncommitted and whatever
//! the variant changed, `merge::apply` (success, refusal or conflict) never
//! loses an uncommitted change of the user or a committed change.
//!
//! The adversaries: a variant that turns a folder into a file while the user
//! has an untracked file in it; a repository whose files pass through a
//! clean/smudge filter (what is stored differs from what is checked out); and
//! an agent that rewrote its worktree's `.git` file or HEAD to name the
//! user's branch. `PROPTEST_CASES` sets how many cases run: 256 in
//! `make test`, 1,000 in `make test-long`.
//!
//! Each case is a real repository, built with git2 directly where git's
//! filters do not matter (the git CLI would be too slow for every case on 2
//! cores) and with the git CLI where they do.

use std::path::Path;

use fanout_engine::merge::{self, MergeError, Strategy as MergeStrategy};
use git2::build::{CheckoutBuilder, TreeUpdateBuilder};
use git2::{FileMode, Oid, Repository, Signature};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// A flat set of paths plus a folder, so cases mix top-level and nested files
/// without file/folder swaps (those are covered by the scenario tests).
const PATHS: &[&str] = &[
    "a.txt",
    "b.txt",
    "c.txt",
    "d.txt",
    "e.txt",
    "sub/f.txt",
    "sub/g.txt",
    "sub/deep/h.txt",
];

/// File contents are a few lines from a tiny alphabet, so independent edits
/// sometimes merge cleanly line by line and sometimes conflict.
type Content = Vec<u8>;

fn content() -> impl Strategy<Value = Content> {
    prop::collection::vec(0u8..3, 3..5)
}

fn render(content: &Content) -> Vec<u8> {
    content
        .iter()
        .map(|l| format!("line {l}\n"))
        .collect::<String>()
        .into_bytes()
}

#[derive(Clone, Debug)]
enum Change {
    Keep,
    Write(Content),
    Delete,
}

/// A change to one file; `keep` weighs how often a file is left alone
/// (against 3 for a write or delete), so the moved base can change fewer files
/// than the variant and more cases merge cleanly.
fn change(keep: u32) -> impl Strategy<Value = Change> {
    prop_oneof![
        keep => Just(Change::Keep),
        2 => content().prop_map(Change::Write),
        1 => Just(Change::Delete),
    ]
}

#[derive(Clone, Debug)]
enum UserChange {
    Keep,
    Unstaged(Content),
    Staged(Content),
    StagedThenEdited(Content, Content),
    Deleted,
    DeletedStaged,
}

fn user_change() -> impl Strategy<Value = UserChange> {
    prop_oneof![
        16 => Just(UserChange::Keep),
        2 => content().prop_map(UserChange::Unstaged),
        1 => content().prop_map(UserChange::Staged),
        1 => (content(), content()).prop_map(|(a, b)| UserChange::StagedThenEdited(a, b)),
        1 => Just(UserChange::Deleted),
        1 => Just(UserChange::DeletedStaged),
    ]
}

/// What an agent did to its worktree's git metadata before the merge.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Tamper {
    None,
    /// Its `.git` file names a repository of its own whose HEAD is main
    /// and whose commondir is the user's.
    DotGit,
    /// Its registered HEAD names main.
    Head,
}

#[derive(Clone, Debug)]
struct Case {
    base: Vec<Option<Content>>,
    variant: Vec<Change>,
    moved: Option<Vec<Change>>,
    user: Vec<UserChange>,
    strategy: MergeStrategy,
    /// The user's checkout has HEAD detached at main's commit, so main is
    /// checked out nowhere and only its ref may move.
    detached: bool,
    /// Files under `sub/` pass through a rot13 clean/smudge filter.
    filtered: bool,
    /// The variant turns the folder `lib` (holding `lib/one.txt`) into a file.
    folder_to_file: bool,
    /// The user has an untracked file in `lib`.
    untracked_in_lib: bool,
    tamper: Tamper,
}

fn case() -> impl Strategy<Value = Case> {
    let n = PATHS.len();
    (
        prop::collection::vec(prop::option::weighted(0.8, content()), n),
        prop::collection::vec(change(4), n),
        prop::option::of(prop::collection::vec(change(12), n)),
        prop::collection::vec(user_change(), n),
        prop_oneof![Just(MergeStrategy::Squash), Just(MergeStrategy::Merge)],
        prop::bool::weighted(0.2),
        (
            prop::bool::weighted(0.25),
            prop::bool::weighted(0.3),
            prop::bool::weighted(0.3),
            prop_oneof![
                6 => Just(Tamper::None),
                1 => Just(Tamper::DotGit),
                1 => Just(Tamper::Head),
            ],
        ),
    )
        .prop_map(
            |(base, variant, moved, user, strategy, detached, adversaries)| {
                let (filtered, folder_to_file, untracked_in_lib, tamper) = adversaries;
                Case {
                    base,
                    variant,
                    moved,
                    user,
                    strategy,
                    detached,
                    filtered,
                    folder_to_file,
                    untracked_in_lib,
                    tamper,
                }
            },
        )
}

const ATTRIBUTES: &str = "sub/** filter=rot13\n";
const ROT13: &str = "tr A-Za-z N-ZA-Mn-za-m";

fn rot13(bytes: &[u8]) -> Vec<u8> {
    bytes
        .iter()
        .map(|b| match b {
            b'a'..=b'z' => (b - b'a' + 13) % 26 + b'a',
            b'A'..=b'Z' => (b - b'A' + 13) % 26 + b'A',
            other => *other,
        })
        .collect()
}

/// The bytes a checkout holds for `path` whose stored content is `stored`.
fn smudged(case: &Case, path: &str, stored: &Option<Vec<u8>>) -> Option<Vec<u8>> {
    let filtered = case.filtered && path.starts_with("sub/");
    stored.as_ref().map(|bytes| {
        if filtered {
            rot13(bytes)
        } else {
            bytes.clone()
        }
    })
}

type State = Vec<Option<Vec<u8>>>;

fn changed(state: &State, changes: &[Change]) -> State {
    state
        .iter()
        .zip(changes)
        .map(|(old, change)| match change {
            Change::Keep => old.clone(),
            Change::Write(c) => Some(render(c)),
            Change::Delete => None,
        })
        .collect()
}

/// The tree of `state`, with the attributes file when the case filters and
/// `lib` as a folder, or as a file when `lib_is_file`.
fn tree_of(
    repo: &Repository,
    case: &Case,
    state: &State,
    lib_is_file: bool,
) -> Result<Oid, git2::Error> {
    let empty = repo.find_tree(repo.treebuilder(None)?.write()?)?;
    let mut update = TreeUpdateBuilder::new();
    for (path, file) in PATHS.iter().zip(state) {
        if let Some(bytes) = file {
            update.upsert(*path, repo.blob(bytes)?, FileMode::Blob);
        }
    }
    if case.filtered {
        update.upsert(
            ".gitattributes",
            repo.blob(ATTRIBUTES.as_bytes())?,
            FileMode::Blob,
        );
    }
    if lib_is_file {
        update.upsert("lib", repo.blob(b"lib is a file now\n")?, FileMode::Blob);
    } else {
        update.upsert("lib/one.txt", repo.blob(b"one\n")?, FileMode::Blob);
    }
    update.create_updated(repo, &empty)
}

fn commit(
    repo: &Repository,
    case: &Case,
    state: &State,
    lib_is_file: bool,
    parent: Option<Oid>,
) -> Result<Oid, git2::Error> {
    let sig = Signature::new(
        "Prop Author",
        "prop@example.com",
        &git2::Time::new(1_767_225_600, 0),
    )?;
    let tree = repo.find_tree(tree_of(repo, case, state, lib_is_file)?)?;
    let parents = match parent {
        Some(id) => vec![repo.find_commit(id)?],
        None => vec![],
    };
    let parents: Vec<&git2::Commit> = parents.iter().collect();
    repo.commit(None, &sig, &sig, "commit", &tree, &parents)
}

/// The repository of one case: `main` (moved or not) checked out with the
/// user's uncommitted changes on top, and the variant's commit.
struct Built {
    _dir: tempfile::TempDir,
    root: std::path::PathBuf,
    /// The variant's worktree, when the case has an agent tamper with one.
    variant_worktree: Option<std::path::PathBuf>,
    base: State,
    variant: State,
    head: State,
    base_commit: Oid,
    variant_commit: Oid,
    head_commit: Oid,
}

fn build(case: &Case) -> Result<Built, git2::Error> {
    let fail = |e: String| git2::Error::from_str(&e);
    let dir = tempfile::tempdir().map_err(|e| fail(e.to_string()))?;
    let root = dir.path().join("repo");
    let repo = Repository::init(&root)?;
    if case.filtered {
        let mut config = repo.config()?;
        config.set_str("filter.rot13.clean", ROT13)?;
        config.set_str("filter.rot13.smudge", ROT13)?;
        config.set_bool("filter.rot13.required", true)?;
    }
    let base: State = case.base.iter().map(|c| c.as_ref().map(render)).collect();
    let base_commit = commit(&repo, case, &base, false, None)?;
    let variant = changed(&base, &case.variant);
    let variant_commit = commit(
        &repo,
        case,
        &variant,
        case.folder_to_file,
        Some(base_commit),
    )?;
    repo.reference("refs/heads/fanout/v", variant_commit, true, "variant")?;
    let (head, head_commit) = match &case.moved {
        Some(changes) => {
            let moved = changed(&base, changes);
            let id = commit(&repo, case, &moved, false, Some(base_commit))?;
            (moved, id)
        }
        None => (base.clone(), base_commit),
    };
    repo.reference("refs/heads/main", head_commit, true, "main")?;
    repo.set_head("refs/heads/main")?;
    if case.filtered {
        // Only git runs the filter's smudge command.
        cli(&root, &["read-tree", "--reset", "-u", "HEAD"]).map_err(fail)?;
    } else {
        repo.checkout_head(Some(CheckoutBuilder::new().force()))?;
    }
    if case.detached {
        repo.set_head_detached(head_commit)?;
    }
    apply_user_changes(case, &repo, &root, &head)?;
    if case.untracked_in_lib {
        std::fs::write(root.join("lib/mine.txt"), "the user's\n")
            .map_err(|e| fail(e.to_string()))?;
    }
    let variant_worktree = match case.tamper {
        Tamper::None => None,
        tamper => Some(tampered_worktree(&root, dir.path(), tamper).map_err(fail)?),
    };
    let root = root.canonicalize().map_err(|e| fail(e.to_string()))?;
    Ok(Built {
        _dir: dir,
        root,
        variant_worktree,
        base,
        variant,
        head,
        base_commit,
        variant_commit,
        head_commit,
    })
}

/// git, quietly, in `dir`; its stderr as the error.
fn cli(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

/// The variant's worktree on `fanout/v`, its metadata then rewritten by
/// "the agent" to name the user's branch.
fn tampered_worktree(
    root: &Path,
    dir: &Path,
    tamper: Tamper,
) -> Result<std::path::PathBuf, String> {
    let wt = dir.join("variant");
    let shown = wt.to_str().ok_or("utf-8 path")?;
    cli(root, &["worktree", "add", "-q", shown, "fanout/v"])?;
    let io = |e: std::io::Error| e.to_string();
    match tamper {
        Tamper::DotGit => {
            let evil = wt.join("evil");
            std::fs::create_dir_all(&evil).map_err(io)?;
            std::fs::write(evil.join("HEAD"), "ref: refs/heads/main\n").map_err(io)?;
            std::fs::write(
                evil.join("commondir"),
                format!("{}\n", root.join(".git").display()),
            )
            .map_err(io)?;
            std::fs::write(
                evil.join("gitdir"),
                format!("{}\n", root.join(".git").display()),
            )
            .map_err(io)?;
            std::fs::write(wt.join(".git"), "gitdir: evil\n").map_err(io)?;
        }
        _ => {
            let head = root.join(".git/worktrees/variant/HEAD");
            std::fs::write(head, "ref: refs/heads/main\n").map_err(io)?;
        }
    }
    Ok(wt)
}

fn apply_user_changes(
    case: &Case,
    repo: &Repository,
    root: &Path,
    head: &State,
) -> Result<(), git2::Error> {
    let io = |e: std::io::Error| git2::Error::from_str(&e.to_string());
    let mut index = repo.index()?;
    // With a filter, staging must go through git (it stores the cleaned
    // content); without one, git2's index is the same and much faster.
    let mut stage = |path: &str, remove: bool| -> Result<(), git2::Error> {
        match (case.filtered, remove) {
            (true, false) => cli(root, &["add", "--", path]).map_err(|e| git2::Error::from_str(&e)),
            (true, true) => cli(root, &["rm", "-q", "--cached", "--", path])
                .map_err(|e| git2::Error::from_str(&e)),
            (false, false) => index.add_path(Path::new(path)),
            (false, true) => index.remove_path(Path::new(path)),
        }
    };
    for ((path, change), committed) in PATHS.iter().zip(&case.user).zip(head) {
        let full = root.join(path);
        let write = |c: &Content| -> Result<(), git2::Error> {
            std::fs::create_dir_all(full.parent().expect("paths have a parent")).map_err(io)?;
            std::fs::write(&full, render(c)).map_err(io)
        };
        match change {
            UserChange::Keep => {}
            UserChange::Unstaged(c) => write(c)?,
            UserChange::Staged(c) => {
                write(c)?;
                stage(path, false)?;
            }
            UserChange::StagedThenEdited(a, b) => {
                write(a)?;
                stage(path, false)?;
                write(b)?;
            }
            UserChange::Deleted if committed.is_some() => {
                std::fs::remove_file(&full).map_err(io)?
            }
            UserChange::DeletedStaged if committed.is_some() => {
                std::fs::remove_file(&full).map_err(io)?;
                stage(path, true)?;
            }
            UserChange::Deleted | UserChange::DeletedStaged => {}
        }
    }
    if case.filtered {
        Ok(())
    } else {
        index.write()
    }
}

/// What the user has for one path: the working-tree bytes and the index's
/// blob. A path is the user's (uncommitted) when either differs from HEAD.
#[derive(Clone, Debug, PartialEq, Eq)]
struct PathState {
    file: Option<Vec<u8>>,
    staged: Option<Oid>,
}

fn observe(root: &Path) -> Result<(Oid, Vec<PathState>), git2::Error> {
    let repo = Repository::open(root)?;
    let index = repo.index()?;
    let head = repo.refname_to_id("refs/heads/main")?;
    let states = PATHS
        .iter()
        .chain(&LIB_PATHS)
        .map(|path| PathState {
            file: std::fs::read(root.join(path)).ok(),
            staged: index.get_path(Path::new(path), 0).map(|e| e.id),
        })
        .collect();
    Ok((head, states))
}

/// Every file under `dir` but `.git`, with its bytes.
fn files_in(dir: &Path) -> std::collections::BTreeMap<std::path::PathBuf, Vec<u8>> {
    let mut files = std::collections::BTreeMap::new();
    let mut pending = vec![dir.to_path_buf()];
    while let Some(next) = pending.pop() {
        for entry in std::fs::read_dir(&next).into_iter().flatten().flatten() {
            let path = entry.path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.is_dir() {
                pending.push(path);
            } else if let Ok(bytes) = std::fs::read(&path) {
                files.insert(path, bytes);
            }
        }
    }
    files
}

/// The folder that may become a file, as the checkout holds it.
const LIB_PATHS: [&str; 3] = ["lib", "lib/one.txt", "lib/mine.txt"];

fn blob_id(bytes: &Option<Vec<u8>>) -> Option<Oid> {
    bytes
        .as_ref()
        .map(|b| Oid::hash_object(git2::ObjectType::Blob, b).expect("hashing bytes"))
}

/// How each case ended, to prove the property was exercised on every path.
#[derive(Default, Debug)]
struct Tally {
    merged: usize,
    refused: usize,
    conflicted: usize,
    other: usize,
    /// Merged cases in which a side renamed a file, so git carried the other
    /// side's edit to the new path.
    renamed: usize,
    /// Merged cases with each adversary, so each is known to be exercised.
    merged_filtered: usize,
    merged_folder_to_file: usize,
    tampered: usize,
}

fn check(case: &Case, tally: &mut Tally) -> Result<(), TestCaseError> {
    let built = build(case).map_err(|e| TestCaseError::fail(format!("building: {e}")))?;
    let (_, before) = observe(&built.root).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let users: Vec<bool> = PATHS
        .iter()
        .zip(&before)
        .zip(&built.head)
        .map(|((path, s), committed)| {
            s.file != smudged(case, path, committed) || s.staged != blob_id(committed)
        })
        .collect();

    // As the engine does: Fanout's own variant worktrees are never taken
    // for the target's checkout, whatever their HEAD says.
    let own: Vec<std::path::PathBuf> = built.variant_worktree.iter().cloned().collect();
    let variant_files = built.variant_worktree.as_deref().map(files_in);
    let result = merge::apply_ignoring(
        &built.root,
        &built.variant_commit.to_string(),
        "main",
        case.strategy,
        "merge",
        &own,
    );
    prop_assert_eq!(
        built.variant_worktree.as_deref().map(files_in),
        variant_files,
        "the tampered variant worktree is not written ({:?})",
        result
    );

    let (head, after) = observe(&built.root).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let mine = PATHS.len() + 2;
    prop_assert_eq!(
        &after[mine],
        &before[mine],
        "the user's untracked file in lib survives ({:?})",
        result
    );
    for (i, path) in PATHS.iter().enumerate() {
        if users[i] {
            prop_assert_eq!(
                &after[i],
                &before[i],
                "the user's uncommitted change to {} must survive ({:?})",
                path,
                result
            );
        }
    }
    match result {
        Ok(outcome) => {
            tally.merged += 1;
            tally.merged_filtered += usize::from(case.filtered);
            tally.merged_folder_to_file += usize::from(case.folder_to_file && !case.detached);
            tally.tampered += usize::from(case.tamper != Tamper::None);
            check_merged(&built, case, &outcome, head, &before, &after, tally)?;
        }
        Err(err) => {
            match &err {
                MergeError::UncommittedChanges { files } => {
                    tally.refused += 1;
                    for file in files {
                        let i = PATHS.iter().position(|p| p == file);
                        let lib = file == "lib" && case.untracked_in_lib;
                        prop_assert!(
                            lib || i.is_some_and(|i| users[i]),
                            "only the user's changed files are named, not {}",
                            file
                        );
                    }
                }
                MergeError::Conflicts { .. } => tally.conflicted += 1,
                MergeError::AlreadyMerged { .. } => tally.other += 1,
                other => prop_assert!(false, "unexpected error: {other}"),
            }
            prop_assert_eq!(head, built.head_commit, "a failed merge leaves main alone");
            prop_assert_eq!(
                &after,
                &before,
                "a failed merge changes no file and no index entry"
            );
        }
    }
    Ok(())
}

fn check_merged(
    built: &Built,
    case: &Case,
    outcome: &merge::MergeOutcome,
    head: Oid,
    before: &[PathState],
    after: &[PathState],
    tally: &mut Tally,
) -> Result<(), TestCaseError> {
    let repo = Repository::open(&built.root).map_err(|e| TestCaseError::fail(e.to_string()))?;
    let renamed = renamed_paths(&repo, built.base_commit, built.variant_commit)
        .and_then(|mut paths| {
            paths.extend(renamed_paths(&repo, built.base_commit, built.head_commit)?);
            Ok(paths)
        })
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    if !renamed.is_empty() {
        tally.renamed += 1;
    }
    prop_assert_eq!(
        head.to_string(),
        outcome.commit.clone(),
        "main points at the merge"
    );
    let new = repo
        .find_commit(head)
        .map_err(|e| TestCaseError::fail(e.to_string()))?;
    prop_assert_eq!(
        new.parent_id(0).ok(),
        Some(built.head_commit),
        "the previous head is the first parent, so no committed change is lost"
    );
    let tree = new.tree().map_err(|e| TestCaseError::fail(e.to_string()))?;
    for (i, path) in PATHS.iter().enumerate() {
        let merged = tree
            .get_path(Path::new(path))
            .ok()
            .map(|e| e.to_object(&repo).and_then(|o| o.peel_to_blob()))
            .transpose()
            .map_err(|e| TestCaseError::fail(e.to_string()))?
            .map(|b| b.content().to_vec());
        let (base, variant, main) = (&built.base[i], &built.variant[i], &built.head[i]);
        // Across a rename git merges the old path's three versions into the
        // new path (as `git merge` does), so what lands there is a three-way
        // merge, not either side's bytes; the scenario test
        // `an_edit_follows_a_rename_on_the_other_side` pins that behaviour.
        let per_path = !renamed.contains(*path);
        if per_path && main == base {
            prop_assert_eq!(
                &merged,
                variant,
                "the variant's change to {} is merged",
                path
            );
        }
        if per_path && variant == base {
            prop_assert_eq!(&merged, main, "main's own change to {} is kept", path);
        }
        let touched = !case.detached && outcome.files.iter().any(|f| f == path);
        if touched {
            prop_assert_eq!(
                &after[i].file,
                &smudged(case, path, &merged),
                "the checkout shows the merged {} (smudged where filtered)",
                path
            );
            prop_assert_eq!(
                after[i].staged,
                blob_id(&merged),
                "the index holds the merged {}",
                path
            );
        } else {
            prop_assert_eq!(
                &after[i],
                &before[i],
                "{} is not touched by the merge, or main is not checked out",
                path
            );
        }
    }
    if case.folder_to_file && !case.detached {
        prop_assert!(
            !case.untracked_in_lib,
            "lib could only be replaced without the user's file in it"
        );
        prop_assert_eq!(
            after[PATHS.len()].file.as_deref(),
            Some(&b"lib is a file now\n"[..]),
            "the folder became the variant's file"
        );
    }
    Ok(())
}

/// The old and new paths of the renames git's merge would detect between two
/// commits: the same similarity search (libgit2's default, 50%) over deleted
/// and added files.
fn renamed_paths(
    repo: &Repository,
    from: Oid,
    to: Oid,
) -> Result<std::collections::HashSet<String>, git2::Error> {
    let tree = |id: Oid| repo.find_commit(id).and_then(|c| c.tree());
    let mut diff = repo.diff_tree_to_tree(Some(&tree(from)?), Some(&tree(to)?), None)?;
    diff.find_similar(Some(git2::DiffFindOptions::new().renames(true)))?;
    let mut paths = std::collections::HashSet::new();
    for delta in diff.deltas() {
        if delta.status() == git2::Delta::Renamed {
            for file in [delta.old_file(), delta.new_file()] {
                if let Some(path) = file.path().and_then(|p| p.to_str()) {
                    paths.insert(path.to_owned());
                }
            }
        }
    }
    Ok(paths)
}

#[test]
fn no_uncommitted_or_committed_change_is_ever_lost() {
    // PROPTEST_CASES raises the count for a longer search (256 by default);
    // no failure file, since the cases are generated, not read from source.
    let config = Config {
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner = TestRunner::new(config);
    let tally = std::cell::RefCell::new(Tally::default());
    let result = runner.run(&case(), |case| check(&case, &mut tally.borrow_mut()));
    if let Err(e) = result {
        panic!("{e}");
    }
    let tally = tally.into_inner();
    eprintln!("merge_props outcomes: {tally:?}");
    // Each outcome must actually occur, or the property proved less than it says.
    assert!(tally.merged > 0, "no case merged: {tally:?}");
    assert!(tally.refused > 0, "no case was refused: {tally:?}");
    assert!(tally.conflicted > 0, "no case conflicted: {tally:?}");
    assert!(
        tally.merged_filtered > 0,
        "no filtered case merged: {tally:?}"
    );
    assert!(
        tally.merged_folder_to_file > 0,
        "no folder became a file: {tally:?}"
    );
    assert!(
        tally.tampered > 0,
        "no case merged past a tampered worktree: {tally:?}"
    );
}

/// The case CI's random search found before the oracle knew about renames:
/// main renamed b.txt to e.txt with an edit while the variant edited b.txt.
#[test]
fn an_edit_across_a_rename_is_checked_as_a_three_way_merge() {
    use Change::{Delete, Keep, Write};
    let case = Case {
        base: vec![
            None,
            Some(vec![0, 2, 0, 1]),
            None,
            None,
            None,
            None,
            None,
            None,
        ],
        variant: vec![
            Keep,
            Write(vec![0, 0, 0]),
            Keep,
            Keep,
            Delete,
            Keep,
            Keep,
            Keep,
        ],
        moved: Some(vec![
            Keep,
            Delete,
            Keep,
            Keep,
            Write(vec![0, 2, 0, 0]),
            Keep,
            Keep,
            Keep,
        ]),
        user: vec![UserChange::Keep; PATHS.len()],
        strategy: MergeStrategy::Squash,
        detached: false,
        filtered: false,
        folder_to_file: false,
        untracked_in_lib: false,
        tamper: Tamper::None,
    };
    let mut tally = Tally::default();
    if let Err(e) = check(&case, &mut tally) {
        panic!("{e}");
    }
    assert_eq!(
        (tally.merged, tally.renamed),
        (1, 1),
        "the case merges and git detects main's rename: {tally:?}"
    );
}
