//! The LLM clients and the built-in API agent, against the mock server on 127.0.0.1.

mod common;

use std::time::Duration;

use common::Fixture;
use fanout_engine::agent::{
    Agent, AllowedTools, ApiAgent, ApprovalRules, ApprovalUpdate, Approvals, PermissionProfile,
    SessionSpec, SessionStatus,
};
use fanout_engine::events::SessionEvent;
use fanout_engine::llm::{ChatRequest, LlmClient, LlmConfig, LlmError, Message, RetryPolicy};
use fanout_engine::secrets::{ApiKey, Provider};
use fanout_mock_llm::{MockServer, Script, Turn, WriteTool};
use serde_json::json;
use tokio::sync::mpsc;

const KEY: &str = "sk-test-SECRET-key-0123456789";

fn config(server: &MockServer, provider: Provider) -> LlmConfig {
    let mut config = LlmConfig::new(provider, ApiKey::new(KEY));
    config.base_url = match provider {
        Provider::Anthropic => server.url(),
        Provider::OpenAi => format!("{}/v1", server.url()),
    };
    config.model = "claude-sonnet-4-5".into();
    config.retry = RetryPolicy {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_secs(2),
    };
    config
}

fn ask(text: &str) -> ChatRequest {
    ChatRequest {
        messages: vec![Message::user_text(text)],
        ..ChatRequest::default()
    }
}

#[tokio::test]
async fn both_apis_stream_text_and_tool_calls() {
    let turn = Turn::Reply(fanout_mock_llm::Reply {
        text: Some("Let me write it — ünïcode".into()),
        tool_uses: vec![fanout_mock_llm::ToolCall {
            name: "write_file".into(),
            input: json!({"path": "a.txt", "content": "é\n"}),
        }],
        ..fanout_mock_llm::Reply::new()
    });
    for provider in [Provider::Anthropic, Provider::OpenAi] {
        let server = MockServer::start(Script::sequential(vec![turn.clone()]))
            .await
            .expect("mock starts");
        let client = LlmClient::new(config(&server, provider)).expect("client builds");
        let answer = client
            .complete(&ask("go"))
            .await
            .expect("a scripted reply is read");
        assert_eq!(
            answer.text(),
            "Let me write it — ünïcode",
            "{provider}: text deltas are joined in order"
        );
        let calls: Vec<_> = answer.tool_uses().collect();
        assert_eq!(calls.len(), 1, "{provider}: one tool call");
        assert_eq!(calls[0].1, "write_file");
        assert_eq!(
            calls[0].2,
            &json!({"path": "a.txt", "content": "é\n"}),
            "{provider}: split input JSON is reassembled"
        );
        assert_eq!(
            answer.stop_reason.as_deref(),
            Some("tool_use"),
            "{provider}: the stop reason is normalized"
        );
        assert_eq!(
            (answer.usage.input_tokens, answer.usage.output_tokens),
            (100, 20),
            "{provider}: usage is read"
        );
        let body = &server.model_requests()[0].body;
        assert_eq!(
            body["stream"], true,
            "{provider}: the client asks for a stream"
        );
    }
}

#[tokio::test]
async fn faults_are_retried_until_an_answer_comes() {
    let faults = [
        Turn::RateLimited {
            retry_after_secs: 1,
        },
        Turn::Overloaded,
        Turn::ServerError,
        Turn::MalformedSse,
        Turn::DropMidStream,
    ];
    for fault in faults {
        for provider in [Provider::Anthropic, Provider::OpenAi] {
            let server = MockServer::start(Script::sequential(vec![
                fault.clone(),
                Turn::text("recovered"),
            ]))
            .await
            .expect("mock starts");
            let client = LlmClient::new(config(&server, provider)).expect("client builds");
            let answer = client
                .complete(&ask("hi"))
                .await
                .unwrap_or_else(|e| panic!("{fault:?} on {provider} is retried: {e}"));
            assert_eq!(
                answer.text(),
                "recovered",
                "{fault:?}/{provider}: the second attempt's answer is returned"
            );
            assert_eq!(
                answer.retries.len(),
                1,
                "{fault:?}/{provider}: the retry is reported"
            );
            assert_eq!(
                server.model_requests().len(),
                2,
                "{fault:?}/{provider}: exactly one retry was made"
            );
        }
    }
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let server = MockServer::start(Script::sequential(vec![
        Turn::RateLimited {
            retry_after_secs: 1,
        },
        Turn::text("ok"),
    ]))
    .await
    .expect("mock starts");
    let client = LlmClient::new(config(&server, Provider::Anthropic)).expect("client builds");
    let answer = client
        .complete(&ask("hi"))
        .await
        .expect("succeeds after the wait");
    assert!(
        answer.retries[0].contains("Retrying in 1.0 s"),
        "the wait is the server's retry-after, not the 10 ms backoff: {}",
        answer.retries[0]
    );
}

