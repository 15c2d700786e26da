//! Scenarios for opening repositories and snapshotting the base.

mod common;

use common::{git, Fixture};
use fanout_engine::repo::{self, RepoError};

#[test]
fn reports_branch_head_and_dirty_count() {
    let fx = Fixture::new();
    fx.write("README.md", "# changed\n");
    fx.write("new.txt", "untracked\n");
    fx.write(".gitignore", "ignored.log\n");
    fx.write("ignored.log", "noise\n");

    let info = repo::inspect(&fx.root).expect("a repository with a commit opens");

    assert_eq!(info.root, fx.root, "the top-level directory is reported");
    assert_eq!(info.branch.as_deref(), Some("main"));
    assert_eq!(info.head.id, fx.head());
    assert_eq!(info.head.summary, "initial commit");
    // README.md modified, new.txt and .gitignore untracked; ignored.log is ignored.
    assert_eq!(info.dirty_files, 3);
}

#[test]
fn a_path_inside_resolves_to_the_top() {
    let fx = Fixture::new();
    fx.write("src/deep/file.rs", "fn main() {}\n");
    fx.commit_all("add src");
    let info = repo::inspect(&fx.root.join("src/deep")).expect("subfolder opens");
    assert_eq!(info.root, fx.root);
}

#[test]
fn detached_head_has_no_branch() {
    let fx = Fixture::new();
    let head = fx.head();
    fx.git(&["checkout", "-q", "--detach", &head]);
    let info = repo::inspect(&fx.root).expect("detached HEAD opens");
    assert_eq!(info.branch, None, "a detached HEAD is not on a branch");
    assert_eq!(info.head.id, head);
}

#[test]
fn a_linked_worktree_opens() {
    let fx = Fixture::new();
    let linked = fx.sibling("linked");
    let linked_path = linked.join("wt");
    fx.git(&[
        "worktree",
        "add",
        "-q",
        "-b",
        "side",
        linked_path.to_str().unwrap(),
    ]);
    let info = repo::inspect(&linked_path).expect("a linked worktree opens");
    assert_eq!(info.root, linked_path.canonicalize().unwrap());
    assert_eq!(info.branch.as_deref(), Some("side"));
}

#[test]
fn bad_inputs_give_clear_errors_and_change_nothing() {
    let fx = Fixture::new();
    let before = fx.status();

    let missing = fx.root.join("no/such/dir");
    let err = repo::inspect(&missing).unwrap_err();
    assert!(matches!(err, RepoError::NotFound { .. }), "{err}");
    assert!(err.to_string().contains("does not exist"), "{err}");

    let err = repo::inspect(&fx.root.join("README.md")).unwrap_err();
    assert!(matches!(err, RepoError::NotADirectory { .. }), "{err}");

    let plain = fx.sibling("plain");
    let err = repo::inspect(&plain).unwrap_err();
    assert!(matches!(err, RepoError::NotARepository { .. }), "{err}");
    assert!(
        err.to_string().contains("git init"),
        "the error says what to do: {err}"
    );

    let bare = fx.sibling("bare.git");
    git(&bare, &["init", "-q", "--bare"]);
    let err = repo::inspect(&bare).unwrap_err();
    assert!(matches!(err, RepoError::Bare { .. }), "{err}");

    let empty = Fixture::empty();
    let err = repo::inspect(&empty.root).unwrap_err();
    assert!(matches!(err, RepoError::NoCommits { .. }), "{err}");
    assert_eq!(
        empty.status(),
        "",
        "opening an empty repository writes nothing"
    );

    assert_eq!(
        fx.status(),
        before,
        "failed opens leave the repository alone"
    );
}

#[test]
fn base_is_head_unless_uncommitted_changes_are_included() {
    let fx = Fixture::new();
    fx.write("README.md", "# dirty\n");
    let base = repo::resolve_base(&fx.root, false, "refs/fanout/base/t1").unwrap();
    assert_eq!(base.commit, fx.head());
    assert_eq!(base.snapshot_ref, None);
    assert!(
        fx.git(&["for-each-ref", "refs/fanout"]).is_empty(),
        "no snapshot ref is made when the base is HEAD"
    );
}

#[test]
fn clean_tree_with_include_uncommitted_is_just_head() {
    let fx = Fixture::new();
    let base = repo::resolve_base(&fx.root, true, "refs/fanout/base/t1").unwrap();
    assert_eq!(base.commit, fx.head(), "nothing to snapshot means HEAD");
    assert_eq!(base.snapshot_ref, None);
}

#[test]
fn snapshot_holds_the_working_tree_without_touching_it() {
    let fx = Fixture::new();
    fx.write("keep.txt", "kept\n");
    fx.write("gone.txt", "to delete\n");
    fx.write(".gitignore", "*.log\n");
    fx.commit_all("more files");
    fx.write("README.md", "# modified\n");
    fx.remove("gone.txt");
    fx.write("fresh/new.txt", "untracked\n");
    fx.write("debug.log", "ignored\n");
    fx.write("staged.txt", "staged only\n");
    fx.git(&["add", "staged.txt"]);

    let head = fx.head();
    let status_before = fx.status();
    let index_before = std::fs::read(fx.root.join(".git/index")).unwrap();

    let base = repo::resolve_base(&fx.root, true, "refs/fanout/base/exp1").unwrap();

    assert_ne!(base.commit, head, "a dirty tree gives a snapshot commit");
    assert_eq!(base.snapshot_ref.as_deref(), Some("refs/fanout/base/exp1"));
    assert_eq!(fx.git(&["rev-parse", "refs/fanout/base/exp1"]), base.commit);
    assert_eq!(
        fx.git(&["rev-parse", &format!("{}^", base.commit)]),
        head,
        "its parent is HEAD"
    );
    assert_eq!(fx.head(), head, "the user's branch does not move");
    assert_eq!(
        fx.git(&["branch", "--contains", &base.commit]),
        "",
        "the snapshot is on no branch"
    );

    let files = fx.git(&["ls-tree", "-r", "--name-only", &base.commit]);
    let files: Vec<&str> = files.lines().collect();
    assert_eq!(
        files,
        [
            ".gitignore",
            "README.md",
            "fresh/new.txt",
            "keep.txt",
            "staged.txt"
        ]
    );
    assert_eq!(
        fx.git(&["show", &format!("{}:README.md", base.commit)]),
        "# modified"
    );

    assert_eq!(
        fx.status(),
        status_before,
        "the working tree and index look the same"
    );
    assert_eq!(
        std::fs::read(fx.root.join(".git/index")).unwrap(),
        index_before,
        "the index file is byte for byte untouched"
    );
}
