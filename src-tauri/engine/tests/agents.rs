//! Agent backends: parsers on real recordings of Claude Code and Codex, and the
//! backends themselves driving real child processes (the fake agent in
//! tests/fixtures/agents, which speaks Claude Code's recorded stream-json and
//! really edits files) in real git repositories.

mod common;

use std::path::PathBuf;
use std::time::Duration;

use common::{assert_group_gone, Fixture};
use fanout_engine::agent::{
    self, claude_code, codex::CodexParser, Agent, AgentKind, ClaudeCode, Codex, CommandAgent,
    PermissionProfile, SessionOutcome, SessionSpec, SessionStatus,
};
use fanout_engine::events::{SessionEvent, Stream, MAX_TEXT_BYTES};
use tokio::sync::mpsc;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn recording(name: &str) -> String {
    let path = repo_root().join("tests/fixtures/recordings").join(name);
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("recording {} is readable: {e}", path.display()))
}

fn kinds(events: &[SessionEvent]) -> Vec<&'static str> {
    events.iter().map(SessionEvent::kind).collect()
}

fn fake_claude() -> ClaudeCode {
    ClaudeCode::new(repo_root().join("tests/fixtures/agents/fake-claude"))
}

fn fake_spec(fx: &Fixture, mode: &str) -> SessionSpec {
    let mut spec = SessionSpec::new(&fx.root, "add a greeting");
    spec.env.push(("FANOUT_FAKE_MODE".into(), mode.into()));
    spec.grace = Duration::from_millis(500);
    spec.methodology = Some("Plan, implement, verify.".into());
    spec
}

async fn run(agent: &dyn Agent, spec: &SessionSpec) -> (Vec<SessionEvent>, SessionOutcome) {
    let (tx, mut rx) = mpsc::channel(64);
    let session = agent.start(spec, tx).expect("the agent starts");
    let mut events = Vec::new();
    while let Some(event) = rx.recv().await {
        events.push(event);
    }
    (events, session.wait().await)
}

// ---- Claude Code stream-json parser, on real recordings ----

#[test]
fn the_one_shot_recording_maps_to_init_tool_use_tool_result_text_and_result() {
    let events: Vec<SessionEvent> = recording("claude-code-2.1.197-stream.jsonl")
        .lines()
        .flat_map(claude_code::parse_line)
        .collect();

    assert_eq!(
        kinds(&events),
        [
            "init",
            "tool_use",
            "tool_result",
            "assistant_text",
            "usage",
            "result"
        ],
        "each recorded line maps to its events, in order, nothing dropped"
    );
    match &events[0] {
        SessionEvent::Init {
            session_id,
            model,
            tools,
            agent_version,
            ..
        } => {
            assert_eq!(
                session_id, "b80143e5-f31f-4a84-9c80-d1c2692da465",
                "a follow-up resumes this id"
            );
            assert_eq!(model.as_deref(), Some("claude-opus-4-8[1m]"));
            assert!(
                tools
                    .as_ref()
                    .is_some_and(|t| t.contains(&"Write".to_owned())),
                "tools are listed"
            );
            assert_eq!(agent_version.as_deref(), Some("2.1.197"));
        }
        other => panic!("expected init, got {other:?}"),
    }
    match &events[1] {
        SessionEvent::ToolUse { id, name, input } => {
            assert_eq!((id.as_deref(), name.as_str()), (Some("toolu_01"), "Write"));
            assert_eq!(input["file_path"], "hello.txt", "the tool's input is kept");
        }
        other => panic!("expected tool_use, got {other:?}"),
    }
    assert!(
        matches!(&events[2], SessionEvent::ToolResult { id: Some(id), ok: true, summary } if id == "toolu_01" && summary.starts_with("File created")),
        "the tool result is tied to its call: {:?}",
        events[2]
    );
    assert_eq!(
        events[5],
        SessionEvent::Result {
            ok: true,
            summary: Some("Done: created hello.txt".into()),
            error: None,
            cost_usd: Some(0.00047),
            input_tokens: 24,
            output_tokens: 14,
            turns: Some(2),
            duration_ms: Some(249),
            session_id: Some("b80143e5-f31f-4a84-9c80-d1c2692da465".into()),
        },
        "cost, tokens, turns and duration come from the result line"
    );
}

