//! The Gemini CLI backend without the CLI: its command line, and its parser on
//! recordings of the real CLI 0.61.0 (tests/fixtures/recordings/gemini_*,
//! made against fanout-mock-llm; paths rewritten to /home/user/project).

use std::path::PathBuf;

use fanout_engine::agent::gemini::{approval_mode, GeminiParser};
use fanout_engine::agent::{self, AgentKind, Gemini, PermissionProfile, SessionSpec};
use fanout_engine::agent::{Agent, SessionOutcome, SessionStatus};
use fanout_engine::events::{SessionEvent, Stream};
use serde_json::json;
use tokio::sync::mpsc;

fn recording(name: &str) -> String {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/recordings")
        .join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("recording {} is readable: {e}", path.display()))
}

fn parse(parser: &mut GeminiParser, name: &str) -> Vec<SessionEvent> {
    recording(name)
        .lines()
        .flat_map(|line| parser.parse_line(line))
        .collect()
}

#[test]
fn the_command_line_follows_the_permission_profile() {
    let mut spec = SessionSpec::new("/w", "Fix the bug.");
    spec.model = Some("gemini-2.5-pro".into());
    assert_eq!(
        Gemini::args(&spec),
        [
            "--prompt",
            "Fix the bug.",
            "--output-format",
            "stream-json",
            "--approval-mode",
            "auto_edit",
            "--skip-trust",
            "--model",
            "gemini-2.5-pro"
        ],
        "edits is the default profile"
    );
    for (profile, mode) in [
        (PermissionProfile::Edits, "auto_edit"),
        (PermissionProfile::Ask, "auto_edit"),
        (PermissionProfile::EditsAndCommands, "yolo"),
        (PermissionProfile::Bypass, "yolo"),
    ] {
        assert_eq!(approval_mode(profile), mode, "{profile:?}");
    }
    spec.resume = Some("c0d96354-1c8f-4ca4-b80c-f23179925b47".into());
    spec.prompt = "-v is broken".into();
    let args = Gemini::args(&spec);
    assert_eq!(
        args[0], "--prompt=-v is broken",
        "a prompt starting with a dash is not read as an option"
    );
    assert!(
        args.ends_with(&[
            "--resume".to_owned(),
            "c0d96354-1c8f-4ca4-b80c-f23179925b47".to_owned()
        ]),
        "a follow-up resumes its session: {args:?}"
    );
}

#[test]
fn gemini_is_an_agent_kind_with_its_own_backend() {
    assert_eq!("gemini".parse::<AgentKind>().ok(), Some(AgentKind::Gemini));
    assert_eq!(AgentKind::Gemini.as_str(), "gemini");
    let backend = agent::backend(AgentKind::Gemini, None, None, &Default::default())
        .expect("the gemini backend builds");
    assert_eq!(backend.kind(), AgentKind::Gemini);
}

#[test]
fn a_recorded_write_becomes_init_tool_use_result_and_one_text() {
    let mut parser = GeminiParser::default();
    let events = parse(&mut parser, "gemini_auto_edit_write_file.jsonl");
    let text = "Wrote /home/user/project/hello.txt. Verify with: cat /home/user/project/hello.txt";
    let tool_id = "write_file__write_file_1795696248439_0";
    assert_eq!(
        events,
        vec![
            SessionEvent::Init {
                session_id: "c0d96354-1c8f-4ca4-b80c-f23179925b47".into(),
                model: Some("auto".into()),
                tools: None,
                cwd: None,
                agent_version: None,
            },
            SessionEvent::ToolUse {
                id: Some(tool_id.into()),
                name: "write_file".into(),
                input: json!({"content": "hello from the gemini mock\n",
                              "file_path": "/home/user/project/hello.txt"}),
            },
            SessionEvent::ToolResult {
                id: Some(tool_id.into()),
                ok: true,
                summary: "success".into(),
            },
            SessionEvent::AssistantText { text: text.into() },
            SessionEvent::Usage {
                input_tokens: 300,
                output_tokens: 60,
                cache_read: Some(0),
                cache_write: None,
            },
            SessionEvent::Result {
                ok: true,
                summary: Some(text.into()),
                error: None,
                cost_usd: None,
                input_tokens: 300,
                output_tokens: 60,
                turns: None,
                duration_ms: Some(1013),
                session_id: Some("c0d96354-1c8f-4ca4-b80c-f23179925b47".into()),
            },
        ],
        "the user echo is dropped and the two text deltas are one text"
    );
}

