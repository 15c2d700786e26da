//! Merge scenarios on real repositories, checked with the `git` CLI.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::{git, Fixture};
use fanout_engine::merge::{self, MergeError, Strategy};

/// A fixture whose `main` holds a few files, so variants have something to
/// change, and a `.gitignore` for ignored-file cases.
fn project() -> Fixture {
    let fx = Fixture::new();
    fx.write("a.txt", "alpha\none\ntwo\nthree\n");
    fx.write("b.txt", "bravo\n");
    fx.write("d.txt", "delta\n");
    fx.write("src/lib.rs", "pub fn f() {}\n");
    fx.write(".gitignore", "*.log\n");
    fx.commit_all("project files");
    fx
}

/// Commits `changes` (path, Some(content) to write, None to delete) on a new
/// branch `fanout/<name>` made from `base`, in its own linked worktree, the
/// way an agent's variant is produced. Returns the variant's commit.
fn variant(fx: &Fixture, name: &str, base: &str, changes: &[(&str, Option<&str>)]) -> String {
    let dir = fx.sibling("variants").join(name);
    let branch = format!("fanout/{name}");
    fx.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        &branch,
        dir.to_str().expect("utf-8 temp path"),
        base,
    ]);
    for (path, content) in changes {
        let full = dir.join(path);
        match content {
            Some(text) => {
                std::fs::create_dir_all(full.parent().expect("parent")).expect("mkdir");
                std::fs::write(&full, text).expect("write variant file");
            }
            None => std::fs::remove_file(&full).expect("remove variant file"),
        }
    }
    // -f: a variant may add a file the user's checkout ignores.
    git(&dir, &["add", "-A", "-f"]);
    git(&dir, &["commit", "-q", "-m", &format!("variant {name}")]);
    git(&dir, &["rev-parse", "HEAD"])
}

/// Everything a merge could change in a checkout: refs, the index file's
/// bytes, every working-tree file's bytes, and git's status.
#[derive(Debug, PartialEq, Eq)]
struct Snapshot {
    refs: String,
    index: Vec<u8>,
    files: BTreeMap<PathBuf, Vec<u8>>,
    status: String,
}

fn snapshot(root: &Path) -> Snapshot {
    let git_dir = PathBuf::from(git(root, &["rev-parse", "--absolute-git-dir"]));
    Snapshot {
        refs: git(root, &["for-each-ref", "--format=%(refname) %(objectname)"]),
        index: std::fs::read(git_dir.join("index")).expect("read index"),
        files: files_under(root),
        // Without optional locks, so that git's own index refresh cannot
        // rewrite the index bytes this snapshot compares.
        status: git(
            root,
            &["--no-optional-locks", "status", "--porcelain", "--ignored"],
        ),
    }
}

fn files_under(root: &Path) -> BTreeMap<PathBuf, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("dir entry").path();
            if path.file_name().is_some_and(|n| n == ".git") {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                let rel = path.strip_prefix(root).expect("under root").to_path_buf();
                files.insert(rel, std::fs::read(&path).expect("read file"));
            }
        }
    }
    files
}

fn parents(fx: &Fixture, rev: &str) -> Vec<String> {
    fx.git(&["rev-list", "--parents", "-n", "1", rev])
        .split_whitespace()
        .skip(1)
        .map(str::to_string)
        .collect()
}

fn main_head(fx: &Fixture) -> String {
    fx.git(&["rev-parse", "refs/heads/main"])
}

const CHANGES: &[(&str, Option<&str>)] = &[
    ("a.txt", Some("alpha\none\nTWO\nthree\n")),
    ("b.txt", None),
    ("c.txt", Some("charlie\n")),
];

