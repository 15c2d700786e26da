//! Any CLI agent, from a command template such as
//! `aider --yes-always --message {prompt}` or `my-agent --task-file {prompt_file}`.
//!
//! The template is split into arguments (shell quoting rules) *before* the
//! placeholders are filled in, and the program is executed directly: a prompt
//! is always exactly the text of the argument it stands in, never shell code.
//! Placeholders: `{prompt}`, `{prompt_file}` (a temporary file holding the
//! prompt, outside the worktree so it is never committed), `{workdir}`.
//! Output lines become [`SessionEvent::Log`]; the exit code decides.

use std::io::Write;
use std::path::Path;

use tokio::sync::mpsc;

use super::{
    drive, exit_failure, Agent, AgentError, AgentKind, OutputParser, Session, SessionSpec,
    StderrTail, Verdict,
};
use crate::events::{bound, SessionEvent, MAX_TEXT_BYTES};
use crate::process::{OutputLine, ProcessEnd, ProcessOutcome, Stream};

const PROMPT: &str = "{prompt}";
const PROMPT_FILE: &str = "{prompt_file}";
const WORKDIR: &str = "{workdir}";

/// A custom command agent.
#[derive(Debug, Clone)]
pub struct CommandAgent {
    template: Vec<String>,
}

impl CommandAgent {
    /// Parses `template`; fails on an empty template or unbalanced quotes.
    pub fn new(template: &str) -> Result<Self, AgentError> {
        let words = shell_words::split(template).map_err(|e| AgentError::BadTemplate {
            template: template.to_owned(),
            reason: e.to_string(),
        })?;
        if words.is_empty() {
            return Err(AgentError::EmptyTemplate);
        }
        Ok(CommandAgent { template: words })
    }

    /// The program the template runs (its first word).
    pub fn program(&self) -> &str {
        &self.template[0]
    }

    /// The argv (program first) for `spec`, with `prompt_file` standing for `{prompt_file}`.
    pub fn argv(&self, spec: &SessionSpec, prompt_file: &Path) -> Vec<String> {
        let prompt = spec.prompt_with_methodology();
        let values = [
            (PROMPT_FILE, prompt_file.display().to_string()),
            (PROMPT, prompt),
            (WORKDIR, spec.workdir.display().to_string()),
        ];
        self.template
            .iter()
            .map(|word| substitute(word, &values))
            .collect()
    }

    fn needs_prompt_file(&self) -> bool {
        self.template.iter().any(|w| w.contains(PROMPT_FILE))
    }
}

/// Fills placeholders in one left-to-right pass, so text that a value brings
/// in (a prompt mentioning `{workdir}`) is never substituted again.
fn substitute(word: &str, values: &[(&str, String)]) -> String {
    let mut out = String::with_capacity(word.len());
    let mut rest = word;
    while !rest.is_empty() {
        match values.iter().find(|(key, _)| rest.starts_with(key)) {
            Some((key, value)) => {
                out.push_str(value);
                rest = &rest[key.len()..];
            }
            None => {
                let ch = rest.chars().next().unwrap_or_default();
                out.push(ch);
                rest = &rest[ch.len_utf8()..];
            }
        }
    }
    out
}

impl Agent for CommandAgent {
    /// The template as written: its placeholders are the record.
    fn shown_command_line(&self, _spec: &SessionSpec) -> Vec<String> {
        self.template.clone()
    }

    fn kind(&self) -> AgentKind {
        AgentKind::Command
    }

    fn start(
        &self,
        spec: &SessionSpec,
        events: mpsc::Sender<SessionEvent>,
    ) -> Result<Session, AgentError> {
        if self.needs_prompt_file() && spec.remote.is_some() {
            return Err(AgentError::PromptFileRemote);
        }
        let prompt_file = if self.needs_prompt_file() {
            Some(write_prompt_file(&spec.prompt_with_methodology())?)
        } else {
            None
        };
        let file_path = prompt_file
            .as_ref()
            .map(|f| f.path().to_path_buf())
            .unwrap_or_default();
        let mut argv = self.argv(spec, &file_path);
        let program = argv.remove(0);
        let process = spec.process(program, argv);
        drive(process, CommandParser::default(), events, prompt_file)
    }
}

fn write_prompt_file(prompt: &str) -> Result<tempfile::NamedTempFile, AgentError> {
    let mut file = tempfile::Builder::new()
        .prefix("fanout-prompt-")
        .suffix(".md")
        .tempfile()
        .map_err(|source| AgentError::PromptFile { source })?;
    file.write_all(prompt.as_bytes())
        .and_then(|()| file.flush())
        .map_err(|source| AgentError::PromptFile { source })?;
    Ok(file)
}

#[derive(Debug, Default)]
struct CommandParser {
    last_stdout: Option<String>,
    stderr: StderrTail,
}

impl OutputParser for CommandParser {
    fn on_line(&mut self, line: OutputLine) -> Vec<SessionEvent> {
        let text = bound(&line.text, MAX_TEXT_BYTES);
        match line.stream {
            Stream::Stdout if !text.trim().is_empty() => self.last_stdout = Some(text.clone()),
            Stream::Stderr => self.stderr.push(&text),
            Stream::Stdout => {}
        }
        vec![SessionEvent::Log {
            stream: line.stream,
            line: text,
        }]
    }

    /// The command has no result line of its own; one is made from its exit.
    fn finish(&mut self, process: &ProcessOutcome) -> Verdict {
        let failure = exit_failure("The agent command", process, self.stderr.last());
        let result = SessionEvent::Result {
            ok: failure.is_none(),
            summary: self.last_stdout.clone(),
            error: failure.clone(),
            cost_usd: None,
            input_tokens: 0,
            output_tokens: 0,
            turns: None,
            duration_ms: Some(process.duration_ms),
            session_id: None,
        };
        // A cancelled or timed-out command gets its verdict from the driver, not a result.
        let ended_on_its_own = process.end == ProcessEnd::Exited;
        Verdict {
            failure,
            session_id: None,
            events: if ended_on_its_own {
                vec![result]
            } else {
                Vec::new()
            },
        }
    }
}
