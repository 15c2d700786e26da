//! The real Claude Code CLI, run by the engine's claude_code backend against
//! the mock Messages API on 127.0.0.1: no network, no paid API.
//!
//! The binary comes from `FANOUT_CLAUDE_BIN` or from the cache that
//! `scripts/install-claude-code.sh` fills (`make test` runs it first). Without
//! it this test fails and says how to install it: a silently skipped test would
//! hide that the real CLI was never exercised.

mod common;

use common::{claude_binary, claude_offline_env, Fixture};
use fanout_engine::agent::{Agent, ClaudeCode, PermissionProfile, SessionSpec};
use fanout_engine::events::SessionEvent;
use fanout_mock_llm::{MockServer, Script, WriteTool};
use tokio::sync::mpsc;

#[tokio::test]
async fn real_claude_code_writes_a_file_through_the_mock() {
    let binary = claude_binary();
    let fx = Fixture::new();
    let home = tempfile::tempdir().expect("a throwaway HOME");
    let root = fx.root.canonicalize().expect("canonical worktree");
    let target = root.join("hello.txt");
    let content = "Hello from the real Claude Code CLI.\n";
    let script = Script::sequential(Script::write_file(
        WriteTool::ClaudeCode,
        &target.display().to_string(),
        content,
    ));
    let server = MockServer::start(script).await.expect("mock starts");

    let mut spec = SessionSpec::new(&root, "Create hello.txt with a greeting.");
    spec.permission = PermissionProfile::Edits;
    spec.model = Some("claude-sonnet-4-5".into());
    spec.env = claude_offline_env(&server.url(), home.path());
    // Sandboxed, as every agent Fanout runs: only the worktree and the
    // CLI's own state are writable; the repository's git folder is not.
    let bwrap = fanout_engine::sandbox::availability()
        .bwrap
        .clone()
        .filter(|_| fanout_engine::sandbox::availability().available)
        .expect("bubblewrap works here (make test installs it)");
    spec.sandbox = Some(fanout_engine::sandbox::Sandbox {
        bwrap,
        shown: Vec::new(),
        writable: vec![root.clone(), home.path().to_path_buf()],
        readable: Vec::new(),
        pinned: vec![root.join(".git")],
        hidden: Vec::new(),
        network: true,
        moved: None,
    });

    let (tx, mut rx) = mpsc::channel(256);
    let session = ClaudeCode::new(&binary)
        .start(&spec, tx)
        .expect("claude starts");
    let mut events = Vec::new();
    while let Some(event) = rx.recv().await {
        events.push(event);
    }
    let outcome = session.wait().await;
    let requests = server.requests();
    let paths: Vec<String> = requests
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    eprintln!("the CLI asked the mock: {paths:?}");
    assert!(
        outcome.succeeded(),
        "the session succeeds: {:?}; requests: {paths:?}; events: {events:#?}",
        outcome.reason
    );
    assert_eq!(
        std::fs::read_to_string(&target).expect("the CLI wrote the file"),
        content,
        "with the scripted content"
    );

    assert!(
        matches!(events.first(), Some(SessionEvent::Init { .. })),
        "init comes first: {events:#?}"
    );
    let write_id = events.iter().find_map(|e| match e {
        SessionEvent::ToolUse { id, name, .. } if name == "Write" => Some(id.clone()),
        _ => None,
    });
    let write_id = write_id.unwrap_or_else(|| panic!("a Write tool use was reported: {events:#?}"));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::ToolResult { id, ok: true, .. } if *id == write_id)),
        "the Write succeeded: {events:#?}"
    );
    let Some(SessionEvent::Result { ok, turns, .. }) = events
        .iter()
        .rev()
        .find(|e| matches!(e, SessionEvent::Result { .. }))
    else {
        panic!("a result event came: {events:#?}")
    };
    assert!(ok, "the result is ok");
    assert!(
        turns.is_some_and(|t| t >= 2),
        "a tool turn and a closing turn: {turns:?}"
    );
    assert!(
        requests
            .iter()
            .any(|r| r.path == "/v1/messages" && r.body["stream"] == true),
        "the CLI streamed from the mock: {paths:?}"
    );
}

/// The script the desktop end-to-end test uses: one mock, several sessions at
/// once, each writing into its own worktree through `{cwd}`.
#[tokio::test]
async fn parallel_real_sessions_each_write_into_their_own_worktree() {
    let binary = claude_binary();
    let script = Script::per_session(Script::write_file(
        WriteTool::ClaudeCode,
        "{cwd}/variant.txt",
        "written\n",
    ));
    let server = MockServer::start(script).await.expect("mock starts");
    let fixtures: Vec<Fixture> = (0..2).map(|_| Fixture::new()).collect();
    let homes: Vec<tempfile::TempDir> =
        (0..2).map(|_| tempfile::tempdir().expect("HOME")).collect();
    let mut sessions = Vec::new();
    for (fx, home) in fixtures.iter().zip(&homes) {
        let mut spec = SessionSpec::new(
            fx.root.canonicalize().expect("canonical"),
            "Write variant.txt.",
        );
        spec.env = claude_offline_env(&server.url(), home.path());
        let (tx, mut rx) = mpsc::channel(256);
        let session = ClaudeCode::new(&binary)
            .start(&spec, tx)
            .expect("claude starts");
        sessions.push(tokio::spawn(async move {
            while rx.recv().await.is_some() {}
            session.wait().await
        }));
    }
    for (fx, session) in fixtures.iter().zip(sessions) {
        let outcome = session.await.expect("the session task ends");
        assert!(outcome.succeeded(), "{:?}", outcome.reason);
        assert_eq!(
            fx.read("variant.txt"),
            "written\n",
            "each session wrote into its own worktree"
        );
    }
}