#[test]
fn squash_makes_one_commit_with_one_parent_and_the_variants_changes() {
    let fx = project();
    let before = fx.head();
    let source = variant(&fx, "v1", "main", CHANGES);

    let outcome = merge::apply(
        &fx.root,
        &source,
        "main",
        Strategy::Squash,
        "Take variant 1",
    )
    .expect("a clean squash merge succeeds");

    assert_eq!(
        outcome.previous, before,
        "the previous head is recorded for undo"
    );
    assert_eq!(
        outcome.commit,
        main_head(&fx),
        "main now points at the new commit"
    );
    assert_eq!(
        parents(&fx, "main"),
        vec![before.clone()],
        "a squash has exactly one parent: the old head"
    );
    assert_eq!(
        fx.git(&["log", "-1", "--format=%B", "main"]),
        "Take variant 1",
        "the commit carries the caller's message"
    );
    assert_eq!(
        fx.git(&["diff", "--name-status", &before, "main"]),
        "M\ta.txt\nD\tb.txt\nA\tc.txt",
        "the commit holds exactly the variant's changes"
    );
    assert_eq!(
        outcome.files,
        ["a.txt", "b.txt", "c.txt"],
        "files are reported sorted"
    );
    assert_eq!(outcome.strategy, Strategy::Squash);
    assert_eq!(
        fx.read("a.txt"),
        "alpha\none\nTWO\nthree\n",
        "the checkout shows the merged file"
    );
    assert_eq!(
        fx.read("c.txt"),
        "charlie\n",
        "the checkout shows the added file"
    );
    assert!(
        !fx.root.join("b.txt").exists(),
        "the deleted file is gone from the checkout"
    );
    assert_eq!(
        fx.status(),
        "",
        "a merge on a clean checkout leaves it clean"
    );
}

#[test]
fn merge_strategy_makes_a_commit_with_two_parents() {
    let fx = project();
    let before = fx.head();
    let source = variant(&fx, "v1", "main", CHANGES);

    let outcome = merge::apply(
        &fx.root,
        &source,
        "main",
        Strategy::Merge,
        "Merge variant 1",
    )
    .expect("a clean merge succeeds");

    assert_eq!(
        parents(&fx, "main"),
        vec![before, source.clone()],
        "a merge commit's parents are the old head, then the variant"
    );
    assert_eq!(outcome.strategy, Strategy::Merge);
    assert_eq!(
        fx.git(&["rev-parse", "main^{tree}"]),
        fx.git(&["rev-parse", &format!("{source}^{{tree}}")]),
        "with an unmoved base the merged tree is the variant's tree"
    );
    assert_eq!(fx.status(), "", "the checkout is clean after the merge");
}

#[test]
fn a_target_not_checked_out_moves_only_its_ref() {
    let fx = project();
    let source = variant(&fx, "v1", "main", CHANGES);
    fx.git(&["checkout", "-q", "-b", "work"]);
    fx.write("a.txt", "the user's own edit\n");
    let before = snapshot(&fx.root);
    let previous = main_head(&fx);

    let preview = merge::preview(&fx.root, &source, "main").expect("preview");
    assert!(!preview.checked_out, "main is not checked out anywhere");
    assert!(
        preview.blocked_by_uncommitted.is_empty(),
        "no checkout to block the merge"
    );

    let outcome = merge::apply(&fx.root, &source, "main", Strategy::Squash, "Take it")
        .expect("merging into a branch nobody has checked out succeeds");

    let after = snapshot(&fx.root);
    assert_ne!(before.refs, after.refs, "main moved");
    assert_eq!(
        parents(&fx, "main"),
        vec![previous],
        "on top of its old head"
    );
    assert_eq!(outcome.commit, main_head(&fx));
    assert_eq!(before.index, after.index, "the user's index is untouched");
    assert_eq!(before.files, after.files, "the user's files are untouched");
    assert_eq!(
        before.status, after.status,
        "the user's status is unchanged"
    );
    assert_eq!(
        fx.git(&["branch", "--show-current"]),
        "work",
        "the user stays on their branch"
    );
}

/// One way a user's checkout can be dirty in a file the merge touches.
struct DirtyCase {
    name: &'static str,
    make_dirty: fn(&Fixture),
    blocked: &'static [&'static str],
}

