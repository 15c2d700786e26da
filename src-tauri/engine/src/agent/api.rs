//! The built-in agent: Fanout talks to a model API itself (Anthropic Messages
//! or an OpenAI-compatible server) and runs the tools in the worktree.
//!
//! One turn: send the conversation, read the answer, run every tool the model
//! asked for, send the results back; until the model answers without a tool
//! call (success) or the turn limit is reached (failure). The session id is
//! minted by Fanout. Cancelling stops the request or the running command.

pub mod tools;

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::mpsc;

pub use tools::{confine, ToolOutput, ToolPolicy};

use super::{Agent, AgentError, AgentKind, Session, SessionOutcome, SessionSpec, SessionStatus};
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

impl Agent for ApiAgent {
    fn kind(&self) -> AgentKind {
        AgentKind::Api
    }

    fn start(
        &self,
        spec: &SessionSpec,
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
        let run = Run {
            client,
            policy: self.tools.clone(),
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

    async fn drive(self, timeout: Option<Duration>) -> SessionOutcome {
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

    async fn turns(&self, tally: &mut Tally) -> End {
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
            if calls.is_empty() {
                return End::Done {
                    summary: answer.text(),
                };
            }
            let mut results = Vec::new();
            for (id, name, input) in calls {
                let Some(output) = self.run_tool(&name, &input).await else {
                    return End::Cancelled;
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

    /// `None` when the session was cancelled while the tool ran.
    async fn run_tool(&self, name: &str, input: &Value) -> Option<ToolOutput> {
        if name == "run_command" {
            return tools::run_command(&self.root, &self.policy, input, &self.cancel)
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
