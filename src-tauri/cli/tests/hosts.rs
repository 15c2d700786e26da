//! `fanout hosts` and `fanout run --host`: a host added from the command
//! line, checked, used for a run whose variants come back as local branches,
//! and an unreachable one refused before anything is created. The host is
//! an OpenSSH server the test starts on 127.0.0.1.

use std::path::Path;
use std::process::{Command, Output};

use fanout_testsupport::{fake_claude, git, Fixture, Sshd};
use serde_json::Value;

fn fanout(home: &Path, sshd: &Sshd, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args(args)
        .env("FANOUT_HOME", home)
        .env("FANOUT_SSH_CONFIG", &sshd.config)
        .output()
        .expect("run fanout")
}

/// `fanout [flags] run` of `approaches` (a plan's JSON) on `host`, with
/// Fanout's data in the fixture's `home`.
fn run_on(fx: &Fixture, sshd: &Sshd, approaches: &str, flags: &[&str], host: &str) -> Output {
    let plan = fx.sibling("plan").join("approaches.json");
    std::fs::write(&plan, approaches).expect("plan");
    let (root, plan) = (fx.root.display().to_string(), plan.display().to_string());
    let mut args: Vec<&str> = flags.to_vec();
    args.extend([
        "run",
        "--repo",
        &root,
        "--task",
        "greet",
        "--approaches",
        &plan,
        "--host",
        host,
    ]);
    fanout(&fx.sibling("home"), sshd, &args)
}

fn succeeded(out: &Output) -> String {
    assert!(
        out.status.success(),
        "fanout failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn a_host_is_added_checked_and_runs_the_variants() {
    let sshd = Sshd::start();
    let fx = Fixture::new();
    let home = fx.sibling("home");
    let workspace = sshd.workspace.display().to_string();
    let agent = fake_claude().display().to_string();
    let added = fanout(
        &home,
        &sshd,
        &[
            "hosts",
            "add",
            Sshd::ALIAS,
            "--capacity",
            "2",
            "--agent-path",
            &agent,
            "--workspace",
            &workspace,
        ],
    );
    succeeded(&added);
    let listed = succeeded(&fanout(&home, &sshd, &["hosts"]));
    assert!(listed.contains(Sshd::ALIAS), "the list names it:\n{listed}");
    let checked = succeeded(&fanout(&home, &sshd, &["hosts", "check", Sshd::ALIAS]));
    assert!(
        checked.contains("git version"),
        "check reports git there:\n{checked}"
    );

    let run = run_on(
        &fx,
        &sshd,
        r#"{"approaches": [{"name": "left"}, {"name": "right"}]}"#,
        &["--json"],
        Sshd::ALIAS,
    );
    let doc: Value = serde_json::from_str(&succeeded(&run)).expect("json");
    let results = doc["results"].as_array().expect("results");
    assert_eq!(results.len(), 2);
    for r in results {
        assert_eq!(r["host"], Sshd::ALIAS, "the results say where each ran");
        assert_eq!(r["status"], "succeeded", "{r}");
        let branch = r["branch"].as_str().expect("a branch");
        let file = git(&fx.root, &["show", &format!("{branch}:fake-output.txt")]);
        assert!(!file.is_empty(), "the host's work is on {branch} here");
    }

    let removed = fanout(&home, &sshd, &["hosts", "remove", Sshd::ALIAS]);
    succeeded(&removed);
    let listed = succeeded(&fanout(&home, &sshd, &["hosts"]));
    assert!(!listed.contains(Sshd::ALIAS), "removed:\n{listed}");
}

#[test]
fn a_run_on_an_unreachable_host_is_refused_before_anything_is_created() {
    let sshd = Sshd::start();
    let fx = Fixture::new();
    let home = fx.sibling("home");
    succeeded(&fanout(&home, &sshd, &["hosts", "add", Sshd::DEAD]));
    let run = run_on(
        &fx,
        &sshd,
        r#"{"approaches": [{"name": "only"}]}"#,
        &[],
        Sshd::DEAD,
    );
    assert_eq!(run.status.code(), Some(1));
    let err = String::from_utf8_lossy(&run.stderr);
    assert!(err.contains("Could not reach the host"), "{err}");
    let listed = succeeded(&fanout(&home, &sshd, &["list"]));
    assert!(
        !listed.contains("greet"),
        "no experiment was recorded:\n{listed}"
    );
    let unknown = fanout(&home, &sshd, &["hosts", "check", "nowhere"]);
    assert_eq!(unknown.status.code(), Some(1));
    let err = String::from_utf8_lossy(&unknown.stderr);
    assert!(err.contains("No host `nowhere`"), "{err}");
}
