//! Scenarios for creating, committing in, resetting and removing worktrees.

mod common;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use common::{git, git_command, Fixture};
use fanout_engine::linked::Linked;
use fanout_engine::slug;
use fanout_engine::worktree::{self, CreatedWorktree, NewWorktree, WorktreeError};

/// A fixture whose git2 sees no global, XDG or system config, so the
/// author-fallback test does not depend on the machine's `~/.gitconfig`.
/// Every test starts here, so the process-wide setting is in place before
/// any test of this binary touches git2.
fn fixture() -> Fixture {
    static EMPTY_CONFIG_HOME: OnceLock<tempfile::TempDir> = OnceLock::new();
    EMPTY_CONFIG_HOME.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir for the empty config");
        for level in [
            git2::ConfigLevel::Global,
            git2::ConfigLevel::XDG,
            git2::ConfigLevel::System,
        ] {
            // SAFETY: runs once, inside OnceLock, before any other git2 call of
            // this test binary (every test calls `fixture()` first).
            unsafe { git2::opts::set_search_path(level, dir.path()) }
                .expect("git2 accepts a config search path");
        }
        dir
    });
    Fixture::new()
}

fn approaches(names: &[&str]) -> Vec<NewWorktree> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| NewWorktree {
            index: i as u32 + 1,
            approach_slug: name.to_string(),
        })
        .collect()
}

/// The worktree as its registration in the main repository names it.
fn linked(fx: &Fixture, wt: &CreatedWorktree) -> Linked {
    Linked::open(&fx.root, &wt.path, &wt.branch).expect("the worktree is registered")
}

fn create(fx: &Fixture, experiment: &str, names: &[&str]) -> Vec<CreatedWorktree> {
    let base = fx.head();
    worktree::create_all(
        &fx.root,
        &fx.sibling("worktrees"),
        experiment,
        &base,
        &approaches(names),
    )
    .expect("worktrees are created")
}

fn rev(dir: &Path, what: &str) -> String {
    git(dir, &["rev-parse", what])
}

/// The worktree paths `git worktree list` reports, the main checkout first.
fn listed_worktrees(fx: &Fixture) -> Vec<PathBuf> {
    fx.git(&["worktree", "list", "--porcelain"])
        .lines()
        .filter_map(|l| l.strip_prefix("worktree "))
        .map(PathBuf::from)
        .collect()
}

fn branch_exists(fx: &Fixture, branch: &str) -> bool {
    git_command(
        &fx.root,
        &[
            "rev-parse",
            "--verify",
            "--quiet",
            &format!("refs/heads/{branch}"),
        ],
    )
    .output()
    .expect("git runs")
    .status
    .success()
}

#[test]
fn worktrees_get_the_specified_paths_and_branches_at_the_base() {
    let fx = fixture();
    let base = fx.head();
    fx.write("later.txt", "after the base\n");
    fx.commit_all("a commit after the base");
    let root = fx.sibling("worktrees");

    let created = worktree::create_all(
        &fx.root,
        &root,
        "rate-limiter",
        &base,
        &approaches(&["token-bucket", "sliding-window"]),
    )
    .expect("two worktrees are created");

    let dir = worktree::experiment_dir(&root, &fx.root, "rate-limiter");
    let group = dir.parent().unwrap().file_name().unwrap().to_str().unwrap();
    let (name, hash) = group.rsplit_once('-').unwrap();
    assert_eq!(
        name, "repo",
        "the group folder starts with the repository's folder name"
    );
    assert!(
        hash.len() == 8 && hash.bytes().all(|b| b.is_ascii_hexdigit()),
        "the group folder ends with 8 hex digits of the path's hash, got {hash}"
    );
    assert_eq!(dir.parent().unwrap().parent().unwrap(), root);
    assert_eq!(
        created,
        vec![
            CreatedWorktree {
                index: 1,
                branch: "fanout/rate-limiter/1-token-bucket".into(),
                path: dir.join("1-token-bucket"),
            },
            CreatedWorktree {
                index: 2,
                branch: "fanout/rate-limiter/2-sliding-window".into(),
                path: dir.join("2-sliding-window"),
            },
        ],
        "branch and folder follow fanout/<experiment>/<n>-<approach>"
    );
    let listed = listed_worktrees(&fx);
    for wt in &created {
        assert!(
            listed.contains(&wt.path),
            "git worktree list shows {:?}",
            wt.path
        );
        assert_eq!(
            rev(&wt.path, "HEAD"),
            base,
            "each worktree starts at the base, not at HEAD"
        );
        assert_eq!(
            git(&wt.path, &["symbolic-ref", "--short", "HEAD"]),
            wt.branch,
            "each worktree has its branch checked out"
        );
        assert_eq!(
            git(&wt.path, &["status", "--porcelain"]),
            "",
            "a new worktree is clean"
        );
        assert!(
            !wt.path.join("later.txt").exists(),
            "files after the base are absent"
        );
    }
    assert_eq!(fx.status(), "", "the user's checkout is untouched");
}

