//! The built-in agent: Fanout talks to a model API itself (Anthropic Messages
//! or an OpenAI-compatible server) and runs the tools in the worktree.
//!
//! One turn: send the conversation, read the answer, run every tool the model
//! asked for, send the results back; until the model answers without a tool
//! call (success) or the turn limit is reached (failure). The session id is
//! minted by Fanout. Cancelling stops the request or the running command.
//!
//! The permission profile decides the tools, as for every backend: `edits`
//! offers no shell (and refuses a call to one), `edits_and_commands` and
//! `bypass` offer `run_command`, and `ask` offers it but decides every tool
//! use by the repository's approval rules and then the user, through the
//! same [`InteractiveHandle`] and [`ApprovalUpdate`]s as Claude Code in
//! two-way mode ([`ApiAgent::start_asking`]). Messages the user sends while
//! the agent works arrive when its current turn ends.

pub mod tools;

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;

pub use tools::{confine, ToolOutput, ToolPolicy};

use super::approval::{ApprovalDisplay, ApprovalRequest, ApprovalUpdate, Decider, Decision};
use super::handle::{Approvals, Command, InteractiveHandle};
use super::{
    Agent, AgentError, AgentKind, PermissionProfile, Session, SessionOutcome, SessionSpec,
    SessionStatus,
};
use crate::events::{bound, bound_json, SessionEvent, MAX_SUMMARY_BYTES, MAX_TEXT_BYTES};
use crate::llm::{self, Block, ChatRequest, LlmClient, LlmConfig, Message, Role, Usage};
use crate::process::{Canceller, ProcessError};

/// Turns allowed when the spec sets none.
pub const DEFAULT_MAX_TURNS: u32 = 50;

const SYSTEM: &str = "You are a coding agent working in a git worktree. Use the tools to read, \
change and check files; every path is relative to the working directory and must stay inside it. \
Do not commit: Fanout commits your work. When done, answer without calling a tool, with a summary \
of what you did and how to verify it.";

#[derive(Debug, Clone)]
pub struct ApiAgent {
    pub config: LlmConfig,
    pub tools: ToolPolicy,
}

impl ApiAgent {
    pub fn new(config: LlmConfig) -> ApiAgent {
        ApiAgent {
            config,
            tools: ToolPolicy::default(),
        }
    }
}

impl ApiAgent {
    /// A session with the "ask" profile: tool uses the approval rules leave
    /// open wait for the user, who answers through the returned handle.
    pub fn start_asking(
        &self,
        spec: &SessionSpec,
        approvals: Approvals,
        events: mpsc::Sender<SessionEvent>,
    ) -> Result<(Session, InteractiveHandle), AgentError> {
        let (handle, commands) = InteractiveHandle::new(false);
        let asking = Asking {
            approvals,
            handle: handle.clone(),
            commands,
            queued: VecDeque::new(),
            ending: false,
        };
        let session = self.launch(spec, Some(asking), events)?;
        Ok((session, handle))
    }

    fn launch(
        &self,
        spec: &SessionSpec,
        asking: Option<Asking>,
        events: mpsc::Sender<SessionEvent>,
    ) -> Result<Session, AgentError> {
        let root = spec
            .workdir
            .canonicalize()
            .map_err(|_| ProcessError::WorkdirMissing {
                path: spec.workdir.clone(),
            })?;
        let mut config = self.config.clone();
        if let Some(model) = &spec.model {
            config.model = model.clone();
        }
        let client = LlmClient::new(config).map_err(|e| AgentError::Api {
            detail: e.to_string(),
        })?;
        let canceller = Canceller::detached();
        let mut policy = self.tools.clone();
        policy.allow_commands &= offers_commands(spec.permission, asking.is_some());
        let run = Run {
            client,
            policy,
            root,
            system: match spec.methodology.as_deref().map(str::trim) {
                Some(m) if !m.is_empty() => format!("{SYSTEM}\n\n{m}"),
                _ => SYSTEM.to_owned(),
            },
            prompt: spec.prompt.clone(),
            max_turns: spec.max_turns.unwrap_or(DEFAULT_MAX_TURNS).max(1),
            session_id: spec
                .resume
                .clone()
                .unwrap_or_else(|| uuid::Uuid::new_v4().to_string()),
            resumed: spec.resume.is_some(),
            cancel: canceller.clone(),
            events,
            asking,
            sandbox: spec.sandbox.clone(),
        };
        let timeout = spec.timeout;
        let task = tokio::spawn(run.drive(timeout));
        Ok(Session {
            pid: 0,
            canceller,
            task,
        })
    }
}

