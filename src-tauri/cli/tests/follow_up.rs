//! `fanout follow-up` runs as the experiment was configured when it was
//! created: its check command, permission profile and timeout are stored
//! with it (a follow-up once ran with the defaults, and so with no check).

use std::path::Path;
use std::process::{Command, Output};

use fanout_testsupport::{fake_claude, Fixture};
use serde_json::Value;

fn fanout(home: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args(args)
        .env("FANOUT_HOME", home)
        .env("FANOUT_CLAUDE_BIN", fake_claude())
        .env("FANOUT_FAKE_MODE", "success")
        .output()
        .expect("run fanout")
}

fn ok(out: Output) -> Value {
    assert!(
        out.status.success(),
        "fanout failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
}

#[test]
fn a_follow_up_runs_the_check_the_experiment_was_created_with() {
    let fx = Fixture::new();
    let home = fx.sibling("home");
    let plan = fx.sibling("plan").join("approaches.json");
    std::fs::write(&plan, r#"{"approaches": [{"name": "only"}]}"#).expect("write the plan");
    let root = fx.root.display().to_string();
    let (plan, worktrees) = (plan.display().to_string(), fx.sibling("wt"));
    let run = ok(fanout(
        &home,
        &[
            "--json",
            "run",
            "--repo",
            &root,
            "--task",
            "add a greeting",
            "--approaches",
            &plan,
            "--check",
            "echo checked >> check-ran.txt",
            "--worktree-root",
            &worktrees.display().to_string(),
        ],
    ));
    let id = run["id"].as_str().expect("the experiment id").to_owned();
    let worktree = run["variants"][0]["worktree"]
        .as_str()
        .expect("the variant's worktree")
        .to_owned();
    let ran =
        || std::fs::read_to_string(Path::new(&worktree).join("check-ran.txt")).unwrap_or_default();
    assert_eq!(ran(), "checked\n", "the run's check ran once");

    let followed = ok(fanout(
        &home,
        &["--json", "follow-up", &id, "1", "say more"],
    ));
    assert_eq!(
        followed["results"][0]["status"], "succeeded",
        "the follow-up succeeds: {followed}"
    );
    assert_eq!(
        ran(),
        "checked\nchecked\n",
        "the follow-up ran the experiment's check again"
    );
    assert_eq!(
        followed["results"][0]["check_passed"], true,
        "and its result is the variant's now"
    );
}
