//! The error contract of both faces: a failure crosses to the UI as
//! `{ code, message }` ([`Failure`]). `message` is the engine's sentence,
//! true in any face (a face may add its own hint, as the command line adds
//! the command to type). `code` is one of the few [`Code`]s a face acts on;
//! every other failure is [`Code::Other`] and is shown as its sentence. The
//! detailed [`Error::code`] (`merge.dirty`, `worktree.tampered`, …) stays
//! for logs and tests.

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::diff::DiffError;
use crate::experiment::ExperimentError;
use crate::Error;

/// What a face switches on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Code {
    /// A diff's lines are no longer held (newer files were opened since):
    /// the viewer opens the file again.
    DiffPageGone,
    /// Cleanup refused to delete work that is merged nowhere: the dialog
    /// measures again and asks about each such variant.
    Unmerged,
    /// Anything else: the sentence says what happened and what to do.
    Other,
}

/// A failure as a face receives it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Failure {
    pub code: Code,
    pub message: String,
}

impl Error {
    /// The [`Code`] a face acts on.
    pub fn contract_code(&self) -> Code {
        match self {
            Error::Diff(DiffError::PageGone { .. }) => Code::DiffPageGone,
            Error::Experiment(ExperimentError::Unmerged { .. }) => Code::Unmerged,
            _ => Code::Other,
        }
    }
}

impl From<Error> for Failure {
    fn from(error: Error) -> Failure {
        Failure {
            code: error.contract_code(),
            message: error.to_string(),
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}
