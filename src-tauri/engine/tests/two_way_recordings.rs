//! The two-way session against recordings of the real CLI's two-way mode,
//! replayed by a small fake that waits for Fanout's input where the real CLI
//! did: after a `control_request` (the answer), before a `control_response`
//! (the interrupt it acknowledges), before each later `init` (the next user
//! message), and at the end (stdin closing). Every line Fanout wrote is logged.

mod common;

use std::path::{Path, PathBuf};

use common::Fixture;
use fanout_engine::agent::{
    AllowedTools, ApprovalRules, ApprovalUpdate, Approvals, ClaudeInteractive, SessionSpec,
};
use fanout_engine::events::SessionEvent;
use serde_json::Value;
use tokio::sync::mpsc;

const REPLAY: &str = r#"#!/usr/bin/env python3
import json, os, sys
log = open(os.environ["FAKE_LOG"], "a")
def take():
    line = sys.stdin.readline()
    log.write(line); log.flush()
    return line
take()  # the prompt
inits = 0
for raw in open(os.environ["FAKE_RECORDING"]):
    line = raw.replace("/home/user/project", os.getcwd())
    event = json.loads(line)
    kind = event.get("type")
    if kind == "system" and event.get("subtype") == "init":
        inits += 1
        if inits > 1:
            take()
    if kind == "control_response":
        take()
    sys.stdout.write(line); sys.stdout.flush()
    if kind == "control_request":
        take()
while take():
    pass
"#;

fn recording(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../tests/fixtures/recordings")
        .join(name)
}

fn replayer(dir: &Path) -> PathBuf {
    common::executable(&dir.join("replay-claude"), REPLAY)
}

struct Replay {
    fx: Fixture,
    log: PathBuf,
    updates: mpsc::UnboundedReceiver<ApprovalUpdate>,
    handle: fanout_engine::agent::InteractiveHandle,
    session: fanout_engine::agent::Session,
    events: mpsc::Receiver<SessionEvent>,
}

fn replay(name: &str, rules: ApprovalRules) -> Replay {
    let fx = Fixture::new();
    let log = fx.sibling("fake").join("stdin.jsonl");
    let program = replayer(&fx.sibling("bin"));
    let mut spec = SessionSpec::new(&fx.root, "Do the task.");
    spec.env = vec![
        ("FAKE_LOG".into(), log.display().to_string()),
        (
            "FAKE_RECORDING".into(),
            recording(name).display().to_string(),
        ),
    ];
    let (updates_tx, updates) = mpsc::unbounded_channel();
    let approvals = Approvals {
        rules,
        allowed: AllowedTools::default(),
        updates: updates_tx,
    };
    let (tx, events) = mpsc::channel(1024);
    let (session, handle) = ClaudeInteractive::new(program)
        .start(&spec, approvals, tx)
        .expect("the fake starts");
    Replay {
        fx,
        log,
        updates,
        handle,
        session,
        events,
    }
}

impl Replay {
    async fn finish(mut self) -> (Vec<SessionEvent>, Vec<Value>, bool) {
        let mut events = Vec::new();
        while let Some(event) = self.events.recv().await {
            events.push(event);
        }
        let outcome = self.session.wait().await;
        let written = std::fs::read_to_string(&self.log)
            .expect("the fake logged its input")
            .lines()
            .map(|l| serde_json::from_str(l).expect("Fanout writes JSON lines"))
            .collect();
        (events, written, outcome.succeeded())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_inside_the_worktree_is_allowed_by_the_rules() {
    let run = replay("claude_can_use_tool_allow.jsonl", ApprovalRules::default());
    let root = run.fx.root.clone();
    let (events, written, succeeded) = run.finish().await;

    assert!(
        succeeded,
        "the recording ends in a good result: {events:#?}"
    );
    assert_eq!(
        written[0]["type"], "user",
        "the prompt goes in as a user message"
    );
    assert_eq!(written[0]["message"]["content"], "Do the task.");
    let answer = &written[1]["response"];
    assert_eq!(answer["subtype"], "success");
    assert_eq!(
        answer["request_id"], "b614abbb-fbec-4fe8-b3a0-7317d127d621",
        "the answer names the recorded request"
    );
    assert_eq!(answer["response"]["behavior"], "allow");
    assert_eq!(
        answer["response"]["updatedInput"]["file_path"],
        root.join("hello.txt").display().to_string(),
        "the input goes back unchanged"
    );
    assert_eq!(
        written.len(),
        2,
        "nothing more after the last result: stdin was closed"
    );
    let kinds: Vec<&str> = events.iter().map(SessionEvent::kind).collect();
    for kind in [
        "init",
        "tool_use",
        "tool_result",
        "assistant_text",
        "result",
    ] {
        assert!(
            kinds.contains(&kind),
            "{kind} parsed from the recording: {kinds:?}"
        );
    }
    assert!(
        !kinds.contains(&"raw"),
        "control lines are not left raw in the transcript: {events:#?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_the_rules_leave_open_waits_for_the_user_and_is_denied() {
    let rules = ApprovalRules {
        allow_edits_in_worktree: false,
        ..ApprovalRules::default()
    };
    let mut run = replay("claude_can_use_tool_deny.jsonl", rules);
    let request = match run.updates.recv().await.expect("a request comes") {
        ApprovalUpdate::Requested { request } => request,
        other => panic!("nothing is decided before the user: {other:?}"),
    };
    assert_eq!(request.tool, "Write");
    assert!(
        matches!(&request.display, fanout_engine::agent::approval::ApprovalDisplay::Diff { diff, .. } if diff.contains("+hello from the mock model")),
        "a write shows as a diff: {:?}",
        request.display
    );
    assert!(
        run.handle.allow("no-such-request").is_err(),
        "an unknown id is refused, not ignored"
    );
    run.handle.deny(&request.id, "not this file").expect("deny");
    assert!(
        run.handle.pending().is_empty(),
        "answered requests leave the list"
    );
    let (_, written, succeeded) = run.finish().await;
    assert!(succeeded);
    let answer = &written[1]["response"]["response"];
    assert_eq!(answer["behavior"], "deny");
    assert_eq!(
        answer["message"], "not this file",
        "the user's message goes to the model"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupt_keeps_the_session_for_the_next_message() {
    let mut run = replay("claude_interrupt.jsonl", ApprovalRules::default());
    run.handle.interrupt().expect("interrupt");
    loop {
        match run.updates.recv().await {
            Some(ApprovalUpdate::AwaitingMessage) => break,
            Some(_) => {}
            None => panic!("the session closed instead of waiting"),
        }
    }
    run.handle.send("go on").expect("the next message");
    let (events, written, succeeded) = run.finish().await;

    assert!(succeeded, "the answered second turn decides: {events:#?}");
    assert_eq!(written[1]["type"], "control_request");
    assert_eq!(written[1]["request"]["subtype"], "interrupt");
    assert_eq!(written[2]["message"]["content"], "go on");
    assert_eq!(written.len(), 3, "then stdin was closed");
}
