//! `fanout pr`: the variant's branch pushed to a local bare remote and the
//! pull request opened on a mock GitHub API; its URL printed.

use std::path::Path;
use std::process::{Command, Output};

use fanout_mock_llm::MockGitHub;
use fanout_testsupport::{fake_claude, git, Fixture};
use serde_json::{json, Value};

fn fanout(home: &Path, api: &str, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args(args)
        .env("FANOUT_HOME", home)
        .env("FANOUT_CLAUDE_BIN", fake_claude())
        .env("GH_TOKEN", "ghp_cli0123456789abcdef")
        .env("GITHUB_API_URL", api)
        .output()
        .expect("run fanout")
}

#[test]
fn fanout_pr_pushes_opens_and_prints_the_url() {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime for the mock");
    let github = runtime
        .block_on(MockGitHub::start(vec![(
            201,
            json!({"html_url": "https://github.example/acme/rocket/pull/12", "number": 12}),
        )]))
        .expect("mock github");
    let fx = Fixture::new();
    let home = fx.sibling("home");
    let remote = fx.sibling("remote.git");
    git(&remote, &["init", "-q", "--bare"]);
    fx.git(&["remote", "add", "origin", &remote.display().to_string()]);
    let plan = fx.sibling("plan").join("approaches.json");
    std::fs::write(&plan, r#"{"approaches": [{"name": "only"}]}"#).expect("plan");
    let root = fx.root.display().to_string();
    let run = fanout(
        &home,
        &github.url(),
        &[
            "--json",
            "run",
            "--repo",
            &root,
            "--task",
            "greet",
            "--approaches",
            &plan.display().to_string(),
        ],
    );
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let id: Value = serde_json::from_slice(&run.stdout).expect("json");
    let id = id["id"].as_str().expect("id")[..8].to_owned();

    let refused = fanout(&home, &github.url(), &["pr", &id, "1"]);
    assert_eq!(refused.status.code(), Some(1));
    let err = String::from_utf8_lossy(&refused.stderr);
    assert!(err.contains("cannot tell which GitHub repository"), "{err}");

    let out = fanout(
        &home,
        &github.url(),
        &[
            "pr",
            &id,
            "1",
            "--github",
            "acme/rocket",
            "--branch",
            "greet-only",
            "--title",
            "Greet",
        ],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        "https://github.example/acme/rocket/pull/12",
        "the pull request's URL is printed"
    );
    assert!(!git(&remote, &["rev-parse", "refs/heads/greet-only"]).is_empty());
    let sent = github.requests();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].body["title"], "Greet");
    assert_eq!(sent[0].body["head"], "greet-only");
}