#[test]
fn the_experiment_folder_is_the_same_for_every_spelling_of_the_repository() {
    let fx = fixture();
    let root = Path::new("/data/worktrees");
    let a = worktree::experiment_dir(root, &fx.root, "exp");
    let b = worktree::experiment_dir(root, &fx.root.join("."), "exp");
    assert_eq!(a, b, "the hash is taken of the canonical path");
    let other = Fixture::new();
    assert_ne!(
        worktree::experiment_dir(root, &other.root, "exp"),
        a,
        "two repositories with the same folder name get different folders"
    );
}

#[test]
fn an_existing_branch_gets_a_suffix_and_is_not_moved() {
    let fx = fixture();
    let old = fx.head();
    fx.git(&["branch", "fanout/exp/1-alpha", &old]);
    fx.write("next.txt", "next\n");
    let base = fx.commit_all("second");

    let created = worktree::create_all(
        &fx.root,
        &fx.sibling("worktrees"),
        "exp",
        &base,
        &approaches(&["alpha"]),
    )
    .expect("created beside the existing branch");

    assert_eq!(
        created[0].branch, "fanout/exp/1-alpha-2",
        "the branch gets a suffix"
    );
    assert_eq!(
        created[0].path.file_name().unwrap(),
        "1-alpha-2",
        "the folder gets the same suffix"
    );
    assert_eq!(
        rev(&fx.root, "fanout/exp/1-alpha"),
        old,
        "the old branch still points where it did"
    );
    assert_eq!(rev(&created[0].path, "HEAD"), base);
}

#[test]
fn an_existing_folder_gets_a_suffix_and_keeps_its_content() {
    let fx = fixture();
    let root = fx.sibling("worktrees");
    let taken = worktree::experiment_dir(&root, &fx.root, "exp").join("1-alpha");
    std::fs::create_dir_all(&taken).unwrap();
    std::fs::write(taken.join("notes.txt"), "mine\n").unwrap();

    let created = worktree::create_all(&fx.root, &root, "exp", &fx.head(), &approaches(&["alpha"]))
        .expect("created beside the existing folder");

    assert_eq!(created[0].path, taken.with_file_name("1-alpha-2"));
    assert_eq!(
        created[0].branch, "fanout/exp/1-alpha-2",
        "the branch gets the folder's suffix"
    );
    assert_eq!(
        std::fs::read_to_string(taken.join("notes.txt")).unwrap(),
        "mine\n",
        "the existing folder's content is intact"
    );
    assert!(
        !taken.join("README.md").exists(),
        "nothing was checked out into it"
    );
}

#[test]
fn two_experiments_with_the_same_names_do_not_collide() {
    let fx = fixture();
    let first = create(&fx, "exp", &["alpha"]);
    let second = create(&fx, "exp", &["alpha"]);
    assert_eq!(second[0].branch, "fanout/exp/1-alpha-2");
    assert_ne!(first[0].path, second[0].path);
    assert_eq!(
        listed_worktrees(&fx).len(),
        3,
        "main checkout plus both worktrees"
    );
}

