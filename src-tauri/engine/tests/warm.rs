//! Warm worktrees: each new worktree gets its own copy of the checkout's
//! built state (Cargo's `target/` here), never a link into it; what it cost
//! is in the run record; a folder git does not ignore is refused.

mod common;

use std::os::unix::fs::MetadataExt;

use common::{Fixture, Rig};
use fanout_engine::repo_settings::RepoSettings;

/// A Cargo checkout that was built once: `target/` ignored, a build file
/// and a link back into the checkout in it.
fn built_checkout() -> Fixture {
    let fx = Fixture::new();
    fx.write(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n",
    );
    fx.write(".gitignore", "target/\n");
    fx.commit_all("a crate");
    fx.write("target/debug/deps/libdemo.rlib", vec![7u8; 64 * 1024]);
    std::os::unix::fs::symlink(
        fx.root.join("Cargo.toml"),
        fx.root.join("target/debug/back"),
    )
    .expect("a link back into the checkout");
    fx
}

/// Saves the repository's warm setting where the rig's Fanout will read it.
fn save_warm(fx: &Fixture, warm: Option<Vec<String>>) {
    let engine = fanout_engine::experiment::Engine::open(fanout_engine::paths::Paths::at(
        fx.sibling("home"),
    ))
    .expect("engine");
    engine
        .save_repo_settings(
            &fx.root,
            RepoSettings {
                warm,
                ..RepoSettings::default()
            },
        )
        .expect("settings saved");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_worktree_starts_with_its_own_copy_of_the_build() {
    let rig = Rig::with(built_checkout(), &["one", "two"], "claude-code");
    let detected = rig
        .engine()
        .repo_settings(&rig.fx.root)
        .expect("the repository's settings")
        .warm_detected;
    assert_eq!(
        detected.len(),
        1,
        "Cargo's target/ is detected: {detected:?}"
    );
    assert_eq!(detected[0].path, "target");
    let original = rig.fx.root.join("target/debug/deps/libdemo.rlib");
    for v in &rig.view.variants {
        let copy = v.worktree.join("target/debug/deps/libdemo.rlib");
        assert_eq!(
            std::fs::read(&copy).expect("the build file is in the worktree"),
            vec![7u8; 64 * 1024]
        );
        let (a, b) = (
            std::fs::metadata(&original).unwrap(),
            std::fs::metadata(&copy).unwrap(),
        );
        assert!(
            a.ino() != b.ino() || a.dev() != b.dev(),
            "a copy, not a hard link: the variant's build cannot write into the checkout"
        );
        assert!(
            std::fs::symlink_metadata(v.worktree.join("target/debug/back")).is_err(),
            "the link back into the checkout was removed from the copy"
        );
        let warmed = rig
            .events(v.index)
            .await
            .into_iter()
            .find(|e| e.kind == "warmed")
            .expect("the run record says what warming did");
        let folder = &warmed.payload["folders"][0];
        assert_eq!(folder["path"], "target");
        assert!(folder["bytes"].as_u64().unwrap_or(0) >= 64 * 1024);
        assert!(
            ["reflink", "copy"].contains(&folder["method"].as_str().unwrap_or("")),
            "{folder}"
        );
        assert_eq!(folder["links_removed"], 1);
        assert!(warmed.payload["millis"].is_u64());
    }
    assert_eq!(rig.fx.status(), "", "the checkout is untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_folder_git_does_not_ignore_is_not_copied_and_the_record_says_why() {
    let fx = Fixture::new();
    fx.write(
        "Cargo.toml",
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n",
    );
    fx.commit_all("a crate without a .gitignore");
    fx.write("target/debug/x", "built");
    save_warm(&fx, Some(vec!["target".into()]));
    let rig = Rig::with(fx, &["one"], "claude-code");
    let v = &rig.view.variants[0];
    assert!(
        !v.worktree.join("target").exists(),
        "an unignored folder would be committed as the variant's work"
    );
    let warmed = rig
        .events(1)
        .await
        .into_iter()
        .find(|e| e.kind == "warmed")
        .expect("the record says why");
    assert!(
        warmed.payload["skipped"][0]
            .as_str()
            .unwrap_or("")
            .contains("not ignored by git"),
        "{}",
        warmed.payload
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn warming_can_be_turned_off_per_repository() {
    let fx = built_checkout();
    save_warm(&fx, Some(Vec::new()));
    let rig = Rig::with(fx, &["one"], "claude-code");
    assert!(!rig.view.variants[0].worktree.join("target").exists());
    assert!(
        rig.events(1).await.iter().all(|e| e.kind != "warmed"),
        "nothing warmed, nothing recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_check_sees_its_worktree_at_the_checkouts_path_and_writes_only_there() {
    if !fanout_engine::sandbox::availability().available {
        panic!("bubblewrap works here (make test installs it)");
    }
    let rig = Rig::new(&["one"], "claude-code");
    let checkout = rig.fx.root.display().to_string();
    // From the checkout's path: the agent's file is there, git answers for
    // the variant's branch, what the check writes lands in the worktree, and
    // a repository the check makes elsewhere is its own (no GIT_DIR leaks
    // into what the check starts).
    let check = format!(
        "test \"$(pwd)\" = '{checkout}' && test -f fake-output.txt \
         && git rev-parse --abbrev-ref HEAD > branch.txt && echo from-check > by-check.txt \
         && d=$(mktemp -d) && git -C \"$d\" init -q && test -d \"$d/.git\""
    );
    let mut config = common::fake_config(common::fake_claude(), "success");
    config.run.check = Some(check);
    let done = rig.run(config).await;
    let v = &done.variants[0];
    assert_eq!(
        v.status,
        fanout_engine::store::VariantStatus::Succeeded,
        "{:?} {:?}",
        v.error,
        v.check
    );
    assert_eq!(
        std::fs::read_to_string(v.worktree.join("branch.txt"))
            .unwrap()
            .trim(),
        v.branch,
        "git in the check works on the variant's own branch"
    );
    assert!(
        v.worktree.join("by-check.txt").is_file(),
        "the check wrote into its worktree"
    );
    assert!(
        !rig.fx.root.join("by-check.txt").exists() && !rig.fx.root.join("fake-output.txt").exists(),
        "nothing reached the user's checkout"
    );
    assert_eq!(rig.fx.status(), "", "the checkout is untouched");
}
