//! Agent sessions: one agent working on one prompt in one worktree.
//!
//! Every backend implements [`Agent`]: [`Agent::start`] spawns the agent's
//! process (in its own process group, see [`crate::process`]) and returns a
//! [`Session`] at once; the session's [`SessionEvent`]s arrive on the channel
//! the caller passed (one channel per session, never a shared one), and
//! [`Session::wait`] gives the [`SessionOutcome`] once the agent and everything
//! it started are gone. Events are sent before the outcome is available, so a
//! caller that drains its channel until it closes has seen them all.

pub mod api;
pub mod approval;
pub mod claude_code;
pub mod claude_interactive;
pub mod codex;
pub mod command;
pub mod gemini;
pub mod handle;
mod json;

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use crate::events::SessionEvent;
use crate::process::{
    self, Canceller, OutputLine, ProcessEnd, ProcessError, ProcessOutcome, ProcessSpec,
};

pub use api::ApiAgent;
pub use approval::{ApprovalRequest, ApprovalRules, ApprovalSettings, ApprovalUpdate, Decision};
pub use claude_code::ClaudeCode;
pub use claude_interactive::ClaudeInteractive;
pub use codex::Codex;
pub use command::CommandAgent;
pub use gemini::Gemini;
pub use handle::{AllowedTools, Approvals, InteractiveError, InteractiveHandle};

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error("Unknown agent `{name}`. Choose one of: claude_code, codex, gemini, command, api.")]
    UnknownKind { name: String },
    #[error(
        "Unknown permission profile `{name}`. Choose one of: edits, edits_and_commands, bypass, ask."
    )]
    UnknownProfile { name: String },
    #[error("The agent command template is empty. Give a command such as `my-agent --message {{prompt}}`.")]
    EmptyTemplate,
    #[error("The agent command template `{template}` cannot be split into arguments ({reason}). Check its quotes.")]
    BadTemplate { template: String, reason: String },
    #[error("Could not write the prompt to a temporary file: {source}. Check that the temporary directory is writable.")]
    PromptFile {
        #[source]
        source: std::io::Error,
    },
    #[error("A command template with {{prompt_file}} cannot run on an ssh host: the file is written on this machine. Use {{prompt}} in the template for remote variants.")]
    PromptFileRemote,
    #[error("Could not prepare the Gemini CLI settings {}: {reason}. Fix or remove that file.", path.display())]
    GeminiSettings { path: PathBuf, reason: String },
    #[error("The built-in agent cannot start: {detail}")]
    Api { detail: String },
    #[error(transparent)]
    Interactive(#[from] InteractiveError),
    #[error(transparent)]
    Secrets(#[from] crate::secrets::SecretsError),
    #[error(transparent)]
    Process(#[from] ProcessError),
}

impl AgentError {
    pub fn code(&self) -> &'static str {
        match self {
            AgentError::UnknownKind { .. } => "agent.unknown_kind",
            AgentError::UnknownProfile { .. } => "agent.unknown_profile",
            AgentError::EmptyTemplate => "agent.empty_template",
            AgentError::BadTemplate { .. } => "agent.bad_template",
            AgentError::PromptFile { .. } => "agent.prompt_file",
            AgentError::PromptFileRemote => "agent.prompt_file_remote",
            AgentError::GeminiSettings { .. } => "agent.gemini_settings",
            AgentError::Api { .. } => "agent.api",
            AgentError::Interactive(e) => e.code(),
            AgentError::Secrets(e) => e.code(),
            AgentError::Process(e) => e.code(),
        }
    }
}

/// Which backend runs a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, serde::Deserialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum AgentKind {
    ClaudeCode,
    Codex,
    /// Google's Gemini CLI.
    Gemini,
    Command,
    /// The built-in agent over a model API.
    Api,
}

impl AgentKind {
    pub fn as_str(self) -> &'static str {
        match self {
            AgentKind::ClaudeCode => "claude_code",
            AgentKind::Codex => "codex",
            AgentKind::Gemini => "gemini",
            AgentKind::Command => "command",
            AgentKind::Api => "api",
        }
    }
}

impl AgentKind {
    /// The secret variables of Fanout's environment this agent's CLI reads
    /// for its own API: the only ones its process inherits.
    pub fn secret_vars(self) -> &'static [&'static str] {
        match self {
            AgentKind::ClaudeCode => &[
                "ANTHROPIC_API_KEY",
                "ANTHROPIC_AUTH_TOKEN",
                "CLAUDE_CODE_OAUTH_TOKEN",
            ],
            AgentKind::Codex => &["OPENAI_API_KEY", "CODEX_API_KEY"],
            AgentKind::Gemini => &["GEMINI_API_KEY", "GOOGLE_API_KEY"],
            // The built-in agent calls the API from Fanout itself; its shell
            // gets no key. A command agent names its own (see its settings).
            AgentKind::Command | AgentKind::Api => &[],
        }
    }
}