#[tokio::test]
async fn giving_up_says_why_without_the_key() {
    let server = MockServer::start(Script::sequential(vec![Turn::Overloaded; 3]))
        .await
        .expect("mock starts");
    let client = LlmClient::new(config(&server, Provider::Anthropic)).expect("client builds");
    let error = client
        .complete(&ask("hi"))
        .await
        .expect_err("three 529s exhaust three attempts");
    let text = error.to_string();
    assert!(
        matches!(error, LlmError::Exhausted { attempts: 3, .. }),
        "the attempts are counted: {text}"
    );
    assert!(
        text.contains("529") && text.contains("overloaded"),
        "the last failure is named: {text}"
    );
    assert!(
        !text.contains(KEY),
        "the key never appears in an error: {text}"
    );
    assert_eq!(
        server.model_requests().len(),
        3,
        "max_attempts bounds the requests"
    );
}

#[tokio::test]
async fn a_client_error_is_not_retried() {
    let server = MockServer::start(Script::default())
        .await
        .expect("mock starts");
    let mut config = config(&server, Provider::Anthropic);
    config.base_url = format!("{}/nowhere", server.url());
    let client = LlmClient::new(config).expect("client builds");
    let error = client.complete(&ask("hi")).await.expect_err("a 404 fails");
    assert!(
        error.to_string().contains("404"),
        "the status is named: {error}"
    );
    assert_eq!(server.requests().len(), 1, "a 404 is not worth a retry");
}

async fn run_agent(
    fx: &Fixture,
    server: &MockServer,
    prompt: &str,
    configure: impl FnOnce(&mut ApiAgent, &mut SessionSpec),
) -> (fanout_engine::agent::SessionOutcome, Vec<SessionEvent>) {
    let mut agent = ApiAgent::new(config(server, Provider::Anthropic));
    let mut spec = SessionSpec::new(&fx.root, prompt);
    configure(&mut agent, &mut spec);
    let (tx, mut rx) = mpsc::channel(64);
    let session = agent.start(&spec, tx).expect("the agent starts");
    let mut events = Vec::new();
    while let Some(event) = rx.recv().await {
        events.push(event);
    }
    (session.wait().await, events)
}

#[tokio::test]
async fn the_agent_writes_a_file_and_reports_the_session() {
    let fx = Fixture::new();
    let server = MockServer::start(Script::sequential(Script::write_file(
        WriteTool::BuiltIn,
        "src/hello.txt",
        "hello\n",
    )))
    .await
    .expect("mock starts");
    let (outcome, events) = run_agent(&fx, &server, "write hello", |_, _| {}).await;
    assert!(
        outcome.succeeded(),
        "the session succeeds: {:?}",
        outcome.reason
    );
    assert_eq!(
        fx.read("src/hello.txt"),
        "hello\n",
        "the tool wrote the file, creating its folder"
    );
    let kinds: Vec<&str> = events.iter().map(SessionEvent::kind).collect();
    assert_eq!(kinds.first(), Some(&"init"), "init comes first: {kinds:?}");
    assert!(
        kinds.contains(&"tool_use") && kinds.contains(&"tool_result"),
        "the tool call is visible: {kinds:?}"
    );
    let Some(SessionEvent::Result {
        ok,
        turns,
        cost_usd,
        input_tokens,
        session_id,
        ..
    }) = events.last()
    else {
        panic!("the last event is the result: {kinds:?}")
    };
    assert!(ok, "the result says ok");
    assert_eq!(*turns, Some(2), "a tool turn and a closing turn");
    assert_eq!(*input_tokens, 200, "usage adds up over turns");
    assert!(
        cost_usd.is_some_and(|c| c > 0.0),
        "a sonnet session has a cost"
    );
    assert_eq!(
        session_id, &outcome.session_id,
        "the minted id is the outcome's"
    );
    let second = &server.model_requests()[1].body;
    assert_eq!(
        second["messages"][2]["content"][0]["type"], "tool_result",
        "the tool's result went back to the model"
    );
    assert!(
        !second.to_string().contains(KEY),
        "the key is not in the body"
    );
}

