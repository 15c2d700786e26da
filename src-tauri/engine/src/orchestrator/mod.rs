//! Running an experiment's variants: one agent session per worktree, at most
//! `max_parallel` at once, each followed by an auto-commit and the optional
//! check command.
//!
//! A variant goes queued → preparing → running → checking → succeeded, or
//! ends failed or cancelled. While preparing, the repository's setup command
//! (see [`crate::repo_settings`]) runs in the worktree, its output part of
//! the transcript; when it fails, the agent never starts. Crash recovery
//! marks the variants of a Fanout that died as interrupted. One task per variant owns its session; cancel
//! reaches it through its [`Control`] (SIGTERM to the agent's group, SIGKILL
//! after the grace period, see [`crate::process`]).
//!
//! Every store write goes through one [`StoreWriter`] (events in batches, one
//! transaction each); every change is also published as an [`Update`] naming
//! its experiment and variant, which [`coalesce`] batches for UIs.
//!
//! Sessions are started from runtime worker threads (the variant tasks), not
//! from `spawn_blocking`: Linux sends the parent-death signal when the
//! spawning thread exits. Git work goes to `spawn_blocking`.

mod check;
pub mod coalesce;
pub mod procfs;
mod results;
mod setup;
pub mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use serde_json::json;
use tokio::sync::{broadcast, mpsc, Notify, Semaphore};
use tokio::task::JoinSet;

pub use coalesce::{coalesce, Progress, Tick, Update, UpdateKind, VariantBatch, UI_INTERVAL};
pub use results::{results, VariantResult};
pub use writer::StoreWriter;

use crate::agent::{
    self, Agent, AgentKind, AllowedTools, ApiAgent, ApprovalSettings, ApprovalUpdate, Approvals,
    ClaudeCode, ClaudeInteractive, Codex, Gemini, InteractiveHandle, PermissionProfile, Session,
    SessionSpec,
};
use crate::events::SessionEvent;
use crate::experiment::{commit_message, now_rfc3339, ExperimentError, ExperimentView};
use crate::lease::AsyncLease;
use crate::methodology::{self, PromptParts};
use crate::process::{Canceller, ProcessEnd};
use crate::store::{
    Experiment, ExperimentStatus, ProcessId, Store, StoreError, Variant, VariantStatus,
};
use crate::worktree::WorktreeError;
use crate::{worktree, Error};

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
    #[error("Fanout's database writer stopped unexpectedly. Restart Fanout: variants still marked running will show as interrupted and can be retried.")]
    WriterGone,
    #[error("Fanout could not start its database writer thread ({source}). Close other programs to free resources and try again.")]
    WriterThread {
        #[source]
        source: std::io::Error,
    },
    #[error("A background task of Fanout failed ({detail}). Try again; if it keeps happening, report this error.")]
    Task { detail: String },
}

impl OrchestratorError {
    pub fn code(&self) -> &'static str {
        match self {
            OrchestratorError::NothingToRun { .. } => "orchestrator.nothing_to_run",
            OrchestratorError::VariantBusy { .. } => "orchestrator.variant_busy",
            OrchestratorError::NoSession { .. } => "orchestrator.no_session",
            OrchestratorError::EmptyFollowUp => "orchestrator.empty_follow_up",
            OrchestratorError::NothingToCancel { .. } => "orchestrator.nothing_to_cancel",
            OrchestratorError::WriterGone => "orchestrator.writer_gone",
            OrchestratorError::WriterThread { .. } => "orchestrator.writer_thread",
            OrchestratorError::Task { .. } => "orchestrator.task",
        }
    }
}

fn join_error(e: tokio::task::JoinError) -> OrchestratorError {
    OrchestratorError::Task {
        detail: e.to_string(),
    }
}

/// Where the agent CLIs are; `None` means the name on the PATH.
#[derive(Debug, Clone, Default)]
pub struct Executables {
    pub claude: Option<PathBuf>,
    pub codex: Option<PathBuf>,
    pub gemini: Option<PathBuf>,
}

impl Executables {
    /// `FANOUT_CLAUDE_BIN`, `FANOUT_CODEX_BIN` and `FANOUT_GEMINI_BIN` when set.
    pub fn from_env() -> Executables {
        let var = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Executables {
            claude: var("FANOUT_CLAUDE_BIN"),
            codex: var("FANOUT_CODEX_BIN"),
            gemini: var("FANOUT_GEMINI_BIN"),
        }
    }

    pub fn for_kind(&self, kind: AgentKind) -> Option<PathBuf> {
        match kind {
            AgentKind::ClaudeCode => self.claude.clone(),
            AgentKind::Codex => self.codex.clone(),
            AgentKind::Gemini => self.gemini.clone(),
            _ => None,
        }
    }
}

/// How an orchestrator runs sessions.
#[derive(Debug, Clone)]
pub struct Config {
    /// Sessions at once; `None` runs every variant of a launch at once.
    pub max_parallel: Option<usize>,
    /// Per session.
    pub timeout: Duration,
    /// Between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// Run in each worktree after a successful session (through `sh -c`).
    pub check: Option<String>,
    pub check_timeout: Duration,
    /// The methodology file relative to the repository root; the default when `None`.
    pub methodology_path: Option<PathBuf>,
    pub permission: PermissionProfile,
    pub max_turns: Option<u32>,
    /// The template of the `command` agent.
    pub agent_command: Option<String>,
    pub executables: Executables,
    /// Extra environment for the agents.
    pub env: Vec<(String, String)>,
    /// The model API of the built-in agent.
    pub api: crate::llm::ApiEndpoint,
    /// What the "ask" profile allows or denies without asking, per repository.
    pub approvals: ApprovalSettings,
    /// Run agents, setup commands and checks in the sandbox ([`crate::sandbox`])
    /// where this machine can; a variant that cannot be sandboxed says so.
    pub sandbox: bool,
    /// Secret variables of Fanout's environment the custom command agent may
    /// inherit; no other child gets any it was not made for.
    pub agent_command_secrets: Vec<String>,
    /// Fanout's data folder, hidden from sandboxed programs; by default the
    /// folder of the database.
    pub data_dir: Option<PathBuf>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            max_parallel: None,
            timeout: Duration::from_secs(30 * 60),
            grace: Duration::from_secs(5),
            check: None,
            check_timeout: Duration::from_secs(30 * 60),
            methodology_path: None,
            permission: PermissionProfile::default(),
            max_turns: None,
            agent_command: None,
            executables: Executables::default(),
            env: Vec::new(),
            api: crate::llm::ApiEndpoint::default(),
            approvals: ApprovalSettings::default(),
            sandbox: true,
            agent_command_secrets: Vec::new(),
            data_dir: None,
        }
    }
}