impl fmt::Display for AgentKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AgentKind {
    type Err = AgentError;

    /// Accepts the stored names and the CLI's spellings (`claude-code`).
    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name.trim().to_ascii_lowercase().replace('-', "_").as_str() {
            "claude_code" | "claude" => Ok(AgentKind::ClaudeCode),
            "codex" => Ok(AgentKind::Codex),
            "gemini" | "gemini_cli" => Ok(AgentKind::Gemini),
            "command" | "custom" => Ok(AgentKind::Command),
            "api" | "builtin" | "built_in" => Ok(AgentKind::Api),
            _ => Err(AgentError::UnknownKind {
                name: name.to_owned(),
            }),
        }
    }
}

/// What an agent may do without asking.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, serde::Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum PermissionProfile {
    /// Edit files in the worktree.
    #[default]
    Edits,
    /// Edit files and run shell commands.
    EditsAndCommands,
    /// Everything; Claude Code refuses this when run as root.
    Bypass,
    /// Approval rules decide, then the user (Claude Code in two-way mode, see
    /// [`claude_interactive`]); agents that cannot ask run as with `Edits`
    /// (the Gemini CLI says so in a warning).
    Ask,
}

impl FromStr for PermissionProfile {
    type Err = AgentError;

    fn from_str(name: &str) -> Result<Self, Self::Err> {
        match name
            .trim()
            .to_ascii_lowercase()
            .replace(['-', ' '], "_")
            .as_str()
        {
            "edits" => Ok(PermissionProfile::Edits),
            "edits_and_commands" => Ok(PermissionProfile::EditsAndCommands),
            "bypass" => Ok(PermissionProfile::Bypass),
            "ask" => Ok(PermissionProfile::Ask),
            _ => Err(AgentError::UnknownProfile {
                name: name.to_owned(),
            }),
        }
    }
}

/// Everything one session needs. Build with [`SessionSpec::new`], then set fields.
#[derive(Debug, Clone)]
pub struct SessionSpec {
    /// The worktree; the agent's working directory.
    pub workdir: PathBuf,
    pub prompt: String,
    /// Working method appended to the system prompt (or prepended to the prompt
    /// for agents without a system prompt option).
    pub methodology: Option<String>,
    pub model: Option<String>,
    pub max_turns: Option<u32>,
    pub permission: PermissionProfile,
    /// Continue this earlier session (a follow-up).
    pub resume: Option<String>,
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL, and how long a leaked pipe is tolerated.
    pub grace: Duration,
    pub env: Vec<(String, String)>,
    /// Where the agent's process (and the built-in agent's commands) run.
    pub sandbox: Option<crate::sandbox::Sandbox>,
    /// Secret variables of Fanout's environment the agent may inherit (its
    /// own provider's key); see [`crate::secrets::CHILD_SECRET_VARS`].
    pub secrets: Vec<String>,
    /// The host the agent runs on (`workdir` is a path there); `None` here.
    pub remote: Option<crate::hosts::Shell>,
}

impl SessionSpec {
    pub fn new(workdir: impl Into<PathBuf>, prompt: impl Into<String>) -> Self {
        SessionSpec {
            workdir: workdir.into(),
            prompt: prompt.into(),
            methodology: None,
            model: None,
            max_turns: None,
            permission: PermissionProfile::default(),
            resume: None,
            timeout: Some(Duration::from_secs(30 * 60)),
            grace: Duration::from_secs(5),
            env: Vec::new(),
            sandbox: None,
            secrets: Vec::new(),
            remote: None,
        }
    }

    /// The prompt with the methodology in front, for agents that take only one text.
    pub fn prompt_with_methodology(&self) -> String {
        match self.methodology.as_deref().map(str::trim) {
            Some(m) if !m.is_empty() => format!("{m}\n\n---\n\n{}", self.prompt),
            _ => self.prompt.clone(),
        }
    }

