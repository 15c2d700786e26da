//! Gemini CLI: `gemini --prompt <prompt> --output-format stream-json
//! --approval-mode auto_edit|yolo --skip-trust [--model m] [--resume id]`.
//!
//! The CLI prints JSONL (see `shared/AGENT-CLIS.md`): `init {session_id,
//! model}`, `message {role, content, delta}`, `tool_use {tool_name, tool_id,
//! parameters}`, `tool_result {tool_id, status, output, error}`, `error
//! {severity, message}` and `result {status, error, stats}`. [`GeminiParser`]
//! maps them to [`SessionEvent`]s; streamed text deltas are joined into one
//! assistant text per run of deltas. Retried API calls show only on stderr
//! and become warnings. Failures end with `result {status: "error"}` and an
//! exit code equal to the HTTP status (mod 256); a missing API key prints
//! only a stderr line (exit 41).
//!
//! The CLI reads its settings from `$GEMINI_CLI_HOME/.gemini/settings.json`.
//! Fanout gives it a directory of its own ([`Gemini::config_home`]) whose
//! settings select API-key authentication (`GEMINI_API_KEY`, and
//! `GOOGLE_GEMINI_BASE_URL` for another endpoint) and turn usage statistics
//! off, so a session never stops at a login prompt and nothing is reported to
//! Google beyond the model calls. Sessions live there too, which is what
//! `--resume <session id>` reads for a follow-up.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use super::json::{str_at, string_at, u64_at, warning};
use tokio::sync::mpsc;

use super::{
    drive, exit_failure, Agent, AgentError, AgentKind, OutputParser, PermissionProfile, Session,
    SessionSpec, StderrTail, Verdict,
};
use crate::events::{bound, bound_json, SessionEvent, Stream, MAX_SUMMARY_BYTES, MAX_TEXT_BYTES};
use crate::process::{OutputLine, ProcessOutcome};

/// The environment variable naming the CLI's configuration root.
pub const CONFIG_HOME_VAR: &str = "GEMINI_CLI_HOME";

/// What the CLI prints on stderr (exit 41, no JSON) when the key is missing or empty.
const MISSING_KEY_MARK: &str = "must specify the GEMINI_API_KEY";

const MISSING_KEY: &str = "The Gemini CLI has no API key: set GEMINI_API_KEY (a key from Google AI Studio) in the environment Fanout runs in, then retry.";

const ASK_NOTE: &str = "The Gemini CLI cannot ask for approval from Fanout, so the \"ask\" profile runs it with --approval-mode auto_edit: it may edit files but not run shell commands.";

/// The Gemini CLI backend; `executable` defaults to `gemini` on the PATH.
#[derive(Debug, Clone)]
pub struct Gemini {
    pub executable: PathBuf,
    /// Where the CLI keeps its settings and sessions (`GEMINI_CLI_HOME`);
    /// `None` leaves the CLI's own default (`~/.gemini`) untouched. A
    /// `GEMINI_CLI_HOME` in the session's environment wins over this.
    pub config_home: Option<PathBuf>,
}

impl Default for Gemini {
    fn default() -> Self {
        Gemini::new("gemini")
    }
}

impl Gemini {
    /// The CLI at `executable`, configured in Fanout's data directory
    /// (`<FANOUT_HOME>/gemini-cli`).
    pub fn new(executable: impl Into<PathBuf>) -> Self {
        let config_home = crate::paths::Paths::from_env()
            .ok()
            .map(|paths| paths.home().join("gemini-cli"));
        Gemini {
            executable: executable.into(),
            config_home,
        }
    }

    pub fn with_config_home(mut self, home: impl Into<PathBuf>) -> Self {
        self.config_home = Some(home.into());
        self
    }

    /// The command line for `spec`, without the program. The CLI has no
    /// option to add to its system prompt, so the methodology goes in front of
    /// the prompt.
    pub fn args(spec: &SessionSpec) -> Vec<String> {
        let prompt = spec.prompt_with_methodology();
        let mut args: Vec<String> = if prompt.starts_with('-') {
            // Otherwise the prompt would be read as an option.
            vec![format!("--prompt={prompt}")]
        } else {
            vec!["--prompt".into(), prompt]
        };
        args.extend([
            "--output-format".into(),
            "stream-json".into(),
            "--approval-mode".into(),
            approval_mode(spec.permission).into(),
            // A worktree is a folder the CLI has never seen; without this it
            // would ask whether to trust it, and nobody is there to answer.
            "--skip-trust".into(),
        ]);
        if let Some(model) = &spec.model {
            args.extend(["--model".into(), model.clone()]);
        }
        if let Some(session) = &spec.resume {
            args.extend(["--resume".into(), session.clone()]);
        }
        args
    }
}

