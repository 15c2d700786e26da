//! The repository's setup command (say `npm ci`), run in a variant's worktree
//! while the variant is preparing, before its agent starts.

use crate::executor::Workspace;
use std::collections::VecDeque;
use std::time::Duration;

use serde::Serialize;

use crate::process::{self, ProcessEnd, ProcessError, ProcessOutcome, ProcessSpec, RunningProcess};
use crate::sandbox::Sandbox;

/// Output lines kept for the failure message.
const TAIL_LINES: usize = 20;
/// Longest line kept in the tail, in bytes.
const TAIL_LINE_BYTES: usize = 400;

/// Starts `command` through `sh -c` in `workdir` (the user's own shell
/// command, so the shell is wanted), in its own process group.
pub(super) fn spawn(
    workspace: &Workspace,
    command: &str,
    timeout: Duration,
    grace: Duration,
    sandbox: Option<Sandbox>,
) -> Result<RunningProcess, ProcessError> {
    process::spawn(
        ProcessSpec::new("sh", &workspace.dir)
            .remote(workspace.remote.clone())
            .args(["-c", command])
            .timeout(Some(timeout))
            .grace(grace)
            .leak_grace(grace)
            .sandbox(sandbox),
    )
}

/// The last lines of the setup's output.
#[derive(Default)]
pub(super) struct Tail(VecDeque<String>);

impl Tail {
    pub fn push(&mut self, line: &str) {
        if self.0.len() == TAIL_LINES {
            self.0.pop_front();
        }
        self.0
            .push_back(crate::events::bound(line, TAIL_LINE_BYTES));
    }

    pub fn text(&self) -> String {
        Vec::from(self.0.clone()).join("\n")
    }
}

/// What the transcript records about the setup (kind `setup_result`).
#[derive(Debug, Clone, Serialize)]
pub(super) struct SetupResult {
    pub command: String,
    pub end: ProcessEnd,
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    pub output_tail: String,
}

impl SetupResult {
    pub fn new(command: &str, outcome: &ProcessOutcome, tail: &Tail) -> SetupResult {
        SetupResult {
            command: command.to_owned(),
            end: outcome.end,
            exit_code: outcome.code,
            duration_ms: outcome.duration_ms,
            output_tail: tail.text(),
        }
    }

    /// Why the setup did not succeed, as a sentence ending in the output's
    /// tail; `None` when it succeeded.
    pub fn failure(&self, timeout: Duration, signal: Option<i32>) -> Option<String> {
        let command = &self.command;
        let what = match (self.end, self.exit_code) {
            (ProcessEnd::Exited, Some(0)) => return None,
            (ProcessEnd::Cancelled, _) => {
                return Some(format!("The variant was cancelled while its setup command `{command}` ran; the agent was not started."))
            }
            (ProcessEnd::TimedOut, _) => format!(
                "The setup command `{command}` ran longer than {} s and was stopped, so the agent was not started. Raise the setup timeout in the repository settings, or make the command faster.",
                timeout.as_secs()
            ),
            (_, Some(code)) => format!(
                "The setup command `{command}` failed with exit code {code}, so the agent was not started. Fix the command in the repository settings, then retry the variant."
            ),
            (_, None) => format!(
                "The setup command `{command}` was killed by signal {}, so the agent was not started.",
                signal.unwrap_or_default()
            ),
        };
        Some(if self.output_tail.is_empty() {
            format!("{what} It printed nothing.")
        } else {
            format!("{what} The end of its output:\n{}", self.output_tail)
        })
    }
}