#[tokio::test]
async fn paths_outside_the_worktree_are_refused_and_the_model_is_told() {
    let fx = Fixture::new();
    let outside = tempfile::tempdir().expect("a temp dir");
    std::fs::write(outside.path().join("secret.txt"), "outside").expect("write outside");
    std::os::unix::fs::symlink(outside.path(), fx.root.join("link-dir"))
        .expect("symlink to a dir outside");
    std::os::unix::fs::symlink(outside.path().join("secret.txt"), fx.root.join("link-file"))
        .expect("symlink to a file outside");
    let attempts = [
        (
            "read_file",
            json!({"path": outside.path().join("secret.txt")}),
        ),
        ("read_file", json!({"path": "../outside.txt"})),
        (
            "write_file",
            json!({"path": "sub/../../escape.txt", "content": "x"}),
        ),
        ("read_file", json!({"path": "link-file"})),
        (
            "write_file",
            json!({"path": "link-dir/new.txt", "content": "x"}),
        ),
        (
            "write_file",
            json!({"path": "link-file", "content": "overwritten"}),
        ),
    ];
    let turns: Vec<Turn> = attempts
        .iter()
        .map(|(name, input)| Turn::tool(*name, input.clone()))
        .chain([Turn::text("gave up")])
        .collect();
    let server = MockServer::start(Script::sequential(turns))
        .await
        .expect("mock starts");
    let (outcome, events) = run_agent(&fx, &server, "escape", |_, _| {}).await;
    assert!(
        outcome.succeeded(),
        "refusals are tool errors, not a failed session"
    );
    let results: Vec<(bool, String)> = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::ToolResult { ok, summary, .. } => Some((*ok, summary.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(results.len(), attempts.len(), "every attempt got a result");
    for ((ok, summary), (name, input)) in results.iter().zip(&attempts) {
        assert!(
            !ok && summary.contains("outside the working directory"),
            "{name} {input} is refused: {summary}"
        );
    }
    assert_eq!(
        std::fs::read_to_string(outside.path().join("secret.txt")).expect("still there"),
        "outside",
        "nothing outside was changed"
    );
    assert!(
        !outside.path().join("new.txt").exists(),
        "nothing was created outside"
    );
    let last = server
        .model_requests()
        .last()
        .expect("requests were made")
        .body
        .clone();
    let result = &last["messages"][12]["content"][0];
    assert_eq!(
        result["is_error"], true,
        "the model saw the refusal as an error: {result}"
    );
}

#[tokio::test]
async fn edit_list_search_and_commands_work_inside_the_worktree() {
    let fx = Fixture::new();
    fx.write("src/lib.rs", "fn a() {}\nfn b() {}\nfn b() {}\n");
    fx.write(".gitignore", "target/\n");
    fx.write("target/junk.rs", "fn a() {}\n");
    let turns = vec![
        Turn::tool(
            "edit_file",
            json!({"path": "src/lib.rs", "old_string": "fn z()", "new_string": "x"}),
        ),
        Turn::tool(
            "edit_file",
            json!({"path": "src/lib.rs", "old_string": "fn b() {}", "new_string": "x"}),
        ),
        Turn::tool(
            "edit_file",
            json!({"path": "src/lib.rs", "old_string": "fn a() {}", "new_string": "fn a2() {}"}),
        ),
        Turn::tool("list_dir", json!({})),
        Turn::tool("search", json!({"pattern": "fn a\\d?\\("})),
        Turn::tool(
            "run_command",
            json!({"command": "echo from-sh; pwd; exit 3"}),
        ),
        Turn::text("done"),
    ];
    let server = MockServer::start(Script::sequential(turns))
        .await
        .expect("mock starts");
    let (outcome, events) = run_agent(&fx, &server, "edit", |_, spec| {
        spec.permission = PermissionProfile::EditsAndCommands
    })
    .await;
    assert!(outcome.succeeded(), "{:?}", outcome.reason);
    let results: Vec<(bool, String)> = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::ToolResult { ok, summary, .. } => Some((*ok, summary.clone())),
            _ => None,
        })
        .collect();
    assert!(
        !results[0].0 && results[0].1.contains("not found"),
        "a missing old_string fails: {:?}",
        results[0]
    );
    assert!(
        !results[1].0 && results[1].1.contains("2 times"),
        "an ambiguous old_string fails: {:?}",
        results[1]
    );
    assert!(results[2].0, "a unique edit succeeds: {:?}", results[2]);
    assert_eq!(
        fx.read("src/lib.rs"),
        "fn a2() {}\nfn b() {}\nfn b() {}\n",
        "only the unique edit changed the file"
    );
    assert!(
        results[3].1.contains("src/") && !results[3].1.contains(".git\n"),
        "list_dir shows folders, not .git: {}",
        results[3].1
    );
    assert!(
        results[4].1.contains("src/lib.rs:1:"),
        "search finds the match: {}",
        results[4].1
    );
    assert!(
        !results[4].1.contains("target/"),
        "search respects .gitignore: {}",
        results[4].1
    );
    let (ok, text) = &results[5];
    assert!(
        !ok && text.contains("exit code 3") && text.contains("from-sh"),
        "the command's code and output come back: {text}"
    );
    let root = fx.root.canonicalize().expect("canonical root");
    assert!(
        text.contains(&root.display().to_string()),
        "the command ran in the worktree: {text}"
    );
}

