//! The real Gemini CLI (npm `@google/gemini-cli`), run by the engine's gemini
//! backend against the mock Gemini API on 127.0.0.1: no network, no paid API.
//!
//! The CLI comes from `FANOUT_GEMINI_BIN` or from the cache that
//! `scripts/install-gemini-cli.sh` fills (`make test` runs it first). Without
//! it these tests fail and say how to install it: a silently skipped test
//! would hide that the real CLI was never exercised.

mod common;

use std::path::Path;

use common::{gemini_binary, processes_in, Fixture};
use fanout_engine::agent::{
    Agent, Gemini, PermissionProfile, SessionOutcome, SessionSpec, SessionStatus,
};
use fanout_engine::events::SessionEvent;
use fanout_mock_llm::{MockServer, Script, Turn, WriteTool};
use serde_json::json;
use tokio::sync::mpsc;

/// What keeps the CLI on the mock and away from the user's own files: the
/// API key and base URL, a throwaway HOME and temporary directory (the CLI
/// writes error reports there).
fn offline_env(server: &MockServer, home: &Path) -> Vec<(String, String)> {
    [
        ("GOOGLE_GEMINI_BASE_URL", server.url()),
        ("GEMINI_API_KEY", "mock-gemini-key".to_owned()),
        ("HOME", home.display().to_string()),
        ("TMPDIR", home.display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

struct Run {
    events: Vec<SessionEvent>,
    outcome: SessionOutcome,
    requests: Vec<String>,
}

/// Runs the real CLI in `workdir` with Fanout's settings in a throwaway config home.
async fn run(
    server: &MockServer,
    workdir: &Path,
    prompt: &str,
    permission: PermissionProfile,
) -> Run {
    let home = tempfile::tempdir().expect("a throwaway HOME");
    let mut spec = SessionSpec::new(workdir, prompt);
    spec.permission = permission;
    spec.env = offline_env(server, home.path());
    let gemini = Gemini::new(gemini_binary()).with_config_home(home.path().join("fanout-gemini"));
    let (tx, mut rx) = mpsc::channel(256);
    let session = gemini.start(&spec, tx).expect("the CLI starts");
    let mut events = Vec::new();
    while let Some(event) = rx.recv().await {
        events.push(event);
    }
    let outcome = session.wait().await;
    let requests = server
        .requests()
        .iter()
        .map(|r| format!("{} {}", r.method, r.path))
        .collect();
    Run {
        events,
        outcome,
        requests,
    }
}

#[tokio::test]
async fn the_real_gemini_cli_writes_a_file_in_the_worktree() {
    let fx = Fixture::new();
    let root = fx.root.canonicalize().expect("canonical worktree");
    let content = "Hello from the real Gemini CLI.\n";
    // `{cwd}` becomes the workspace directory the CLI names in its requests.
    let script = Script::per_session(Script::write_file(
        WriteTool::Gemini,
        "{cwd}/hello.txt",
        content,
    ));
    let server = MockServer::start(script).await.expect("mock starts");
    let run = run(
        &server,
        &root,
        "Create hello.txt with a greeting.",
        PermissionProfile::Edits,
    )
    .await;
    let (events, requests) = (&run.events, &run.requests);
    eprintln!("the CLI asked the mock: {requests:?}");
    assert!(
        run.outcome.succeeded(),
        "the session succeeds: {:?}; requests: {requests:?}; events: {events:#?}",
        run.outcome.reason
    );
    assert_eq!(
        fx.read("hello.txt"),
        content,
        "the CLI wrote the scripted content into the worktree"
    );
    // Stderr lines (terminal warnings) may come before it.
    let session_id = events
        .iter()
        .find_map(|e| match e {
            SessionEvent::Init { session_id, .. } => Some(session_id),
            _ => None,
        })
        .unwrap_or_else(|| panic!("an init event came: {events:#?}"));
    assert_eq!(
        run.outcome.session_id.as_ref(),
        Some(session_id),
        "the session id a follow-up resumes"
    );
    let write_id = events
        .iter()
        .find_map(|e| match e {
            SessionEvent::ToolUse { id, name, .. } if name == "write_file" => Some(id.clone()),
            _ => None,
        })
        .unwrap_or_else(|| panic!("a write_file tool use was reported: {events:#?}"));
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::ToolResult { id, ok: true, .. } if *id == write_id)),
        "the write succeeded: {events:#?}"
    );
    assert!(
        events.iter().any(
            |e| matches!(e, SessionEvent::AssistantText { text } if text.starts_with("Wrote "))
        ),
        "the closing text arrived whole: {events:#?}"
    );
    assert!(
        matches!(events.last(), Some(SessionEvent::Result { ok: true, .. })),
        "an ok result ends it: {events:#?}"
    );
    assert!(
        events.iter().all(|e| e.kind() != "raw"),
        "every line the CLI printed was understood: {events:#?}"
    );
    assert!(
        server
            .model_requests()
            .iter()
            .all(|r| r.api_key.as_deref() == Some("mock-gemini-key")),
        "GEMINI_API_KEY reached the API on every model call"
    );
    assert_eq!(
        requests
            .iter()
            .filter(|r| r.ends_with(":streamGenerateContent"))
            .count(),
        2,
        "a tool turn and a closing turn, streamed: {requests:?}"
    );
}