#[test]
fn hostile_task_text_gives_valid_branches_and_folders_inside_the_root() {
    let fx = fixture();
    let root = fx.sibling("worktrees");
    let long = "x".repeat(10_000);
    let cases = [
        "\"quoted\" 'text'",
        "../../escape/../attempt",
        "feature/with/slashes",
        "🚀 rocket 🎉",
        "<script>alert('x')</script>",
        long.as_str(),
    ];
    for text in cases {
        // Through the slug module, as the app does, and raw, as a careless caller might.
        for experiment in [slug::slugify(text), text.to_string()] {
            let created = worktree::create_all(
                &fx.root,
                &root,
                &experiment,
                &fx.head(),
                &[NewWorktree {
                    index: 1,
                    approach_slug: text.to_string(),
                }],
            )
            .unwrap_or_else(|e| panic!("{text:?} must still give a worktree: {e}"));
            let wt = &created[0];
            let check = git_command(&fx.root, &["check-ref-format", "--branch", &wt.branch])
                .output()
                .unwrap();
            assert!(
                check.status.success(),
                "{:?} is a valid branch name",
                wt.branch
            );
            assert!(
                wt.branch.len() < 120,
                "branch names stay bounded: {}",
                wt.branch
            );
            assert!(
                wt.path.starts_with(&root)
                    && wt.path.components().count() == root.components().count() + 3,
                "{:?} stays three levels inside the worktree root",
                wt.path
            );
            assert_eq!(rev(&wt.path, "HEAD"), fx.head());
        }
    }
}

#[test]
fn one_failure_removes_the_others_and_names_the_approach() {
    let fx = fixture();
    // A branch below `fanout/exp/2-beta` makes that name impossible as a ref
    // (a ref cannot be both a file and a folder), so git fails for approach 2.
    fx.git(&["branch", "fanout/exp/2-beta/blocker"]);
    let root = fx.sibling("worktrees");

    let err = worktree::create_all(
        &fx.root,
        &root,
        "exp",
        &fx.head(),
        &approaches(&["alpha", "beta", "gamma"]),
    )
    .expect_err("approach 2 cannot get its branch");

    assert_eq!(err.code(), "worktree.create");
    match &err {
        WorktreeError::Create {
            index, approach, ..
        } => {
            assert_eq!(
                (*index, approach.as_str()),
                (2, "2-beta"),
                "the error names the approach"
            )
        }
        other => panic!("unexpected error {other:?}"),
    }
    assert!(
        err.to_string().contains("2-beta"),
        "the sentence names it too: {err}"
    );
    let dir = worktree::experiment_dir(&root, &fx.root, "exp");
    for name in ["1-alpha", "3-gamma"] {
        assert!(
            !dir.join(name).exists(),
            "{name}'s folder was removed again"
        );
        assert!(
            !branch_exists(&fx, &format!("fanout/exp/{name}")),
            "{name}'s branch was deleted"
        );
    }
    assert_eq!(
        listed_worktrees(&fx),
        vec![fx.root.clone()],
        "no worktree stays registered"
    );
    assert!(
        branch_exists(&fx, "fanout/exp/2-beta/blocker"),
        "the user's branch is untouched"
    );
}

#[test]
fn bad_input_is_refused_before_anything_is_created() {
    let fx = fixture();
    let root = fx.sibling("worktrees");
    let err = worktree::create_all(&fx.root, &root, "exp", &fx.head(), &[]).unwrap_err();
    assert_eq!(err.code(), "worktree.no_approaches");
    let err = worktree::create_all(
        &fx.root,
        &root,
        "exp",
        "0123456789abcdef",
        &approaches(&["a"]),
    )
    .unwrap_err();
    assert_eq!(err.code(), "worktree.unknown_commit", "{err}");
    let err = worktree::create_all(
        &fx.sibling("not-a-repo"),
        &root,
        "exp",
        "HEAD",
        &approaches(&["a"]),
    )
    .unwrap_err();
    assert_eq!(err.code(), "repo.not_a_repository", "{err}");
    assert_eq!(
        std::fs::read_dir(&root).unwrap().count(),
        0,
        "no folder was made"
    );
    assert_eq!(
        fx.git(&["branch", "--list"]),
        "* main",
        "no branch was made"
    );
}