#[test]
fn every_recorded_line_gives_events_and_only_unmodelled_types_are_raw() {
    let files =
        std::fs::read_dir(repo_root().join("tests/fixtures/recordings")).expect("recordings exist");
    let mut checked = 0;
    for file in files.flatten() {
        let name = file.file_name().to_string_lossy().into_owned();
        if !name.starts_with("claude") || !name.ends_with(".jsonl") {
            continue;
        }
        for line in recording(&name).lines().filter(|l| !l.trim().is_empty()) {
            let events = claude_code::parse_line(line);
            assert!(
                !events.is_empty(),
                "{name}: a line produced no event: {line}"
            );
            let value: serde_json::Value = serde_json::from_str(line).expect("recordings are JSON");
            let kind = (
                value["type"].as_str().unwrap_or(""),
                value["subtype"].as_str().unwrap_or(""),
            );
            let expected_raw = matches!(kind.0, "stream_event" | "control_request" | "control_response")
                || kind == ("system", "status")
                // An interrupted turn's user message holds a plain text block, not a tool result.
                || (kind.0 == "user" && line.contains("[Request interrupted by user]"));
            let is_raw = events.iter().any(|e| e.kind() == "raw");
            assert_eq!(
                is_raw, expected_raw,
                "{name}: {kind:?} raw={is_raw}: {events:?}"
            );
            checked += 1;
        }
    }
    assert!(checked > 80, "all recordings were read ({checked} lines)");
}

#[test]
fn failed_results_carry_the_reason_even_with_subtype_success() {
    let last_result = |name: &str| {
        recording(name)
            .lines()
            .flat_map(claude_code::parse_line)
            .rfind(|e| e.kind() == "result")
            .expect("the recording has a result")
    };
    let cases = [
        ("claude_api_error_401.jsonl", "Invalid API key"),
        ("claude_api_error_401.jsonl", "API status 401"),
        ("claude_api_error_529_retries.jsonl", "529"),
        ("claude_conn_refused.jsonl", "Connection refused"),
        ("claude_max_turns.jsonl", "Reached maximum number of turns"),
    ];
    for (name, needle) in cases {
        match last_result(name) {
            SessionEvent::Result {
                ok: false,
                error: Some(error),
                ..
            } => {
                assert!(
                    error.contains(needle),
                    "{name}: the error says what happened: {error}"
                )
            }
            other => panic!("{name}: is_error must make the result fail: {other:?}"),
        }
    }
}

#[test]
fn retries_and_denials_become_warnings_and_denied_tools_fail() {
    let events: Vec<SessionEvent> = recording("claude_acceptEdits_bash_denied.jsonl")
        .lines()
        .flat_map(claude_code::parse_line)
        .collect();
    assert!(
        events.iter().any(|e| matches!(e, SessionEvent::Warning { message } if message.contains("Permission denied for Bash"))),
        "the denial is reported: {events:?}"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::ToolResult { ok: false, .. })),
        "a tool_result with is_error is not ok"
    );
    let retries = recording("claude_api_error_529_retries.jsonl")
        .lines()
        .flat_map(claude_code::parse_line)
        .filter(
            |e| matches!(e, SessionEvent::Warning { message } if message.contains("status 529")),
        )
        .count();
    assert_eq!(retries, 2, "each api_retry line is one warning");
}

#[test]
fn unknown_and_malformed_lines_are_kept_raw() {
    for line in [
        r#"{"type":"brand_new","x":1}"#,
        "not json at all",
        r#"{"type":"assistant""#,
    ] {
        assert_eq!(
            claude_code::parse_line(line),
            [SessionEvent::Raw { line: line.into() }],
            "nothing an agent prints is lost"
        );
    }
    assert!(
        claude_code::parse_line("   ").is_empty(),
        "blank lines carry nothing"
    );
}

// ---- Codex JSONL parser, on real recordings ----

fn codex_events(name: &str) -> Vec<SessionEvent> {
    let mut parser = CodexParser::new(Some("mock-model".into()));
    recording(name)
        .lines()
        .flat_map(|l| parser.parse_line(l))
        .collect()
}