#[tokio::test]
async fn commands_can_be_switched_off() {
    let fx = Fixture::new();
    let server = MockServer::start(Script::sequential(vec![
        Turn::tool("run_command", json!({"command": "touch ran"})),
        Turn::text("ok"),
    ]))
    .await
    .expect("mock starts");
    let (_, events) = run_agent(&fx, &server, "run", |agent, _| {
        agent.tools.allow_commands = false
    })
    .await;
    assert!(!fx.root.join("ran").exists(), "the command did not run");
    assert!(events.iter().any(|e| matches!(e, SessionEvent::ToolResult { ok: false, summary, .. } if summary.contains("switched off"))), "the model is told");
    let tools = &server.model_requests()[0].body["tools"];
    assert!(
        !tools.to_string().contains("run_command"),
        "the tool is not offered: {tools}"
    );
}

#[tokio::test]
async fn the_turn_limit_fails_the_session() {
    let fx = Fixture::new();
    let server = MockServer::start(Script::sequential(vec![
        Turn::tool("list_dir", json!({}));
        5
    ]))
    .await
    .expect("mock starts");
    let (outcome, _) = run_agent(&fx, &server, "loop", |_, spec| spec.max_turns = Some(2)).await;
    assert_eq!(
        outcome.status,
        SessionStatus::Failed,
        "running out of turns is a failure"
    );
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("limit of 2 turns"),
        "{:?}",
        outcome.reason
    );
    assert_eq!(
        server.model_requests().len(),
        2,
        "no request beyond the limit"
    );
}

#[tokio::test]
async fn cancelling_stops_a_running_command() {
    let fx = Fixture::new();
    let server = MockServer::start(Script::sequential(vec![Turn::tool(
        "run_command",
        json!({"command": "echo started; sleep 600"}),
    )]))
    .await
    .expect("mock starts");
    let agent = ApiAgent::new(config(&server, Provider::Anthropic));
    let (tx, mut rx) = mpsc::channel(64);
    let mut spec = SessionSpec::new(&fx.root, "hang");
    spec.permission = PermissionProfile::EditsAndCommands;
    let session = agent.start(&spec, tx).expect("starts");
    while let Some(event) = rx.recv().await {
        if matches!(event, SessionEvent::ToolUse { .. }) {
            break;
        }
    }
    session.cancel();
    let outcome = session.wait().await;
    assert_eq!(
        outcome.status,
        SessionStatus::Cancelled,
        "{:?}",
        outcome.reason
    );
    let sleeping = std::process::Command::new("pgrep")
        .args(["-f", "sleep 600"])
        .output()
        .expect("pgrep runs");
    assert!(
        sleeping.stdout.is_empty(),
        "the command's process group is gone"
    );
}

