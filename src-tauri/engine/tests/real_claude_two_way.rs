//! The real Claude Code CLI in two-way mode (the "ask" profile) against the
//! mock Messages API on 127.0.0.1: approvals answered through the handle,
//! a denial that reaches the model, an interrupt and a next message, and the
//! orchestrator showing `needs_input` until the user answers.
//!
//! The binary comes from `FANOUT_CLAUDE_BIN` or the cache that
//! `scripts/install-claude-code.sh` fills; without it these tests fail and say so.

mod common;

use common::{claude_binary, claude_offline_env, Fixture};
use fanout_engine::agent::{
    AllowedTools, ApprovalRequest, ApprovalRules, ApprovalUpdate, Approvals, ClaudeInteractive,
    InteractiveHandle, Session, SessionOutcome, SessionSpec, SessionStatus,
};
use fanout_engine::events::SessionEvent;
use fanout_mock_llm::{MockServer, Reply, Script, Turn};
use serde_json::json;
use tokio::sync::mpsc;

/// One running two-way session and what it reports.
struct Live {
    session: Session,
    handle: InteractiveHandle,
    updates: mpsc::UnboundedReceiver<ApprovalUpdate>,
    events: tokio::task::JoinHandle<Vec<SessionEvent>>,
    _home: tempfile::TempDir,
}

fn start(fx: &Fixture, server: &MockServer, prompt: &str) -> Live {
    start_with(fx, server, prompt, ApprovalRules::default())
}

fn start_with(fx: &Fixture, server: &MockServer, prompt: &str, rules: ApprovalRules) -> Live {
    let home = tempfile::tempdir().expect("a throwaway HOME");
    let mut spec = SessionSpec::new(&fx.root, prompt);
    spec.model = Some("claude-sonnet-4-5".into());
    spec.env = claude_offline_env(&server.url(), home.path());
    let (updates_tx, updates) = mpsc::unbounded_channel();
    let approvals = Approvals {
        rules,
        allowed: AllowedTools::default(),
        updates: updates_tx,
    };
    let (tx, mut rx) = mpsc::channel(256);
    let (session, handle) = ClaudeInteractive::new(claude_binary())
        .start(&spec, approvals, tx)
        .expect("claude starts in two-way mode");
    let events = tokio::spawn(async move {
        let mut events = Vec::new();
        while let Some(event) = rx.recv().await {
            events.push(event);
        }
        events
    });
    Live {
        session,
        handle,
        updates,
        events,
        _home: home,
    }
}

impl Live {
    /// The next request that waits for the user; rule decisions pass by.
    async fn next_request(&mut self) -> ApprovalRequest {
        loop {
            match self.updates.recv().await {
                Some(ApprovalUpdate::Requested { request }) => return request,
                Some(_) => {}
                None => panic!("the session ended without asking for approval"),
            }
        }
    }

    async fn finish(self) -> (SessionOutcome, Vec<SessionEvent>) {
        let outcome = self.session.wait().await;
        let events = self.events.await.expect("the event reader ends");
        (outcome, events)
    }
}