#[test]
fn codex_command_recording_maps_to_the_same_vocabulary() {
    let events = codex_events("codex_exec_json_exec_command.jsonl");
    assert_eq!(
        kinds(&events),
        [
            "init",
            "warning",
            "tool_use",
            "tool_result",
            "assistant_text",
            "usage",
            "result"
        ],
        "thread, metadata warning, the command's start and end, the message, usage, result"
    );
    assert!(
        matches!(&events[0], SessionEvent::Init { session_id, .. } if session_id == "01a20c96-7400-76f0-841c-11d0f19079ba")
    );
    assert!(
        matches!(&events[2], SessionEvent::ToolUse { name, input, .. } if name == "command" && input["command"].as_str().is_some_and(|c| c.contains("hello.txt"))),
        "{:?}",
        events[2]
    );
    assert!(
        matches!(&events[3], SessionEvent::ToolResult { ok: true, .. }),
        "exit code 0 is ok"
    );
    assert!(
        matches!(&events[6], SessionEvent::Result { ok: true, summary: Some(s), input_tokens: 200, output_tokens: 40, .. } if s == "Created hello.txt."),
        "{:?}",
        events[6]
    );
}

#[test]
fn codex_failures_become_failed_results_with_the_api_message() {
    for (name, needle) in [
        ("codex_error_400.jsonl", "mock bad request"),
        (
            "codex_response_failed.jsonl",
            "stream disconnected before completion",
        ),
    ] {
        let events = codex_events(name);
        let result = events
            .iter()
            .rfind(|e| e.kind() == "result")
            .expect("turn.failed gives a result");
        assert!(
            matches!(result, SessionEvent::Result { ok: false, error: Some(e), .. } if e.contains(needle)),
            "{name}: {result:?}"
        );
        assert!(
            events.iter().all(|e| e.kind() != "raw"),
            "{name}: every line was understood: {events:?}"
        );
    }
    let resumed = codex_events("codex_exec_resume.jsonl");
    assert_eq!(
        kinds(&resumed),
        ["init", "warning", "assistant_text", "usage", "result"]
    );
}

#[test]
fn codex_command_lines_put_the_prompt_last_and_resume_by_thread() {
    let mut spec = SessionSpec::new("/work/wt", "-fix it");
    spec.model = Some("gpt-x".into());
    let args = Codex::args(&spec);
    assert_eq!(
        &args[..5],
        ["exec", "--json", "--skip-git-repo-check", "-C", "/work/wt"]
    );
    assert_eq!(
        &args[args.len() - 2..],
        ["--", "-fix it"],
        "a prompt starting with '-' is not read as an option"
    );
    spec.resume = Some("thread-1".into());
    spec.prompt = "again".into();
    let args = Codex::args(&spec);
    assert_eq!(&args[..4], ["exec", "resume", "thread-1", "--json"]);
    assert_eq!(args.last().map(String::as_str), Some("again"));
}

// ---- Claude Code command line ----

#[test]
fn claude_command_line_follows_the_permission_profile() {
    let mut spec = SessionSpec::new("/w", "do it");
    spec.methodology = Some("method".into());
    spec.model = Some("opus".into());
    spec.max_turns = Some(7);
    let args = ClaudeCode::args(&spec).join(" ");
    assert!(
        args.starts_with(
            "-p do it --output-format stream-json --verbose --permission-mode acceptEdits"
        ),
        "{args}"
    );
    assert!(
        args.contains("--append-system-prompt method")
            && args.contains("--model opus")
            && args.contains("--max-turns 7"),
        "{args}"
    );
    assert!(
        !args.contains("--allowedTools"),
        "edits alone allow no shell"
    );

    spec.permission = "edits_and_commands".parse().expect("a known profile");
    assert!(ClaudeCode::args(&spec)
        .join(" ")
        .contains("--permission-mode acceptEdits --allowedTools Bash"));
    spec.permission = PermissionProfile::Bypass;
    spec.resume = Some("sess-1".into());
    let args = ClaudeCode::args(&spec).join(" ");
    assert!(
        args.contains("--permission-mode bypassPermissions") && args.ends_with("--resume sess-1"),
        "{args}"
    );
}