#[test]
fn uncommitted_changes_in_touched_files_refuse_naming_them_and_change_nothing() {
    let cases = [
        DirtyCase {
            name: "unstaged edit",
            make_dirty: |fx| fx.write("a.txt", "user edit\n"),
            blocked: &["a.txt"],
        },
        DirtyCase {
            name: "staged edit, file restored",
            make_dirty: |fx| {
                fx.write("a.txt", "staged edit\n");
                fx.git(&["add", "a.txt"]);
                fx.write("a.txt", "alpha\none\ntwo\nthree\n");
            },
            blocked: &["a.txt"],
        },
        DirtyCase {
            name: "deleted file the merge changes",
            make_dirty: |fx| fx.remove("a.txt"),
            blocked: &["a.txt"],
        },
        DirtyCase {
            name: "untracked file where the merge adds one",
            make_dirty: |fx| fx.write("c.txt", "mine\n"),
            blocked: &["c.txt"],
        },
        DirtyCase {
            name: "edit equal to the merged result (strict on purpose)",
            make_dirty: |fx| fx.write("c.txt", "charlie\n"),
            blocked: &["c.txt"],
        },
        DirtyCase {
            name: "several at once",
            make_dirty: |fx| {
                fx.write("a.txt", "x\n");
                fx.write("b.txt", "y\n");
                fx.write("d.txt", "untouched by the merge\n");
            },
            blocked: &["a.txt", "b.txt"],
        },
    ];
    for case in cases {
        let fx = project();
        let source = variant(&fx, "v1", "main", CHANGES);
        (case.make_dirty)(&fx);
        let before = snapshot(&fx.root);

        let preview = merge::preview(&fx.root, &source, "main").expect("preview");
        assert_eq!(
            preview.blocked_by_uncommitted, case.blocked,
            "preview, case {}",
            case.name
        );
        let err = merge::apply(&fx.root, &source, "main", Strategy::Squash, "m")
            .expect_err("a dirty touched file must refuse the merge");

        match &err {
            MergeError::UncommittedChanges { files } => {
                assert_eq!(
                    files, case.blocked,
                    "the refusal names the files, case {}",
                    case.name
                )
            }
            other => panic!(
                "case {}: expected UncommittedChanges, got {other:?}",
                case.name
            ),
        }
        assert_eq!(err.code(), "merge.uncommitted_changes");
        for file in case.blocked {
            assert!(err.to_string().contains(file), "the sentence names {file}");
        }
        assert_eq!(
            before,
            snapshot(&fx.root),
            "nothing changed, case {}",
            case.name
        );
    }
}

#[test]
fn an_ignored_file_where_the_merge_adds_one_refuses() {
    let fx = project();
    let source = variant(&fx, "v1", "main", &[("build.log", Some("tracked now\n"))]);
    fx.write("build.log", "the user's ignored log\n");
    let before = snapshot(&fx.root);

    let err = merge::apply(&fx.root, &source, "main", Strategy::Squash, "m")
        .expect_err("an ignored file would be overwritten");

    assert!(
        matches!(&err, MergeError::UncommittedChanges { files } if files == &["build.log"]),
        "the ignored file is named: {err:?}"
    );
    assert_eq!(before, snapshot(&fx.root), "nothing changed");
}

#[test]
fn conflicts_are_reported_and_nothing_changes() {
    let fx = project();
    let source = variant(
        &fx,
        "v1",
        "main",
        &[("a.txt", Some("alpha\none\nVARIANT\nthree\n"))],
    );
    fx.write("a.txt", "alpha\none\nMAIN\nthree\n");
    fx.commit_all("main moves a.txt");
    let before = snapshot(&fx.root);

    let preview = merge::preview(&fx.root, &source, "main").expect("preview");
    assert_eq!(preview.conflicts, ["a.txt"], "preview reports the conflict");
    assert!(
        preview.files.contains(&"a.txt".to_string()),
        "conflicted files are listed"
    );
    assert!(!preview.already_merged);

    let err = merge::apply(&fx.root, &source, "main", Strategy::Merge, "m")
        .expect_err("a conflicting merge must fail");
    assert!(
        matches!(&err, MergeError::Conflicts { paths } if paths == &["a.txt"]),
        "the conflicted path is named: {err:?}"
    );
    assert_eq!(err.code(), "merge.conflicts");
    assert_eq!(before, snapshot(&fx.root), "nothing changed");
}

