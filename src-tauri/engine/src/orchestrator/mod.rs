//! Running an experiment's variants: one agent session per worktree, at most
//! `max_parallel` at once, each followed by an auto-commit and the optional
//! check command.
//!
//! A variant goes queued → preparing → running → checking → succeeded, or
//! ends failed or cancelled. While preparing, the repository's setup command
//! (see [`crate::repo_settings`]) runs in the worktree, its output part of
//! the transcript; when it fails, the agent never starts.
//!
//! - [`Dispatcher`] (one per process) takes [`Job`]s, checks them, and owns
//!   the store writer, the update broadcast and each experiment's run
//!   configuration ([`RunConfig`], stored with the experiment);
//! - a unit (one task per variant, `unit.rs`) runs the variant and answers
//!   cancel, steer and query requests;
//! - `prepare.rs` builds each session (backend, prompt, sandboxes) and the
//!   record of how it was produced; [`preflight`] says before anything is
//!   created whether a launch can start; [`cancel_elsewhere`] is `fanout
//!   cancel` from another process; crash recovery is [`crate::recovery`].
//!
//! Every change is published as an [`Update`] naming its experiment and
//! variant, which [`coalesce`] batches for UIs. Sessions are started from
//! runtime worker threads; git work goes to `spawn_blocking`.

mod cancel;
mod check;
pub mod coalesce;
mod config;
mod dispatcher;
mod preflight;
mod prepare;
pub mod procfs;
mod results;
mod setup;
mod unit;

pub use cancel::{cancel_elsewhere, Cancelled};
pub use coalesce::{
    coalesce, coalesce_experiment, Progress, Tick, Update, UpdateKind, VariantBatch, UI_INTERVAL,
};
pub use config::{
    default_max_checks, Config, Environment, Executables, RunConfig, DEFAULT_MIN_FREE_MEMORY,
};
pub use dispatcher::{Dispatcher, Job, Ticket};
pub use preflight::{preflight, preflight_hosts};
pub use results::{results, VariantResult};
pub use unit::Steer;

use crate::store::VariantStatus;

#[derive(Debug, thiserror::Error)]
pub enum OrchestratorError {
    #[error("Experiment {experiment} has no variant ready to run: every variant has run already. Retry a variant to run it again.")]
    NothingToRun { experiment: String },
    #[error("Variant {index} ({name}) is {status} right now. Wait for it to finish, or cancel it first.")]
    VariantBusy {
        index: u32,
        name: String,
        status: VariantStatus,
    },
    #[error("Variant {index} ({name}) has no agent session to resume: it never started, or its agent reported no session id. Retry the variant instead.")]
    NoSession { index: u32, name: String },
    #[error("The follow-up instruction is empty. Say what the agent should do next.")]
    EmptyFollowUp,
    #[error("No variant of experiment {experiment} is queued or running, so there is nothing to cancel.")]
    NothingToCancel { experiment: String },
    #[error("Variant {index} has no live agent session here to answer or steer. Only running variants of the \"ask\" permission profile take approvals and messages; follow up on a finished variant instead.")]
    NotInteractive { index: u32 },
    #[error("A background task of Fanout failed ({detail}). Try again; if it keeps happening, report this error.")]
    Task { detail: String },
    #[error("Experiment {experiment} has no check command, so there is nothing to run. Its check is set when it is launched.")]
    NoCheck { experiment: String },
}

impl OrchestratorError {
    pub fn code(&self) -> &'static str {
        match self {
            OrchestratorError::NothingToRun { .. } => "orchestrator.nothing_to_run",
            OrchestratorError::VariantBusy { .. } => "orchestrator.variant_busy",
            OrchestratorError::NoSession { .. } => "orchestrator.no_session",
            OrchestratorError::EmptyFollowUp => "orchestrator.empty_follow_up",
            OrchestratorError::NothingToCancel { .. } => "orchestrator.nothing_to_cancel",
            OrchestratorError::NotInteractive { .. } => "orchestrator.not_interactive",
            OrchestratorError::Task { .. } => "orchestrator.task",
            OrchestratorError::NoCheck { .. } => "orchestrator.no_check",
        }
    }
}

pub fn join_error(e: tokio::task::JoinError) -> OrchestratorError {
    OrchestratorError::Task {
        detail: e.to_string(),
    }
}