#[test]
fn kinds_and_profiles_parse_from_their_names() {
    assert_eq!(
        "claude-code".parse::<AgentKind>().ok(),
        Some(AgentKind::ClaudeCode)
    );
    assert_eq!(
        "claude_code".parse::<AgentKind>().ok(),
        Some(AgentKind::ClaudeCode)
    );
    assert_eq!("codex".parse::<AgentKind>().ok(), Some(AgentKind::Codex));
    assert_eq!(
        "command".parse::<AgentKind>().ok(),
        Some(AgentKind::Command)
    );
    let err = "gpt".parse::<AgentKind>().expect_err("not an agent");
    assert_eq!(err.code(), "agent.unknown_kind");
    assert!(
        err.to_string().contains("claude_code"),
        "the message lists the choices: {err}"
    );
    assert_eq!(
        "Edits and commands".parse::<PermissionProfile>().ok(),
        Some(PermissionProfile::EditsAndCommands)
    );
    assert_eq!(
        "yolo".parse::<PermissionProfile>().map_err(|e| e.code()),
        Err("agent.unknown_profile")
    );
    assert_eq!(
        agent::backend(AgentKind::Codex, None, None, &Default::default())
            .map(|a| a.kind())
            .ok(),
        Some(AgentKind::Codex)
    );
}

// ---- Claude Code backend against the fake agent ----

#[tokio::test]
async fn a_successful_session_edits_the_worktree_and_reports_its_result() {
    let fx = Fixture::new();
    let (events, outcome) = run(&fake_claude(), &fake_spec(&fx, "success")).await;

    assert_eq!(outcome.status, SessionStatus::Succeeded, "{outcome:?}");
    assert_eq!(
        fx.read("fake-output.txt"),
        "add a greeting\n",
        "the agent really wrote into its worktree"
    );
    assert_eq!(
        events.first().map(SessionEvent::kind),
        Some("init"),
        "a session starts with init"
    );
    // stderr lines race with stdout lines (two pipes), so they are left out here.
    let structured: Vec<&SessionEvent> = events.iter().filter(|e| e.kind() != "log").collect();
    assert_eq!(
        structured.last().map(|e| e.kind()),
        Some("result"),
        "and ends with its result"
    );
    let Some(SessionEvent::Init { session_id, .. }) = events.first() else {
        unreachable!()
    };
    assert_eq!(
        outcome.session_id.as_ref(),
        Some(session_id),
        "the outcome keeps the id a follow-up needs"
    );
    assert!(
        matches!(
            structured.last().copied(),
            Some(SessionEvent::Result {
                ok: true,
                cost_usd: Some(_),
                turns: Some(2),
                ..
            })
        ),
        "{:?}",
        structured.last()
    );
    assert!(
        events.iter().any(|e| matches!(e, SessionEvent::Log { stream: Stream::Stderr, line } if line.contains("finished writing"))),
        "stderr is kept as log lines"
    );

    let mut follow_up = fake_spec(&fx, "success");
    follow_up.prompt = "now say bye".into();
    follow_up.resume = outcome.session_id.clone();
    let (_, again) = run(&fake_claude(), &follow_up).await;
    assert_eq!(again.status, SessionStatus::Succeeded);
    assert_eq!(
        again.session_id, outcome.session_id,
        "--resume continues the same session"
    );
    assert_eq!(
        fx.read("fake-output.txt"),
        "add a greeting\nfollow-up: now say bye\n",
        "in the same worktree"
    );
}

#[tokio::test]
async fn failures_are_failed_sessions_with_a_reason() {
    let fx = Fixture::new();
    let cases = [
        (
            "exit",
            "exited with code 3: fake-claude: crashed on purpose",
        ),
        ("is_error", "API status 529"),
        ("no_result", "without a result line"),
        ("root_refusal", claude_code::ROOT_BYPASS_REFUSAL),
    ];
    for (mode, reason) in cases {
        let (_, outcome) = run(&fake_claude(), &fake_spec(&fx, mode)).await;
        assert_eq!(outcome.status, SessionStatus::Failed, "{mode}: {outcome:?}");
        let said = outcome.reason.unwrap_or_default();
        assert!(said.contains(reason), "{mode}: the reason says why: {said}");
    }
}

#[tokio::test]
async fn malformed_lines_become_raw_events_and_the_session_still_succeeds() {
    let fx = Fixture::new();
    let (events, outcome) = run(&fake_claude(), &fake_spec(&fx, "malformed")).await;
    assert_eq!(
        outcome.status,
        SessionStatus::Succeeded,
        "garbage between valid lines is not fatal"
    );
    let raw: Vec<&SessionEvent> = events.iter().filter(|e| e.kind() == "raw").collect();
    assert_eq!(raw.len(), 3, "each garbage line is kept: {raw:?}");
}

