//! Codex: `codex exec --json --skip-git-repo-check -C <dir> [-m model] <prompt>`.
//!
//! Codex prints JSONL (see `shared/AGENT-CLIS.md`): `thread.started`,
//! `turn.started`, `item.started|updated|completed` with typed items, then
//! `turn.completed {usage}` or `turn.failed {error}`. [`CodexParser`] maps these
//! to [`SessionEvent`]s; it keeps state because a command's start and end are
//! two lines. Follow-ups: `codex exec resume <thread_id> --json <prompt>`.

use std::collections::HashSet;
use std::path::PathBuf;

use serde_json::{json, Value};

use super::json::{str_at, string_at, u64_at, warning};
use tokio::sync::mpsc;

use super::{
    drive, exit_failure, Agent, AgentError, AgentKind, OutputParser, PermissionProfile, Session,
    SessionSpec, StderrTail, Verdict,
};
use crate::events::{bound, bound_json, SessionEvent, Stream, MAX_SUMMARY_BYTES, MAX_TEXT_BYTES};
use crate::process::{OutputLine, ProcessOutcome};

/// The Codex backend; `executable` defaults to `codex` on the PATH.
#[derive(Debug, Clone)]
pub struct Codex {
    pub executable: PathBuf,
}

impl Default for Codex {
    fn default() -> Self {
        Codex::new("codex")
    }
}

impl Codex {
    pub fn new(executable: impl Into<PathBuf>) -> Self {
        Codex {
            executable: executable.into(),
        }
    }

    /// The command line for `spec`, without the program. Codex has no system
    /// prompt option, so the methodology goes in front of the prompt.
    pub fn args(spec: &SessionSpec) -> Vec<String> {
        let mut args: Vec<String> = vec!["exec".into()];
        if let Some(thread) = &spec.resume {
            args.extend(["resume".into(), thread.clone(), "--json".into()]);
        } else {
            args.extend(["--json".into(), "--skip-git-repo-check".into(), "-C".into()]);
            args.push(spec.workdir.display().to_string());
            // `exec` defaults to a read-only sandbox, useless for a coding session.
            args.extend(match spec.permission {
                PermissionProfile::Bypass => {
                    vec!["--dangerously-bypass-approvals-and-sandbox".into()]
                }
                _ => vec!["--sandbox".into(), "workspace-write".into()],
            });
        }
        if let Some(model) = &spec.model {
            args.extend(["-m".into(), model.clone()]);
        }
        let prompt = spec.prompt_with_methodology();
        if prompt.starts_with('-') {
            // Otherwise the prompt would be read as an option.
            args.push("--".into());
        }
        args.push(prompt);
        args
    }
}

impl Agent for Codex {
    fn shown_command_line(&self, spec: &SessionSpec) -> Vec<String> {
        super::with_placeholders(Codex::args(spec), spec)
    }

    fn kind(&self) -> AgentKind {
        AgentKind::Codex
    }

    fn start(
        &self,
        spec: &SessionSpec,
        events: mpsc::Sender<SessionEvent>,
    ) -> Result<Session, AgentError> {
        let process = spec.process(&self.executable, Self::args(spec));
        let parser = CodexParser::new(spec.model.clone());
        drive(process, parser, events, ())
    }
}

/// Turns Codex's JSONL into events, remembering what a later line needs.
#[derive(Debug, Default)]
pub struct CodexParser {
    model: Option<String>,
    thread_id: Option<String>,
    last_message: Option<String>,
    started_tools: HashSet<String>,
    /// `Some(error)` after `turn.failed`, `Some(None)` after `turn.completed`.
    turn: Option<Option<String>>,
    stderr: StderrTail,
}

impl CodexParser {
    /// `model` is what Fanout asked for; Codex does not report it.
    pub fn new(model: Option<String>) -> Self {
        CodexParser {
            model,
            ..CodexParser::default()
        }
    }

