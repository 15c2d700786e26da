//! The experiment's check command (say `cargo test`), run in a variant's
//! worktree after its session succeeded.

use crate::executor::Workspace;
use std::collections::VecDeque;
use std::time::Duration;

use crate::process::{self, ProcessEnd, ProcessError, ProcessSpec, RunningProcess};
use crate::sandbox::Sandbox;
use crate::store::CheckResult;

/// Output lines kept from the end of the check's output.
const TAIL_LINES: usize = 40;
/// Longest line kept in the tail, in bytes.
const TAIL_LINE_BYTES: usize = 400;

/// How a check ended, beyond its stored result.
pub(super) struct CheckRun {
    pub result: CheckResult,
    pub end: Option<ProcessEnd>,
}

impl CheckRun {
    pub fn passed(&self) -> bool {
        self.result.exit_code == Some(0) && self.end == Some(ProcessEnd::Exited)
    }

    /// Why the check did not pass, as a sentence.
    pub fn failure(&self, timeout: Duration) -> Option<String> {
        if self.passed() {
            return None;
        }
        let command = &self.result.command;
        Some(match (self.end, self.result.exit_code) {
            (Some(ProcessEnd::TimedOut), _) => format!(
                "The check `{command}` ran longer than {} s and was stopped. Raise the check timeout or make the check faster.",
                timeout.as_secs()
            ),
            (Some(ProcessEnd::Cancelled), _) => format!("The check `{command}` was cancelled."),
            (None, _) => format!("The check `{command}` could not start: {}", self.result.output_tail),
            (_, Some(code)) => format!("The check `{command}` failed with exit code {code}; its output tail is stored with the variant."),
            (_, None) => format!("The check `{command}` was killed by a signal."),
        })
    }
}

/// Starts `command` through `sh -c` in `workdir` (it is the user's own shell
/// command, so the shell is wanted); read it to its end with [`collect`].
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

/// A check that could not start.
pub(super) fn not_started(command: &str, error: &ProcessError) -> CheckRun {
    CheckRun {
        result: CheckResult {
            command: command.to_owned(),
            exit_code: None,
            duration_ms: 0,
            output_tail: error.to_string(),
        },
        end: None,
    }
}

/// Reads the running check to its end, keeping the tail of its output.
pub(super) async fn collect(command: &str, mut running: RunningProcess) -> CheckRun {
    let mut tail = VecDeque::with_capacity(TAIL_LINES);
    while let Some(line) = running.next_line().await {
        if tail.len() == TAIL_LINES {
            tail.pop_front();
        }
        tail.push_back(crate::events::bound(&line.text, TAIL_LINE_BYTES));
    }
    let outcome = running.finish().await;
    CheckRun {
        result: CheckResult {
            command: command.to_owned(),
            exit_code: outcome.code,
            duration_ms: outcome.duration_ms,
            output_tail: Vec::from(tail).join("\n"),
        },
        end: Some(outcome.end),
    }
}