    fn process(&self, program: impl Into<PathBuf>, args: Vec<String>) -> ProcessSpec {
        let mut spec = ProcessSpec::new(program, &self.workdir)
            .args(args)
            .timeout(self.timeout)
            .grace(self.grace)
            .leak_grace(self.grace)
            .sandbox(self.sandbox.clone())
            .remote(self.remote.clone())
            .secrets(self.secrets.iter().cloned());
        for (key, value) in &self.env {
            spec = spec.env(key, value);
        }
        spec
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    Succeeded,
    Failed,
    Cancelled,
    TimedOut,
}

/// How a session ended.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionOutcome {
    pub status: SessionStatus,
    /// Why it did not succeed, as a sentence for the user.
    pub reason: Option<String>,
    /// The agent's session id, for a follow-up.
    pub session_id: Option<String>,
    pub exit_code: Option<i32>,
    /// A process the agent started kept its output open after it exited.
    pub leaked_output: bool,
    pub duration_ms: u64,
}

impl SessionOutcome {
    pub fn succeeded(&self) -> bool {
        self.status == SessionStatus::Succeeded
    }
}

/// One backend: Claude Code, Codex, the Gemini CLI, a custom command.
pub trait Agent: Send + Sync {
    fn kind(&self) -> AgentKind;

    /// Spawns the agent for `spec`. Returns once the process runs; its events
    /// go to `events` (a full channel slows the reading, never drops events; a
    /// closed one is ignored: the session goes on). Needs a tokio runtime.
    fn start(
        &self,
        spec: &SessionSpec,
        events: mpsc::Sender<SessionEvent>,
    ) -> Result<Session, AgentError>;

    /// The command line `start` runs for `spec`, for the run record, with
    /// the prompt and methodology shown as placeholders (their full text is
    /// recorded beside it). Empty for an agent that runs no program.
    fn shown_command_line(&self, _spec: &SessionSpec) -> Vec<String> {
        Vec::new()
    }
}

/// `args` with the spec's prompt and methodology (alone or combined) shown
/// as placeholders.
pub(crate) fn with_placeholders(args: Vec<String>, spec: &SessionSpec) -> Vec<String> {
    let combined = spec.prompt_with_methodology();
    args.into_iter()
        .map(|arg| {
            if arg == spec.prompt {
                "<prompt>".to_owned()
            } else if Some(&arg) == spec.methodology.as_ref() {
                "<methodology>".to_owned()
            } else if arg == combined {
                "<methodology and prompt>".to_owned()
            } else {
                arg
            }
        })
        .collect()
}

/// Builds the backend for `kind`; `command` is the template for [`AgentKind::Command`],
/// `executable` overrides the program of the CLI backends. [`AgentKind::Api`]
/// reaches `api` with the key from [`crate::secrets::get_key`] (blocking: it
/// may ask the keyring).
pub fn backend(
    kind: AgentKind,
    executable: Option<PathBuf>,
    command: Option<&str>,
    api: &crate::llm::ApiEndpoint,
) -> Result<Box<dyn Agent>, AgentError> {
    Ok(match kind {
        AgentKind::ClaudeCode => {
            Box::new(executable.map_or_else(ClaudeCode::default, ClaudeCode::new))
        }
        AgentKind::Codex => Box::new(executable.map_or_else(Codex::default, Codex::new)),
        AgentKind::Gemini => Box::new(executable.map_or_else(Gemini::default, Gemini::new)),
        AgentKind::Command => Box::new(CommandAgent::new(command.unwrap_or_default())?),
        AgentKind::Api => Box::new(ApiAgent::new(api.config()?)),
    })
}

/// A running session.
#[derive(Debug)]
pub struct Session {
    pid: u32,
    canceller: Canceller,
    task: JoinHandle<SessionOutcome>,
}

impl Session {
    /// The agent's pid, which is also its process group id; 0 for the built-in
    /// agent, which runs inside Fanout (never signal group 0: it is Fanout's own).
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Ends the session: SIGTERM to the agent's group, SIGKILL after the grace period.
    pub fn cancel(&self) {
        self.canceller.cancel();
    }

    pub fn canceller(&self) -> Canceller {
        self.canceller.clone()
    }

    /// Waits until the agent and its process group are gone.
    pub async fn wait(self) -> SessionOutcome {
        match self.task.await {
            Ok(outcome) => outcome,
            Err(join_error) => SessionOutcome {
                status: SessionStatus::Failed,
                reason: Some(format!(
                    "Fanout lost track of the session ({join_error}). Retry the variant."
                )),
                session_id: None,
                exit_code: None,
                leaked_output: false,
                duration_ms: 0,
            },
        }
    }
}

