//! Claude Code in two-way mode: one CLI process per session, spoken to on
//! stdin, with tool approvals answered by rules and by the user.
//!
//! `claude --output-format stream-json --verbose --input-format stream-json
//! --permission-prompt-tool stdio --session-id <uuid>` (no `-p`) runs in the
//! worktree; the prompt goes in as a user message. Each `can_use_tool`
//! control request is decided by [`ApprovalRules`] first; what the rules leave
//! open waits for the user, who answers through the [`InteractiveHandle`].
//! Stdout is parsed as in one-shot mode (see [`super::claude_code`]).
//!
//! One turn runs at a time: a message sent while a turn runs is queued by
//! Fanout and sent after that turn's result. When a turn ends with no message
//! queued, stdin is closed and the CLI exits: the session is done, and its
//! outcome is the last turn's result. After an interrupt the session stays
//! open for the next message instead (or until [`InteractiveHandle::end`]).
//!
//! A request (or an interrupted session) waiting for the user longer than the
//! rules' timeout ends the session; time spent waiting for the user does not
//! count against the session's own timeout.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::process::ChildStdin;
use tokio::sync::mpsc;
use tokio::time::{sleep_until, Instant};

use super::approval::{ApprovalDisplay, ApprovalRequest, ApprovalUpdate, Decider};
use super::claude_code::ClaudeParser;
use super::handle::{Approvals, Command, InteractiveHandle};
use super::{
    describe, judge, send_all, AgentError, OutputParser, Session, SessionOutcome, SessionSpec,
    SessionStatus, LEAK_WARNING,
};
use crate::agent::Decision;
use crate::events::{bound, SessionEvent, Stream, MAX_SUMMARY_BYTES};
use crate::process::{self, Canceller, OutputLine, ProcessEnd, RunningProcess};

/// The two-way Claude Code backend; `executable` defaults to `claude` on the PATH.
#[derive(Debug, Clone)]
pub struct ClaudeInteractive {
    pub executable: PathBuf,
}

impl Default for ClaudeInteractive {
    fn default() -> Self {
        ClaudeInteractive::new("claude")
    }
}

impl ClaudeInteractive {
    pub fn new(executable: impl Into<PathBuf>) -> Self {
        ClaudeInteractive {
            executable: executable.into(),
        }
    }

    /// The command line for `spec`, without the program; `session_id` is
    /// Fanout's choice for a new session (a follow-up resumes `spec.resume`).
    pub fn args(spec: &SessionSpec, session_id: &str) -> Vec<String> {
        let mut args: Vec<String> = [
            "--output-format",
            "stream-json",
            "--verbose",
            "--input-format",
            "stream-json",
            "--permission-prompt-tool",
            "stdio",
        ]
        .map(String::from)
        .into();
        match &spec.resume {
            Some(session) => args.extend(["--resume".into(), session.clone()]),
            None => args.extend(["--session-id".into(), session_id.to_owned()]),
        }
        if let Some(methodology) = spec.methodology.as_deref().filter(|m| !m.trim().is_empty()) {
            args.extend(["--append-system-prompt".into(), methodology.to_owned()]);
        }
        if let Some(model) = &spec.model {
            args.extend(["--model".into(), model.clone()]);
        }
        if let Some(turns) = spec.max_turns {
            args.extend(["--max-turns".into(), turns.to_string()]);
        }
        args
    }

    /// Spawns the CLI in `spec.workdir` and sends the prompt. Events go to
    /// `events` as with [`super::Agent::start`]; the handle answers requests
    /// and steers. Needs a tokio runtime (call from a worker thread).
    pub fn start(
        &self,
        spec: &SessionSpec,
        approvals: Approvals,
        events: mpsc::Sender<SessionEvent>,
    ) -> Result<(Session, InteractiveHandle), AgentError> {
        let session_id = uuid::Uuid::new_v4().to_string();
        // The session's own clock is kept here, so waiting for the user can be left out of it.
        let process = spec
            .process(&self.executable, Self::args(spec, &session_id))
            .timeout(None)
            .piped_stdin();
        let mut running = process::spawn(process)?;
        let pid = running.pid();
        let canceller = running.canceller();
        let (handle, receiver) = InteractiveHandle::new(true);
        let worktree = spec
            .workdir
            .canonicalize()
            .unwrap_or_else(|_| spec.workdir.clone());
        let driver = Driver {
            stdin: running.take_stdin(),
            parser: ClaudeParser::default(),
            worktree,
            approvals,
            handle: handle.clone(),
            events,
            queue: VecDeque::new(),
            turn_active: false,
            hold_open: false,
            awaiting_message: None,
            interrupts: 0,
            budget: spec.timeout,
            running_since: Some(Instant::now()),
            failure: None,
            timed_out: false,
            session_id,
        };
        let (prompt, timeout) = (spec.prompt.clone(), spec.timeout);
        let task = tokio::spawn(driver.run(running, receiver, prompt, timeout, canceller.clone()));
        Ok((
            Session {
                pid,
                canceller,
                task,
            },
            handle,
        ))
    }
}