#[test]
fn a_base_that_moved_still_merges_three_way() {
    let fx = project();
    let base = fx.head();
    let source = variant(&fx, "v1", "main", CHANGES);
    fx.write("d.txt", "delta moved on main\n");
    fx.write("src/lib.rs", "pub fn f() {}\npub fn g() {}\n");
    let moved = fx.commit_all("main moves on");

    let outcome = merge::apply(&fx.root, &source, "main", Strategy::Squash, "Take it")
        .expect("a non-conflicting merge onto a moved base succeeds");

    assert_eq!(
        outcome.previous, moved,
        "the merge goes on top of the moved head"
    );
    assert_eq!(
        fx.git(&["show", "main:d.txt"]),
        "delta moved on main",
        "main's own later change is kept"
    );
    assert_eq!(
        fx.git(&["show", "main:a.txt"]),
        "alpha\none\nTWO\nthree",
        "the variant's change is in"
    );
    assert_eq!(
        outcome.files,
        ["a.txt", "b.txt", "c.txt"],
        "only the variant's files change"
    );
    assert_eq!(
        fx.git(&["merge-base", "--is-ancestor", &base, "main"]),
        "",
        "history is kept"
    );
    assert_eq!(fx.status(), "", "the checkout is clean");
}

#[test]
fn an_edit_follows_a_rename_on_the_other_side() {
    // Found by merge_props: main renamed a file while the variant edited it.
    // Like `git merge`, the variant's edit must land in the renamed file
    // instead of bringing the old path back or being dropped.
    let fx = project();
    let source = variant(
        &fx,
        "v1",
        "main",
        &[("a.txt", Some("alpha\none\nTWO\nthree\n"))],
    );
    fx.git(&["mv", "a.txt", "renamed.txt"]);
    fx.write("renamed.txt", "alpha\none\ntwo\nthree\nfour\n");
    fx.commit_all("main renames a.txt and adds a line");

    let outcome = merge::apply(&fx.root, &source, "main", Strategy::Squash, "Take it")
        .expect("an edit on one side and a rename on the other merge cleanly");

    assert_eq!(
        fx.git(&["show", "main:renamed.txt"]),
        "alpha\none\nTWO\nthree\nfour",
        "the renamed file holds both main's added line and the variant's edit"
    );
    assert_eq!(
        fx.git(&["ls-tree", "--name-only", "main", "a.txt"]),
        "",
        "the old path stays gone"
    );
    assert_eq!(
        fx.read("renamed.txt"),
        "alpha\none\nTWO\nthree\nfour\n",
        "the checkout shows the merged file"
    );
    assert!(
        outcome.files.iter().any(|f| f == "renamed.txt"),
        "the outcome names the file the merge changed: {:?}",
        outcome.files
    );
    assert_eq!(fx.status(), "", "the checkout is clean");
}

#[test]
fn uncommitted_edits_to_other_files_survive_byte_for_byte() {
    let fx = project();
    let source = variant(&fx, "v1", "main", CHANGES);
    fx.write("d.txt", "user's unstaged edit\r\nno newline");
    fx.write("src/lib.rs", "staged by the user\n");
    fx.git(&["add", "src/lib.rs"]);
    fx.write("notes.md", "untracked notes\n");
    fx.write("run.log", "ignored log\n");
    let staged_before = fx.git(&["diff", "--cached", "--name-only"]);

    merge::apply(&fx.root, &source, "main", Strategy::Squash, "Take it")
        .expect("edits in files the merge does not touch do not block it");

    assert_eq!(
        std::fs::read(fx.root.join("d.txt")).expect("d"),
        b"user's unstaged edit\r\nno newline"
    );
    assert_eq!(fx.read("src/lib.rs"), "staged by the user\n");
    assert_eq!(fx.read("notes.md"), "untracked notes\n");
    assert_eq!(fx.read("run.log"), "ignored log\n");
    assert_eq!(
        fx.git(&["diff", "--cached", "--name-only"]),
        staged_before,
        "the user's staged change is still staged, and nothing else is"
    );
    assert_eq!(
        fx.status(),
        " M d.txt\nM  src/lib.rs\n?? notes.md",
        "only the user's own changes show; the merged files are clean"
    );
}