/// Whether a profile gives the built-in agent a shell: never with `edits`;
/// with `ask` only when someone can be asked.
fn offers_commands(profile: PermissionProfile, can_ask: bool) -> bool {
    match profile {
        PermissionProfile::Edits => false,
        PermissionProfile::EditsAndCommands | PermissionProfile::Bypass => true,
        PermissionProfile::Ask => can_ask,
    }
}

impl Agent for ApiAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Api
    }

    /// Without a handle nobody can be asked: "ask" runs as "edits".
    fn start(
        &self,
        spec: &SessionSpec,
        events: mpsc::Sender<SessionEvent>,
    ) -> Result<Session, AgentError> {
        self.launch(spec, None, events)
    }
}

/// The user's side of an "ask" session.
struct Asking {
    approvals: Approvals,
    handle: InteractiveHandle,
    commands: mpsc::UnboundedReceiver<Command>,
    /// Messages the user sent, delivered when the current turn ends.
    queued: VecDeque<String>,
    /// The user asked to end after this turn.
    ending: bool,
}

impl Asking {
    /// Takes a command that needs no waiting request: a message or an end.
    fn take(&mut self, command: Command) {
        match command {
            Command::Send { text } => self.queued.push_back(text),
            Command::End => {
                self.ending = true;
                self.queued.clear();
                self.handle.close();
            }
            Command::AllowAlways { tool } => self.approvals.allowed.insert(&tool),
            // Answers to requests no longer waiting, and interrupts (which
            // the handle refuses for this backend), change nothing.
            Command::Allow { .. } | Command::Deny { .. } | Command::Interrupt => {}
        }
    }

    fn report(&self, update: ApprovalUpdate) {
        // Nobody listening is fine: the handle still lists what is pending.
        let _ = self.approvals.updates.send(update);
    }

    fn resolved(&self, request: &ApprovalRequest, denial: Option<String>, by: Decider) -> Permit {
        self.report(ApprovalUpdate::Resolved {
            id: request.id.clone(),
            tool: request.tool.clone(),
            allowed: denial.is_none(),
            message: denial.clone(),
            by,
        });
        match denial {
            None => Permit::Run,
            Some(message) => Permit::Refused(message),
        }
    }
}

/// What the rules and the user said about one tool use.
enum Permit {
    Run,
    /// Not run; the message goes to the model.
    Refused(String),
    Cancelled,
    /// Nobody answered in time; the session fails with this sentence.
    Unanswered(String),
}

/// The Claude Code tool a built-in tool corresponds to, and its input in
/// Claude Code's shape, so one set of approval rules speaks for both.
fn as_claude_tool(name: &str, input: &Value) -> (&'static str, Value) {
    let tool = match name {
        "read_file" => "Read",
        "write_file" => "Write",
        "edit_file" => "Edit",
        "list_dir" => "LS",
        "search" => "Grep",
        "run_command" => "Bash",
        _ => "Unknown",
    };
    let mut shaped = input.clone();
    if let (Some(map), Some(path)) = (shaped.as_object_mut(), input.get("path")) {
        if matches!(tool, "Read" | "Write" | "Edit") {
            map.insert("file_path".into(), path.clone());
        }
    }
    (tool, shaped)
}

struct Run {
    client: LlmClient,
    policy: ToolPolicy,
    root: PathBuf,
    system: String,
    prompt: String,
    max_turns: u32,
    session_id: String,
    resumed: bool,
    cancel: Canceller,
    events: mpsc::Sender<SessionEvent>,
    asking: Option<Asking>,
    /// Where `run_command` runs; see [`crate::sandbox`].
    sandbox: Option<crate::sandbox::Sandbox>,
}

/// How the turn loop ended.
enum End {
    Done { summary: String },
    Failed(String),
    Cancelled,
}

struct Tally {
    usage: Usage,
    turns: u32,
}

impl Run {
    async fn emit(&self, event: SessionEvent) {
        // A closed channel means nobody listens; the session goes on.
        let _ = self.events.send(event).await;
    }