/// How a backend reads its agent's output and judges the end.
pub(crate) trait OutputParser: Send + 'static {
    fn on_line(&mut self, line: OutputLine) -> Vec<SessionEvent>;

    /// Called once the process and its group are gone. For a cancelled or
    /// timed-out process only the session id and the events are used.
    fn finish(&mut self, process: &ProcessOutcome) -> Verdict;
}

/// A backend's judgement of a session that ended on its own.
pub(crate) struct Verdict {
    /// `None` when the session succeeded.
    pub failure: Option<String>,
    pub session_id: Option<String>,
    /// Events only known at the end (a synthesized result).
    pub events: Vec<SessionEvent>,
}

/// Runs `process`, feeding its lines through `parser` into `events`. `keep`
/// lives as long as the session (a prompt file, for instance).
pub(crate) fn drive<P, K>(
    process: ProcessSpec,
    mut parser: P,
    events: mpsc::Sender<SessionEvent>,
    keep: K,
) -> Result<Session, AgentError>
where
    P: OutputParser,
    K: Send + 'static,
{
    let timeout = process.timeout;
    let mut running = process::spawn(process)?;
    let pid = running.pid();
    let canceller = running.canceller();
    let task = tokio::spawn(async move {
        let _keep = keep;
        while let Some(line) = running.next_line().await {
            send_all(&events, parser.on_line(line)).await;
        }
        let process = running.finish().await;
        let verdict = parser.finish(&process);
        send_all(&events, verdict.events).await;
        if process.leaked_output {
            send_all(
                &events,
                vec![SessionEvent::Warning {
                    message: LEAK_WARNING.to_owned(),
                }],
            )
            .await;
        }
        judge(&process, verdict.failure, verdict.session_id, timeout)
    });
    Ok(Session {
        pid,
        canceller,
        task,
    })
}

const LEAK_WARNING: &str = "The agent left a background process holding its output open after it exited; Fanout stopped that process group.";

async fn send_all(events: &mpsc::Sender<SessionEvent>, batch: Vec<SessionEvent>) {
    for event in batch {
        // A closed channel means nobody listens any more; the session still runs to its end.
        let _ = events.send(event).await;
    }
}

fn judge(
    process: &ProcessOutcome,
    failure: Option<String>,
    session_id: Option<String>,
    timeout: Option<Duration>,
) -> SessionOutcome {
    let (status, reason) = match process.end {
        ProcessEnd::Cancelled => (SessionStatus::Cancelled, Some("The session was cancelled.".to_owned())),
        ProcessEnd::TimedOut => (
            SessionStatus::TimedOut,
            Some(format!(
                "The session ran longer than its timeout of {} and was stopped. Raise the timeout or narrow the task.",
                describe(timeout.unwrap_or_default())
            )),
        ),
        ProcessEnd::Exited => match failure {
            Some(reason) => (SessionStatus::Failed, Some(reason)),
            None => (SessionStatus::Succeeded, None),
        },
    };
    SessionOutcome {
        status,
        reason,
        session_id,
        exit_code: process.code,
        leaked_output: process.leaked_output,
        duration_ms: process.duration_ms,
    }
}

fn describe(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs >= 60.0 {
        format!("{:.0} minutes", secs / 60.0)
    } else {
        format!("{secs:.1} s")
    }
}

/// The usual failure sentence for a process that did not exit with 0.
pub(crate) fn exit_failure(
    agent: &str,
    process: &ProcessOutcome,
    last_error_line: Option<&str>,
) -> Option<String> {
    let detail = last_error_line
        .map(|line| format!(": {}", line.trim().trim_end_matches('.')))
        .unwrap_or_default();
    match (process.code, process.signal) {
        (Some(0), _) => None,
        (Some(code), _) => Some(format!("{agent} exited with code {code}{detail}.")),
        (None, Some(signal)) => Some(format!("{agent} was killed by signal {signal}{detail}.")),
        (None, None) => Some(format!(
            "{agent} ended, but its exit status could not be read{detail}."
        )),
    }
}

/// The last few stderr lines of an agent, bounded, for failure sentences.
#[derive(Debug, Default)]
pub(crate) struct StderrTail {
    lines: std::collections::VecDeque<String>,
}

impl StderrTail {
    const KEEP: usize = 5;
    const LINE_BYTES: usize = 500;

    pub fn push(&mut self, line: &str) {
        if line.trim().is_empty() {
            return;
        }
        if self.lines.len() == Self::KEEP {
            self.lines.pop_front();
        }
        self.lines
            .push_back(crate::events::bound(line, Self::LINE_BYTES));
    }

    pub fn last(&self) -> Option<&str> {
        self.lines.back().map(String::as_str)
    }
}