    /// Maps one JSONL line to events; unknown or malformed lines become raw.
    pub fn parse_line(&mut self, line: &str) -> Vec<SessionEvent> {
        if line.trim().is_empty() {
            return Vec::new();
        }
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            return vec![SessionEvent::raw(line)];
        };
        let item = value.get("item").unwrap_or(&Value::Null);
        let events = match str_at(&value, "type") {
            Some("thread.started") => self.thread_started(&value),
            // Carries nothing: the turn's end says everything.
            Some("turn.started") => Some(Vec::new()),
            Some("item.started") => self.item_started(item),
            Some("item.updated") => known_item(item).then(Vec::new),
            Some("item.completed") => self.item_completed(item),
            Some("error") => str_at(&value, "message").map(|m| vec![warning(m)]),
            Some("turn.completed") => Some(self.turn_completed(&value)),
            Some("turn.failed") => Some(self.turn_failed(&value)),
            _ => None,
        };
        events.unwrap_or_else(|| vec![SessionEvent::raw(line)])
    }

    fn thread_started(&mut self, value: &Value) -> Option<Vec<SessionEvent>> {
        let thread = string_at(value, "thread_id")?;
        self.thread_id = Some(thread.clone());
        Some(vec![SessionEvent::Init {
            session_id: thread,
            model: self.model.clone(),
            tools: None,
            cwd: None,
            agent_version: None,
        }])
    }

    fn item_started(&mut self, item: &Value) -> Option<Vec<SessionEvent>> {
        if !known_item(item) {
            return None;
        }
        Some(self.tool_use(item).into_iter().collect())
    }

    fn item_completed(&mut self, item: &Value) -> Option<Vec<SessionEvent>> {
        let event = match str_at(item, "type")? {
            "agent_message" => {
                let text = str_at(item, "text")?;
                self.last_message = Some(bound(text, MAX_TEXT_BYTES));
                SessionEvent::AssistantText {
                    text: bound(text, MAX_TEXT_BYTES),
                }
            }
            "reasoning" => SessionEvent::Thinking {
                text: bound(str_at(item, "text")?, MAX_TEXT_BYTES),
            },
            "error" => warning(str_at(item, "message")?),
            "command_execution" | "file_change" => {
                let mut events: Vec<SessionEvent> = self.tool_use(item).into_iter().collect();
                events.push(tool_result(item));
                return Some(events);
            }
            _ => return None,
        };
        Some(vec![event])
    }

    /// A tool-use event the first time an item id is seen.
    fn tool_use(&mut self, item: &Value) -> Option<SessionEvent> {
        let id = string_at(item, "id");
        if let Some(id) = &id {
            if !self.started_tools.insert(id.clone()) {
                return None;
            }
        }
        let (name, input) = match str_at(item, "type")? {
            "command_execution" => ("command", json!({ "command": item.get("command") })),
            "file_change" => ("file_change", json!({ "changes": item.get("changes") })),
            _ => return None,
        };
        Some(SessionEvent::ToolUse {
            id,
            name: name.to_owned(),
            input: bound_json(input),
        })
    }

    fn turn_completed(&mut self, value: &Value) -> Vec<SessionEvent> {
        self.turn = Some(None);
        let usage = value.get("usage").unwrap_or(&Value::Null);
        let input_tokens = u64_at(usage, "input_tokens").unwrap_or(0);
        let output_tokens = u64_at(usage, "output_tokens").unwrap_or(0);
        vec![
            SessionEvent::Usage {
                input_tokens,
                output_tokens,
                cache_read: u64_at(usage, "cached_input_tokens"),
                cache_write: u64_at(usage, "cache_write_input_tokens"),
            },
            self.result(None, input_tokens, output_tokens),
        ]
    }

    fn turn_failed(&mut self, value: &Value) -> Vec<SessionEvent> {
        let error = value
            .pointer("/error/message")
            .and_then(Value::as_str)
            .map_or_else(
                || "the turn failed without a message".to_owned(),
                readable_error,
            );
        self.turn = Some(Some(error.clone()));
        vec![self.result(Some(error), 0, 0)]
    }

    fn result(&self, error: Option<String>, input_tokens: u64, output_tokens: u64) -> SessionEvent {
        SessionEvent::Result {
            ok: error.is_none(),
            summary: self.last_message.clone(),
            error,
            cost_usd: None,
            input_tokens,
            output_tokens,
            turns: Some(1),
            duration_ms: None,
            session_id: self.thread_id.clone(),
        }
    }
}

fn known_item(item: &Value) -> bool {
    matches!(
        str_at(item, "type"),
        Some("agent_message" | "reasoning" | "error" | "command_execution" | "file_change")
    )
}

fn tool_result(item: &Value) -> SessionEvent {
    let completed = str_at(item, "status") == Some("completed");
    let (ok, summary) = match str_at(item, "type") {
        Some("command_execution") => {
            let code = item.get("exit_code").and_then(Value::as_i64);
            let output = str_at(item, "aggregated_output").unwrap_or_default();
            let summary = if output.trim().is_empty() {
                code.map_or_else(|| "no exit code".to_owned(), |c| format!("exit code {c}"))
            } else {
                output.to_owned()
            };
            (completed && code == Some(0), summary)
        }
        _ => (completed, file_changes(item)),
    };
    SessionEvent::ToolResult {
        id: string_at(item, "id"),
        ok,
        summary: bound(&summary, MAX_SUMMARY_BYTES),
    }
}

/// "update src/a.rs, add b.txt" from a file_change item.
fn file_changes(item: &Value) -> String {
    item.get("changes")
        .and_then(Value::as_array)
        .map(|changes| {
            changes
                .iter()
                .map(|c| {
                    format!(
                        "{} {}",
                        str_at(c, "kind").unwrap_or("change"),
                        str_at(c, "path").unwrap_or("?")
                    )
                })
                .collect::<Vec<_>>()
                .join(", ")
        })
        .unwrap_or_default()
}

/// Codex passes API errors on as their JSON body; the inner message reads better.
fn readable_error(message: &str) -> String {
    serde_json::from_str::<Value>(message)
        .ok()
        .and_then(|v| {
            v.pointer("/error/message")
                .and_then(Value::as_str)
                .map(str::to_owned)
        })
        .unwrap_or_else(|| message.to_owned())
}

impl OutputParser for CodexParser {
    fn on_line(&mut self, line: OutputLine) -> Vec<SessionEvent> {
        match line.stream {
            Stream::Stdout => self.parse_line(&line.text),
            Stream::Stderr => {
                self.stderr.push(&line.text);
                vec![SessionEvent::Log {
                    stream: Stream::Stderr,
                    line: bound(&line.text, MAX_TEXT_BYTES),
                }]
            }
        }
    }

    fn finish(&mut self, process: &ProcessOutcome) -> Verdict {
        let failure = match &self.turn {
            Some(Some(error)) => Some(format!("Codex reported an error: {}.", error.trim_end_matches('.'))),
            _ => exit_failure("Codex", process, self.stderr.last()),
        }
        .or_else(|| {
            self.turn
                .is_none()
                .then(|| "Codex ended without finishing its turn; its output is kept in the session's events.".to_owned())
        });
        Verdict {
            failure,
            session_id: self.thread_id.clone(),
            events: Vec::new(),
        }
    }
}
