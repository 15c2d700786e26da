//! Errors as they cross into the UI: `{ kind, message }`, so the UI can react
//! to a kind of failure (the engine's stable code, like `merge.dirty`)
//! without matching on text, and always has a sentence.

use serde::Serialize;

#[derive(Debug, Clone, Serialize)]
pub struct CommandError {
    #[serde(rename = "kind")]
    pub code: &'static str,
    pub message: String,
}

impl From<fanout_engine::Error> for CommandError {
    fn from(err: fanout_engine::Error) -> Self {
        CommandError {
            code: err.code(),
            message: err.to_string(),
        }
    }
}

impl CommandError {
    /// A failure of the shell itself (a worker thread that died), not of the
    /// user's input.
    pub fn internal(what: &str) -> CommandError {
        CommandError {
            code: "internal",
            message: format!("Fanout hit an internal error while {what}. Try again; if it keeps happening, restart Fanout."),
        }
    }
}

pub type CommandResult<T> = Result<T, CommandError>;