/// The one task that owns the CLI's stdin and reads its output.
struct Driver {
    stdin: Option<ChildStdin>,
    parser: ClaudeParser,
    worktree: PathBuf,
    approvals: Approvals,
    handle: InteractiveHandle,
    events: mpsc::Sender<SessionEvent>,
    queue: VecDeque<String>,
    turn_active: bool,
    /// An interrupt was sent: after this turn, wait for the next message.
    hold_open: bool,
    /// Since when an interrupted session waits for its next message.
    awaiting_message: Option<Instant>,
    interrupts: u32,
    /// The session's working time left; `None`: no limit.
    budget: Option<Duration>,
    /// When the agent last started working (not waiting for the user).
    running_since: Option<Instant>,
    failure: Option<String>,
    timed_out: bool,
    session_id: String,
}

impl Driver {
    async fn run(
        mut self,
        mut running: RunningProcess,
        mut commands: mpsc::UnboundedReceiver<Command>,
        prompt: String,
        timeout: Option<Duration>,
        canceller: Canceller,
    ) -> SessionOutcome {
        self.send_message(prompt).await;
        let mut stopping = false;
        loop {
            let user_deadline = self.user_deadline();
            let work_deadline = self.work_deadline();
            tokio::select! {
                line = running.next_line() => match line {
                    Some(line) => self.on_line(line).await,
                    None => break,
                },
                Some(command) = commands.recv() => self.on_command(command).await,
                _ = sleep_until_opt(user_deadline), if !stopping => {
                    stopping = self.user_too_slow().await;
                    if stopping {
                        canceller.cancel();
                    }
                }
                _ = sleep_until_opt(work_deadline), if !stopping => {
                    stopping = true;
                    self.timed_out = true;
                    canceller.cancel();
                }
            }
            self.update_clock();
        }
        self.close_input();
        let mut process = running.finish().await;
        let verdict = self.parser.finish(&process);
        send_all(&self.events, verdict.events).await;
        if process.leaked_output {
            let message = LEAK_WARNING.to_owned();
            send_all(&self.events, vec![SessionEvent::Warning { message }]).await;
        }
        if self.timed_out && process.end == ProcessEnd::Cancelled {
            process.end = ProcessEnd::TimedOut;
        }
        let session_id = verdict.session_id.or(Some(self.session_id));
        let mut outcome = judge(&process, verdict.failure, session_id, timeout);
        if let Some(reason) = self.failure {
            outcome.status = SessionStatus::Failed;
            outcome.reason = Some(reason);
        }
        outcome
    }

    fn waiting_for_user(&self) -> bool {
        self.awaiting_message.is_some() || self.handle.oldest_pending().is_some()
    }

    /// When the oldest wait for the user runs out.
    fn user_deadline(&self) -> Option<Instant> {
        let oldest = self.handle.oldest_pending().map(|(_, since)| since);
        oldest
            .or(self.awaiting_message)
            .map(|since| since + self.approvals.rules.timeout())
    }

    fn work_deadline(&self) -> Option<Instant> {
        Some(self.running_since? + self.budget?)
    }

    /// Stops the session clock while the user is waited on, restarts it after.
    fn update_clock(&mut self) {
        match (self.waiting_for_user(), self.running_since) {
            (true, Some(since)) => {
                self.budget = self.budget.map(|b| b.saturating_sub(since.elapsed()));
                self.running_since = None;
            }
            (false, None) => self.running_since = Some(Instant::now()),
            _ => {}
        }
    }

    /// The user let a wait run out. A pending request fails the session
    /// (returns true: stop it); an interrupted session just ends.
    async fn user_too_slow(&mut self) -> bool {
        let limit = describe(self.approvals.rules.timeout());
        let oldest = self.handle.oldest_pending().map(|(r, _)| r);
        match oldest {
            Some(request) => {
                self.failure = Some(format!(
                    "The request to use {} ({}) waited longer than {limit} for an answer, so Fanout ended the agent. Retry the variant, or raise the approval timeout in the settings.",
                    request.tool,
                    bound(request.display.summary().lines().next().unwrap_or(""), 200)
                ));
                true
            }
            None => {
                self.warn(format!("No next message came within {limit} of the interrupt; Fanout ended the session.")).await;
                self.close_input();
                false
            }
        }
    }

    async fn on_line(&mut self, line: OutputLine) {
        if line.stream == Stream::Stdout {
            if let Ok(value) = serde_json::from_str::<Value>(&line.text) {
                match value.get("type").and_then(Value::as_str) {
                    Some("control_request") => return self.on_control_request(&value).await,
                    // Acknowledgements of Fanout's own requests (an interrupt).
                    Some("control_response") => return,
                    _ => {}
                }
            }
        }
        let events = self.parser.on_line(line);
        let turn_ended = events
            .iter()
            .any(|e| matches!(e, SessionEvent::Result { .. }));
        send_all(&self.events, events).await;
        if turn_ended {
            self.on_turn_end().await;
        }
    }