#[test]
fn auto_commit_records_modified_new_and_deleted_files_but_not_ignored_ones() {
    let fx = fixture();
    fx.write("old.txt", "to be deleted\n");
    let base = fx.commit_all("add old.txt");
    let wt = &create(&fx, "exp", &["alpha"])[0];
    std::fs::write(wt.path.join("README.md"), "# changed\n").unwrap();
    std::fs::create_dir_all(wt.path.join("src")).unwrap();
    std::fs::write(wt.path.join("src/new.rs"), "fn main() {}\n").unwrap();
    std::fs::remove_file(wt.path.join("old.txt")).unwrap();
    std::fs::write(wt.path.join(".gitignore"), "*.log\n").unwrap();
    std::fs::write(wt.path.join("debug.log"), "noise\n").unwrap();

    let id = worktree::auto_commit(&linked(&fx, wt), "Variant 1: alpha")
        .expect("commit succeeds")
        .expect("there were changes to commit");

    assert_eq!(
        rev(&fx.root, &wt.branch),
        id,
        "the commit is on the worktree's branch"
    );
    assert_eq!(
        rev(&fx.root, &format!("{id}^")),
        base,
        "its parent is the base"
    );
    let changes = git(&wt.path, &["show", "--name-status", "--format=", &id]);
    let mut lines: Vec<&str> = changes.lines().collect();
    lines.sort();
    assert_eq!(
        lines,
        [
            "A\t.gitignore",
            "A\tsrc/new.rs",
            "D\told.txt",
            "M\tREADME.md"
        ],
        "modified, new and deleted files are committed; debug.log is ignored"
    );
    assert_eq!(
        git(&wt.path, &["log", "-1", "--format=%an <%ae>|%cn <%ce>|%s"]),
        "Fixture Author <author@example.com>|Fixture Author <author@example.com>|Variant 1: alpha",
        "author and committer come from the repository's config"
    );
    assert_eq!(
        git(&wt.path, &["status", "--porcelain"]),
        "",
        "nothing is left uncommitted"
    );
    assert!(
        wt.path.join("debug.log").exists(),
        "the ignored file stays on disk"
    );
    assert_eq!(fx.head(), base, "the user's branch did not move");

    assert_eq!(
        worktree::auto_commit(&linked(&fx, wt), "again").expect("a clean worktree is fine"),
        None,
        "nothing to commit gives None, not an empty commit"
    );
    assert_eq!(rev(&fx.root, &wt.branch), id);
}

#[test]
fn auto_commit_falls_back_to_fanout_when_no_user_is_configured() {
    let fx = fixture();
    fx.git(&["config", "--unset", "user.name"]);
    fx.git(&["config", "--unset", "user.email"]);
    let wt = &create(&fx, "exp", &["alpha"])[0];
    std::fs::write(wt.path.join("new.txt"), "x\n").unwrap();

    worktree::auto_commit(&linked(&fx, wt), "work")
        .unwrap()
        .expect("committed");

    assert_eq!(
        git(&wt.path, &["log", "-1", "--format=%an <%ae>|%cn <%ce>"]),
        "Fanout <fanout@localhost>|Fanout <fanout@localhost>",
        "with no user anywhere in the config, Fanout signs the commit"
    );
}

#[test]
fn auto_commit_and_reset_refuse_the_users_own_checkout() {
    let fx = fixture();
    fx.write("README.md", "# user's work in progress\n");
    let head = fx.head();

    // The user's checkout is no registered worktree, so there is nothing
    // to commit in or reset through.
    let err = Linked::open(&fx.root, &fx.root, "main").unwrap_err();
    assert_eq!(err.code(), "worktree.not_own", "{err}");

    assert_eq!(fx.head(), head, "nothing was committed");
    assert_eq!(
        fx.read("README.md"),
        "# user's work in progress\n",
        "nothing was reset"
    );
    let err = Linked::open(&fx.root, &fx.sibling("gone").join("wt"), "fanout/x/1-a").unwrap_err();
    assert_eq!(err.code(), "worktree.missing", "{err}");
    let wt = &create(&fx, "exp", &["alpha"])[0];
    let err = worktree::auto_commit(&linked(&fx, wt), "  \n").unwrap_err();
    assert_eq!(err.code(), "worktree.empty_message", "{err}");
}