#[tokio::test]
async fn huge_output_stays_bounded() {
    let fx = Fixture::new();
    let (events, outcome) = run(&fake_claude(), &fake_spec(&fx, "huge")).await;
    assert_eq!(outcome.status, SessionStatus::Succeeded, "{outcome:?}");
    assert!(
        events.len() > 30_000,
        "tens of thousands of lines all arrive ({})",
        events.len()
    );
    let largest = events
        .iter()
        .map(|e| serde_json::to_string(e).map(|s| s.len()).unwrap_or(0))
        .max()
        .unwrap_or(0);
    assert!(
        largest < MAX_TEXT_BYTES + 1024,
        "the 4 MB line was cut to the bound, largest event {largest} bytes"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::Raw { line } if line.contains("[truncated"))),
        "the cut is marked"
    );
}

#[tokio::test]
async fn cancel_ends_a_slow_session_within_the_grace_period() {
    let fx = Fixture::new();
    let mut spec = fake_spec(&fx, "slow");
    spec.env.push(("FANOUT_FAKE_DELAY".into(), "30".into()));
    let (tx, mut rx) = mpsc::channel(64);
    let session = fake_claude().start(&spec, tx).expect("starts");
    let pgid = session.pid();
    assert_eq!(
        rx.recv().await.map(|e| e.kind()),
        Some("init"),
        "the session is under way"
    );
    session.cancel();
    while rx.recv().await.is_some() {}
    let outcome = session.wait().await;

    assert_eq!(outcome.status, SessionStatus::Cancelled, "{outcome:?}");
    assert_eq!(
        outcome.reason.as_deref(),
        Some("The session was cancelled.")
    );
    assert!(
        outcome.duration_ms < 10_000,
        "it ended well before its 30 s sleep: {} ms",
        outcome.duration_ms
    );
    assert_group_gone(pgid).await;
}

#[tokio::test]
async fn a_hanging_session_is_ended_by_its_timeout() {
    let fx = Fixture::new();
    let mut spec = fake_spec(&fx, "hang");
    spec.timeout = Some(Duration::from_millis(800));
    let (tx, rx) = mpsc::channel(64);
    drop(rx);
    let session = fake_claude()
        .start(&spec, tx)
        .expect("starts, even with nobody listening");
    let pgid = session.pid();
    let outcome = session.wait().await;
    assert_eq!(outcome.status, SessionStatus::TimedOut, "{outcome:?}");
    assert!(
        outcome.reason.unwrap_or_default().contains("timeout"),
        "the reason names the timeout"
    );
    assert_group_gone(pgid).await;
}

#[tokio::test]
async fn grandchildren_are_gone_after_the_agent_exits_or_is_cancelled() {
    let fx = Fixture::new();
    let (tx, mut rx) = mpsc::channel(64);
    let session = fake_claude()
        .start(&fake_spec(&fx, "grandchildren"), tx)
        .expect("starts");
    let pgid = session.pid();
    let mut events = Vec::new();
    while let Some(e) = rx.recv().await {
        events.push(e);
    }
    let outcome = session.wait().await;
    assert_eq!(
        outcome.status,
        SessionStatus::Succeeded,
        "the agent's own work succeeded: {outcome:?}"
    );
    assert!(
        outcome.leaked_output,
        "its `sleep` children kept stdout open"
    );
    assert_eq!(
        events.last().map(SessionEvent::kind),
        Some("warning"),
        "the leak is told to the user"
    );
    assert_group_gone(pgid).await;

    let mut spec = fake_spec(&fx, "grandchildren");
    spec.env.push(("FANOUT_FAKE_THEN".into(), "hang".into()));
    let (tx, mut rx) = mpsc::channel(64);
    let session = fake_claude().start(&spec, tx).expect("starts");
    let pgid = session.pid();
    while let Some(e) = rx.recv().await {
        if e.kind() == "result" {
            session.cancel();
        }
    }
    assert_eq!(session.wait().await.status, SessionStatus::Cancelled);
    assert_group_gone(pgid).await;
}

// ---- Custom command backend ----

