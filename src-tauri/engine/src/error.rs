//! The engine's error, as the edges see it.
//!
//! Inside the engine each module has its own `thiserror` enum; this one only
//! gathers them so the shell and the CLI can ask every error for a stable
//! machine-readable [`Error::code`] and print its sentence.

use crate::{
    agent::AgentError, approaches::ApproachError, diff::DiffError, experiment::ExperimentError,
    llm::LlmError, merge::MergeError, methodology::MethodologyError,
    orchestrator::OrchestratorError, paths::PathsError, process::ProcessError, repo::RepoError,
    repo_settings::RepoSettingsError, secrets::SecretsError, settings::SettingsError,
    store::StoreError, worktree::WorktreeError,
};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Paths(#[from] PathsError),
    #[error(transparent)]
    Repo(#[from] RepoError),
    #[error(transparent)]
    Worktree(#[from] WorktreeError),
    #[error(transparent)]
    Diff(#[from] DiffError),
    #[error(transparent)]
    Merge(#[from] MergeError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Experiment(#[from] ExperimentError),
    #[error(transparent)]
    Agent(#[from] AgentError),
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error(transparent)]
    Llm(#[from] LlmError),
    #[error(transparent)]
    Secrets(#[from] SecretsError),
    #[error(transparent)]
    Settings(#[from] SettingsError),
    #[error(transparent)]
    Approaches(#[from] ApproachError),
    #[error(transparent)]
    Methodology(#[from] MethodologyError),
    #[error(transparent)]
    Orchestrator(#[from] OrchestratorError),
    #[error(transparent)]
    RepoSettings(#[from] RepoSettingsError),
    #[error(transparent)]
    Lease(#[from] crate::lease::LeaseError),
    #[error(transparent)]
    Desktop(#[from] crate::desktop::DesktopError),
    #[error(transparent)]
    OneShot(#[from] crate::oneshot::OneShotError),
    #[error(transparent)]
    Rubric(#[from] crate::rubric::RubricError),
    #[error(transparent)]
    Review(#[from] crate::review::ReviewError),
    #[error(transparent)]
    Combine(#[from] crate::combine::CombineError),
    #[error(transparent)]
    Pr(#[from] crate::pr::PrError),
    #[error(transparent)]
    Host(#[from] crate::hosts::HostError),
    #[error(transparent)]
    Executor(#[from] crate::executor::ExecutorError),
    #[error(transparent)]
    Supervisor(#[from] crate::supervisor::SupervisorMissing),
}

impl Error {
    /// A stable identifier for the kind of failure, for UIs that must react to
    /// it without matching on message text.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Paths(e) => e.code(),
            Error::Repo(e) => e.code(),
            Error::Worktree(e) => e.code(),
            Error::Diff(e) => e.code(),
            Error::Merge(e) => e.code(),
            Error::Store(e) => e.code(),
            Error::Experiment(e) => e.code(),
            Error::Agent(e) => e.code(),
            Error::Process(e) => e.code(),
            Error::Llm(e) => e.code(),
            Error::Secrets(e) => e.code(),
            Error::Settings(e) => e.code(),
            Error::Approaches(e) => e.code(),
            Error::Methodology(e) => e.code(),
            Error::Orchestrator(e) => e.code(),
            Error::RepoSettings(e) => e.code(),
            Error::Lease(e) => e.code(),
            Error::Desktop(e) => e.code(),
            Error::OneShot(e) => e.code(),
            Error::Rubric(e) => e.code(),
            Error::Review(e) => e.code(),
            Error::Combine(e) => e.code(),
            Error::Pr(e) => e.code(),
            Error::Host(e) => e.code(),
            Error::Executor(e) => e.code(),
            Error::Supervisor(_) => "process.no_supervisor",
        }
    }
}