/// Runs experiments. Cheap to clone; every clone drives the same sessions.
#[derive(Clone)]
pub struct Orchestrator {
    inner: Arc<Inner>,
}

struct Inner {
    writer: StoreWriter,
    updates: broadcast::Sender<Update>,
    controls: Mutex<HashMap<(String, u32), Arc<Control>>>,
    /// Tools the user allowed for the rest of an experiment, by experiment id.
    allowed: Mutex<HashMap<String, AllowedTools>>,
    config: Config,
    me: ProcessId,
}

/// Updates buffered for each subscriber before it counts as fallen behind.
const UPDATE_BUFFER: usize = 16 * 1024;

impl Orchestrator {
    /// Opens its own connection to the database at `database` (the same file
    /// the [`crate::experiment::Engine`] uses) for its writer.
    pub async fn open(database: &Path, mut config: Config) -> Result<Orchestrator, Error> {
        if config.data_dir.is_none() {
            config.data_dir = database.parent().map(Path::to_path_buf);
        }
        let path = database.to_owned();
        let store = tokio::task::spawn_blocking(move || Store::open(&path))
            .await
            .map_err(join_error)??;
        Orchestrator::with_store(store, config)
    }

    pub fn with_store(store: Store, config: Config) -> Result<Orchestrator, Error> {
        let (updates, _) = broadcast::channel(UPDATE_BUFFER);
        Ok(Orchestrator {
            inner: Arc::new(Inner {
                writer: StoreWriter::spawn(store)?,
                updates,
                controls: Mutex::new(HashMap::new()),
                allowed: Mutex::new(HashMap::new()),
                config,
                me: procfs::this_process(),
            }),
        })
    }

    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    pub fn writer(&self) -> &StoreWriter {
        &self.inner.writer
    }

    /// Every update from now on, uncoalesced; pass it to [`coalesce`] for a UI.
    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.inner.updates.subscribe()
    }

    /// Crash recovery, at startup: variants left active by a Fanout process
    /// that is gone become interrupted (their worktrees stay, they can be
    /// retried), and their agents' process groups, if still alive, are killed.
    /// Variants of a live Fanout process (another window, a `fanout run`) are
    /// left alone. Returns the interrupted variants as `(experiment, index)`.
    pub async fn recover(&self) -> Result<Vec<(String, u32)>, Error> {
        let me = self.inner.me;
        let recovered = self
            .inner
            .writer
            .call(move |store| crate::recovery::recover(store, me))
            .await??;
        Ok(recovered.interrupted)
    }

    /// Runs every variant of the experiment that has not run yet and waits
    /// until all are done. Returns the experiment as stored at the end.
    pub async fn run(&self, experiment: &str) -> Result<ExperimentView, Error> {
        let view = self.load(experiment).await?;
        let _lease = self.lease(&view.experiment.id, "running variants").await?;
        let jobs: Vec<Job> = view
            .variants
            .iter()
            .filter(|v| v.status == VariantStatus::Ready)
            .map(|v| Job::first(v.clone()))
            .collect();
        if jobs.is_empty() {
            return Err(OrchestratorError::NothingToRun {
                experiment: view.experiment.id,
            }
            .into());
        }
        self.launch(view.experiment, jobs).await
    }

    /// Resets the variant's worktree to the base and runs it again.
    pub async fn retry(&self, experiment: &str, index: u32) -> Result<Variant, Error> {
        let view = self.load(experiment).await?;
        let _lease = self
            .lease(&view.experiment.id, "retrying a variant")
            .await?;
        let mut variant = idle_variant(&view, index)?;
        let (linked, base) = (
            variant.linked(&view.experiment.repo_root)?,
            view.experiment.base_commit.clone(),
        );
        let reset = tokio::task::spawn_blocking(move || worktree::reset_to(&linked, &base))
            .await
            .map_err(join_error)?;
        if let Err(err) = reset {
            return Err(self.fail_if_tampered(variant, err).await);
        }
        variant.head_commit = Some(view.experiment.base_commit.clone());
        variant.check = None;
        let id = view.experiment.id.clone();
        let done = self
            .launch(view.experiment, vec![Job::first(variant)])
            .await?;
        pick(done, &id, index)
    }

    /// Resumes the variant's finished session with a new instruction.
    pub async fn follow_up(
        &self,
        experiment: &str,
        index: u32,
        text: &str,
    ) -> Result<Variant, Error> {
        if text.trim().is_empty() {
            return Err(OrchestratorError::EmptyFollowUp.into());
        }
        let view = self.load(experiment).await?;
        let _lease = self
            .lease(&view.experiment.id, "following up a variant")
            .await?;
        let variant = idle_variant(&view, index)?;
        let linked = variant.linked(&view.experiment.repo_root)?;
        let checked = tokio::task::spawn_blocking(move || linked.guard())
            .await
            .map_err(join_error)?;
        if let Err(err) = checked {
            return Err(self.fail_if_tampered(variant, err).await);
        }
        let (id, name) = (view.experiment.id.clone(), variant.name.clone());
        let session = self
            .inner
            .writer
            .call(move |store| store.session(&id, index))
            .await??;
        let session_id = session
            .session_id
            .ok_or(OrchestratorError::NoSession { index, name })?;
        let id = view.experiment.id.clone();
        let job = Job {
            variant,
            prompting: Prompting::FollowUp {
                text: text.to_owned(),
                session_id,
            },
        };
        let done = self.launch(view.experiment, vec![job]).await?;
        pick(done, &id, index)
    }

    /// The experiment's lease for this process (see [`crate::lease`]),
    /// taken on the writer's connection.
    async fn lease(&self, experiment_id: &str, doing: &'static str) -> Result<AsyncLease, Error> {
        let id = experiment_id.to_owned();
        let lease = self
            .inner
            .writer
            .call(move |store| crate::lease::take(store, &id, doing))
            .await??;
        Ok(lease.into())
    }

    /// A variant found tampered with ends failed, saying what its agent did.
    async fn fail_if_tampered(&self, mut variant: Variant, err: WorktreeError) -> Error {
        if crate::experiment::mark_tampered(&mut variant, &err) {
            self.inner.save(&variant).await;
        }
        err.into()
    }

    /// Cancels one variant of an experiment run by this orchestrator, or all
    /// of them. Returns how many were asked to stop; each ends as cancelled.
    pub fn cancel(&self, experiment_id: &str, index: Option<u32>) -> usize {
        let controls = self.inner.controls();
        let mut count = 0;
        for ((exp, idx), control) in controls.iter() {
            if exp == experiment_id && index.is_none_or(|i| i == *idx) {
                control.cancel();
                count += 1;
            }
        }
        count
    }

    /// The handle of the variant's running two-way session ("ask" profile):
    /// answers its approval requests, steers it. `None` when the variant runs
    /// no such session right now. `experiment` is the full id.
    pub fn interactive(&self, experiment: &str, index: u32) -> Option<InteractiveHandle> {
        let controls = self.inner.controls();
        let control = controls.get(&(experiment.to_owned(), index))?;
        control.interactive()
    }

    /// Cancels every session of this orchestrator, for app or CLI exit.
    pub fn cancel_all(&self) -> usize {
        let controls = self.inner.controls();
        controls.values().for_each(|c| c.cancel());
        controls.len()
    }

    async fn load(&self, experiment: &str) -> Result<ExperimentView, Error> {
        let selector = experiment.to_owned();
        Ok(self
            .inner
            .writer
            .call(move |store| -> Result<ExperimentView, StoreError> {
                let experiment = store.find_experiment(&selector)?;
                let variants = store.variants(&experiment.id)?;
                Ok(ExperimentView {
                    experiment,
                    variants,
                })
            })
            .await??)
    }

    /// Queues the jobs, runs them at most `max_parallel` at once, waits for all.
    async fn launch(
        &self,
        experiment: Experiment,
        jobs: Vec<Job>,
    ) -> Result<ExperimentView, Error> {
        let inner = &self.inner;
        let experiment = Arc::new(experiment);
        let permits = Arc::new(Semaphore::new(
            inner.config.max_parallel.unwrap_or(jobs.len()).max(1),
        ));
        let mut registered = Vec::with_capacity(jobs.len());
        for job in jobs {
            let registration = inner.register(&experiment.id, &job.variant)?;
            registered.push((job, registration));
        }
        set_experiment_status(inner, &experiment.id, ExperimentStatus::Running).await;
        let mut tasks = JoinSet::new();
        for (mut job, registration) in registered {
            job.variant.status = VariantStatus::Queued;
            let owner = inner.me;
            let variant = job.variant.clone();
            inner
                .writer
                .call(move |store| {
                    store.update_variant(&variant)?;
                    store.claim_variant(&variant.experiment_id, variant.index, owner)
                })
                .await??;
            let (inner, experiment, permits) = (inner.clone(), experiment.clone(), permits.clone());
            tasks.spawn(async move {
                let variant =
                    run_variant(&inner, &experiment, job, &permits, &registration.control).await;
                drop(registration);
                variant
            });
        }
        while let Some(done) = tasks.join_next().await {
            if let Err(e) = done {
                tracing::error!(error = %e, "a variant task ended abnormally");
            }
        }
        let view = self.load(&experiment.id).await?;
        if !view.variants.iter().any(|v| v.status.is_active())
            && view.experiment.status == ExperimentStatus::Running
        {
            let all_cancelled = view
                .variants
                .iter()
                .all(|v| v.status == VariantStatus::Cancelled);
            let status = if all_cancelled {
                ExperimentStatus::Cancelled
            } else {
                ExperimentStatus::Finished
            };
            set_experiment_status(inner, &experiment.id, status).await;
            return self.load(&experiment.id).await;
        }
        Ok(view)
    }
}