/// The approval mode decides which tools the model even sees: `auto_edit`
/// offers file edits, `yolo` also shell commands.
pub fn approval_mode(permission: PermissionProfile) -> &'static str {
    match permission {
        PermissionProfile::Edits | PermissionProfile::Ask => "auto_edit",
        PermissionProfile::EditsAndCommands | PermissionProfile::Bypass => "yolo",
    }
}

impl Agent for Gemini {
    fn shown_command_line(&self, spec: &SessionSpec) -> Vec<String> {
        super::with_placeholders(Gemini::args(spec), spec)
    }

    fn kind(&self) -> AgentKind {
        AgentKind::Gemini
    }

    fn start(
        &self,
        spec: &SessionSpec,
        events: mpsc::Sender<SessionEvent>,
    ) -> Result<Session, AgentError> {
        let mut process = spec.process(&self.executable, Self::args(spec));
        let chosen_by_caller = spec.env.iter().any(|(key, _)| key == CONFIG_HOME_VAR);
        if let (Some(home), false) = (&self.config_home, chosen_by_caller) {
            ensure_settings(home)?;
            process = process.env(CONFIG_HOME_VAR, home.display().to_string());
        }
        let mut parser = GeminiParser::default();
        if spec.permission == PermissionProfile::Ask {
            parser.note = Some(ASK_NOTE.to_owned());
        }
        drive(process, parser, events, ())
    }
}

/// Writes what a session needs into `home`'s settings, keeping every other
/// setting and any choice already made there (a user who signs in with Google
/// in Fanout's directory keeps that).
pub fn ensure_settings(home: &Path) -> Result<(), AgentError> {
    let path = home.join(".gemini").join("settings.json");
    let failed = |reason: String| AgentError::GeminiSettings {
        path: path.clone(),
        reason,
    };
    let mut settings = match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str::<Value>(&text).map_err(|e| failed(e.to_string()))?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => json!({}),
        Err(e) => return Err(failed(e.to_string())),
    };
    let before = settings.clone();
    set_default(
        &mut settings,
        &["security", "auth", "selectedType"],
        json!("gemini-api-key"),
    )
    .and_then(|()| {
        set_default(
            &mut settings,
            &["privacy", "usageStatisticsEnabled"],
            json!(false),
        )
    })
    .map_err(failed)?;
    if settings == before {
        return Ok(());
    }
    let text = serde_json::to_string_pretty(&settings).map_err(|e| failed(e.to_string()))?;
    std::fs::create_dir_all(home.join(".gemini"))
        .and_then(|()| std::fs::write(&path, text + "\n"))
        .map_err(|e| failed(e.to_string()))
}

/// Sets the value at `keys` unless one is there; objects on the way are created.
fn set_default(settings: &mut Value, keys: &[&str], value: Value) -> Result<(), String> {
    let Some((last, parents)) = keys.split_last() else {
        return Ok(());
    };
    let mut node = settings;
    for key in parents {
        node = node
            .as_object_mut()
            .ok_or_else(|| format!("`{key}` should sit in an object"))?
            .entry(*key)
            .or_insert_with(|| json!({}));
    }
    node.as_object_mut()
        .ok_or_else(|| format!("`{last}` should sit in an object"))?
        .entry(*last)
        .or_insert(value);
    Ok(())
}

/// Turns the CLI's JSONL into events.
#[derive(Debug, Default)]
pub struct GeminiParser {
    session_id: Option<String>,
    /// Streamed assistant text not yet sent as one event.
    pending_text: String,
    last_message: Option<String>,
    /// `Some(error)` after a failed `result`, `Some(None)` after a successful one.
    result: Option<Option<String>>,
    /// A warning sent once, after `init` (or at the end if none came).
    note: Option<String>,
    missing_key: bool,
    stderr: StderrTail,
}