#[test]
fn a_shell_command_in_yolo_mode_reports_its_output() {
    let mut parser = GeminiParser::default();
    let events = parse(&mut parser, "gemini_yolo_shell_and_replace.jsonl");
    let results: Vec<(bool, &str)> = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::ToolResult { ok, summary, .. } => Some((*ok, summary.as_str())),
            _ => None,
        })
        .collect();
    assert_eq!(
        results,
        [(true, "one"), (true, "success")],
        "the command's output, then the replace"
    );
    assert!(
        events.iter().any(|e| matches!(e,
            SessionEvent::ToolUse { name, input, .. }
                if name == "run_shell_command" && input["command"].as_str().is_some_and(|c| c.contains("notes.txt")))),
        "the command is shown: {events:?}"
    );
}

#[test]
fn tools_the_approval_mode_hides_fail_with_the_clis_reason() {
    let mut parser = GeminiParser::default();
    let events = parse(&mut parser, "gemini_auto_edit_shell_not_found.jsonl");
    let failed: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::ToolResult {
                ok: false, summary, ..
            } => Some(summary.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(failed.len(), 2, "both tool calls failed: {events:?}");
    assert!(
        failed[0].starts_with("Tool \"run_shell_command\" not found"),
        "auto_edit does not offer the shell: {failed:?}"
    );
    assert!(
        matches!(events.last(), Some(SessionEvent::Result { ok: true, .. })),
        "failed tools alone do not fail a run the CLI called a success"
    );
}

#[test]
fn an_api_error_fails_the_session_with_the_apis_message() {
    let mut parser = GeminiParser::default();
    let events = parse(&mut parser, "gemini_api_error_400.jsonl");
    let Some(SessionEvent::Result { ok, error, .. }) = events.last() else {
        panic!("a result comes last: {events:?}")
    };
    assert!(!ok);
    assert_eq!(
        error.as_deref(),
        Some("The mock refuses this request (HTTP 400, INVALID_ARGUMENT)")
    );
}

#[test]
fn every_recorded_line_is_understood() {
    let mut checked = 0;
    for name in [
        "gemini_auto_edit_write_file.jsonl",
        "gemini_yolo_shell_and_replace.jsonl",
        "gemini_auto_edit_shell_not_found.jsonl",
        "gemini_api_error_400.jsonl",
        "gemini_retry_503.jsonl",
    ] {
        let mut parser = GeminiParser::default();
        for line in recording(name).lines() {
            let events = parser.parse_line(line);
            assert!(
                events.iter().all(|e| e.kind() != "raw"),
                "{name}: {line} -> {events:?}"
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 33, "all recorded lines were read");
}

#[test]
fn unknown_lines_stay_raw_and_errors_warn() {
    let mut parser = GeminiParser::default();
    assert_eq!(
        parser.parse_line(r#"{"type":"thought","text":"hmm"}"#),
        vec![SessionEvent::raw(r#"{"type":"thought","text":"hmm"}"#)],
        "a type this parser does not know is kept"
    );
    assert_eq!(
        parser.parse_line("not json"),
        vec![SessionEvent::raw("not json")]
    );
    assert_eq!(
        parser.parse_line(
            r#"{"type":"error","severity":"warning","message":"Loop detected, stopping execution"}"#
        ),
        vec![SessionEvent::Warning {
            message: "Loop detected, stopping execution".into()
        }],
        "an error event is a warning: the result decides the session"
    );
}

// ---- The backend on a replay: a stand-in CLI prints a recording ----

/// A stand-in `gemini` that records its arguments and `GEMINI_CLI_HOME`,
/// prints the JSONL given to [`Replay::run`], a stderr line (and the file
/// `stderr` of its folder, if there), and exits with the code given.
struct Replay {
    dir: tempfile::TempDir,
}

impl Replay {
    fn new() -> Replay {
        let dir = tempfile::tempdir().expect("a temporary directory");
        fanout_testsupport::executable(
            &dir.path().join("fake-gemini"),
            "#!/bin/sh\nprintf '%s\\n' \"$@\" > \"$FAKE_DIR/args\"\nprintf '%s' \"$GEMINI_CLI_HOME\" > \"$FAKE_DIR/home\"\ncat \"$FAKE_RECORDING\"\necho 'Ripgrep is not available. Falling back to GrepTool.' >&2\n[ -f \"$FAKE_DIR/stderr\" ] && cat \"$FAKE_DIR/stderr\" >&2\nexit \"$FAKE_EXIT\"\n",
        );
        Replay { dir }
    }

    async fn run(
        &self,
        jsonl: &str,
        code: i32,
        permission: PermissionProfile,
    ) -> (Vec<SessionEvent>, SessionOutcome) {
        let recorded = self.dir.path().join("recording.jsonl");
        std::fs::write(&recorded, jsonl).expect("recording written");
        let mut spec = SessionSpec::new(self.dir.path(), "create hello.txt");
        spec.permission = permission;
        spec.env = vec![
            ("FAKE_DIR".into(), self.dir.path().display().to_string()),
            ("FAKE_RECORDING".into(), recorded.display().to_string()),
            ("FAKE_EXIT".into(), code.to_string()),
        ];
        let gemini = Gemini::new(self.dir.path().join("fake-gemini"))
            .with_config_home(self.dir.path().join("config"));
        let (tx, mut rx) = mpsc::channel(64);
        let session = gemini.start(&spec, tx).expect("the stand-in starts");
        let mut events = Vec::new();
        while let Some(event) = rx.recv().await {
            events.push(event);
        }
        (events, session.wait().await)
    }

    fn file(&self, name: &str) -> String {
        std::fs::read_to_string(self.dir.path().join(name))
            .unwrap_or_else(|e| panic!("{name}: {e}"))
    }
}

#[tokio::test]
async fn a_replayed_success_succeeds_in_fanouts_own_config_home() {
    let replay = Replay::new();
    let (events, outcome) = replay
        .run(
            &recording("gemini_auto_edit_write_file.jsonl"),
            0,
            PermissionProfile::EditsAndCommands,
        )
        .await;
    assert_eq!(outcome.status, SessionStatus::Succeeded, "{outcome:?}");
    assert_eq!(
        outcome.session_id.as_deref(),
        Some("c0d96354-1c8f-4ca4-b80c-f23179925b47"),
        "the id a follow-up resumes"
    );
    assert!(
        replay
            .file("args")
            .lines()
            .collect::<Vec<_>>()
            .windows(2)
            .any(|w| w == ["--approval-mode", "yolo"]),
        "edits and commands run in yolo mode: {}",
        replay.file("args")
    );
    let home = replay.dir.path().join("config");
    assert_eq!(
        replay.file("home"),
        home.display().to_string(),
        "GEMINI_CLI_HOME is Fanout's directory"
    );
    let settings: serde_json::Value =
        serde_json::from_str(&replay.file("config/.gemini/settings.json"))
            .expect("settings are JSON");
    assert_eq!(
        settings,
        json!({"security": {"auth": {"selectedType": "gemini-api-key"}},
               "privacy": {"usageStatisticsEnabled": false}}),
        "API-key sign-in without a prompt, and no usage statistics"
    );
    assert!(
        events.contains(&SessionEvent::Log {
            stream: Stream::Stderr,
            line: "Ripgrep is not available. Falling back to GrepTool.".into()
        }),
        "stderr is kept as log lines: {events:?}"
    );
}

#[tokio::test]
async fn a_replayed_api_error_fails_with_the_apis_message() {
    let replay = Replay::new();
    // The CLI exits with the HTTP status, which the OS cuts to 400 % 256.
    let (_, outcome) = replay
        .run(
            &recording("gemini_api_error_400.jsonl"),
            144,
            PermissionProfile::Edits,
        )
        .await;
    assert_eq!(outcome.status, SessionStatus::Failed);
    assert_eq!(
        outcome.reason.as_deref(),
        Some("The Gemini CLI reported an error: The mock refuses this request (HTTP 400, INVALID_ARGUMENT)."),
        "the result's reason, not the odd exit code"
    );
}

#[tokio::test]
async fn text_without_a_result_is_kept_and_the_session_fails() {
    let replay = Replay::new();
    let jsonl = concat!(
        r#"{"type":"init","session_id":"s-1","model":"m"}"#,
        "\n",
        r#"{"type":"message","role":"assistant","content":"Half a thought","delta":true}"#,
        "\n"
    );
    let (events, outcome) = replay.run(jsonl, 0, PermissionProfile::Edits).await;
    assert!(
        events.contains(&SessionEvent::AssistantText {
            text: "Half a thought".into()
        }),
        "the pending text is sent at the end: {events:?}"
    );
    assert_eq!(outcome.status, SessionStatus::Failed);
    assert_eq!(
        outcome.reason.as_deref(),
        Some("The Gemini CLI ended without a result; its output is kept in the session's events.")
    );
}

#[tokio::test]
async fn the_ask_profile_runs_auto_edit_and_says_so() {
    let replay = Replay::new();
    let (events, outcome) = replay
        .run(
            &recording("gemini_auto_edit_write_file.jsonl"),
            0,
            PermissionProfile::Ask,
        )
        .await;
    assert!(outcome.succeeded(), "{outcome:?}");
    assert!(
        replay.file("args").contains("auto_edit"),
        "ask runs as edits: {}",
        replay.file("args")
    );
    assert!(
        matches!(&events[1], SessionEvent::Warning { message } if message.contains("cannot ask for approval")),
        "a warning right after init says why nothing asks: {events:?}"
    );
}

#[tokio::test]
async fn a_gemini_cli_home_chosen_by_the_caller_is_left_alone() {
    let replay = Replay::new();
    let own = tempfile::tempdir().expect("the caller's config home");
    let recorded = replay.dir.path().join("recording.jsonl");
    std::fs::write(&recorded, recording("gemini_auto_edit_write_file.jsonl")).expect("recording");
    let mut spec = SessionSpec::new(replay.dir.path(), "x");
    spec.env = vec![
        ("FAKE_DIR".into(), replay.dir.path().display().to_string()),
        ("FAKE_RECORDING".into(), recorded.display().to_string()),
        ("FAKE_EXIT".into(), "0".into()),
        ("GEMINI_CLI_HOME".into(), own.path().display().to_string()),
    ];
    let gemini = Gemini::new(replay.dir.path().join("fake-gemini"))
        .with_config_home(replay.dir.path().join("config"));
    let (tx, mut rx) = mpsc::channel(64);
    let session = gemini.start(&spec, tx).expect("starts");
    while rx.recv().await.is_some() {}
    assert!(session.wait().await.succeeded());
    assert_eq!(
        replay.file("home"),
        own.path().display().to_string(),
        "the caller's home wins"
    );
    assert!(
        !own.path().join(".gemini").exists() && !replay.dir.path().join("config").exists(),
        "and no settings were written anywhere"
    );
}

#[tokio::test]
async fn a_retried_api_call_shows_as_a_warning() {
    let replay = Replay::new();
    // The real CLI 0.61.0's stderr when the mock answered 503 once.
    std::fs::write(
        replay.dir.path().join("stderr"),
        "Attempt 1 failed with status 503. Retrying with backoff... _ApiError: {\"error\":{\"code\":503,\"message\":\"The mock is overloaded.\",\"status\":\"UNAVAILABLE\"}}\n",
    )
    .expect("stderr written");
    let (events, outcome) = replay
        .run(
            &recording("gemini_retry_503.jsonl"),
            0,
            PermissionProfile::Edits,
        )
        .await;
    assert!(outcome.succeeded(), "the retry worked: {outcome:?}");
    assert!(
        events.contains(&SessionEvent::Warning {
            message: "The model API call failed (attempt 1 failed with status 503); the Gemini CLI retries.".into()
        }),
        "{events:#?}"
    );
    assert!(
        events.contains(&SessionEvent::AssistantText {
            text: "Answered after a retry.".into()
        }),
        "{events:#?}"
    );
}