#[tokio::test]
async fn in_yolo_mode_the_real_cli_runs_shell_commands() {
    let fx = Fixture::new();
    let root = fx.root.canonicalize().expect("canonical worktree");
    let script = Script::per_session(vec![
        Turn::tool(
            "run_shell_command",
            json!({"command": "printf 'from the shell\\n' > shell.txt", "description": "Write shell.txt"}),
        ),
        Turn::text("Ran it."),
    ]);
    let server = MockServer::start(script).await.expect("mock starts");
    let run = run(
        &server,
        &root,
        "Run the command.",
        PermissionProfile::EditsAndCommands,
    )
    .await;
    assert!(
        run.outcome.succeeded(),
        "{:?}; events: {:#?}",
        run.outcome.reason,
        run.events
    );
    assert_eq!(
        fx.read("shell.txt"),
        "from the shell\n",
        "edits and commands (yolo) let the model run a command in the worktree"
    );
}

#[tokio::test]
async fn an_api_error_fails_the_session_with_the_apis_message() {
    let fx = Fixture::new();
    let root = fx.root.canonicalize().expect("canonical worktree");
    let script = Script::sequential(vec![Turn::BadRequest {
        message: "The mock refuses this request.".into(),
    }]);
    let server = MockServer::start(script).await.expect("mock starts");
    let run = run(
        &server,
        &root,
        "Create hello.txt.",
        PermissionProfile::Edits,
    )
    .await;
    assert_eq!(
        run.outcome.status,
        SessionStatus::Failed,
        "{:?}; events: {:#?}",
        run.outcome.reason,
        run.events
    );
    let reason = run.outcome.reason.as_deref().unwrap_or_default();
    assert!(
        reason.starts_with("The Gemini CLI reported an error: The mock refuses this request")
            && reason.contains("HTTP 400"),
        "the reason is the API's own message: {reason}"
    );
    assert!(
        !reason.contains("mock-gemini-key"),
        "the API key stays out of the reason"
    );
    assert!(
        !root.join("hello.txt").exists(),
        "nothing was written without a model reply"
    );
}

#[tokio::test]
async fn a_missing_api_key_is_explained() {
    let fx = Fixture::new();
    let server = MockServer::start(Script::default())
        .await
        .expect("mock starts");
    let home = tempfile::tempdir().expect("a throwaway HOME");
    let mut spec = SessionSpec::new(&fx.root, "Create hello.txt.");
    spec.env = offline_env(&server, home.path());
    // Empty counts as missing for the CLI, and overrides a key this test inherited.
    spec.env.retain(|(key, _)| key != "GEMINI_API_KEY");
    spec.env.push(("GEMINI_API_KEY".into(), String::new()));
    let gemini = Gemini::new(gemini_binary()).with_config_home(home.path().join("fanout-gemini"));
    let (tx, mut rx) = mpsc::channel(256);
    let session = gemini.start(&spec, tx).expect("the CLI starts");
    while rx.recv().await.is_some() {}
    let outcome = session.wait().await;
    assert_eq!(outcome.status, SessionStatus::Failed, "{outcome:?}");
    assert_eq!(
        outcome.reason.as_deref(),
        Some("The Gemini CLI has no API key: set GEMINI_API_KEY (a key from Google AI Studio) in the environment Fanout runs in, then retry."),
        "says what is missing and what to do, not just an exit code"
    );
    assert!(
        server.requests().is_empty(),
        "nothing reached the API without a key"
    );
}