#[test]
fn undo_restores_the_previous_head_and_files() {
    let fx = project();
    let source = variant(&fx, "v1", "main", CHANGES);
    let files_before = files_under(&fx.root);
    let outcome =
        merge::apply(&fx.root, &source, "main", Strategy::Squash, "Take it").expect("apply");

    merge::undo(&fx.root, &outcome).expect("undo right after the merge succeeds");

    assert_eq!(
        main_head(&fx),
        outcome.previous,
        "main is back at its previous commit"
    );
    assert_eq!(
        files_under(&fx.root),
        files_before,
        "the files are as before the merge"
    );
    assert_eq!(fx.status(), "", "the checkout is clean");
}

#[test]
fn undo_keeps_uncommitted_edits_to_other_files() {
    let fx = project();
    let source = variant(&fx, "v1", "main", CHANGES);
    let outcome =
        merge::apply(&fx.root, &source, "main", Strategy::Merge, "Take it").expect("apply");
    fx.write("d.txt", "edited after the merge\n");

    merge::undo(&fx.root, &outcome).expect("an edit elsewhere does not block undo");

    assert_eq!(
        fx.read("d.txt"),
        "edited after the merge\n",
        "the user's edit survives undo"
    );
    assert_eq!(fx.status(), " M d.txt", "only the user's edit shows");
}

#[test]
fn undo_is_refused_after_a_new_commit_on_top() {
    let fx = project();
    let source = variant(&fx, "v1", "main", CHANGES);
    let outcome =
        merge::apply(&fx.root, &source, "main", Strategy::Squash, "Take it").expect("apply");
    fx.write("d.txt", "more work\n");
    let top = fx.commit_all("more work on top");

    let err = merge::undo(&fx.root, &outcome).expect_err("undo would drop the new commit");

    assert_eq!(err.code(), "merge.undo_moved_on", "{err}");
    assert!(
        err.to_string().contains("moved on"),
        "the sentence says why: {err}"
    );
    assert_eq!(main_head(&fx), top, "main is unchanged");
    assert_eq!(fx.status(), "", "the checkout is unchanged");
}

#[test]
fn undo_is_refused_when_a_merged_file_was_edited_since() {
    let fx = project();
    let source = variant(&fx, "v1", "main", CHANGES);
    let outcome =
        merge::apply(&fx.root, &source, "main", Strategy::Squash, "Take it").expect("apply");
    fx.write("c.txt", "edited after the merge\n");
    let before = snapshot(&fx.root);

    let err = merge::undo(&fx.root, &outcome).expect_err("undo would overwrite the edit");

    assert!(
        matches!(&err, MergeError::UndoFilesChanged { files } if files == &["c.txt"]),
        "the edited file is named: {err:?}"
    );
    assert_eq!(before, snapshot(&fx.root), "nothing changed");
}

#[test]
fn undo_refuses_an_outcome_that_does_not_match() {
    let fx = project();
    let source = variant(&fx, "v1", "main", CHANGES);
    let mut outcome =
        merge::apply(&fx.root, &source, "main", Strategy::Squash, "Take it").expect("apply");
    outcome.previous = source.clone();
    let before = snapshot(&fx.root);

    let err = merge::undo(&fx.root, &outcome).expect_err("a wrong previous commit is refused");

    assert_eq!(err.code(), "merge.undo_mismatch", "{err}");
    assert_eq!(before, snapshot(&fx.root), "nothing changed");
}