#[tokio::test]
async fn openai_tool_results_reach_the_model_as_tool_messages() {
    let fx = Fixture::new();
    let server = MockServer::start(Script::sequential(vec![
        Turn::tool("read_file", json!({"path": "missing.txt"})),
        Turn::text("ok"),
    ]))
    .await
    .expect("mock starts");
    let mut agent = ApiAgent::new(config(&server, Provider::OpenAi));
    agent.config.model = "llama3".into();
    let (tx, mut rx) = mpsc::channel(64);
    let session = agent
        .start(&SessionSpec::new(&fx.root, "read"), tx)
        .expect("starts");
    let mut result_cost = None;
    while let Some(event) = rx.recv().await {
        if let SessionEvent::Result { cost_usd, .. } = event {
            result_cost = Some(cost_usd);
        }
    }
    assert!(session.wait().await.succeeded());
    assert_eq!(result_cost, Some(None), "an unknown model has no cost");
    let second = &server.model_requests()[1].body;
    let tool_message = second["messages"]
        .as_array()
        .expect("messages")
        .iter()
        .find(|m| m["role"] == "tool")
        .expect("a tool message");
    assert!(
        tool_message["content"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Error:"),
        "the failure is marked: {tool_message}"
    );
}

#[tokio::test]
async fn parallel_sessions_each_follow_their_own_keyed_conversation() {
    let fixtures: Vec<Fixture> = (0..3).map(|_| Fixture::new()).collect();
    let script = (1..=3).fold(Script::default(), |script, i| {
        script.keyed(
            format!("approach {i}"),
            Script::write_file(WriteTool::BuiltIn, "out.txt", &format!("variant {i}\n")),
        )
    });
    let server = MockServer::start(script).await.expect("mock starts");
    let agent = ApiAgent::new(config(&server, Provider::Anthropic));
    let mut sessions = Vec::new();
    for (i, fx) in fixtures.iter().enumerate() {
        let (tx, mut rx) = mpsc::channel(64);
        let session = agent
            .start(
                &SessionSpec::new(&fx.root, format!("Task, approach {}", i + 1)),
                tx,
            )
            .expect("starts");
        sessions.push(tokio::spawn(async move {
            while rx.recv().await.is_some() {}
            session.wait().await
        }));
    }
    for (i, session) in sessions.into_iter().enumerate() {
        let outcome = session.await.expect("the session task ends");
        assert!(
            outcome.succeeded(),
            "session {} succeeds: {:?}",
            i + 1,
            outcome.reason
        );
        assert_eq!(
            fixtures[i].read("out.txt"),
            format!("variant {}\n", i + 1),
            "each session got its own conversation"
        );
    }
}

#[tokio::test]
async fn a_session_past_its_timeout_is_stopped_with_its_command() {
    let fx = Fixture::new();
    let server = MockServer::start(Script::sequential(vec![Turn::tool(
        "run_command",
        json!({"command": "sleep 700"}),
    )]))
    .await
    .expect("mock starts");
    let (outcome, events) = run_agent(&fx, &server, "hang", |_, spec| {
        spec.permission = PermissionProfile::EditsAndCommands;
        spec.timeout = Some(Duration::from_millis(500))
    })
    .await;
    assert_eq!(
        outcome.status,
        SessionStatus::TimedOut,
        "{:?}",
        outcome.reason
    );
    assert!(
        outcome
            .reason
            .as_deref()
            .unwrap_or_default()
            .contains("timeout"),
        "{:?}",
        outcome.reason
    );
    assert!(
        matches!(events.last(), Some(SessionEvent::Result { ok: false, .. })),
        "a failed result closes the events"
    );
    let sleeping = std::process::Command::new("pgrep")
        .args(["-f", "sleep 700"])
        .output()
        .expect("pgrep runs");
    assert!(
        sleeping.stdout.is_empty(),
        "the command was stopped, not left running"
    );
}

#[tokio::test]
async fn a_slow_stream_still_arrives_whole() {
    let slow = Turn::Reply(fanout_mock_llm::Reply {
        text: Some("slowly".into()),
        delay_ms: 30,
        ..fanout_mock_llm::Reply::new()
    });
    let server = MockServer::start(Script::sequential(vec![slow]))
        .await
        .expect("mock starts");
    let client = LlmClient::new(config(&server, Provider::Anthropic)).expect("client builds");
    let answer = client
        .complete(&ask("hi"))
        .await
        .expect("a slow stream is not an error");
    assert_eq!(answer.text(), "slowly");
    assert!(answer.retries.is_empty(), "nothing was retried");
}

/// The tool results of a session, in order.
fn tool_results(events: &[SessionEvent]) -> Vec<(bool, String)> {
    events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::ToolResult { ok, summary, .. } => Some((*ok, summary.clone())),
            _ => None,
        })
        .collect()
}

