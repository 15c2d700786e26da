//! Claude Code in one-shot mode: `claude -p <prompt> --output-format stream-json --verbose`.
//!
//! The CLI prints one JSON object per line (see `shared/AGENT-CLIS.md`):
//! `system/init`, `assistant` messages with text and tool_use blocks, `user`
//! messages with tool_result blocks, and a final `result`. [`parse_line`] maps
//! each line to [`SessionEvent`]s and keeps what it does not know as raw.
//! A session failed when the result says `is_error` (even with subtype
//! `success`), when the CLI exits non-zero, or when no result line came.

use std::path::PathBuf;

use serde_json::Value;

use super::json::{str_at, string_at, u64_at};
use tokio::sync::mpsc;

use super::{
    drive, exit_failure, Agent, AgentError, AgentKind, OutputParser, PermissionProfile, Session,
    SessionSpec, StderrTail, Verdict,
};
use crate::events::{bound, bound_json, SessionEvent, Stream, MAX_SUMMARY_BYTES, MAX_TEXT_BYTES};
use crate::process::{OutputLine, ProcessOutcome};

/// What the user reads when Claude Code refused `bypassPermissions` because it runs as root.
pub const ROOT_BYPASS_REFUSAL: &str = "Claude Code refuses bypass permissions when run as root; choose the 'edits' profile or run Fanout as a normal user.";

/// The Claude Code backend; `executable` defaults to `claude` on the PATH.
#[derive(Debug, Clone)]
pub struct ClaudeCode {
    pub executable: PathBuf,
}

impl Default for ClaudeCode {
    fn default() -> Self {
        ClaudeCode::new("claude")
    }
}

impl ClaudeCode {
    pub fn new(executable: impl Into<PathBuf>) -> Self {
        ClaudeCode {
            executable: executable.into(),
        }
    }

    /// The command line for `spec`, without the program.
    pub fn args(spec: &SessionSpec) -> Vec<String> {
        let mode = match spec.permission {
            // One-shot mode cannot ask: "ask" falls back to edits here.
            PermissionProfile::Edits
            | PermissionProfile::EditsAndCommands
            | PermissionProfile::Ask => "acceptEdits",
            PermissionProfile::Bypass => "bypassPermissions",
        };
        let mut args: Vec<String> = [
            "-p",
            spec.prompt.as_str(),
            "--output-format",
            "stream-json",
            "--verbose",
            "--permission-mode",
            mode,
        ]
        .map(String::from)
        .into();
        if spec.permission == PermissionProfile::EditsAndCommands {
            args.extend(["--allowedTools".into(), "Bash".into()]);
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
        if let Some(session) = &spec.resume {
            args.extend(["--resume".into(), session.clone()]);
        }
        args
    }
}

impl Agent for ClaudeCode {
    fn shown_command_line(&self, spec: &SessionSpec) -> Vec<String> {
        let args = if spec.permission == PermissionProfile::Ask {
            super::ClaudeInteractive::args(spec, "<session id>")
        } else {
            ClaudeCode::args(spec)
        };
        super::with_placeholders(args, spec)
    }

    fn kind(&self) -> AgentKind {
        AgentKind::ClaudeCode
    }