#[test]
fn preview_writes_nothing_and_describes_the_merge() {
    let fx = project();
    let source = variant(&fx, "v1", "main", CHANGES);
    fx.write("a.txt", "dirty\n");
    fx.write("d.txt", "dirty too\n");
    fx.git(&["add", "d.txt"]);
    let before = snapshot(&fx.root);

    let preview = merge::preview(&fx.root, &source, "main").expect("preview");

    assert_eq!(
        before,
        snapshot(&fx.root),
        "preview changed nothing in the checkout"
    );
    assert_eq!(preview.target, "main");
    assert_eq!(preview.target_head, main_head(&fx));
    assert_eq!(preview.source, source);
    assert_eq!(preview.files, ["a.txt", "b.txt", "c.txt"]);
    assert!(preview.conflicts.is_empty());
    assert!(
        preview.checked_out,
        "main is checked out in the user's checkout"
    );
    assert_eq!(preview.checked_out_at.as_deref(), Some(fx.root.as_path()));
    assert_eq!(
        preview.blocked_by_uncommitted,
        ["a.txt"],
        "d.txt is dirty but untouched"
    );
    assert!(!preview.already_merged);

    let json = serde_json::to_value(&preview).expect("serialize");
    assert_eq!(
        json["blocked_by_uncommitted"][0], "a.txt",
        "snake_case keys for the UI"
    );
}

#[test]
fn preview_and_apply_see_an_already_merged_variant() {
    let fx = project();
    let source = variant(&fx, "v1", "main", CHANGES);
    merge::apply(&fx.root, &source, "main", Strategy::Squash, "Take it").expect("first merge");
    let before = snapshot(&fx.root);

    let preview = merge::preview(&fx.root, &source, "main").expect("preview");
    assert!(
        preview.already_merged,
        "the squash already holds the variant's changes"
    );
    assert!(preview.files.is_empty());
    let err = merge::apply(&fx.root, &source, "main", Strategy::Squash, "again")
        .expect_err("merging twice is refused");

    assert_eq!(err.code(), "merge.already_merged", "{err}");
    assert_eq!(before, snapshot(&fx.root), "nothing changed");
}

#[test]
fn bad_input_gets_a_clear_error_and_changes_nothing() {
    let fx = project();
    let source = variant(&fx, "v1", "main", CHANGES);
    let before = snapshot(&fx.root);
    let zeros = "0".repeat(40);
    let cases: [(&str, &str, &str, &str); 5] = [
        (
            "missing target",
            "no-such-branch",
            &source,
            "merge.target_missing",
        ),
        (
            "invalid target name",
            "bad..name",
            &source,
            "merge.target_missing",
        ),
        ("missing source", "main", &zeros, "merge.source_missing"),
        (
            "garbage source",
            "main",
            "not a commit",
            "merge.source_missing",
        ),
        ("empty source", "main", "", "merge.source_missing"),
    ];
    for (name, target, source, code) in cases {
        let err = merge::apply(&fx.root, source, target, Strategy::Squash, "m")
            .expect_err("bad input is refused");
        assert_eq!(err.code(), code, "apply, case {name}: {err}");
        assert!(err.to_string().ends_with('.'), "a sentence: {err}");
        let err = merge::preview(&fx.root, source, target).expect_err("bad input is refused");
        assert_eq!(err.code(), code, "preview, case {name}: {err}");
    }
    let err = merge::apply(&fx.root, &source, "main", Strategy::Squash, "  \n")
        .expect_err("an empty message is refused");
    assert_eq!(err.code(), "merge.empty_message");
    let err = merge::apply(
        &fx.sibling("not-a-repo"),
        &source,
        "main",
        Strategy::Squash,
        "m",
    )
    .expect_err("a folder that is no repository is refused");
    assert_eq!(err.code(), "repo.not_a_repository");
    assert_eq!(before, snapshot(&fx.root), "nothing changed");
}

#[test]
fn strategy_parses_and_serializes_in_lower_case() {
    assert_eq!(
        "squash".parse::<Strategy>().expect("squash"),
        Strategy::Squash
    );
    assert_eq!("Merge".parse::<Strategy>().expect("merge"), Strategy::Merge);
    let err = "rebase".parse::<Strategy>().expect_err("unknown strategy");
    assert_eq!(err.code(), "merge.unknown_strategy");
    assert!(
        err.to_string().contains("rebase"),
        "the sentence quotes the input"
    );
    assert_eq!(
        serde_json::to_string(&Strategy::Squash).expect("json"),
        "\"squash\""
    );
    assert_eq!(
        Strategy::default(),
        Strategy::Squash,
        "squash is the default"
    );
}