impl GeminiParser {
    /// Maps one JSONL line to events; unknown or malformed lines become raw.
    pub fn parse_line(&mut self, line: &str) -> Vec<SessionEvent> {
        if line.trim().is_empty() {
            return Vec::new();
        }
        let Ok(value) = serde_json::from_str::<Value>(line) else {
            let mut events = self.flush_text();
            events.push(SessionEvent::raw(line));
            return events;
        };
        let kind = str_at(&value, "type");
        if kind == Some("message") && str_at(&value, "role") == Some("assistant") {
            if let Some(text) = str_at(&value, "content") {
                return self.assistant_text(text, value.get("delta") == Some(&json!(true)));
            }
        }
        let mut events = self.flush_text();
        let mapped = match kind {
            Some("init") => self.init(&value),
            // The prompt Fanout sent, echoed: already recorded with the launch.
            Some("message") if str_at(&value, "role") == Some("user") => Some(Vec::new()),
            Some("tool_use") => tool_use(&value).map(|e| vec![e]),
            Some("tool_result") => tool_result(&value).map(|e| vec![e]),
            Some("error") => str_at(&value, "message").map(|m| vec![warning(m)]),
            Some("result") => Some(self.result_event(&value)),
            _ => None,
        };
        events.extend(mapped.unwrap_or_else(|| vec![SessionEvent::raw(line)]));
        events
    }

    fn init(&mut self, value: &Value) -> Option<Vec<SessionEvent>> {
        let session_id = string_at(value, "session_id")?;
        self.session_id = Some(session_id.clone());
        let mut events = vec![SessionEvent::Init {
            session_id,
            model: string_at(value, "model"),
            tools: None,
            cwd: None,
            agent_version: None,
        }];
        events.extend(self.note.take().map(|m| warning(&m)));
        Some(events)
    }

    /// Deltas wait for the rest of their run; a whole message goes out at once.
    fn assistant_text(&mut self, text: &str, delta: bool) -> Vec<SessionEvent> {
        self.pending_text.push_str(text);
        if delta {
            Vec::new()
        } else {
            self.flush_text()
        }
    }

    fn flush_text(&mut self) -> Vec<SessionEvent> {
        if self.pending_text.is_empty() {
            return Vec::new();
        }
        let text = bound(&std::mem::take(&mut self.pending_text), MAX_TEXT_BYTES);
        self.last_message = Some(text.clone());
        vec![SessionEvent::AssistantText { text }]
    }

    fn result_event(&mut self, value: &Value) -> Vec<SessionEvent> {
        let ok = str_at(value, "status") == Some("success");
        let error = (!ok).then(|| {
            value
                .pointer("/error/message")
                .and_then(Value::as_str)
                .map_or_else(
                    || "the CLI ended its run with an error but gave no message".to_owned(),
                    readable_error,
                )
        });
        self.result = Some(error.clone());
        let stats = value.get("stats").unwrap_or(&Value::Null);
        let input_tokens = u64_at(stats, "input_tokens").unwrap_or(0);
        let output_tokens = u64_at(stats, "output_tokens").unwrap_or(0);
        vec![
            SessionEvent::Usage {
                input_tokens,
                output_tokens,
                cache_read: u64_at(stats, "cached"),
                cache_write: None,
            },
            SessionEvent::Result {
                ok,
                summary: self.last_message.clone(),
                error,
                cost_usd: None,
                input_tokens,
                output_tokens,
                turns: None,
                duration_ms: u64_at(stats, "duration_ms"),
                session_id: self.session_id.clone(),
            },
        ]
    }
}

fn tool_use(value: &Value) -> Option<SessionEvent> {
    Some(SessionEvent::ToolUse {
        id: string_at(value, "tool_id"),
        name: string_at(value, "tool_name")?,
        input: bound_json(value.get("parameters").cloned().unwrap_or(Value::Null)),
    })
}

fn tool_result(value: &Value) -> Option<SessionEvent> {
    let status = str_at(value, "status")?;
    let summary = str_at(value, "output")
        .filter(|o| !o.trim().is_empty())
        .or_else(|| value.pointer("/error/message").and_then(Value::as_str))
        .unwrap_or(status);
    Some(SessionEvent::ToolResult {
        id: string_at(value, "tool_id"),
        ok: status == "success",
        summary: bound(summary, MAX_SUMMARY_BYTES),
    })
}

/// The CLI reports an API call it retries only on stderr, as
/// `Attempt 1 failed with status 503. Retrying with backoff... <error>`; the
/// user should see that as a warning, as with the other agents' retries.
fn retry_warning(line: &str) -> Option<SessionEvent> {
    let rest = line.strip_prefix("Attempt ")?;
    let end = rest.find("Retrying with backoff...")?;
    rest.contains(" failed").then(|| {
        warning(&format!(
            "The model API call failed (attempt {}); the Gemini CLI retries.",
            rest[..end].trim().trim_end_matches('.')
        ))
    })
}