/// `edits` means no shell, for the built-in agent as for every backend: the
/// tool is not offered, and a call the model makes anyway is refused.
#[tokio::test]
async fn the_edits_profile_offers_no_shell_and_refuses_a_call() {
    let fx = Fixture::new();
    let outside = fx.sibling("outside");
    let marker = outside.join("touched");
    for profile in [PermissionProfile::Edits, PermissionProfile::Ask] {
        let server = MockServer::start(Script::sequential(vec![
            Turn::tool(
                "run_command",
                json!({"command": format!("touch {}", marker.display())}),
            ),
            Turn::text("ok"),
        ]))
        .await
        .expect("mock starts");
        let (_, events) = run_agent(&fx, &server, "run", |_, spec| spec.permission = profile).await;
        assert!(
            !marker.exists(),
            "{profile:?}: the command never ran outside the worktree"
        );
        let results = tool_results(&events);
        assert!(
            !results[0].0 && results[0].1.contains("switched off"),
            "{profile:?}: the model is told: {results:?}"
        );
        for request in server.model_requests() {
            assert!(
                !request.body["tools"].to_string().contains("run_command"),
                "{profile:?}: no request offered a shell (ask without anyone to ask runs as edits)"
            );
        }
    }
}

#[tokio::test]
async fn commands_run_with_edits_and_commands_and_bypass() {
    let fx = Fixture::new();
    for profile in [
        PermissionProfile::EditsAndCommands,
        PermissionProfile::Bypass,
    ] {
        let server = MockServer::start(Script::sequential(vec![
            Turn::tool("run_command", json!({"command": "echo ran > ran.txt"})),
            Turn::text("ok"),
        ]))
        .await
        .expect("mock starts");
        let (outcome, _) =
            run_agent(&fx, &server, "run", |_, spec| spec.permission = profile).await;
        assert!(outcome.succeeded(), "{profile:?}: {:?}", outcome.reason);
        assert_eq!(fx.read("ran.txt"), "ran\n", "{profile:?}: the command ran");
        assert!(
            server.model_requests()[0].body["tools"]
                .to_string()
                .contains("run_command"),
            "{profile:?}: the shell is offered"
        );
        std::fs::remove_file(fx.root.join("ran.txt")).expect("clean up");
    }
}

/// `ask`: edits inside the worktree pass by the rules; a command waits for
/// the user, who answers through the same handle as for Claude Code.
#[tokio::test]
async fn the_ask_profile_asks_the_user_through_the_handle() {
    let fx = Fixture::new();
    let server = MockServer::start(Script::sequential(vec![
        Turn::tool("write_file", json!({"path": "a.txt", "content": "edit\n"})),
        Turn::tool("run_command", json!({"command": "echo yes > allowed.txt"})),
        Turn::tool("run_command", json!({"command": "echo no > denied.txt"})),
        Turn::text("done"),
    ]))
    .await
    .expect("mock starts");
    let agent = ApiAgent::new(config(&server, Provider::Anthropic));
    let mut spec = SessionSpec::new(&fx.root, "ask");
    spec.permission = PermissionProfile::Ask;
    let (updates_tx, mut updates) = mpsc::unbounded_channel();
    let approvals = Approvals {
        rules: ApprovalRules::default(),
        allowed: AllowedTools::default(),
        updates: updates_tx,
    };
    let (tx, mut rx) = mpsc::channel(64);
    let (session, handle) = agent
        .start_asking(&spec, approvals, tx)
        .expect("the agent starts");
    let events = tokio::spawn(async move {
        let mut all = Vec::new();
        while let Some(event) = rx.recv().await {
            all.push(event);
        }
        all
    });
    let mut answered = 0;
    while answered < 2 {
        match updates
            .recv()
            .await
            .expect("updates flow until both are answered")
        {
            ApprovalUpdate::Requested { request } => {
                assert_eq!(
                    request.tool, "Bash",
                    "commands are asked as Claude's Bash is"
                );
                assert_eq!(
                    handle.pending().len(),
                    1,
                    "the request is listed while it waits"
                );
                if answered == 0 {
                    handle.allow(&request.id).expect("allow");
                } else {
                    handle.deny(&request.id, "not this one").expect("deny");
                }
                answered += 1;
            }
            ApprovalUpdate::Resolved { tool, allowed, .. } if tool == "Write" => {
                assert!(allowed, "an edit inside the worktree needs no question")
            }
            _ => {}
        }
    }
    let outcome = session.wait().await;
    let events = events.await.expect("events");
    assert!(outcome.succeeded(), "{:?}", outcome.reason);
    assert_eq!(fx.read("a.txt"), "edit\n");
    assert_eq!(fx.read("allowed.txt"), "yes\n", "the allowed command ran");
    assert!(
        !fx.root.join("denied.txt").exists(),
        "the denied one did not"
    );
    let results = tool_results(&events);
    assert!(
        !results[2].0 && results[2].1.contains("not this one"),
        "the model reads the user's reason: {results:?}"
    );
    assert!(
        handle.interrupt().is_err(),
        "the built-in agent says it cannot be interrupted mid-turn"
    );
}