#[tokio::test]
async fn the_prompt_arrives_as_one_verbatim_argument() {
    let fx = Fixture::new();
    let agent = CommandAgent::new(
        r#"python3 -c "import json, sys; print(json.dumps(sys.argv[1:]))" --task {prompt} --in={workdir}"#,
    )
    .expect("a valid template");
    let prompt = r#"say "hi" & it's $(rm -rf /) `id` ; {workdir}"#;
    let (events, outcome) = run(&agent, &SessionSpec::new(&fx.root, prompt)).await;

    assert_eq!(outcome.status, SessionStatus::Succeeded, "{outcome:?}");
    let printed = events
        .iter()
        .find_map(|e| match e {
            SessionEvent::Log {
                stream: Stream::Stdout,
                line,
            } => Some(line.clone()),
            _ => None,
        })
        .expect("stdout is logged");
    let argv: Vec<String> = serde_json::from_str(&printed).expect("the command printed its argv");
    let workdir = fx.root.display().to_string();
    assert_eq!(
        argv,
        ["--task".to_owned(), prompt.to_owned(), format!("--in={workdir}")],
        "quotes, $(...) and spaces stay inside one argument, and a placeholder inside the prompt is not expanded"
    );
}

#[tokio::test]
async fn the_prompt_file_holds_the_prompt_and_the_exit_code_decides() {
    let fx = Fixture::new();
    let cat = CommandAgent::new("cat {prompt_file}").expect("valid");
    let (events, outcome) = run(&cat, &SessionSpec::new(&fx.root, "line one\nline two")).await;
    assert!(outcome.succeeded());
    let logged: Vec<&str> = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Log { line, .. } => Some(line.as_str()),
            _ => None,
        })
        .collect();
    assert_eq!(
        logged,
        ["line one", "line two"],
        "the file holds exactly the prompt"
    );
    assert!(matches!(
        events.last(),
        Some(SessionEvent::Result { ok: true, .. })
    ));

    let failing = CommandAgent::new(r#"sh -c "echo broke >&2; exit 4""#).expect("valid");
    let (events, outcome) = run(&failing, &SessionSpec::new(&fx.root, "x")).await;
    assert_eq!(outcome.status, SessionStatus::Failed);
    assert_eq!(outcome.exit_code, Some(4));
    assert_eq!(
        outcome.reason.as_deref(),
        Some("The agent command exited with code 4: broke.")
    );
    assert!(matches!(
        events.last(),
        Some(SessionEvent::Result { ok: false, .. })
    ));
}