/// The CLI wraps API errors as `[API Error: {"error": {...}}]`; the inner
/// message and status read better.
fn readable_error(message: &str) -> String {
    let inner = message
        .find('{')
        .zip(message.rfind('}'))
        .and_then(|(start, end)| serde_json::from_str::<Value>(&message[start..=end]).ok());
    let Some(error) = inner.as_ref().and_then(|v| v.get("error")) else {
        return message.to_owned();
    };
    let Some(text) = str_at(error, "message") else {
        return message.to_owned();
    };
    let text = text.trim_end_matches('.');
    match (u64_at(error, "code"), str_at(error, "status")) {
        (Some(code), Some(status)) => format!("{text} (HTTP {code}, {status})"),
        (Some(code), None) => format!("{text} (HTTP {code})"),
        _ => text.to_owned(),
    }
}

impl OutputParser for GeminiParser {
    fn on_line(&mut self, line: OutputLine) -> Vec<SessionEvent> {
        match line.stream {
            Stream::Stdout => self.parse_line(&line.text),
            Stream::Stderr => {
                self.missing_key |= line.text.contains(MISSING_KEY_MARK);
                self.stderr.push(&line.text);
                let mut events = vec![SessionEvent::Log {
                    stream: Stream::Stderr,
                    line: bound(&line.text, MAX_TEXT_BYTES),
                }];
                events.extend(retry_warning(&line.text));
                events
            }
        }
    }

    fn finish(&mut self, process: &ProcessOutcome) -> Verdict {
        let mut events = self.flush_text();
        events.extend(self.note.take().map(|m| warning(&m)));
        let failure = match &self.result {
            Some(Some(error)) => Some(format!(
                "The Gemini CLI reported an error: {}.",
                error.trim_end_matches('.')
            )),
            None if self.missing_key => Some(MISSING_KEY.to_owned()),
            _ => exit_failure("The Gemini CLI", process, self.stderr.last()),
        }
        .or_else(|| {
            self.result.is_none().then(|| {
                "The Gemini CLI ended without a result; its output is kept in the session's events."
                    .to_owned()
            })
        });
        Verdict {
            failure,
            session_id: self.session_id.clone(),
            events,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_error_reads_as_its_message_and_status() {
        let wrapped = r#"[API Error: {"error":{"code":400,"message":"The mock refuses this request.","status":"INVALID_ARGUMENT"}}]"#;
        assert_eq!(
            readable_error(wrapped),
            "The mock refuses this request (HTTP 400, INVALID_ARGUMENT)"
        );
        assert_eq!(
            readable_error("Operation cancelled."),
            "Operation cancelled.",
            "a message without JSON stays as it is"
        );
    }

    #[test]
    fn settings_gain_defaults_but_keep_the_users_choices() {
        let home = tempfile::tempdir().expect("a temporary directory");
        let dir = home.path().join(".gemini");
        std::fs::create_dir_all(&dir).expect("settings directory");
        std::fs::write(
            dir.join("settings.json"),
            r#"{"security":{"auth":{"selectedType":"oauth-personal"}},"ui":{"theme":"x"}}"#,
        )
        .expect("settings written");
        ensure_settings(home.path()).expect("settings updated");
        let settings: Value = serde_json::from_str(
            &std::fs::read_to_string(dir.join("settings.json")).expect("settings read"),
        )
        .expect("settings are JSON");
        assert_eq!(
            settings,
            json!({"security": {"auth": {"selectedType": "oauth-personal"}},
                   "ui": {"theme": "x"},
                   "privacy": {"usageStatisticsEnabled": false}}),
            "the sign-in choice and other settings stay; statistics go off"
        );
    }

    #[test]
    fn settings_that_are_not_json_are_explained() {
        let home = tempfile::tempdir().expect("a temporary directory");
        let dir = home.path().join(".gemini");
        std::fs::create_dir_all(&dir).expect("settings directory");
        std::fs::write(dir.join("settings.json"), "{ oops").expect("settings written");
        let error = ensure_settings(home.path()).expect_err("broken settings are refused");
        assert_eq!(error.code(), "agent.gemini_settings");
        assert!(
            error.to_string().contains("settings.json"),
            "the message names the file: {error}"
        );
    }
}