#[test]
fn reset_restores_the_commit_and_removes_untracked_files_but_not_ignored_ones() {
    let fx = fixture();
    fx.write(".gitignore", "target/\n");
    let base = fx.commit_all("ignore target");
    let wt = &create(&fx, "exp", &["alpha"])[0];
    std::fs::write(wt.path.join("committed.txt"), "attempt 1\n").unwrap();
    worktree::auto_commit(&linked(&fx, wt), "attempt 1")
        .unwrap()
        .unwrap();
    std::fs::write(wt.path.join("README.md"), "# edited\n").unwrap();
    std::fs::create_dir_all(wt.path.join("scratch/deep")).unwrap();
    std::fs::write(wt.path.join("scratch/deep/tmp.txt"), "x\n").unwrap();
    std::fs::write(wt.path.join("loose.txt"), "x\n").unwrap();
    std::fs::create_dir_all(wt.path.join("target")).unwrap();
    std::fs::write(wt.path.join("target/cache.bin"), "build output\n").unwrap();

    worktree::reset_to(&linked(&fx, wt), &base).expect("reset succeeds");

    assert_eq!(
        rev(&fx.root, &wt.branch),
        base,
        "the branch moved back to the commit"
    );
    assert_eq!(
        git(&wt.path, &["status", "--porcelain", "--ignored"]),
        "!! target/",
        "only ignored files remain beside tracked ones"
    );
    assert!(
        !wt.path.join("committed.txt").exists(),
        "files of the undone commit are gone"
    );
    assert!(
        !wt.path.join("scratch").exists(),
        "untracked folders are removed"
    );
    assert_eq!(
        std::fs::read_to_string(wt.path.join("README.md")).unwrap(),
        "# fixture\n"
    );
    assert!(
        wt.path.join("target/cache.bin").exists(),
        "ignored build output is kept"
    );
    let err = worktree::reset_to(&linked(&fx, wt), "no-such-commit").unwrap_err();
    assert_eq!(err.code(), "worktree.unknown_commit", "{err}");
}

#[test]
fn remove_keeps_dirty_worktrees_and_the_kept_branch_and_prunes_missing_ones() {
    let fx = fixture();
    let wts = create(&fx, "exp", &["alpha", "beta", "gamma", "delta"]);
    let pairs: Vec<(String, PathBuf)> = wts
        .iter()
        .map(|w| (w.branch.clone(), w.path.clone()))
        .collect();
    std::fs::write(wts[1].path.join("wip.txt"), "unsaved\n").unwrap();
    std::fs::remove_dir_all(&wts[2].path).unwrap();

    let report =
        worktree::remove(&fx.root, &pairs, Some(&wts[0].branch), false).expect("remove runs");

    assert_eq!(
        report.removed,
        vec![wts[0].path.clone(), wts[3].path.clone()]
    );
    assert_eq!(
        report.kept_dirty,
        vec![wts[1].path.clone()],
        "the dirty worktree is kept"
    );
    assert_eq!(
        report.missing_pruned,
        vec![wts[2].path.clone()],
        "a folder deleted by hand is pruned"
    );
    assert_eq!(
        report.branches_deleted,
        vec![wts[2].branch.clone(), wts[3].branch.clone()]
    );
    assert_eq!(
        report.branches_kept,
        vec![wts[0].branch.clone(), wts[1].branch.clone()],
        "the kept branch and the dirty worktree's branch stay"
    );
    assert_eq!(report.messages.len(), 1);
    let message = &report.messages[0];
    assert!(
        message.contains(&wts[1].path.display().to_string()) && message.contains("wip.txt"),
        "the message names the worktree and its change: {message}"
    );
    assert_eq!(
        listed_worktrees(&fx),
        vec![fx.root.clone(), wts[1].path.clone()],
        "only the dirty one remains"
    );
    assert!(branch_exists(&fx, &wts[0].branch), "keep_branch survives");
    assert!(!wts[0].path.exists(), "but its folder is removed");
    assert!(!branch_exists(&fx, &wts[3].branch));
    assert_eq!(
        std::fs::read_dir(fx.root.join(".git/worktrees"))
            .unwrap()
            .count(),
        1,
        "admin files pruned"
    );

    let report = worktree::remove(&fx.root, &pairs[1..2], None, true).expect("forced remove runs");
    assert_eq!(
        report.removed,
        vec![wts[1].path.clone()],
        "force removes the dirty worktree"
    );
    assert_eq!(report.branches_deleted, vec![wts[1].branch.clone()]);
    assert_eq!(
        listed_worktrees(&fx),
        vec![fx.root.clone()],
        "only the main checkout remains"
    );
    assert!(
        !fx.root.join(".git/worktrees").exists()
            || std::fs::read_dir(fx.root.join(".git/worktrees"))
                .unwrap()
                .count()
                == 0
    );
    assert_eq!(
        fx.git(&["branch", "--list"]),
        format!("  {}\n* main", wts[0].branch)
    );
}