#[test]
fn a_target_checked_out_in_a_linked_worktree_is_updated_there() {
    let fx = project();
    let source = variant(&fx, "v1", "main", CHANGES);
    let linked = fx.sibling("linked").join("release");
    fx.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "release",
        linked.to_str().expect("utf-8"),
        "main",
    ]);
    std::fs::write(linked.join("d.txt"), "edit in the linked worktree\n").expect("write");
    let user_before = snapshot(&fx.root);

    let preview = merge::preview(&fx.root, &source, "release").expect("preview");
    assert!(
        preview.checked_out,
        "release is checked out in the linked worktree"
    );
    assert_eq!(
        preview.checked_out_at.as_deref(),
        Some(linked.canonicalize().expect("canonical").as_path())
    );
    merge::apply(&fx.root, &source, "release", Strategy::Squash, "Take it")
        .expect("merging into a clean linked checkout succeeds");

    assert_eq!(
        std::fs::read_to_string(linked.join("c.txt")).expect("c"),
        "charlie\n",
        "the linked worktree shows the merged files"
    );
    assert_eq!(
        git(&linked, &["status", "--porcelain"]),
        " M d.txt",
        "its own edit survives, the rest is clean"
    );
    let user_after = snapshot(&fx.root);
    assert_eq!(
        user_before.files, user_after.files,
        "the main checkout's files are untouched"
    );
    assert_eq!(
        user_before.index, user_after.index,
        "the main checkout's index is untouched"
    );

    std::fs::write(linked.join("src/lib.rs"), "dirty\n").expect("write");
    let source2 = variant(&fx, "v2", "main", &[("src/lib.rs", Some("v2\n"))]);
    let err = merge::apply(&fx.root, &source2, "release", Strategy::Squash, "m")
        .expect_err("a dirty file in the linked worktree refuses");
    assert!(
        matches!(&err, MergeError::UncommittedChanges { files } if files == &["src/lib.rs"]),
        "the dirty file in the linked worktree is named: {err:?}"
    );
}

#[test]
fn a_git_operation_in_progress_refuses() {
    let fx = project();
    let source = variant(&fx, "v1", "main", CHANGES);
    let git_dir = PathBuf::from(fx.git(&["rev-parse", "--absolute-git-dir"]));
    std::fs::write(git_dir.join("MERGE_HEAD"), format!("{source}\n")).expect("write MERGE_HEAD");
    let before = snapshot(&fx.root);

    let err = merge::apply(&fx.root, &source, "main", Strategy::Squash, "m")
        .expect_err("a merge in progress is refused");

    assert_eq!(err.code(), "merge.operation_in_progress", "{err}");
    assert_eq!(before, snapshot(&fx.root), "nothing changed");
}

#[test]
fn a_file_replaced_by_a_folder_merges() {
    let fx = project();
    let source = variant(
        &fx,
        "v1",
        "main",
        &[("b.txt", None), ("b.txt/inner.txt", Some("now a folder\n"))],
    );

    merge::apply(
        &fx.root,
        &source,
        "main",
        Strategy::Squash,
        "file to folder",
    )
    .expect("a tracked file the merge replaces by a folder is no obstacle");

    assert_eq!(fx.read("b.txt/inner.txt"), "now a folder\n");
    assert_eq!(fx.status(), "", "the checkout is clean");
}

#[test]
fn a_locked_index_fails_cleanly_and_changes_nothing() {
    let fx = project();
    let source = variant(&fx, "v1", "main", CHANGES);
    let git_dir = PathBuf::from(fx.git(&["rev-parse", "--absolute-git-dir"]));
    let lock = git_dir.join("index.lock");
    std::fs::write(&lock, b"").expect("lock the index, as a running git would");
    let before = snapshot(&fx.root);

    let err = merge::apply(&fx.root, &source, "main", Strategy::Squash, "m")
        .expect_err("the index cannot be written while another git holds it");

    assert_eq!(err.code(), "merge.git", "{err}");
    assert!(
        err.to_string().contains("try again"),
        "the sentence says what to do: {err}"
    );
    assert_eq!(
        before,
        snapshot(&fx.root),
        "the files written were put back, the branch did not move"
    );
    std::fs::remove_file(&lock).expect("unlock");
    assert_eq!(
        fx.status(),
        "",
        "the checkout is clean once the lock is gone"
    );
}

