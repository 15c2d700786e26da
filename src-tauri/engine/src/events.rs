//! The normalized event stream of an agent session.
//!
//! Every backend turns what its agent prints into [`SessionEvent`]s, so the
//! store, the orchestrator and the UI never see a CLI's own format. Nothing an
//! agent prints is dropped: what no backend understands becomes
//! [`SessionEvent::Raw`]. Every text kept here is bounded, so one enormous line
//! cannot hold megabytes in memory or in the database.

use serde::Serialize;

/// Longest assistant text, thinking text or raw line kept, in bytes.
pub const MAX_TEXT_BYTES: usize = 64 * 1024;
/// Longest tool-result summary kept, in bytes: a preview, not the output.
pub const MAX_SUMMARY_BYTES: usize = 2 * 1024;
/// Longest string kept inside a tool's JSON input (a `Write` of a big file).
pub const MAX_INPUT_STRING_BYTES: usize = 16 * 1024;

/// Which output stream a plain line came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Stream {
    Stdout,
    Stderr,
}

/// One thing that happened in a session, in Fanout's own vocabulary.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum SessionEvent {
    /// The agent started: its session id (what a follow-up resumes) and setup.
    Init {
        session_id: String,
        model: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        tools: Option<Vec<String>>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cwd: Option<String>,
        #[serde(skip_serializing_if = "Option::is_none")]
        agent_version: Option<String>,
    },
    /// Text the model wrote for the user.
    AssistantText { text: String },
    /// The model's visible reasoning (Claude's thinking blocks, Codex's reasoning items).
    Thinking { text: String },
    /// The model asked to run a tool.
    ToolUse {
        id: Option<String>,
        name: String,
        input: serde_json::Value,
    },
    /// A tool finished; `summary` is a short preview of its output.
    ToolResult {
        id: Option<String>,
        ok: bool,
        summary: String,
    },
    /// Tokens spent so far (or in the turn that just ended).
    Usage {
        input_tokens: u64,
        output_tokens: u64,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_read: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        cache_write: Option<u64>,
    },
    /// Something went wrong but the session goes on (an API retry, a denied tool).
    Warning { message: String },
    /// The agent's own verdict on the session.
    Result {
        ok: bool,
        summary: Option<String>,
        error: Option<String>,
        cost_usd: Option<f64>,
        input_tokens: u64,
        output_tokens: u64,
        turns: Option<u32>,
        duration_ms: Option<u64>,
        session_id: Option<String>,
    },
    /// A plain output line of an agent without a structured format.
    Log { stream: Stream, line: String },
    /// A line no backend understood, kept as printed (bounded).
    Raw { line: String },
    /// A line the repository's setup command printed in the worktree before
    /// the agent started (see [`crate::repo_settings`]).
    Setup { stream: Stream, line: String },
}

impl SessionEvent {
    /// The event's kind as stored in the events table; equals the serde tag.
    pub fn kind(&self) -> &'static str {
        match self {
            SessionEvent::Init { .. } => "init",
            SessionEvent::AssistantText { .. } => "assistant_text",
            SessionEvent::Thinking { .. } => "thinking",
            SessionEvent::ToolUse { .. } => "tool_use",
            SessionEvent::ToolResult { .. } => "tool_result",
            SessionEvent::Usage { .. } => "usage",
            SessionEvent::Warning { .. } => "warning",
            SessionEvent::Result { .. } => "result",
            SessionEvent::Log { .. } => "log",
            SessionEvent::Raw { .. } => "raw",
            SessionEvent::Setup { .. } => "setup",
        }
    }

    /// Replaces the secrets Fanout knows in every text of the event.
    pub fn scrub(&mut self) {
        use crate::secrets::{scrub, scrub_json};
        match self {
            SessionEvent::Init { .. } | SessionEvent::Usage { .. } => {}
            SessionEvent::AssistantText { text } | SessionEvent::Thinking { text } => scrub(text),
            SessionEvent::ToolUse { input, .. } => scrub_json(input),
            SessionEvent::ToolResult { summary, .. } => scrub(summary),
            SessionEvent::Warning { message } => scrub(message),
            SessionEvent::Result { summary, error, .. } => {
                summary.iter_mut().chain(error.iter_mut()).for_each(scrub)
            }
            SessionEvent::Log { line, .. }
            | SessionEvent::Raw { line }
            | SessionEvent::Setup { line, .. } => scrub(line),
        }
    }

    /// A raw event for an unrecognized line, bounded.
    pub fn raw(line: &str) -> Self {
        SessionEvent::Raw {
            line: bound(line, MAX_TEXT_BYTES),
        }
    }
}

/// `text` cut to at most `max` bytes (on a character boundary) plus a marker
/// saying how much was dropped, so a reader knows it is not the whole text.
pub fn bound(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_owned();
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}… [truncated {} bytes]", &text[..end], text.len() - end)
}

/// A tool input with every long string bounded; its shape is kept so the UI can
/// still show which file a `Write` targeted.
pub fn bound_json(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::String(s) if s.len() > MAX_INPUT_STRING_BYTES => {
            Value::String(bound(&s, MAX_INPUT_STRING_BYTES))
        }
        Value::Array(items) => Value::Array(items.into_iter().map(bound_json).collect()),
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(key, v)| (key, bound_json(v)))
                .collect(),
        ),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bound_keeps_short_text_and_marks_long_text() {
        assert_eq!(
            bound("short", 10),
            "short",
            "text under the limit is untouched"
        );
        let cut = bound(&"é".repeat(100), 5);
        assert!(
            cut.starts_with("éé"),
            "the cut lands on a char boundary: {cut}"
        );
        assert!(
            cut.contains("[truncated 196 bytes]"),
            "the marker says what was dropped: {cut}"
        );
    }

    #[test]
    fn kind_matches_the_serde_tag() {
        let events = [
            SessionEvent::raw("x"),
            SessionEvent::Warning {
                message: "m".into(),
            },
            SessionEvent::Log {
                stream: Stream::Stderr,
                line: "l".into(),
            },
            SessionEvent::Setup {
                stream: Stream::Stdout,
                line: "added 12 packages".into(),
            },
            SessionEvent::Usage {
                input_tokens: 1,
                output_tokens: 2,
                cache_read: None,
                cache_write: None,
            },
        ];
        for event in events {
            let json = serde_json::to_value(&event).expect("events serialize");
            assert_eq!(
                json["type"],
                event.kind(),
                "the store's kind is the JSON tag"
            );
        }
    }

    #[test]
    fn bound_json_shortens_long_strings_only() {
        let input = serde_json::json!({"file_path": "a.txt", "content": "x".repeat(100_000)});
        let bounded = bound_json(input);
        assert_eq!(
            bounded["file_path"], "a.txt",
            "short fields stay as they were"
        );
        let content = bounded["content"].as_str().expect("content stays a string");
        assert!(
            content.len() < MAX_INPUT_STRING_BYTES + 64,
            "long strings are cut"
        );
    }
}
