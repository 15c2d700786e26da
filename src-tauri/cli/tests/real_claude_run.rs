//! `fanout run` end to end with the real Claude Code CLI: the real `fanout`
//! binary runs three variants in parallel, each a real `claude -p` session
//! talking to the mock Messages API on 127.0.0.1 (no network, no paid API).
//!
//! The CLI comes from `FANOUT_CLAUDE_BIN` or from the cache that
//! `scripts/install-claude-code.sh` fills (`make test` runs it first). Without
//! it this test fails and says how to install it: a silently skipped test would
//! hide that the real CLI was never exercised.

#[path = "../../engine/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::Command;

use common::{claude_binary, claude_offline_env, Fixture};
use fanout_mock_llm::{MockServer, Script, WriteTool};
use serde_json::Value;

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// Each approach's name, which its session's prompt (and so every request of
/// that session) carries, and the file its scripted session writes.
const APPROACHES: [(&str, &str); 3] = [
    ("amber-fox", "amber.txt"),
    ("basalt-owl", "basalt.txt"),
    ("cedar-lynx", "cedar.txt"),
];

fn content_of(file: &str) -> String {
    format!("written by the session that owns {file}\n")
}

/// One conversation per approach, keyed by its name: a `Write` of its own file
/// into the session's working directory, then a closing text.
fn script() -> Script {
    APPROACHES
        .iter()
        .fold(Script::default(), |script, (name, file)| {
            script.keyed_per_session(
                *name,
                Script::write_file(
                    WriteTool::ClaudeCode,
                    &format!("{{cwd}}/{file}"),
                    &content_of(file),
                ),
            )
        })
}

#[test]
fn fanout_run_drives_three_real_claude_code_sessions() {
    let claude = claude_binary();
    let runtime = tokio::runtime::Runtime::new().expect("a runtime for the mock");
    let server = runtime
        .block_on(MockServer::start(script()))
        .expect("the mock binds 127.0.0.1");
    let fx = Fixture::new();
    let fanout_home = tempfile::tempdir().expect("FANOUT_HOME");
    let home = tempfile::tempdir().expect("a throwaway HOME for the CLI");
    let plan = fx.sibling("plan").join("approaches.json");
    let approaches: Vec<Value> = APPROACHES
        .iter()
        .map(|(name, file)| {
            serde_json::json!({
                "name": name,
                "description": format!("Create {file}."),
                "guidelines": "Touch nothing else.",
            })
        })
        .collect();
    std::fs::write(
        &plan,
        serde_json::json!({ "approaches": approaches }).to_string(),
    )
    .unwrap();
    let worktrees = fx
        .sibling("wt")
        .canonicalize()
        .expect("canonical worktree root");

    let out = Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args([
            "--json",
            "run",
            "--repo",
            s(&fx.root),
            "--task",
            "Leave a marker file for the reviewers",
            "-n",
            "3",
            "--approaches",
            s(&plan),
            "--agent",
            "claude-code",
            "--timeout",
            "300",
            "--worktree-root",
            s(&worktrees),
        ])
        .env("FANOUT_HOME", fanout_home.path())
        .env("FANOUT_CLAUDE_BIN", &claude)
        .envs(claude_offline_env(&server.url(), home.path()))
        .output()
        .expect("run fanout");
    let requests: Vec<String> = server
        .requests()
        .iter()
        .map(|r| format!("{} {} -> {:?}", r.method, r.path, r.conversation))
        .collect();
    assert!(
        out.status.success(),
        "fanout run with the real CLI failed: {}\nrequests to the mock: {requests:#?}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    let results = doc["results"].as_array().expect("results are listed");
    assert_eq!(results.len(), 3, "one result per approach");

    for (r, (name, file)) in results.iter().zip(APPROACHES) {
        assert_eq!(r["name"], name, "results keep the approaches' order");
        assert_eq!(r["status"], "succeeded", "{r}");
        assert_eq!(r["agent"], "claude_code", "{r}");
        assert!(
            r["turns"].as_u64().is_some_and(|t| t >= 2),
            "a Write turn and a closing turn, from the CLI's result line: {r}"
        );
        assert!(
            r["cost_usd"].is_number(),
            "the CLI's reported cost is kept: {r}"
        );
        assert!(
            r["summary"]
                .as_str()
                .is_some_and(|s| s.starts_with("Wrote ") && s.contains(file)),
            "the summary is the session's closing text: {r}"
        );
        assert_eq!(r["files_changed"], 1, "only its own file changed: {r}");
        assert_eq!(r["lines_added"], 1, "{r}");

        let branch = r["branch"].as_str().expect("the variant's branch");
        assert_eq!(
            fx.git(&["show", &format!("{branch}:{file}")]),
            content_of(file).trim_end(),
            "{name}'s file, with its scripted content, is committed on its branch"
        );
        assert_eq!(
            fx.git(&["rev-list", "--count", &format!("{}..{branch}", fx.head())]),
            "1",
            "{name}: one commit on top of the base"
        );
    }

    let served: std::collections::BTreeSet<usize> = server
        .model_requests()
        .iter()
        .filter_map(|r| r.conversation)
        .collect();
    assert_eq!(
        served,
        [0, 1, 2].into(),
        "each session was answered by its own conversation: {requests:#?}"
    );
    assert!(
        server
            .model_requests()
            .iter()
            .all(|r| r.body["stream"] == true),
        "the CLI streamed every answer: {requests:#?}"
    );

    let id = doc["id"].as_str().expect("the experiment id");
    let report = Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args(["report", id])
        .env("FANOUT_HOME", fanout_home.path())
        .output()
        .expect("fanout report");
    assert!(report.status.success());
    let markdown = String::from_utf8_lossy(&report.stdout);
    for (i, (name, _)) in APPROACHES.iter().enumerate() {
        assert!(
            markdown.contains(&format!("## {}. {name}", i + 1)),
            "the report has a section for {name}: {markdown}"
        );
    }
}