#[test]
fn a_detached_checkout_is_left_alone() {
    let fx = project();
    let source = variant(&fx, "v1", "main", CHANGES);
    fx.git(&["checkout", "-q", "--detach"]);
    fx.write("a.txt", "edited while detached\n");
    let before = snapshot(&fx.root);

    let preview = merge::preview(&fx.root, &source, "main").expect("preview");
    assert!(
        !preview.checked_out,
        "a detached HEAD does not have main checked out"
    );
    merge::apply(&fx.root, &source, "main", Strategy::Squash, "Take it")
        .expect("main can be merged into while the checkout is detached");

    let after = snapshot(&fx.root);
    assert_ne!(before.refs, after.refs, "main moved");
    assert_eq!(
        before.files, after.files,
        "the detached checkout's files are untouched"
    );
    assert_eq!(before.index, after.index, "its index is untouched");
    assert_eq!(
        fx.git(&["rev-parse", "HEAD"]),
        fx.git(&["rev-parse", "main~1"]),
        "HEAD stays where it was"
    );
}

#[test]
fn a_checkout_with_no_commits_is_refused_clearly() {
    let fx = Fixture::empty();
    let err = merge::preview(&fx.root, "HEAD", "main").expect_err("nothing to merge into");
    assert_eq!(err.code(), "repo.no_commits", "{err}");
}

/// A variant that turns a folder into a file, or into a symlink, merges into
/// a clean checkout (the folder holds only what the merge itself removes);
/// an untracked file of the user's in that folder still refuses it, by name.
#[test]
fn a_folder_replaced_by_a_file_or_a_symlink_merges_into_a_clean_checkout() {
    for kind in ["file", "symlink"] {
        let fx = project();
        fx.write("lib/one.rs", "one\n");
        fx.write("lib/deep/two.rs", "two\n");
        fx.commit_all("a lib folder");
        let dir = fx.sibling("variants").join(kind);
        let branch = format!("fanout/{kind}");
        fx.git(&[
            "worktree",
            "add",
            "-q",
            "-b",
            &branch,
            dir.to_str().expect("utf-8"),
            "main",
        ]);
        std::fs::remove_dir_all(dir.join("lib")).expect("remove the folder");
        match kind {
            "file" => std::fs::write(dir.join("lib"), "now a file\n").expect("write"),
            _ => std::os::unix::fs::symlink("src", dir.join("lib")).expect("symlink"),
        }
        git(&dir, &["add", "-A"]);
        git(&dir, &["commit", "-q", "-m", "lib is no folder"]);
        let source = git(&dir, &["rev-parse", "HEAD"]);

        fx.write("lib/deep/mine.txt", "the user's own\n");
        let err = merge::apply(&fx.root, &source, "main", Strategy::Squash, "m")
            .expect_err("the user's untracked file would be lost");
        assert!(
            matches!(&err, MergeError::UncommittedChanges { files } if files.contains(&"lib".to_string())),
            "{kind}: refused, naming the folder: {err}"
        );
        std::fs::remove_file(fx.root.join("lib/deep/mine.txt")).expect("remove");

        assert!(fx.status().is_empty(), "{kind}: the checkout is clean");
        merge::apply(&fx.root, &source, "main", Strategy::Squash, "m")
            .unwrap_or_else(|e| panic!("{kind}: a clean checkout merges: {e}"));
        let meta = std::fs::symlink_metadata(fx.root.join("lib")).expect("lib");
        match kind {
            "file" => assert_eq!(fx.read("lib"), "now a file\n"),
            _ => assert!(meta.file_type().is_symlink(), "lib is a symlink now"),
        }
        assert_eq!(
            fx.status(),
            "",
            "{kind}: and the checkout is clean after it"
        );
    }
}
