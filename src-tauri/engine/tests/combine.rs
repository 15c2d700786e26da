//! Combining variants by hand on a real repository: hunks from two variants
//! in one file, a new file, a deletion, a rename and a binary file from a
//! third; the combined branch must be exactly what `git apply` of the same
//! hunks and files onto the base makes. Overlapping picks are refused
//! before anything is written.

mod common;

use std::path::Path;
use std::process::Command;

use common::{git, Fixture, Rig};
use fanout_engine::combine::Take;
use fanout_engine::ids::VariantIndex;
use fanout_engine::merge::Strategy;
use fanout_engine::store::VariantStatus;

/// 40 numbered lines: far enough apart for hunks at lines 3 and 30.
fn numbered() -> String {
    (1..=40).map(|i| format!("line {i}\n")).collect()
}

fn edit_line(text: &str, n: usize, to: &str) -> String {
    text.lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == n {
                format!("{to}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

/// Variant 1 edits line 3 and adds a.rs; 2 edits line 30 and deletes
/// old.txt; 3 edits line 4, renames r.txt and changes a binary file.
fn experiment() -> Rig {
    let fx = Fixture::new();
    fx.write("lib.rs", numbered());
    fx.write("old.txt", "old\n");
    fx.write(
        "r.txt",
        "a file that moves, long enough to be found as a rename\n",
    );
    fx.write("bin.dat", [0u8, 1, 2, 3, 255, 0, 7]);
    fx.commit_all("files to change");
    let rig = Rig::with(fx, &["one", "two", "three"], "command");
    let wt = |i: usize| rig.view.variants[i].worktree.clone();
    let write = |dir: &Path, rel: &str, content: &[u8]| {
        std::fs::write(dir.join(rel), content).expect("write")
    };
    write(
        &wt(0),
        "lib.rs",
        edit_line(&numbered(), 3, "line three, by one").as_bytes(),
    );
    write(&wt(0), "a.rs", b"pub fn a() {}\n");
    write(
        &wt(1),
        "lib.rs",
        edit_line(&numbered(), 30, "line thirty, by two").as_bytes(),
    );
    std::fs::remove_file(wt(1).join("old.txt")).expect("delete");
    write(
        &wt(2),
        "lib.rs",
        edit_line(&numbered(), 4, "line four, by three").as_bytes(),
    );
    std::fs::rename(wt(2).join("r.txt"), wt(2).join("r2.txt")).expect("rename");
    write(&wt(2), "bin.dat", &[9u8, 0, 8, 0, 7]);
    rig.engine().commit(&rig.id, None).expect("committed");
    rig
}

fn take(text: &str) -> Take {
    text.parse().expect("a pick")
}

/// The tree `git apply --cached` makes of the same picks on the base.
fn applied_by_git(rig: &Rig, picks: &[(u32, &[&str], Option<usize>)]) -> String {
    let root = &rig.fx.root;
    let index = rig.fx.sibling("apply").join("index");
    let base = &rig.view.experiment.base_commit;
    let with_index = |args: &[&str]| {
        let out = Command::new("git")
            .args(args)
            .current_dir(root)
            .env("GIT_INDEX_FILE", &index)
            .env("GIT_CONFIG_GLOBAL", "/dev/null")
            .output()
            .expect("git");
        assert!(
            out.status.success(),
            "git {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    with_index(&["read-tree", base]);
    for (variant, paths, hunk) in picks {
        let branch = &rig.view.variants[*variant as usize - 1].branch;
        let mut args = vec![
            "diff",
            "-M",
            "--binary",
            "--full-index",
            base.as_str(),
            branch.as_str(),
            "--",
        ];
        args.extend(paths.iter());
        // Untrimmed: a binary patch ends with a blank line.
        let out = common::git_command(root, &args).output().expect("git diff");
        let patch = String::from_utf8_lossy(&out.stdout).into_owned();
        let patch = match hunk {
            None => patch,
            Some(n) => only_hunk(&patch, *n),
        };
        let file = rig
            .fx
            .sibling("patches")
            .join(format!("{variant}-{}.patch", hunk.unwrap_or(0)));
        std::fs::write(&file, patch).expect("write the patch");
        with_index(&["apply", "--cached", &file.display().to_string()]);
    }
    with_index(&["write-tree"]).trim().to_owned()
}

/// The header of a one-file patch and its `n`th hunk.
fn only_hunk(patch: &str, n: usize) -> String {
    let mut parts = patch.split("\n@@");
    let header = parts.next().unwrap_or_default();
    let hunk = parts.nth(n - 1).expect("the hunk exists");
    format!("{header}\n@@{hunk}\n")
}

#[test]
fn the_combined_variant_is_what_git_apply_of_the_same_picks_makes() {
    let rig = experiment();
    let picks = [
        take("1:lib.rs#1"),
        take("2:lib.rs#1"),
        take("1:a.rs"),
        take("2:old.txt"),
        take("3:r2.txt"),
        take("3:bin.dat"),
    ];
    let combined = rig.engine().combine(&rig.id, &picks).expect("combined");
    assert_eq!(combined.index, 4, "a fourth variant");
    assert_eq!(combined.status, VariantStatus::Succeeded);
    assert_eq!(
        combined.description,
        "combined from 1: lib.rs#1, 2: lib.rs#1, 1: a.rs, 2: old.txt, 3: r2.txt, 3: bin.dat"
    );
    let tree = git(
        &rig.fx.root,
        &["rev-parse", &format!("{}^{{tree}}", combined.branch)],
    );
    let expected = applied_by_git(
        &rig,
        &[
            (1, &["lib.rs"], Some(1)),
            (2, &["lib.rs"], Some(1)),
            (1, &["a.rs"], None),
            (2, &["old.txt"], None),
            (3, &["r.txt", "r2.txt"], None),
            (3, &["bin.dat"], None),
        ],
    );
    assert_eq!(tree, expected, "the same tree as git apply makes");
    let lib = std::fs::read_to_string(combined.worktree.join("lib.rs")).expect("checked out");
    assert!(lib.contains("line three, by one") && lib.contains("line thirty, by two"));
    assert!(!lib.contains("by three"), "only the picked hunks");
    assert!(
        !combined.worktree.join("old.txt").exists() && combined.worktree.join("r2.txt").exists()
    );

    let view = rig.engine().experiment(&rig.id).expect("reload");
    assert_eq!(view.variants.len(), 4, "recorded with the others");
    rig.engine()
        .merge(&rig.id, VariantIndex(4), None, Strategy::Squash, None)
        .expect("the combined variant merges like any other");
    assert!(rig.fx.read("lib.rs").contains("line thirty, by two"));
}

#[test]
fn overlapping_or_impossible_picks_are_refused_before_anything_is_written() {
    let rig = experiment();
    let branches = || git(&rig.fx.root, &["branch", "--list", "fanout/*"]);
    let before = branches();
    let refused = |picks: &[&str]| {
        let picks: Vec<Take> = picks.iter().map(|p| take(p)).collect();
        rig.engine().combine(&rig.id, &picks).expect_err("refused")
    };

    let err = refused(&["1:lib.rs#1", "3:lib.rs#1"]);
    assert_eq!(err.code(), "combine.overlap", "{err}");
    assert!(
        err.to_string().contains("1:lib.rs#1") && err.to_string().contains("3:lib.rs#1"),
        "both picks are named: {err}"
    );
    assert_eq!(
        refused(&["1:lib.rs", "2:lib.rs#1"]).code(),
        "combine.overlap",
        "a whole file and a hunk of it"
    );
    assert_eq!(
        refused(&["1:a.rs#1"]).code(),
        "combine.whole_only",
        "an added file is taken whole"
    );
    assert_eq!(refused(&["3:bin.dat#1"]).code(), "combine.whole_only");
    assert_eq!(refused(&["2:a.rs"]).code(), "combine.not_changed");
    let err = refused(&["1:lib.rs#2"]);
    assert_eq!(err.code(), "combine.no_such_hunk", "{err}");
    assert!(err.to_string().contains("1 hunk"), "{err}");
    assert_eq!(refused(&[]).code(), "combine.nothing_taken");

    assert_eq!(branches(), before, "no branch was made");
    assert_eq!(
        rig.engine()
            .experiment(&rig.id)
            .expect("reload")
            .variants
            .len(),
        3,
        "no variant was recorded"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_combined_variant_runs_the_experiments_check_alone() {
    use fanout_engine::orchestrator::{Config, Job, RunConfig};
    let rig = experiment();
    let check = Job::Check {
        experiment: rig.id.clone(),
        variant: VariantIndex(1),
    };
    let err = rig.submit(check).await.expect_err("no check command");
    assert_eq!(err.code(), "orchestrator.no_check", "{err}");

    rig.configure(&Config {
        run: RunConfig {
            check: Some("grep -q 'by two' lib.rs && grep -q 'by one' lib.rs".into()),
            ..RunConfig::default()
        },
        ..common::fake_config(common::fake_claude(), "success")
    })
    .await;
    let combined = rig
        .engine()
        .combine(&rig.id, &[take("1:lib.rs#1"), take("2:lib.rs#1")])
        .expect("combined");
    for (index, passes) in [(combined.index, true), (1, false)] {
        let job = Job::Check {
            experiment: rig.id.clone(),
            variant: VariantIndex(index),
        };
        rig.submit(job)
            .await
            .expect("the check starts")
            .finished()
            .await;
        let view = rig.load().await;
        let v = view
            .variants
            .iter()
            .find(|v| v.index == index)
            .expect("the variant");
        let check = v.check.as_ref().expect("a check result");
        assert_eq!(
            check.exit_code == Some(0),
            passes,
            "variant {index}: {check:?}"
        );
        let status = if passes {
            VariantStatus::Succeeded
        } else {
            VariantStatus::Failed
        };
        assert_eq!(v.status, status, "variant {index}: {:?}", v.error);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_synthesis_is_prompted_with_the_chosen_work_and_the_note() {
    use fanout_engine::orchestrator::Job;
    let rig = experiment();
    rig.configure(&common::fake_config(common::fake_claude(), "success"))
        .await;
    let synthesis = rig
        .engine()
        .add_synthesis(
            &rig.id,
            &[VariantIndex(1), VariantIndex(2)],
            "take 1's line three and 2's line thirty",
            Some("claude-code".into()),
        )
        .expect("added");
    assert_eq!(synthesis.index, 4);
    assert_eq!(synthesis.status, VariantStatus::Ready);
    rig.submit(Job::Run {
        experiment: rig.id.clone(),
    })
    .await
    .expect("it runs")
    .finished()
    .await;
    let view = rig.load().await;
    let v = &view.variants[3];
    assert_eq!(v.status, VariantStatus::Succeeded, "{:?}", v.error);
    // The fake agent writes its prompt into fake-output.txt.
    let prompt = std::fs::read_to_string(v.worktree.join("fake-output.txt")).expect("written");
    for wanted in [
        "take 1's line three and 2's line thirty",
        "+line three, by one",
        "+line thirty, by two",
    ] {
        assert!(
            prompt.contains(wanted),
            "the prompt carries {wanted:?}:\n{prompt}"
        );
    }
    assert!(
        !prompt.contains("by three"),
        "only the chosen variants' work"
    );
}