    async fn drive(mut self, timeout: Option<Duration>) -> SessionOutcome {
        let started = Instant::now();
        self.emit(SessionEvent::Init {
            session_id: self.session_id.clone(),
            model: Some(self.client.config().model.clone()),
            tools: Some(
                tools::definitions(&self.policy)
                    .into_iter()
                    .map(|t| t.name)
                    .collect(),
            ),
            cwd: Some(self.root.display().to_string()),
            agent_version: Some(format!("fanout-api {}", crate::VERSION)),
        })
        .await;
        if self.resumed {
            self.emit(SessionEvent::Warning {
                message: "The built-in agent does not keep conversations; this follow-up starts a new one in the same worktree.".into(),
            })
            .await;
        }
        let mut tally = Tally {
            usage: Usage::default(),
            turns: 0,
        };
        // The timeout cancels like the user would, so a running command is
        // stopped too, not merely abandoned.
        let timed_out = Arc::new(AtomicBool::new(false));
        let timer = timeout.map(|limit| {
            let (cancel, flag) = (self.cancel.clone(), timed_out.clone());
            tokio::spawn(async move {
                tokio::time::sleep(limit).await;
                flag.store(true, Ordering::SeqCst);
                cancel.cancel();
            })
        });
        let end = self.turns(&mut tally).await;
        if let Some(timer) = timer {
            timer.abort();
        }
        let end = match end {
            End::Cancelled if timed_out.load(Ordering::SeqCst) => None,
            end => Some(end),
        };
        let duration_ms = started.elapsed().as_millis() as u64;
        let (status, reason, summary) = match end {
            Some(End::Done { summary }) => (SessionStatus::Succeeded, None, Some(summary)),
            Some(End::Failed(reason)) => (SessionStatus::Failed, Some(reason), None),
            Some(End::Cancelled) => (SessionStatus::Cancelled, Some("The session was cancelled.".to_owned()), None),
            None => (
                SessionStatus::TimedOut,
                Some(format!(
                    "The session ran longer than its timeout of {} and was stopped. Raise the timeout or narrow the task.",
                    super::describe(timeout.unwrap_or_default())
                )),
                None,
            ),
        };
        self.emit(SessionEvent::Result {
            ok: status == SessionStatus::Succeeded,
            summary,
            error: reason.clone(),
            cost_usd: llm::cost_usd(&self.client.config().model, &tally.usage),
            input_tokens: tally.usage.input_tokens,
            output_tokens: tally.usage.output_tokens,
            turns: Some(tally.turns),
            duration_ms: Some(duration_ms),
            session_id: Some(self.session_id.clone()),
        })
        .await;
        SessionOutcome {
            status,
            reason,
            session_id: Some(self.session_id.clone()),
            exit_code: None,
            leaked_output: false,
            duration_ms,
        }
    }

    async fn turns(&mut self, tally: &mut Tally) -> End {
        let mut request = ChatRequest {
            system: Some(self.system.clone()),
            messages: vec![Message::user_text(self.prompt.clone())],
            tools: tools::definitions(&self.policy),
            force_tool: None,
        };
        while tally.turns < self.max_turns {
            let answer = tokio::select! {
                answer = self.client.complete(&request) => answer,
                _ = self.cancel.cancelled() => return End::Cancelled,
            };
            let answer = match answer {
                Ok(answer) => answer,
                Err(error) => return End::Failed(error.to_string()),
            };
            tally.turns += 1;
            tally.usage.add(answer.usage);
            for notice in &answer.retries {
                self.emit(SessionEvent::Warning {
                    message: notice.clone(),
                })
                .await;
            }
            self.emit(SessionEvent::Usage {
                input_tokens: answer.usage.input_tokens,
                output_tokens: answer.usage.output_tokens,
                cache_read: Some(answer.usage.cache_read),
                cache_write: Some(answer.usage.cache_write),
            })
            .await;
            for block in &answer.content {
                match block {
                    Block::Text { text } if !text.trim().is_empty() => {
                        self.emit(SessionEvent::AssistantText {
                            text: bound(text, MAX_TEXT_BYTES),
                        })
                        .await
                    }
                    Block::ToolUse { id, name, input } => {
                        self.emit(SessionEvent::ToolUse {
                            id: Some(id.clone()),
                            name: name.clone(),
                            input: bound_json(input.clone()),
                        })
                        .await
                    }
                    _ => {}
                }
            }
            request.messages.push(Message {
                role: Role::Assistant,
                content: answer.content.clone(),
            });
            let calls: Vec<(String, String, Value)> = answer
                .tool_uses()
                .map(|(id, name, input)| (id.to_owned(), name.to_owned(), input.clone()))
                .collect();
            let steering = self.steering();
            if calls.is_empty() {
                if steering.is_empty() {
                    return End::Done {
                        summary: answer.text(),
                    };
                }
                request
                    .messages
                    .push(Message::user_text(steering.join("\n\n")));
                continue;
            }
            let mut results = Vec::new();
            for (id, name, input) in calls {
                let output = match self.permit(&id, &name, &input).await {
                    Permit::Run => match self.run_tool(&name, &input).await {
                        Some(output) => output,
                        None => return End::Cancelled,
                    },
                    Permit::Refused(message) => ToolOutput {
                        ok: false,
                        text: message,
                    },
                    Permit::Cancelled => return End::Cancelled,
                    Permit::Unanswered(reason) => return End::Failed(reason),
                };
                self.emit(SessionEvent::ToolResult {
                    id: Some(id.clone()),
                    ok: output.ok,
                    summary: bound(&output.text, MAX_SUMMARY_BYTES),
                })
                .await;
                results.push(Block::ToolResult {
                    tool_use_id: id,
                    content: output.text,
                    is_error: !output.ok,
                });
            }
            results.extend(self.steering().into_iter().map(|text| Block::Text { text }));
            request.messages.push(Message {
                role: Role::User,
                content: results,
            });
        }
        End::Failed(format!(
            "The agent reached its limit of {} turns without finishing. Raise the turn limit or narrow the task.",
            self.max_turns
        ))
    }