fn bash_script(command: &str) -> Script {
    Script::sequential(vec![
        Turn::tool(
            "Bash",
            json!({"command": command, "description": "Run the check"}),
        ),
        Turn::text("The command ran."),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_allowed_command_runs() {
    let fx = Fixture::new();
    let command = "echo approved > ran.txt && echo ran-ok";
    let server = MockServer::start(bash_script(command))
        .await
        .expect("mock starts");
    let mut live = start(&fx, &server, "Run the check.");

    let request = live.next_request().await;
    assert_eq!(request.tool, "Bash", "the command waits for the user");
    assert_eq!(
        request.input["command"], command,
        "the request carries the command"
    );
    assert_eq!(
        live.handle.pending(),
        vec![request.clone()],
        "the handle lists what waits"
    );
    live.handle.allow(&request.id).expect("allow once");
    let (outcome, events) = live.finish().await;

    assert!(
        outcome.succeeded(),
        "the session succeeds: {:?}; events: {events:#?}",
        outcome.reason
    );
    assert_eq!(
        fx.read("ran.txt"),
        "approved\n",
        "the allowed command really ran in the worktree"
    );
    assert!(
        events.iter().any(|e| matches!(e, SessionEvent::ToolResult { ok: true, summary, .. } if summary.contains("ran-ok"))),
        "the command's output is in the tool result: {events:#?}"
    );
    assert!(
        outcome.session_id.is_some(),
        "the session id is kept for follow-ups"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unanswered_request_fails_the_session_after_the_approval_timeout() {
    let fx = Fixture::new();
    let server = MockServer::start(bash_script("echo late > ran.txt"))
        .await
        .expect("mock starts");
    let rules = ApprovalRules {
        timeout_secs: 1,
        ..ApprovalRules::default()
    };
    let mut live = start_with(&fx, &server, "Run the check.", rules);
    let request = live.next_request().await;
    let pid = live.session.pid();
    let (outcome, _) = live.finish().await;

    assert_eq!(
        outcome.status,
        SessionStatus::Failed,
        "nobody answered: the session fails instead of hanging"
    );
    let reason = outcome.reason.unwrap_or_default();
    assert!(
        reason.contains("waited longer than") && reason.contains(&request.tool),
        "the reason names the wait and the tool: {reason}"
    );
    assert!(
        !fx.root.join("ran.txt").exists(),
        "the unanswered command never ran"
    );
    assert!(group_gone(pid), "the agent's process group is gone");
}

/// Whether no process of group `pgid` is left (`kill -0 -pgid` fails).
fn group_gone(pgid: u32) -> bool {
    !std::process::Command::new("kill")
        .args(["-0", "--", &format!("-{pgid}")])
        .stderr(std::process::Stdio::null())
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_denial_reaches_the_model() {
    let fx = Fixture::new();
    let server = MockServer::start(bash_script("echo denied > ran.txt"))
        .await
        .expect("mock starts");
    let mut live = start(&fx, &server, "Run the check.");

    let request = live.next_request().await;
    let reason = "Not on this machine, please.";
    live.handle.deny(&request.id, reason).expect("deny");
    let (outcome, events) = live.finish().await;

    assert!(
        outcome.succeeded(),
        "a denied tool does not fail the session: {:?}",
        outcome.reason
    );
    assert!(
        !fx.root.join("ran.txt").exists(),
        "the denied command did not run"
    );
    let requests = server.model_requests();
    let after = requests
        .iter()
        .find(|r| r.body_text().contains(reason))
        .unwrap_or_else(|| panic!("the denial reached the model: {requests:#?}"));
    let tool_result = after.body["messages"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["content"].as_array())
        .flatten()
        .find(|block| block["type"] == "tool_result")
        .expect("the next request carries the tool result");
    assert_eq!(
        tool_result["is_error"], true,
        "the model sees the tool failed"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, SessionEvent::ToolResult { ok: false, .. })),
        "the transcript shows the denied tool: {events:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_inside_the_worktree_needs_no_question() {
    let fx = Fixture::new();
    let target = fx.root.join("hello.txt");
    let script = Script::sequential(vec![
        Turn::tool("Write", json!({"file_path": target, "content": "hello\n"})),
        Turn::text("Wrote it."),
    ]);
    let server = MockServer::start(script).await.expect("mock starts");
    let live = start(&fx, &server, "Write hello.txt.");
    let (outcome, _) = {
        let mut updates = Vec::new();
        let done = live.finish_collecting(&mut updates).await;
        assert!(
            updates
                .iter()
                .all(|u| !matches!(u, ApprovalUpdate::Requested { .. })),
            "nothing was asked: {updates:#?}"
        );
        assert!(
            updates.iter().any(|u| matches!(u, ApprovalUpdate::Resolved { allowed: true, tool, .. } if tool == "Write")),
            "the rule allowed the write: {updates:#?}"
        );
        done
    };
    assert!(outcome.succeeded(), "{:?}", outcome.reason);
    assert_eq!(fx.read("hello.txt"), "hello\n", "the write happened");
}

impl Live {
    async fn finish_collecting(
        mut self,
        updates: &mut Vec<ApprovalUpdate>,
    ) -> (SessionOutcome, Vec<SessionEvent>) {
        let outcome = self.session.wait().await;
        while let Ok(update) = self.updates.try_recv() {
            updates.push(update);
        }
        let events = self.events.await.expect("the event reader ends");
        (outcome, events)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_ends_a_slow_turn_and_the_next_message_is_answered() {
    let fx = Fixture::new();
    let slow = Turn::Reply(Reply {
        text: Some("a very slow answer".into()),
        // Far longer than the test waits: only the interrupt ends this turn.
        delay_ms: 10_000,
        ..Reply::new()
    });
    let script = Script::sequential(vec![slow, Turn::text("The second answer.")]);
    let server = MockServer::start(script).await.expect("mock starts");
    let mut live = start(&fx, &server, "Take your time.");

    // The slow turn is under way once the mock has its request.
    while server.model_requests().is_empty() {
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    live.handle.interrupt().expect("interrupt");
    loop {
        match live.updates.recv().await {
            Some(ApprovalUpdate::AwaitingMessage) => break,
            Some(_) => {}
            None => panic!("the session ended instead of waiting for the next message"),
        }
    }
    assert!(
        live.handle.is_open(),
        "the process stays for the next message"
    );
    live.handle
        .send("Answer quickly now.")
        .expect("the next message");
    let (outcome, events) = live.finish().await;

    assert!(
        outcome.succeeded(),
        "the last turn decides: {:?}; events: {events:#?}",
        outcome.reason
    );
    let results: Vec<bool> = events
        .iter()
        .filter_map(|e| match e {
            SessionEvent::Result { ok, .. } => Some(*ok),
            _ => None,
        })
        .collect();
    assert_eq!(
        results,
        vec![false, true],
        "the interrupted turn, then the answered one"
    );
    assert!(
        events.iter().any(
            |e| matches!(e, SessionEvent::AssistantText { text } if text.contains("second answer"))
        ),
        "the next message was answered: {events:#?}"
    );
    assert!(
        server
            .model_requests()
            .last()
            .is_some_and(|r| r.body_text().contains("Answer quickly now.")),
        "the next message reached the model"
    );
}

/// The orchestrator with the "ask" profile: the variant shows `needs_input`
/// while the command waits, the app's handle answers, the variant succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_orchestrator_waits_in_needs_input_until_the_user_allows() {
    use common::Rig;
    use fanout_engine::agent::PermissionProfile;
    use fanout_engine::ids::VariantIndex;
    use fanout_engine::orchestrator::{
        Config, Environment, Executables, RunConfig, Steer, UpdateKind,
    };
    use fanout_engine::store::VariantStatus;

    let fx = Fixture::new();
    let home = tempfile::tempdir().expect("a throwaway HOME");
    let server = MockServer::start(bash_script("echo from-variant > ran.txt"))
        .await
        .expect("mock starts");
    let rig = Rig::with(fx, &["direct"], "claude-code");
    let config = Config {
        run: RunConfig {
            permission: PermissionProfile::Ask,
            ..RunConfig::default()
        },
        environment: Environment {
            executables: Executables {
                claude: Some(claude_binary()),
                ..Executables::default()
            },
            env: claude_offline_env(&server.url(), home.path()),
            ..Environment::default()
        },
    };
    rig.configure(&config).await;
    let mut updates = rig.fanout.subscribe();
    let ticket = rig.start_run().await;

    let mut request = None;
    let mut saw_needs_input = false;
    while request.is_none() || !saw_needs_input {
        let update = updates.recv().await.expect("updates flow while it runs");
        match update.kind {
            UpdateKind::Approval {
                update: ApprovalUpdate::Requested { request: r },
            } => request = Some(r),
            UpdateKind::Progress(p) if p.status == VariantStatus::NeedsInput => {
                saw_needs_input = true
            }
            _ => {}
        }
    }
    let request = request.expect("a request came");
    assert_eq!(request.tool, "Bash", "the command waits for the user");
    rig.fanout
        .steer(
            &rig.id,
            VariantIndex(1),
            Steer::Allow {
                request: request.id.clone(),
            },
        )
        .await
        .expect("the app reaches the running session and allows");

    ticket.finished().await;
    let done = rig.load().await;
    let variant = &done.variants[0];
    assert_eq!(
        variant.status,
        VariantStatus::Succeeded,
        "allowed, the variant finishes: {:?}",
        variant.error
    );
    assert_eq!(
        std::fs::read_to_string(variant.worktree.join("ran.txt")).expect("the command ran"),
        "from-variant\n",
        "in the variant's worktree"
    );
    assert!(
        rig.fanout
            .steer(&rig.id, VariantIndex(1), Steer::Interrupt)
            .await
            .is_err(),
        "nothing is left to steer once the session ended"
    );
    let stored = rig.events(1).await;
    let approvals: Vec<_> = stored.iter().filter(|e| e.kind == "approval").collect();
    assert!(
        approvals.len() >= 2,
        "the request and its answer are in the transcript: {approvals:#?}"
    );
}