impl Inner {
    fn controls(&self) -> MutexGuard<'_, HashMap<(String, u32), Arc<Control>>> {
        // A panic while holding this lock leaves the map itself consistent.
        self.controls.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Claims the variant for this orchestrator: one run at a time per variant.
    fn register(
        self: &Arc<Self>,
        experiment_id: &str,
        variant: &Variant,
    ) -> Result<Registration, Error> {
        if variant.status.is_active() {
            return Err(busy(variant).into());
        }
        let mut controls = self.controls();
        let key = (experiment_id.to_owned(), variant.index);
        if controls.contains_key(&key) {
            return Err(busy(variant).into());
        }
        let control = Arc::new(Control::new());
        controls.insert(key.clone(), control.clone());
        Ok(Registration {
            inner: self.clone(),
            key,
            control,
        })
    }

    fn allowed_tools(&self, experiment_id: &str) -> AllowedTools {
        let mut allowed = self.allowed.lock().unwrap_or_else(|e| e.into_inner());
        allowed.entry(experiment_id.to_owned()).or_default().clone()
    }

    fn publish(&self, experiment_id: &Arc<str>, variant: u32, kind: UpdateKind) {
        // No subscriber is fine: the store has everything.
        let _ = self.updates.send(Update {
            experiment_id: experiment_id.clone(),
            variant,
            kind,
        });
    }

    async fn save(&self, variant: &Variant) {
        let v = variant.clone();
        match self
            .writer
            .call(move |store| store.update_variant(&v))
            .await
        {
            Ok(Ok(())) => {}
            Ok(Err(error)) => {
                tracing::error!(%error, variant = variant.index, "saving the variant failed")
            }
            Err(error) => tracing::error!(%error, "saving the variant failed"),
        }
    }
}

fn busy(variant: &Variant) -> OrchestratorError {
    OrchestratorError::VariantBusy {
        index: variant.index,
        name: variant.name.clone(),
        status: variant.status,
    }
}

/// Removes a variant's control when its run ends, however it ends.
struct Registration {
    inner: Arc<Inner>,
    key: (String, u32),
    control: Arc<Control>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        self.inner.controls().remove(&self.key);
    }
}

/// How one variant's run is cancelled, whatever stage it is in.
struct Control {
    cancelled: AtomicBool,
    notify: Notify,
    process: Mutex<Option<Canceller>>,
    interactive: Mutex<Option<InteractiveHandle>>,
}