    async fn on_control_request(&mut self, value: &Value) {
        let id = value
            .get("request_id")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let request = value.get("request").unwrap_or(&Value::Null);
        let subtype = request.get("subtype").and_then(Value::as_str);
        if subtype != Some("can_use_tool") {
            let error = format!(
                "Fanout does not handle {} requests.",
                subtype.unwrap_or("unnamed")
            );
            let response = json!({"type": "control_response", "response": {"subtype": "error", "request_id": id, "error": error}});
            return self.write(&response).await;
        }
        let tool = request
            .get("tool_name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned();
        let input = request.get("input").cloned().unwrap_or(json!({}));
        let approval = ApprovalRequest {
            display: ApprovalDisplay::of(&tool, &input, &self.worktree),
            id,
            tool,
            input,
            tool_use_id: request
                .get("tool_use_id")
                .and_then(Value::as_str)
                .map(str::to_owned),
        };
        if self.approvals.allowed.contains(&approval.tool) {
            return self.answer(&approval, None, Decider::AllowedTool).await;
        }
        let rules = &self.approvals.rules;
        match rules.decide(&approval.tool, &approval.input, &self.worktree) {
            Decision::Allow => self.answer(&approval, None, Decider::Rule).await,
            Decision::Deny { message } => {
                self.answer(&approval, Some(message), Decider::Rule).await
            }
            Decision::Ask => {
                self.handle.wait_for_user(approval.clone());
                self.report(ApprovalUpdate::Requested { request: approval });
            }
        }
    }

    /// Answers a request: allowed when `denial` is `None`.
    async fn answer(&mut self, request: &ApprovalRequest, denial: Option<String>, by: Decider) {
        let verdict = match &denial {
            None => json!({"behavior": "allow", "updatedInput": request.input}),
            Some(message) => json!({"behavior": "deny", "message": message}),
        };
        let response = json!({"type": "control_response", "response": {"subtype": "success", "request_id": request.id, "response": verdict}});
        self.write(&response).await;
        self.report(ApprovalUpdate::Resolved {
            id: request.id.clone(),
            tool: request.tool.clone(),
            allowed: denial.is_none(),
            message: denial,
            by,
        });
    }

    async fn on_command(&mut self, command: Command) {
        match command {
            Command::Allow { request } => self.answer(&request, None, Decider::User).await,
            Command::AllowAlways { tool } => {
                self.approvals.allowed.insert(&tool);
                for request in self.handle.take_pending(|r| r.tool != tool) {
                    self.answer(&request, None, Decider::User).await;
                }
            }
            Command::Deny { request, message } => {
                self.answer(&request, Some(message), Decider::User).await
            }
            Command::Send { text } if self.turn_active => self.queue.push_back(text),
            Command::Send { text } => self.send_message(text).await,
            Command::Interrupt => {
                self.interrupts += 1;
                let request = json!({"type": "control_request", "request_id": format!("fanout_interrupt_{}", self.interrupts), "request": {"subtype": "interrupt"}});
                self.write(&request).await;
                self.hold_open = self.turn_active;
            }
            Command::End => {
                self.queue.clear();
                self.close_input();
            }
        }
    }

    async fn on_turn_end(&mut self) {
        self.turn_active = false;
        // A turn that ended left its unanswered requests behind.
        let stale = self.handle.take_pending(|_| false);
        for request in stale {
            self.report(ApprovalUpdate::Withdrawn { id: request.id });
        }
        if let Some(text) = self.queue.pop_front() {
            self.send_message(text).await;
        } else if self.hold_open {
            self.hold_open = false;
            self.awaiting_message = Some(Instant::now());
            self.report(ApprovalUpdate::AwaitingMessage);
        } else {
            self.close_input();
        }
    }

    async fn send_message(&mut self, text: String) {
        if self.stdin.is_none() {
            return self
                .warn("A message came after the session had ended; it was not sent.".into())
                .await;
        }
        let message = json!({"type": "user", "message": {"role": "user", "content": text}});
        self.write(&message).await;
        self.turn_active = self.stdin.is_some();
        (self.hold_open, self.awaiting_message) = (false, None);
    }

    async fn write(&mut self, value: &Value) {
        let Some(stdin) = self.stdin.as_mut() else {
            return;
        };
        let mut line = value.to_string();
        line.push('\n');
        let written = match stdin.write_all(line.as_bytes()).await {
            Ok(()) => stdin.flush().await,
            Err(e) => Err(e),
        };
        if let Err(error) = written {
            self.close_input();
            self.warn(format!("Could not write to Claude Code's input ({error}); the session cannot take more messages.")).await;
        }
    }

    fn close_input(&mut self) {
        self.stdin = None;
        (self.hold_open, self.awaiting_message) = (false, None);
        self.handle.close();
    }

    fn report(&self, update: ApprovalUpdate) {
        // Nobody listening is fine: the handle still lists what is pending.
        let _ = self.approvals.updates.send(update);
    }

    async fn warn(&self, message: String) {
        let message = bound(&message, MAX_SUMMARY_BYTES);
        send_all(&self.events, vec![SessionEvent::Warning { message }]).await;
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}