    /// The messages the user sent since the last turn, framed for the
    /// model; none once the user asked to end.
    fn steering(&mut self) -> Vec<String> {
        let Some(asking) = self.asking.as_mut() else {
            return Vec::new();
        };
        while let Ok(command) = asking.commands.try_recv() {
            asking.take(command);
        }
        if asking.ending {
            return Vec::new();
        }
        asking
            .queued
            .drain(..)
            .map(|text| format!("A message from the user: {text}"))
            .collect()
    }

    /// Decides one tool use with the "ask" profile: the tools the user
    /// allowed for the rest of the experiment, then the rules, then the
    /// user. Without it every offered tool runs.
    async fn permit(&mut self, id: &str, name: &str, input: &Value) -> Permit {
        let root = self.root.clone();
        let cancel = self.cancel.clone();
        let Some(asking) = self.asking.as_mut() else {
            return Permit::Run;
        };
        let (tool, shaped) = as_claude_tool(name, input);
        let request = ApprovalRequest {
            id: id.to_owned(),
            tool: tool.to_owned(),
            display: ApprovalDisplay::of(tool, &shaped, &root),
            input: input.clone(),
            tool_use_id: Some(id.to_owned()),
        };
        if asking.approvals.allowed.contains(tool) {
            return asking.resolved(&request, None, Decider::AllowedTool);
        }
        match asking.approvals.rules.decide(tool, &shaped, &root) {
            Decision::Allow => return asking.resolved(&request, None, Decider::Rule),
            Decision::Deny { message } => {
                return asking.resolved(&request, Some(message), Decider::Rule)
            }
            Decision::Ask => {}
        }
        asking.handle.wait_for_user(request.clone());
        asking.report(ApprovalUpdate::Requested {
            request: request.clone(),
        });
        let limit = asking.approvals.rules.timeout();
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            tokio::select! {
                command = asking.commands.recv() => match command {
                    Some(Command::Allow { request: r }) if r.id == request.id => {
                        return asking.resolved(&request, None, Decider::User)
                    }
                    Some(Command::Deny { request: r, message }) if r.id == request.id => {
                        return asking.resolved(&request, Some(message), Decider::User)
                    }
                    Some(Command::AllowAlways { tool: t }) if t == request.tool => {
                        asking.approvals.allowed.insert(&t);
                        asking.handle.take_pending(|r| r.id != request.id);
                        return asking.resolved(&request, None, Decider::User);
                    }
                    Some(other) => asking.take(other),
                    // The handle lives in `asking`: the channel cannot close first.
                    None => return Permit::Cancelled,
                },
                _ = cancel.cancelled() => {
                    asking.handle.take_pending(|_| false);
                    asking.report(ApprovalUpdate::Withdrawn { id: request.id.clone() });
                    return Permit::Cancelled;
                }
                _ = tokio::time::sleep_until(deadline) => {
                    asking.handle.take_pending(|_| false);
                    asking.report(ApprovalUpdate::Withdrawn { id: request.id.clone() });
                    return Permit::Unanswered(format!(
                        "The request to use {tool} ({}) waited longer than {} for an answer, so Fanout ended the agent. Retry the variant, or raise the approval timeout in the settings.",
                        bound(request.display.summary().lines().next().unwrap_or(""), 200),
                        super::describe(limit)
                    ));
                }
            }
        }
    }

    /// `None` when the session was cancelled while the tool ran.
    async fn run_tool(&self, name: &str, input: &Value) -> Option<ToolOutput> {
        if name == "run_command" {
            let sandbox = self.sandbox.as_ref();
            return tools::run_command(&self.root, &self.policy, input, &self.cancel, sandbox)
                .await
                .ok();
        }
        let (root, policy, name, input) = (
            self.root.clone(),
            self.policy.clone(),
            name.to_owned(),
            input.clone(),
        );
        let work = tokio::task::spawn_blocking(move || {
            tools::run_file_tool(&root, &policy, &name, &input)
        });
        Some(work.await.unwrap_or_else(|e| ToolOutput {
            ok: false,
            text: format!("The tool failed unexpectedly ({e})."),
        }))
    }
}