    fn start(
        &self,
        spec: &SessionSpec,
        events: mpsc::Sender<SessionEvent>,
    ) -> Result<Session, AgentError> {
        let process = spec.process(&self.executable, Self::args(spec));
        drive(process, ClaudeParser::default(), events, ())
    }
}

/// Maps one stream-json line to events. Empty lines give none; anything that is
/// not a known JSON event gives [`SessionEvent::Raw`].
pub fn parse_line(line: &str) -> Vec<SessionEvent> {
    if line.trim().is_empty() {
        return Vec::new();
    }
    let Ok(value) = serde_json::from_str::<Value>(line) else {
        return vec![SessionEvent::raw(line)];
    };
    let events = match (str_at(&value, "type"), str_at(&value, "subtype")) {
        (Some("system"), Some("init")) => init(&value),
        (Some("system"), Some("api_retry")) => vec![api_retry(&value)],
        (Some("system"), Some("permission_denied")) => vec![permission_denied(&value)],
        (Some("assistant"), _) => content_blocks(&value, line, assistant_block),
        (Some("user"), _) => content_blocks(&value, line, user_block),
        (Some("result"), _) => result(&value),
        _ => Vec::new(),
    };
    if events.is_empty() {
        vec![SessionEvent::raw(line)]
    } else {
        events
    }
}

fn init(value: &Value) -> Vec<SessionEvent> {
    let Some(session_id) = string_at(value, "session_id") else {
        return Vec::new();
    };
    let tools = value.get("tools").and_then(Value::as_array).map(|tools| {
        tools
            .iter()
            .filter_map(|t| t.as_str().map(str::to_owned))
            .collect()
    });
    vec![SessionEvent::Init {
        session_id,
        model: string_at(value, "model"),
        tools,
        cwd: string_at(value, "cwd"),
        agent_version: string_at(value, "claude_code_version"),
    }]
}

fn api_retry(value: &Value) -> SessionEvent {
    let status = u64_at(value, "error_status")
        .map_or_else(|| "no status".to_owned(), |s| format!("status {s}"));
    let error = str_at(value, "error").unwrap_or("unknown error");
    let attempt = u64_at(value, "attempt").unwrap_or(0);
    let max = u64_at(value, "max_retries").unwrap_or(0);
    SessionEvent::Warning {
        message: bound(
            &format!("The API request failed ({status}: {error}); retry {attempt} of {max}."),
            MAX_SUMMARY_BYTES,
        ),
    }
}

fn permission_denied(value: &Value) -> SessionEvent {
    let tool = str_at(value, "tool_name").unwrap_or("a tool");
    let why = str_at(value, "message").unwrap_or("not allowed by the permission profile");
    SessionEvent::Warning {
        message: bound(
            &format!("Permission denied for {tool}: {why}."),
            MAX_SUMMARY_BYTES,
        ),
    }
}

/// Events of each block of `message.content`; when a block is of a type not
/// known here, the whole line is kept raw as well.
fn content_blocks(
    value: &Value,
    line: &str,
    map: fn(&Value) -> Option<SessionEvent>,
) -> Vec<SessionEvent> {
    let Some(blocks) = value.pointer("/message/content").and_then(Value::as_array) else {
        return Vec::new();
    };
    let mut events: Vec<SessionEvent> = blocks.iter().filter_map(map).collect();
    if events.len() < blocks.len() {
        events.push(SessionEvent::raw(line));
    }
    events
}

fn assistant_block(block: &Value) -> Option<SessionEvent> {
    match str_at(block, "type")? {
        "text" => Some(SessionEvent::AssistantText {
            text: bound(str_at(block, "text")?, MAX_TEXT_BYTES),
        }),
        "thinking" => Some(SessionEvent::Thinking {
            text: bound(str_at(block, "thinking")?, MAX_TEXT_BYTES),
        }),
        "tool_use" => Some(SessionEvent::ToolUse {
            id: string_at(block, "id"),
            name: string_at(block, "name")?,
            input: bound_json(block.get("input").cloned().unwrap_or(Value::Null)),
        }),
        _ => None,
    }
}

fn user_block(block: &Value) -> Option<SessionEvent> {
    if str_at(block, "type")? != "tool_result" {
        return None;
    }
    let is_error = block
        .get("is_error")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    Some(SessionEvent::ToolResult {
        id: string_at(block, "tool_use_id"),
        ok: !is_error,
        summary: bound(&tool_result_text(block.get("content")), MAX_SUMMARY_BYTES),
    })
}

/// A tool result's content is a string or a list of text (and image) blocks.
fn tool_result_text(content: Option<&Value>) -> String {
    match content {
        Some(Value::String(text)) => text.clone(),
        Some(Value::Array(blocks)) => blocks
            .iter()
            .filter_map(|b| str_at(b, "text"))
            .collect::<Vec<_>>()
            .join("\n"),
        _ => String::new(),
    }
}

fn result(value: &Value) -> Vec<SessionEvent> {
    let is_error = value
        .get("is_error")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let usage = value.get("usage").unwrap_or(&Value::Null);
    let input_tokens = u64_at(usage, "input_tokens").unwrap_or(0);
    let output_tokens = u64_at(usage, "output_tokens").unwrap_or(0);
    let summary = str_at(value, "result").map(|s| bound(s, MAX_TEXT_BYTES));
    vec![
        SessionEvent::Usage {
            input_tokens,
            output_tokens,
            cache_read: u64_at(usage, "cache_read_input_tokens"),
            cache_write: u64_at(usage, "cache_creation_input_tokens"),
        },
        SessionEvent::Result {
            ok: !is_error,
            error: is_error.then(|| result_error(value)),
            summary,
            cost_usd: value.get("total_cost_usd").and_then(Value::as_f64),
            input_tokens,
            output_tokens,
            turns: u64_at(value, "num_turns").and_then(|n| u32::try_from(n).ok()),
            duration_ms: u64_at(value, "duration_ms"),
            session_id: string_at(value, "session_id"),
        },
    ]
}

/// The best description of a failed result: its text, its `errors`, or its subtype.
fn result_error(value: &Value) -> String {
    let errors: Vec<&str> = value
        .get("errors")
        .and_then(Value::as_array)
        .map(|e| e.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let text = str_at(value, "result")
        .filter(|t| !t.trim().is_empty())
        .map(str::to_owned)
        .or_else(|| (!errors.is_empty()).then(|| errors.join("; ")))
        .unwrap_or_else(|| {
            str_at(value, "subtype")
                .unwrap_or("unknown error")
                .replace('_', " ")
        });
    let text = match u64_at(value, "api_error_status") {
        Some(status) => format!("{text} (API status {status})"),
        None => text,
    };
    bound(&text, MAX_SUMMARY_BYTES)
}

/// Session state the verdict needs, gathered while lines pass by.
#[derive(Debug, Default)]
pub(crate) struct ClaudeParser {
    session_id: Option<String>,
    /// `Some(error)` for a failed result, `Some(None)` for a good one.
    result: Option<Option<String>>,
    root_refusal: bool,
    stderr: StderrTail,
}

impl ClaudeParser {
    fn note(&mut self, event: &SessionEvent) {
        match event {
            SessionEvent::Init { session_id, .. } => self.session_id = Some(session_id.clone()),
            SessionEvent::Result {
                error,
                session_id,
                ok,
                ..
            } => {
                if let Some(id) = session_id {
                    self.session_id = Some(id.clone());
                }
                let failure = (!ok).then(|| error.clone().unwrap_or_default());
                self.result = Some(failure);
            }
            _ => {}
        }
    }
}

/// Claude Code's refusal of `--permission-mode bypassPermissions` as root (CLI 2.1.197):
/// "--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons".
fn is_root_refusal(line: &str) -> bool {
    line.contains("--dangerously-skip-permissions")
        && (line.contains("root") || line.contains("sudo"))
}

impl OutputParser for ClaudeParser {
    fn on_line(&mut self, line: OutputLine) -> Vec<SessionEvent> {
        if is_root_refusal(&line.text) {
            self.root_refusal = true;
        }
        match line.stream {
            Stream::Stdout => {
                let events = parse_line(&line.text);
                events.iter().for_each(|e| self.note(e));
                events
            }
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
        let failure = if self.root_refusal {
            Some(ROOT_BYPASS_REFUSAL.to_owned())
        } else if let Some(Some(error)) = &self.result {
            Some(format!(
                "Claude Code reported an error: {}.",
                error.trim_end_matches('.')
            ))
        } else if let Some(failure) = exit_failure("Claude Code", process, self.stderr.last()) {
            Some(failure)
        } else if self.result.is_none() {
            Some("Claude Code ended without a result line, so the session did not finish; its output is kept in the session's events.".to_owned())
        } else {
            None
        };
        Verdict {
            failure,
            session_id: self.session_id.clone(),
            events: Vec::new(),
        }
    }
}