/// The CLI starts a second node process for itself; cancelling must end both.
#[tokio::test]
async fn cancelling_stops_the_cli_and_the_node_process_it_started() {
    let fx = Fixture::new();
    let root = fx.root.canonicalize().expect("canonical worktree");
    let slow = Turn::Reply(fanout_mock_llm::Reply {
        text: Some("This answer takes a long time.".into()),
        delay_ms: 60_000,
        ..fanout_mock_llm::Reply::new()
    });
    let server = MockServer::start(Script::sequential(vec![slow]))
        .await
        .expect("mock starts");
    let home = tempfile::tempdir().expect("a throwaway HOME");
    let mut spec = SessionSpec::new(&root, "Answer slowly.");
    spec.env = offline_env(&server, home.path());
    spec.grace = std::time::Duration::from_secs(2);
    let gemini = Gemini::new(gemini_binary()).with_config_home(home.path().join("fanout-gemini"));
    let (tx, mut rx) = mpsc::channel(256);
    let session = gemini.start(&spec, tx).expect("the CLI starts");
    let drained = tokio::spawn(async move { while rx.recv().await.is_some() {} });
    // The slow model call is under way once the mock has it.
    while server.model_requests().is_empty() {
        assert!(
            !drained.is_finished(),
            "the CLI ended before calling the model"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(
        processes_in(&root).len() >= 2,
        "the CLI and its relaunched node process run in the worktree"
    );
    session.cancel();
    let outcome = session.wait().await;
    drained.await.expect("the events end with the session");
    assert_eq!(outcome.status, SessionStatus::Cancelled, "{outcome:?}");
    assert_eq!(
        processes_in(&root),
        Vec::<u32>::new(),
        "no process of the session is left"
    );
}

/// Through the orchestrator, as `fanout run --agent gemini` and the app run
/// it: the variant succeeds with its file, and a follow-up resumes the CLI's
/// session (the mock sees the first turn's history again).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orchestrator_runs_a_gemini_variant_and_its_follow_up() {
    use common::Rig;
    use fanout_engine::agent::gemini::{ensure_settings, CONFIG_HOME_VAR};
    use fanout_engine::orchestrator::{Config, Environment, Executables};
    use fanout_engine::store::VariantStatus;

    let fx = Fixture::new();
    let home = tempfile::tempdir().expect("a throwaway HOME");
    let config_home = home.path().join("gemini-config");
    ensure_settings(&config_home).expect("settings written");
    let script = Script::per_session(vec![
        Script::write_file(WriteTool::Gemini, "{cwd}/hello.txt", "first\n").remove(0),
        Turn::text("Wrote hello.txt."),
        Turn::text("Follow-up answered."),
    ]);
    let server = MockServer::start(script).await.expect("mock starts");
    let rig = Rig::with(fx, &["direct"], "gemini");
    let mut env = offline_env(&server, home.path());
    env.push((CONFIG_HOME_VAR.into(), config_home.display().to_string()));
    let config = Config {
        environment: Environment {
            executables: Executables {
                gemini: Some(gemini_binary()),
                ..Executables::default()
            },
            env,
            ..Environment::default()
        },
        ..Config::default()
    };
    let done = rig.run(config).await;
    let variant = &done.variants[0];
    assert_eq!(
        variant.status,
        VariantStatus::Succeeded,
        "the gemini variant succeeds: {:?}; requests: {:?}",
        variant.error,
        server
            .requests()
            .iter()
            .map(|r| &r.path)
            .collect::<Vec<_>>()
    );
    assert_eq!(
        std::fs::read_to_string(variant.worktree.join("hello.txt")).expect("the file exists"),
        "first\n",
        "written in the variant's worktree"
    );

    let done = rig
        .follow_up(1, "Now say what you did.")
        .await
        .expect("the follow-up runs");
    let followed = &done.variants[0];
    assert_eq!(
        followed.status,
        VariantStatus::Succeeded,
        "the resumed session succeeds: {:?}",
        followed.error
    );
    let last = server
        .model_requests()
        .pop()
        .expect("the follow-up asked the model");
    let history = last.body["contents"]
        .as_array()
        .cloned()
        .unwrap_or_default();
    let earlier_write = history.iter().any(|content| {
        content["role"] == "model"
            && content["parts"].as_array().is_some_and(|parts| {
                parts
                    .iter()
                    .any(|p| p["functionCall"]["name"] == "write_file")
            })
    });
    assert!(
        earlier_write,
        "the follow-up carries the first session's write_file turn, so --resume worked: {history:#?}"
    );
    assert!(
        last.body_text().contains("Now say what you did."),
        "and the new instruction"
    );
}