/// An agent allowed only to edit files cannot write git's records: the
/// worktree's `.git`, a nested repository's, in any spelling, or through a
/// symlink that leads there.
#[tokio::test]
async fn the_file_tools_refuse_every_path_into_a_git_folder() {
    let fx = Fixture::new();
    fx.write("sub/.git/config", "[core]\n");
    std::os::unix::fs::symlink(fx.root.join(".git"), fx.root.join("gitlink"))
        .expect("a symlink to .git");
    let head_before = std::fs::read_to_string(fx.root.join(".git/HEAD")).expect("HEAD");
    let attempts = [
        ".git/HEAD",
        ".GIT/HEAD",
        "./x/../.git/config",
        "sub/.git/config",
        "sub/.Git/hooks/pre-commit",
        "gitlink/HEAD",
        ".git\u{200c}/HEAD",
        "git~1/HEAD",
        ".git./HEAD",
    ];
    let turns: Vec<Turn> = attempts
        .iter()
        .map(|path| {
            Turn::tool(
                "write_file",
                json!({"path": path, "content": "ref: refs/heads/evil\n"}),
            )
        })
        .chain([Turn::text("done")])
        .collect();
    let server = MockServer::start(Script::sequential(turns))
        .await
        .expect("mock starts");
    let (_, events) = run_agent(&fx, &server, "tamper", |_, _| {}).await;
    let results = tool_results(&events);
    assert_eq!(results.len(), attempts.len());
    for (attempt, (ok, text)) in attempts.iter().zip(&results) {
        assert!(!ok && text.contains(".git"), "{attempt} is refused: {text}");
    }
    assert_eq!(
        std::fs::read_to_string(fx.root.join(".git/HEAD")).expect("HEAD"),
        head_before,
        "git's HEAD is untouched"
    );
    assert_eq!(
        fx.read("sub/.git/config"),
        "[core]\n",
        "nor the nested repository's config"
    );
}

/// A key the shell prints is scrubbed before anyone sees it: the events, and
/// the model, get `[redacted]`. (That no child inherits a key is in keys.rs.)
#[tokio::test]
async fn a_key_the_shell_prints_is_scrubbed() {
    let fx = Fixture::new();
    let secret = "sk-ant-api03-scrub-me-0123456789abcdef";
    fanout_engine::secrets::remember(secret);
    // The model never writes the key itself: a file of the repository holds it.
    fx.write("notes/key.txt", format!("{secret}\n"));
    let server = MockServer::start(Script::sequential(vec![
        Turn::tool("run_command", json!({"command": "cat notes/key.txt"})),
        Turn::text("done"),
    ]))
    .await
    .expect("mock starts");
    let (_, events) = run_agent(&fx, &server, "leak", |_, spec| {
        spec.permission = PermissionProfile::EditsAndCommands
    })
    .await;
    let results = tool_results(&events);
    assert!(results[0].1.contains("[redacted]"), "{results:?}");
    assert!(
        !format!("{events:?}").contains(secret),
        "the printed key never reached an event"
    );
    assert!(
        !server.model_requests()[1].body.to_string().contains(secret),
        "nor the model"
    );
}