#[tokio::test]
async fn bad_templates_and_missing_programs_are_clear_errors() {
    let unbalanced = CommandAgent::new(r#"agent "unclosed"#).expect_err("unbalanced quotes");
    assert_eq!(unbalanced.code(), "agent.bad_template");
    assert_eq!(
        CommandAgent::new("  ").map(|_| ()).map_err(|e| e.code()),
        Err("agent.empty_template")
    );

    let fx = Fixture::new();
    let missing = CommandAgent::new("no-such-agent-xyz {prompt}").expect("valid");
    let (tx, _rx) = mpsc::channel(4);
    let err = missing
        .start(&SessionSpec::new(&fx.root, "x"), tx)
        .expect_err("nothing to run");
    assert_eq!(err.code(), "process.not_found");
    assert!(err.to_string().contains("no-such-agent-xyz"), "{err}");
}

/// Run with `FANOUT_REAL_CLAUDE=/path/to/claude cargo test -p fanout-engine --test agents -- --ignored`
/// as root: the real CLI's refusal of bypass permissions must be recognized.
#[tokio::test]
#[ignore = "needs the real Claude Code CLI in FANOUT_REAL_CLAUDE, run as root"]
async fn the_real_cli_refusing_bypass_as_root_is_explained() {
    let executable =
        std::env::var("FANOUT_REAL_CLAUDE").expect("FANOUT_REAL_CLAUDE names the claude binary");
    let fx = Fixture::new();
    let home = tempfile::tempdir().expect("a throwaway HOME");
    let mut spec = SessionSpec::new(&fx.root, "hi");
    spec.permission = PermissionProfile::Bypass;
    let home_dir = home.path().display().to_string();
    spec.env = vec![
        ("HOME".into(), home_dir.clone()),
        ("CLAUDE_CONFIG_DIR".into(), home_dir),
        ("ANTHROPIC_API_KEY".into(), "unused".into()),
        (
            "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC".into(),
            "1".into(),
        ),
    ];
    let (_, outcome) = run(&ClaudeCode::new(executable), &spec).await;
    assert_eq!(outcome.status, SessionStatus::Failed, "{outcome:?}");
    assert_eq!(
        outcome.reason.as_deref(),
        Some(claude_code::ROOT_BYPASS_REFUSAL)
    );
}

// ---- Codex backend against a replay of its recordings ----

fn fake_codex_spec(fx: &Fixture, recording_name: &str, exit: &str) -> SessionSpec {
    let mut spec = SessionSpec::new(&fx.root, "create hello.txt");
    let path = repo_root()
        .join("tests/fixtures/recordings")
        .join(recording_name);
    spec.env = vec![
        ("FANOUT_FAKE_RECORDING".into(), path.display().to_string()),
        ("FANOUT_FAKE_EXIT".into(), exit.into()),
    ];
    spec
}

#[tokio::test]
async fn a_codex_session_succeeds_or_fails_as_its_turn_did() {
    let fx = Fixture::new();
    let codex = Codex::new(repo_root().join("tests/fixtures/agents/fake-codex"));

    let spec = fake_codex_spec(&fx, "codex_exec_json_exec_command.jsonl", "0");
    let (events, outcome) = run(&codex, &spec).await;
    assert_eq!(outcome.status, SessionStatus::Succeeded, "{outcome:?}");
    assert_eq!(
        outcome.session_id.as_deref(),
        Some("01a20c96-7400-76f0-841c-11d0f19079ba"),
        "the thread id is what `exec resume` needs"
    );
    assert_eq!(events.len(), 7, "every recorded line arrived: {events:?}");
    assert!(
        fx.read("hello.txt").ends_with("create hello.txt\n"),
        "it worked in -C <worktree>"
    );

    let spec = fake_codex_spec(&fx, "codex_error_400.jsonl", "1");
    let (_, outcome) = run(&codex, &spec).await;
    assert_eq!(outcome.status, SessionStatus::Failed);
    assert_eq!(
        outcome.reason.as_deref(),
        Some("Codex reported an error: mock bad request."),
        "the API's own message, not its JSON"
    );
}

/// The README's table of permission profiles, one assertion per cell the
/// CLI backends decide by their command line (the built-in agent's cells are
/// in api_agent.rs, Gemini's approval modes in gemini.rs).
#[test]
fn every_cli_backend_maps_every_profile_as_the_readme_says() {
    use fanout_engine::agent::{ClaudeInteractive, Codex};
    let line = |args: Vec<String>| args.join(" ");
    for (profile, claude, codex) in [
        (
            PermissionProfile::Edits,
            "--permission-mode acceptEdits",
            "--sandbox workspace-write",
        ),
        (
            PermissionProfile::EditsAndCommands,
            "--permission-mode acceptEdits --allowedTools Bash",
            "--sandbox workspace-write",
        ),
        (
            PermissionProfile::Bypass,
            "--permission-mode bypassPermissions",
            "--dangerously-bypass-approvals-and-sandbox",
        ),
        (
            PermissionProfile::Ask,
            "--permission-mode acceptEdits",
            "--sandbox workspace-write",
        ),
    ] {
        let mut spec = SessionSpec::new("/w", "do it");
        spec.permission = profile;
        let claude_line = line(ClaudeCode::args(&spec));
        assert!(claude_line.contains(claude), "{profile:?}: {claude_line}");
        if profile != PermissionProfile::EditsAndCommands {
            assert!(
                !claude_line.contains("--allowedTools"),
                "{profile:?}: no shell granted one-shot: {claude_line}"
            );
        }
        let codex_line = line(Codex::args(&spec));
        assert!(codex_line.contains(codex), "{profile:?}: {codex_line}");
    }
    // "ask" on Claude Code runs two-way: every tool use the rules leave open
    // comes to Fanout, which asks the user.
    let mut spec = SessionSpec::new("/w", "do it");
    spec.permission = PermissionProfile::Ask;
    let two_way = line(ClaudeInteractive::args(&spec, "s-1"));
    assert!(
        two_way.contains("--permission-prompt-tool stdio")
            && !two_way.contains("--permission-mode"),
        "{two_way}"
    );
}