#[test]
fn remove_refuses_folders_and_branches_fanout_did_not_create() {
    let fx = fixture();
    let wt = create(&fx, "exp", &["alpha"]).remove(0);

    let err =
        worktree::remove(&fx.root, &[("main".into(), wt.path.clone())], None, true).unwrap_err();
    assert_eq!(err.code(), "worktree.not_fanout_branch", "{err}");
    let err = worktree::remove(
        &fx.root,
        &[
            (wt.branch.clone(), wt.path.clone()),
            ("fanout/x".into(), fx.root.clone()),
        ],
        None,
        true,
    )
    .unwrap_err();
    assert_eq!(
        err.code(),
        "worktree.not_own",
        "the user's checkout is not a worktree to remove: {err}"
    );

    assert!(
        wt.path.join("README.md").exists(),
        "nothing was removed, not even the valid pair"
    );
    assert!(fx.root.join("README.md").exists());
    assert!(branch_exists(&fx, &wt.branch));
}

#[test]
fn disk_usage_counts_files_but_does_not_follow_symlinks() {
    let fx = fixture();
    let dir = fx.sibling("measure");
    std::fs::write(dir.join("big.bin"), vec![7u8; 200_000]).unwrap();
    let outside = fx.sibling("outside");
    std::fs::write(outside.join("huge.bin"), vec![7u8; 2_000_000]).unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(&outside, dir.join("link")).unwrap();

    let used = worktree::disk_usage(&dir);
    assert!(used >= 200_000, "the file's bytes are counted: {used}");
    assert!(
        used < 1_000_000,
        "the linked folder is not followed: {used}"
    );
    assert_eq!(
        worktree::disk_usage(&dir.join("nope")),
        0,
        "a missing folder frees nothing"
    );
}

#[test]
fn a_folder_deleted_by_hand_but_still_registered_is_not_reused() {
    let fx = fixture();
    let old = create(&fx, "exp", &["alpha"]).remove(0);
    std::fs::remove_dir_all(&old.path).unwrap();
    // Only the registration is left: the folder and the branch are gone.
    fx.git(&["update-ref", "-d", &format!("refs/heads/{}", old.branch)]);

    let new = create(&fx, "exp", &["alpha"]).remove(0);

    assert_eq!(
        new.path.file_name().unwrap(),
        "1-alpha-2",
        "git refuses a path that a missing worktree still claims, so a suffix is taken"
    );
    assert_eq!(rev(&new.path, "HEAD"), fx.head());
}

/// An edit that keeps a file's size and lands in the same timestamp as the
/// checkout's index is committed. git trusts an index entry's stat data only
/// when the file is older than the index ("racy git"); the auto-commit stages
/// in a copy of the worktree's index, which must keep that index's time, or
/// the edit is taken for unchanged. The repository compares seconds and size
/// only (`core.checkStat=minimal`, as on file systems with coarse clocks), so
/// the timing is exact rather than a matter of luck.
#[test]
fn a_same_size_edit_in_the_index_timestamp_is_committed() {
    let fx = fixture();
    fx.git(&["config", "core.trustctime", "false"]);
    fx.git(&["config", "core.checkStat", "minimal"]);
    fx.write("lib.rs", "pub fn answer() -> u32 {\n    41\n}\n");
    fx.commit_all("lib");
    let wt = &create(&fx, "exp", &["alpha"])[0];
    let linked = linked(&fx, wt);
    let index_time = std::fs::metadata(linked.git_dir.join("index"))
        .and_then(|m| m.modified())
        .expect("the index's time");
    let file = wt.path.join("lib.rs");
    std::fs::write(&file, "pub fn answer() -> u32 {\n    42\n}\n").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&file)
        .and_then(|f| f.set_modified(index_time))
        .expect("stamp the file");
    // Whatever is written from now on is a second newer than the index.
    std::thread::sleep(std::time::Duration::from_millis(1100));

    let id = worktree::auto_commit(&linked, "same size")
        .expect("commit")
        .expect("the edit is seen");
    let changed = git(&wt.path, &["show", "--name-only", "--format=", &id]);
    assert_eq!(changed, "lib.rs", "the same-size edit is in the commit");
}