impl Control {
    fn new() -> Control {
        Control {
            cancelled: AtomicBool::new(false),
            notify: Notify::new(),
            process: Mutex::new(None),
            interactive: Mutex::new(None),
        }
    }

    fn process(&self) -> MutexGuard<'_, Option<Canceller>> {
        self.process.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn cancel(&self) {
        // The flag is set before the lock is taken, and `attach` checks it
        // under the lock: a process attached at the same moment is cancelled too.
        self.cancelled.store(true, Ordering::SeqCst);
        if let Some(process) = self.process().as_ref() {
            process.cancel();
        }
        self.notify.notify_waiters();
    }

    fn is_cancelled(&self) -> bool {
        self.cancelled.load(Ordering::SeqCst)
    }

    async fn cancelled(&self) {
        loop {
            let notified = self.notify.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    fn attach(&self, process: Canceller) {
        let mut slot = self.process();
        if self.is_cancelled() {
            process.cancel();
        }
        *slot = Some(process);
    }

    fn detach(&self) {
        *self.process() = None;
        self.set_interactive(None);
    }

    fn interactive(&self) -> Option<InteractiveHandle> {
        let slot = self.interactive.lock().unwrap_or_else(|e| e.into_inner());
        slot.clone()
    }

    fn set_interactive(&self, handle: Option<InteractiveHandle>) {
        *self.interactive.lock().unwrap_or_else(|e| e.into_inner()) = handle;
    }
}

struct Job {
    variant: Variant,
    prompting: Prompting,
}

enum Prompting {
    First,
    FollowUp { text: String, session_id: String },
}

impl Job {
    fn first(variant: Variant) -> Job {
        Job {
            variant,
            prompting: Prompting::First,
        }
    }
}

fn idle_variant(view: &ExperimentView, index: u32) -> Result<Variant, Error> {
    let variant = crate::experiment::select_variant(view, &index.to_string())?.clone();
    if variant.status.is_active() {
        return Err(busy(&variant).into());
    }
    if !variant.worktree.is_dir() {
        return Err(ExperimentError::WorktreeMissing {
            index,
            worktree: variant.worktree.clone(),
        }
        .into());
    }
    Ok(variant)
}

fn pick(view: ExperimentView, experiment_id: &str, index: u32) -> Result<Variant, Error> {
    view.variants
        .into_iter()
        .find(|v| v.index == index)
        .ok_or_else(|| {
            StoreError::VariantNotFound {
                experiment_id: experiment_id.to_owned(),
                index,
            }
            .into()
        })
}

async fn set_experiment_status(inner: &Inner, id: &str, status: ExperimentStatus) {
    let id = id.to_owned();
    match inner
        .writer
        .call(move |store| store.set_experiment_status(&id, status))
        .await
    {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::error!(%error, "updating the experiment's status failed"),
        Err(error) => tracing::error!(%error, "updating the experiment's status failed"),
    }
}

/// One variant's run, from queued to its final state. Never fails: every
/// failure ends the variant with a sentence in its `error`.
async fn run_variant(
    inner: &Arc<Inner>,
    experiment: &Experiment,
    job: Job,
    permits: &Semaphore,
    control: &Control,
) -> Variant {
    let mut run = VariantRun::new(inner.clone(), experiment, job.variant);
    run.publish();
    let permit = tokio::select! {
        permit = permits.acquire() => permit.ok(),
        () = control.cancelled() => None,
    };
    let (status, error) = match permit {
        None => (
            VariantStatus::Cancelled,
            Some("The variant was cancelled before it started.".to_owned()),
        ),
        Some(_permit) => match run.execute(experiment, job.prompting, control).await {
            Ok(end) => end,
            Err(error) => (VariantStatus::Failed, Some(error.to_string())),
        },
    };
    run.finish(status, error).await
}

type Ending = (VariantStatus, Option<String>);

/// The state of one variant's run and how it is shown.
struct VariantRun {
    inner: Arc<Inner>,
    experiment_id: Arc<str>,
    variant: Variant,
    progress: Progress,
}

impl VariantRun {
    fn new(inner: Arc<Inner>, experiment: &Experiment, variant: Variant) -> VariantRun {
        let progress = Progress {
            status: variant.status,
            started_at: variant.started_at.clone(),
            tool_calls: 0,
            turns: None,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: None,
            activity: None,
            error: None,
        };
        VariantRun {
            inner,
            experiment_id: Arc::from(experiment.id.as_str()),
            variant,
            progress,
        }
    }

    fn publish(&self) {
        self.inner.publish(
            &self.experiment_id,
            self.variant.index,
            UpdateKind::Progress(self.progress.clone()),
        );
    }

    async fn set_status(&mut self, status: VariantStatus) {
        self.variant.status = status;
        self.progress.status = status;
        self.inner.save(&self.variant).await;
        self.publish();
    }

    async fn finish(mut self, status: VariantStatus, mut error: Option<String>) -> Variant {
        error.iter_mut().for_each(crate::secrets::scrub);
        self.variant.finished_at = Some(now_rfc3339());
        self.variant.error = error.clone();
        self.progress.error = error;
        self.set_status(status).await;
        self.variant
    }

    /// A `fanout cancel` from another process leaves its request in the store.
    async fn cancel_requested_elsewhere(&self) -> bool {
        let (id, index) = (self.variant.experiment_id.clone(), self.variant.index);
        matches!(
            self.inner.writer.call(move |s| s.session(&id, index)).await,
            Ok(Ok(row)) if row.cancel_requested
        )
    }

    /// Preparing, running, committing, checking; returns how the variant ends.
    async fn execute(
        &mut self,
        experiment: &Experiment,
        prompting: Prompting,
        control: &Control,
    ) -> Result<Ending, Error> {
        self.set_status(VariantStatus::Preparing).await;
        let inner = self.inner.clone();
        let config = &inner.config;
        let (agent, mut spec, mut launch) =
            prepare(config, experiment, &self.variant, &prompting).await?;
        let root = experiment.repo_root.clone();
        let settings = inner
            .writer
            .call(move |store| store.repo_settings(&root))
            .await??
            .unwrap_or_default();
        let sandboxes = self
            .sandboxes(experiment, &spec, settings.check_network)
            .await?;
        spec.sandbox = sandboxes.agent.clone();
        launch["sandbox"] = json!(sandboxes.describe());
        self.start_fresh();
        let methodology_warning = launch["methodology_warning"].as_str().map(str::to_owned);
        for note in [sandboxes.unavailable.clone(), methodology_warning]
            .into_iter()
            .flatten()
        {
            self.on_event(SessionEvent::Warning { message: note }).await;
        }
        // A follow-up continues in a worktree that was set up already.
        if matches!(prompting, Prompting::First) {
            let sandbox = sandboxes.tools.clone();
            if let Some(ending) = self.setup(&settings, sandbox, control).await? {
                return Ok(ending);
            }
        }
        if control.is_cancelled() || self.cancel_requested_elsewhere().await {
            return Ok(cancelled(
                "The variant was cancelled before its agent started.",
            ));
        }
        let (exp_id, index) = (self.variant.experiment_id.clone(), self.variant.index);
        inner.writer.record(&exp_id, index, "launch", launch).await;
        self.set_status(VariantStatus::Running).await;

        let (tx, mut rx) = mpsc::channel(256);
        let (approvals_tx, mut approvals) = mpsc::unbounded_channel();
        let session = if two_way(config, &self.variant) {
            let (session, handle) = self.start_two_way(experiment, &spec, approvals_tx, tx)?;
            control.set_interactive(Some(handle));
            session
        } else {
            agent.start(&spec, tx)?
        };
        control.attach(session.canceller());
        self.record_group(session.pid()).await;
        // A `fanout cancel` that ran before the group was recorded could not
        // signal it; its request is in the store by now.
        if self.cancel_requested_elsewhere().await {
            control.cancel();
        }
        loop {
            tokio::select! {
                event = rx.recv() => match event {
                    Some(event) => self.on_event(event).await,
                    None => break,
                },
                Some(update) = approvals.recv() => self.on_approval(update, control).await,
            }
        }
        while let Ok(update) = approvals.try_recv() {
            self.on_approval(update, control).await;
        }
        let outcome = session.wait().await;
        control.detach();
        if let Some(ending) = self.verify_worktree(experiment).await {
            return Ok(ending);
        }
        // The group stays recorded after the session (for diagnosis); every
        // later signal checks its start time first, so a reused pid is safe.
        if let Some(session_id) = outcome.session_id.clone() {
            let id = exp_id.clone();
            let _ = inner
                .writer
                .call(move |s| s.set_session_id(&id, index, &session_id))
                .await;
        }
        self.variant.exit_code = outcome.exit_code;
        if !outcome.succeeded() {
            let stopped = outcome.status == agent::SessionStatus::Cancelled
                || control.is_cancelled()
                || self.cancel_requested_elsewhere().await;
            let reason = outcome
                .reason
                .unwrap_or_else(|| "The session failed.".into());
            return Ok(if stopped {
                cancelled(&reason)
            } else {
                (VariantStatus::Failed, Some(reason))
            });
        }
        self.commit(experiment).await?;
        // An empty check is no check, not one that passes.
        let Some(command) = config.check.as_deref().filter(|c| !c.trim().is_empty()) else {
            return Ok((VariantStatus::Succeeded, None));
        };
        if control.is_cancelled() || self.cancel_requested_elsewhere().await {
            return Ok(cancelled("The variant was cancelled before its check ran."));
        }
        Ok(self.check(command, sandboxes.check, control).await)
    }

    /// The sandboxes of this variant's agent, setup and check, built off the
    /// async runtime (it reads the registration and creates state folders).
    async fn sandboxes(
        &self,
        experiment: &Experiment,
        spec: &SessionSpec,
        check_network: bool,
    ) -> Result<Sandboxes, Error> {
        let config = &self.inner.config;
        if !config.sandbox {
            return Ok(Sandboxes::off(None));
        }
        let available = crate::sandbox::availability();
        let Some(bwrap) = available.bwrap.clone().filter(|_| available.available) else {
            let reason = available.reason.clone().unwrap_or_default();
            return Ok(Sandboxes::off(Some(format!(
                "This agent runs without a sandbox: {reason}"
            ))));
        };
        let kind: AgentKind = self.variant.agent.parse()?;
        let data_dir = config.data_dir.clone().unwrap_or_default();
        let (variant, root, env) = (
            self.variant.clone(),
            experiment.repo_root.clone(),
            spec.env.clone(),
        );
        let built = tokio::task::spawn_blocking(move || {
            Sandboxes::build(
                &bwrap,
                &root,
                &variant,
                kind,
                &env,
                &data_dir,
                check_network,
            )
        })
        .await
        .map_err(join_error)??;
        Ok(built)
    }

    /// Runs the repository's setup command in the worktree, its output part
    /// of the transcript. `None` when there is none or it succeeded; otherwise
    /// how the variant ends, without its agent.
    async fn setup(
        &mut self,
        settings: &crate::repo_settings::RepoSettings,
        sandbox: Option<crate::sandbox::Sandbox>,
        control: &Control,
    ) -> Result<Option<Ending>, Error> {
        let Some(command) = settings.setup_command.clone() else {
            return Ok(None);
        };
        let (timeout, grace) = (settings.setup_timeout(), self.inner.config.grace);
        let worktree = &self.variant.worktree;
        let mut running = match setup::spawn(worktree, &command, timeout, grace, sandbox) {
            Ok(running) => running,
            Err(e) => {
                let reason = format!("The setup command `{command}` could not start ({e}), so the agent was not started.");
                return Ok(Some((VariantStatus::Failed, Some(reason))));
            }
        };
        control.attach(running.canceller());
        self.record_group(running.pid()).await;
        let mut tail = setup::Tail::default();
        while let Some(line) = running.next_line().await {
            tail.push(&line.text);
            let line = SessionEvent::Setup {
                stream: line.stream,
                line: crate::events::bound(&line.text, crate::events::MAX_TEXT_BYTES),
            };
            self.on_event(line).await;
        }
        let outcome = running.finish().await;
        control.detach();
        let result = setup::SetupResult::new(&command, &outcome, &tail);
        let (exp_id, index) = (self.variant.experiment_id.clone(), self.variant.index);
        let payload = serde_json::to_value(&result).unwrap_or_default();
        self.inner
            .writer
            .record(&exp_id, index, "setup_result", payload)
            .await;
        let Some(reason) = result.failure(timeout, outcome.signal) else {
            return Ok(None);
        };
        self.variant.exit_code = outcome.code;
        let stopped = outcome.end == ProcessEnd::Cancelled
            || control.is_cancelled()
            || self.cancel_requested_elsewhere().await;
        Ok(Some(if stopped {
            cancelled(&reason)
        } else {
            (VariantStatus::Failed, Some(reason))
        }))
    }

    /// Records the process group now running for the variant, so a
    /// `fanout cancel` in another process can end it.
    async fn record_group(&self, pid: u32) {
        let group = procfs::start_ticks(pid).map(|start| ProcessId { pid, start });
        let (id, index) = (self.variant.experiment_id.clone(), self.variant.index);
        let _ = self
            .inner
            .writer
            .call(move |s| s.record_group(&id, index, group))
            .await;
    }

    async fn on_event(&mut self, mut event: SessionEvent) {
        // The built-in agent's events never passed through a process's
        // (scrubbed) output: the model may echo a key it read.
        event.scrub();
        let index = self.variant.index;
        let inner = self.inner.clone();
        inner
            .writer
            .event(&self.variant.experiment_id, index, &event)
            .await;
        let changed = self.observe(&event);
        inner.publish(&self.experiment_id, index, UpdateKind::Event { event });
        if changed {
            self.publish();
        }
    }

    /// Records and publishes an approval update; the variant shows
    /// `needs_input` while a request waits for the user.
    async fn on_approval(&mut self, update: ApprovalUpdate, control: &Control) {
        let index = self.variant.index;
        let payload = serde_json::to_value(&update).unwrap_or_default();
        self.inner
            .writer
            .record(&self.variant.experiment_id, index, "approval", payload)
            .await;
        self.inner
            .publish(&self.experiment_id, index, UpdateKind::Approval { update });
        let waiting = control
            .interactive()
            .is_some_and(|handle| !handle.pending().is_empty());
        let status = match (waiting, self.variant.status) {
            (true, VariantStatus::Running) => VariantStatus::NeedsInput,
            (false, VariantStatus::NeedsInput) => VariantStatus::Running,
            _ => return,
        };
        self.set_status(status).await;
    }

    /// Claude Code in two-way mode, with the repository's approval rules.
    fn start_two_way(
        &self,
        experiment: &Experiment,
        spec: &SessionSpec,
        updates: mpsc::UnboundedSender<ApprovalUpdate>,
        events: mpsc::Sender<SessionEvent>,
    ) -> Result<(Session, InteractiveHandle), Error> {
        let config = &self.inner.config;
        let approvals = Approvals {
            rules: config
                .approvals
                .for_repository(&experiment.repo_root)
                .clone(),
            allowed: self.inner.allowed_tools(&experiment.id),
            updates,
        };
        if self.variant.agent.parse::<AgentKind>()? == AgentKind::Api {
            let api = ApiAgent::new(config.api.config().map_err(agent::AgentError::from)?);
            return Ok(api.start_asking(spec, approvals, events)?);
        }
        let executable = config
            .executables
            .claude
            .clone()
            .unwrap_or_else(|| PathBuf::from("claude"));
        Ok(ClaudeInteractive::new(executable).start(spec, approvals, events)?)
    }

    /// A new session: the previous one's numbers no longer apply.
    fn start_fresh(&mut self) {
        let v = &mut self.variant;
        v.started_at = Some(now_rfc3339());
        (v.finished_at, v.error, v.exit_code, v.summary) = (None, None, None, None);
        (v.cost_usd, v.input_tokens, v.output_tokens, v.turns) = (None, None, None, None);
        v.check = None;
        self.progress = Progress {
            status: v.status,
            started_at: v.started_at.clone(),
            tool_calls: 0,
            turns: None,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: None,
            activity: None,
            error: None,
        };
    }

    /// Folds an event into the live progress and the variant's record;
    /// returns whether the progress changed.
    fn observe(&mut self, event: &SessionEvent) -> bool {
        let before = self.progress.clone();
        let p = &mut self.progress;
        match event {
            SessionEvent::Init { .. } => p.activity = Some("started".into()),
            SessionEvent::ToolUse { name, input, .. } => {
                p.tool_calls += 1;
                p.activity = Some(describe_tool(name, input));
            }
            SessionEvent::AssistantText { text } => p.activity = Some(first_words(text)),
            SessionEvent::Thinking { .. } => p.activity = Some("thinking".into()),
            SessionEvent::Usage {
                input_tokens,
                output_tokens,
                ..
            } => {
                p.input_tokens += input_tokens;
                p.output_tokens += output_tokens;
            }
            SessionEvent::Warning { message } => p.activity = Some(first_words(message)),
            SessionEvent::Setup { line, .. } => p.activity = Some(first_words(line)),
            SessionEvent::Result {
                summary,
                cost_usd,
                input_tokens,
                output_tokens,
                turns,
                ..
            } => {
                (p.input_tokens, p.output_tokens) = (*input_tokens, *output_tokens);
                (p.turns, p.cost_usd) = (*turns, *cost_usd);
                p.activity = Some("finished".into());
                let v = &mut self.variant;
                v.summary = summary.clone();
                v.cost_usd = *cost_usd;
                (v.input_tokens, v.output_tokens) = (Some(*input_tokens), Some(*output_tokens));
                v.turns = *turns;
            }
            SessionEvent::ToolResult { .. }
            | SessionEvent::Log { .. }
            | SessionEvent::Raw { .. } => {}
        }
        let v = &mut self.variant;
        if v.input_tokens.is_none() && (p.input_tokens > 0 || p.output_tokens > 0) {
            (v.input_tokens, v.output_tokens) = (Some(p.input_tokens), Some(p.output_tokens));
        }
        *p != before
    }

    /// Every backend can write `.git` as easily as a file (see
    /// [`crate::linked`]): after each session, before anything is committed,
    /// the worktree is checked, and a tampered one ends the variant.
    async fn verify_worktree(&self, experiment: &Experiment) -> Option<Ending> {
        let linked = match self.variant.linked(&experiment.repo_root) {
            Ok(linked) => linked,
            Err(err) => return Some((VariantStatus::Failed, Some(err.to_string()))),
        };
        match tokio::task::spawn_blocking(move || linked.guard()).await {
            Ok(Ok(())) => None,
            Ok(Err(err)) => Some((VariantStatus::Failed, Some(err.to_string()))),
            Err(err) => Some((VariantStatus::Failed, Some(join_error(err).to_string()))),
        }
    }

    async fn commit(&mut self, experiment: &Experiment) -> Result<(), Error> {
        let linked = self.variant.linked(&experiment.repo_root)?;
        let message = commit_message(experiment, &self.variant);
        let commit = tokio::task::spawn_blocking(move || worktree::auto_commit(&linked, &message))
            .await
            .map_err(join_error)??;
        if let Some(commit) = commit {
            self.variant.head_commit = Some(commit);
        }
        Ok(())
    }

    async fn check(
        &mut self,
        command: &str,
        sandbox: Option<crate::sandbox::Sandbox>,
        control: &Control,
    ) -> Ending {
        self.set_status(VariantStatus::Checking).await;
        let config = &self.inner.config;
        let worktree = &self.variant.worktree;
        let run = match check::spawn(
            worktree,
            command,
            config.check_timeout,
            config.grace,
            sandbox,
        ) {
            Ok(running) => {
                control.attach(running.canceller());
                // A `fanout cancel` elsewhere stops the check through this.
                self.record_group(running.pid()).await;
                check::collect(command, running).await
            }
            Err(error) => check::not_started(command, &error),
        };
        control.detach();
        let (exp_id, index) = (self.variant.experiment_id.clone(), self.variant.index);
        let payload = serde_json::to_value(&run.result).unwrap_or_default();
        self.inner
            .writer
            .record(&exp_id, index, "check", payload)
            .await;
        let failure = run.failure(config.check_timeout);
        self.variant.check = Some(run.result.clone());
        match failure {
            None => (VariantStatus::Succeeded, None),
            Some(reason) if run.end == Some(ProcessEnd::Cancelled) => cancelled(&reason),
            Some(reason) => (VariantStatus::Failed, Some(reason)),
        }
    }
}

/// Where one variant's programs run.
#[derive(Default)]
struct Sandboxes {
    agent: Option<crate::sandbox::Sandbox>,
    /// The setup command's: like the agent's, without the agent's state.
    tools: Option<crate::sandbox::Sandbox>,
    check: Option<crate::sandbox::Sandbox>,
    /// The sandbox was wanted but this machine cannot provide it: why.
    unavailable: Option<String>,
}

impl Sandboxes {
    fn off(unavailable: Option<String>) -> Sandboxes {
        Sandboxes {
            unavailable,
            ..Sandboxes::default()
        }
    }

    fn build(
        bwrap: &Path,
        repo_root: &Path,
        variant: &Variant,
        kind: AgentKind,
        env: &[(String, String)],
        data_dir: &Path,
        check_network: bool,
    ) -> Result<Sandboxes, Error> {
        use crate::sandbox::{agent_config, agent_state, for_worktree, prepare_state, Layout};
        let linked = variant.linked(repo_root)?;
        let state = agent_state(kind, env, data_dir);
        let config = agent_config(kind, env, data_dir);
        prepare_state(&state).map_err(|source| WorktreeError::Io {
            action: "create the agent's state folders for its sandbox in",
            path: data_dir.to_path_buf(),
            source,
        })?;
        let layout =
            |agent_state: Vec<PathBuf>, agent_config: Vec<PathBuf>, network: bool| Layout {
                bwrap,
                repo_root: &linked.root,
                common_dir: &linked.common_dir,
                worktree: &linked.worktree,
                git_dir: &linked.git_dir,
                data_dir,
                worktrees_dir: variant.worktree.parent().and_then(Path::parent),
                agent_state,
                agent_config,
                session_home: env
                    .iter()
                    .rev()
                    .find(|(k, _)| k == "HOME")
                    .map(|(_, v)| PathBuf::from(v)),
                network,
            };
        Ok(Sandboxes {
            agent: Some(for_worktree(layout(state, config, true))),
            tools: Some(for_worktree(layout(Vec::new(), Vec::new(), true))),
            check: Some(for_worktree(layout(Vec::new(), Vec::new(), check_network))),
            unavailable: None,
        })
    }

    /// For the run record.
    fn describe(&self) -> serde_json::Value {
        json!({
            "on": self.agent.is_some(),
            "unavailable": self.unavailable,
            "check_network": self.check.as_ref().map(|c| c.network),
        })
    }
}

fn cancelled(reason: &str) -> Ending {
    (VariantStatus::Cancelled, Some(reason.to_owned()))
}

/// The backend, the session's spec and the record of how it was produced.
async fn prepare(
    config: &Config,
    experiment: &Experiment,
    variant: &Variant,
    prompting: &Prompting,
) -> Result<(Box<dyn Agent>, SessionSpec, serde_json::Value), Error> {
    let kind: AgentKind = variant.agent.parse()?;
    let executable = config.executables.for_kind(kind);
    let agent = agent::backend(
        kind,
        executable.clone(),
        config.agent_command.as_deref(),
        &config.api,
    )?;
    let (root, setting, task) = (
        experiment.repo_root.clone(),
        config.methodology_path.clone(),
        experiment.task.clone(),
    );
    let methodology =
        tokio::task::spawn_blocking(move || methodology::load(&root, setting.as_deref(), &task))
            .await
            .map_err(join_error)??;
    let (prompt, resume) = match prompting {
        Prompting::First => (
            methodology::session_prompt(PromptParts {
                task: &experiment.task,
                approach: &variant.name,
                description: &variant.description,
                guidelines: &variant.guidelines,
            }),
            None,
        ),
        Prompting::FollowUp { text, session_id } => (
            methodology::follow_up_prompt(text),
            Some(session_id.clone()),
        ),
    };
    let mut spec = SessionSpec::new(&variant.worktree, prompt);
    spec.methodology = Some(methodology.text.clone());
    spec.model = variant.model.clone();
    spec.max_turns = config.max_turns;
    spec.permission = config.permission;
    spec.resume = resume;
    spec.timeout = Some(config.timeout);
    spec.grace = config.grace;
    spec.env = config.env.clone();
    spec.secrets = match kind {
        AgentKind::Command => config.agent_command_secrets.clone(),
        other => other.secret_vars().iter().map(|v| v.to_string()).collect(),
    };
    let launch = json!({
        "base_commit": experiment.base_commit,
        "agent": kind,
        "executable": executable,
        "command_line": command_line(kind, &spec, config.agent_command.as_deref()),
        "model": spec.model,
        "permission": spec.permission,
        "max_turns": spec.max_turns,
        "timeout_secs": config.timeout.as_secs(),
        "resume": spec.resume,
        "prompt": spec.prompt,
        "methodology": methodology.text,
        "methodology_source": methodology.source,
        "methodology_warning": methodology.warning,
    });
    Ok((agent, spec, launch))
}

/// Whether the variant runs a session that asks the user: the "ask" profile
/// on Claude Code (two-way mode) or on the built-in agent; other agents
/// cannot ask and run one-shot.
fn two_way(config: &Config, variant: &Variant) -> bool {
    config.permission == PermissionProfile::Ask
        && matches!(
            variant.agent.parse::<AgentKind>().ok(),
            Some(AgentKind::ClaudeCode | AgentKind::Api)
        )
}

/// The agent's command line with the prompt and methodology shown as
/// placeholders (their full text is recorded beside it).
fn command_line(kind: AgentKind, spec: &SessionSpec, template: Option<&str>) -> Vec<String> {
    let args = match kind {
        AgentKind::ClaudeCode if spec.permission == PermissionProfile::Ask => {
            ClaudeInteractive::args(spec, "<session id>")
        }
        AgentKind::ClaudeCode => ClaudeCode::args(spec),
        AgentKind::Codex => Codex::args(spec),
        AgentKind::Gemini => Gemini::args(spec),
        _ => return template.map(|t| vec![t.to_owned()]).unwrap_or_default(),
    };
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

fn describe_tool(name: &str, input: &serde_json::Value) -> String {
    let target = ["file_path", "path", "command", "pattern"]
        .iter()
        .find_map(|key| input.get(*key).and_then(|v| v.as_str()));
    match target {
        Some(target) => first_words(&format!("{name} {target}")),
        None => name.to_owned(),
    }
}

/// The first line of `text`, at most 60 characters.
fn first_words(text: &str) -> String {
    let line = text
        .lines()
        .find(|l| !l.trim().is_empty())
        .unwrap_or("")
        .trim();
    if line.chars().count() <= 60 {
        line.to_owned()
    } else {
        format!("{}…", line.chars().take(59).collect::<String>())
    }
}

/// Checks, before anything is created, that each of `agents` can start with
/// `config`: its CLI is found, the command template parses and names a
/// program that exists, the built-in agent has an API key. A launch that
/// cannot start must not leave worktrees and branches behind. Blocking (the
/// keyring may be asked): call it off async code.
pub fn preflight(config: &Config, agents: &[AgentKind]) -> Result<(), Error> {
    let path_var = config
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| std::ffi::OsString::from(v));
    let here = std::env::temp_dir();
    let mut seen = std::collections::HashSet::new();
    for kind in agents.iter().copied().filter(|k| seen.insert(*k)) {
        let program = match kind {
            AgentKind::ClaudeCode => config.executables.claude.clone().unwrap_or("claude".into()),
            AgentKind::Codex => config.executables.codex.clone().unwrap_or("codex".into()),
            AgentKind::Gemini => config.executables.gemini.clone().unwrap_or("gemini".into()),
            AgentKind::Command => {
                let template = config.agent_command.as_deref().unwrap_or_default();
                let agent = agent::CommandAgent::new(template)?;
                agent.program().into()
            }
            AgentKind::Api => {
                config.api.config().map_err(agent::AgentError::from)?;
                continue;
            }
        };
        crate::process::find_program(&program, &here, path_var.as_deref())?;
    }
    Ok(())
}

/// What [`cancel_elsewhere`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Cancelled {
    /// Variants whose agent (or setup, or check) was running and was stopped.
    pub stopped: Vec<u32>,
    /// Variants not started yet: their run was told not to start them.
    pub dequeued: Vec<u32>,
    /// Variants of a run whose Fanout process had died: marked interrupted,
    /// with any process tree they left stopped.
    pub interrupted: Vec<u32>,
}

impl Cancelled {
    pub fn is_empty(&self) -> bool {
        self.stopped.is_empty() && self.dequeued.is_empty() && self.interrupted.is_empty()
    }
}

/// `fanout cancel` for a run owned by another process. Runs recovery first,
/// so a run whose process died is not "cancelled" in words only: its
/// variants become interrupted and what they left running is stopped. Then
/// each variant a live process runs gets a cancel request (its owner checks
/// before starting an agent and when one ends) and its running process tree
/// is stopped (SIGTERM through its supervisor, SIGKILL after `grace`).
/// Blocks up to `grace` per running agent: for the command line, not async code.
pub fn cancel_elsewhere(
    store: &mut Store,
    experiment: &str,
    index: Option<u32>,
    grace: Duration,
) -> Result<Cancelled, Error> {
    let experiment = store.find_experiment(experiment)?;
    let chosen = |i: u32| index.is_none_or(|wanted| wanted == i);
    let recovered = crate::recovery::recover(store, procfs::this_process())?;
    let mut done = Cancelled {
        interrupted: recovered
            .interrupted
            .iter()
            .filter(|(id, i)| *id == experiment.id && chosen(*i))
            .map(|(_, i)| *i)
            .collect(),
        ..Cancelled::default()
    };
    let targets: Vec<Variant> = store
        .variants(&experiment.id)?
        .into_iter()
        .filter(|v| v.status.is_active() && chosen(v.index))
        .collect();
    for v in &targets {
        store.request_cancel(&experiment.id, v.index)?;
    }
    for v in &targets {
        let group = store.session(&experiment.id, v.index)?.group;
        let stopped = group.is_some_and(|g| crate::recovery::terminate_tree(g, grace));
        if stopped {
            done.stopped.push(v.index);
        } else {
            done.dequeued.push(v.index);
        }
    }
    if done.is_empty() {
        return Err(OrchestratorError::NothingToCancel {
            experiment: crate::experiment::short_id(&experiment.id).to_owned(),
        }
        .into());
    }
    Ok(done)
}
