//! The run dispatcher: one per Fanout process, in the style of nextest's
//! runner and watchexec's supervisor. It owns the process's one store
//! writer, the broadcast of every variant's updates, and each experiment's
//! run configuration (read from the store, so a retry or a follow-up runs
//! as the first run did, in the app or on the command line, before a
//! restart or after). [`Dispatcher::submit`] checks a [`Job`] before it
//! returns, so no face checks twice; the variants then run as [`Unit`]s, one
//! task each, that answer cancel, steer and query requests.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, RwLock};
use std::time::Duration;

use tokio::sync::{broadcast, mpsc, oneshot, Notify, Semaphore};
use tokio::task::JoinSet;

use super::config::{Config, Environment, RunConfig};
use super::unit::{Prompting, Request, Steer, Unit};
use super::{join_error, procfs, OrchestratorError, Progress, Update, UpdateKind};
use crate::agent::AllowedTools;
use crate::experiment::{ExperimentError, ExperimentView, MAX_VARIANTS};
use crate::ids::{ExperimentId, VariantIndex};
use crate::lease::Lease;
use crate::store::{
    Experiment, ExperimentStatus, ProcessId, StoreError, StoreWriter, Variant, VariantStatus,
};
use crate::worktree::{self, WorktreeError};
use crate::Error;

/// Updates buffered for each subscriber before it counts as fallen behind.
const UPDATE_BUFFER: usize = 16 * 1024;

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Every variant of the experiment that has not run yet.
    Run { experiment: ExperimentId },
    /// One variant again, from the base.
    Retry {
        experiment: ExperimentId,
        variant: VariantIndex,
    },
    /// One finished variant's session, resumed with a new instruction.
    FollowUp {
        experiment: ExperimentId,
        variant: VariantIndex,
        text: String,
    },
    /// The experiment's check alone, in one variant's worktree as it is
    /// (a combined variant, or work the user changed by hand).
    Check {
        experiment: ExperimentId,
        variant: VariantIndex,
    },
}

impl Job {
    pub fn experiment(&self) -> &ExperimentId {
        match self {
            Job::Run { experiment }
            | Job::Retry { experiment, .. }
            | Job::FollowUp { experiment, .. }
            | Job::Check { experiment, .. } => experiment,
        }
    }

    fn doing(&self) -> &'static str {
        match self {
            Job::Run { .. } => "running variants",
            Job::Retry { .. } => "retrying a variant",
            Job::FollowUp { .. } => "following up a variant",
            Job::Check { .. } => "checking a variant",
        }
    }
}

/// A submitted job: which variants it runs, and a way to wait for them.
#[derive(Debug)]
pub struct Ticket {
    pub experiment: ExperimentId,
    pub variants: Vec<VariantIndex>,
    done: oneshot::Receiver<()>,
}

impl Ticket {
    /// Resolves once every variant of the job has ended.
    pub async fn finished(self) {
        let _ = self.done.await;
    }
}

#[derive(Clone)]
pub struct Dispatcher {
    shared: Arc<Shared>,
}

/// What the dispatcher and its units share.
pub(crate) struct Shared {
    pub(crate) writer: StoreWriter,
    updates: broadcast::Sender<Update>,
    units: Mutex<HashMap<(String, u32), mpsc::UnboundedSender<Request>>>,
    /// Each experiment's slots, so a retry shares them with a running launch.
    permits: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// Each experiment's "allow always" tools, shared by its sessions.
    allowed: Mutex<HashMap<String, AllowedTools>>,
    environment: RwLock<Environment>,
    /// Checks at once on this machine, across experiments.
    pub(crate) checks: Arc<Semaphore>,
    /// Agents at once on each ssh host, across experiments.
    hosts: Mutex<HashMap<String, Arc<Semaphore>>>,
    /// For experiments created before Fanout stored their run configuration.
    defaults: RwLock<RunConfig>,
    me: ProcessId,
    /// Woken each time a job's variants have all ended.
    ended: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding one of these leaves the map itself consistent.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    /// The memory a variant waits for, as the environment says now (a
    /// changed setting reaches the variants already waiting).
    pub(crate) fn min_free_memory(&self) -> u64 {
        self.environment
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .min_free_memory
    }

    /// The places on host `alias`: its capacity in the settings when first
    /// asked for (an unknown host gets one, and fails when it opens).
    pub(crate) fn host_slots(&self, alias: &str) -> Arc<Semaphore> {
        let capacity = self
            .environment
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .hosts
            .get(alias)
            .map_or(1, |h| h.capacity.max(1));
        lock(&self.hosts)
            .entry(alias.to_owned())
            .or_insert_with(|| Arc::new(Semaphore::new(capacity)))
            .clone()
    }

    pub(crate) fn publish(&self, experiment_id: &Arc<str>, variant: u32, kind: UpdateKind) {
        // No subscriber is fine: the store has everything.
        let _ = self.updates.send(Update {
            experiment_id: experiment_id.clone(),
            variant,
            kind,
        });
    }

    pub(crate) async fn save(&self, variant: &Variant) {
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

impl Dispatcher {
    /// The dispatcher of this process, writing through `writer`.
    /// `environment` is this machine's; `defaults` apply to experiments whose
    /// run configuration was never stored.
    pub fn new(writer: StoreWriter, environment: Environment, defaults: RunConfig) -> Dispatcher {
        let (updates, _) = broadcast::channel(UPDATE_BUFFER);
        let checks = Arc::new(Semaphore::new(environment.max_checks.max(1)));
        Dispatcher {
            shared: Arc::new(Shared {
                writer,
                updates,
                units: Mutex::new(HashMap::new()),
                permits: Mutex::new(HashMap::new()),
                allowed: Mutex::new(HashMap::new()),
                environment: RwLock::new(environment),
                checks,
                hosts: Mutex::new(HashMap::new()),
                defaults: RwLock::new(defaults),
                me: procfs::this_process(),
                ended: Notify::new(),
            }),
        }
    }

    /// This machine's environment from now on (the app's settings changed).
    pub fn set_environment(&self, environment: Environment) {
        *self
            .shared
            .environment
            .write()
            .unwrap_or_else(|e| e.into_inner()) = environment;
    }

    /// How experiments created before Fanout stored their run configuration run from now on.
    pub fn set_defaults(&self, defaults: RunConfig) {
        *self
            .shared
            .defaults
            .write()
            .unwrap_or_else(|e| e.into_inner()) = defaults;
    }

    /// This machine's environment as the dispatcher uses it now.
    pub fn environment(&self) -> Environment {
        self.shared
            .environment
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    pub fn writer(&self) -> &StoreWriter {
        &self.shared.writer
    }

    /// Tells subscribers that something was said of a variant (a review)
    /// or of the experiment (a ranking, variant 0).
    pub fn judged(&self, experiment: &ExperimentId, variant: u32) {
        let id: Arc<str> = Arc::from(experiment.as_str());
        self.shared.publish(&id, variant, UpdateKind::Judged);
    }

    /// Every update from now on, uncoalesced; pass it to [`super::coalesce`] for a UI.
    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.shared.updates.subscribe()
    }

    /// Crash recovery (see [`crate::recovery`]): the variants a dead Fanout
    /// process left active become interrupted. Returns them.
    pub async fn recover(&self) -> Result<Vec<(String, u32)>, Error> {
        let me = self.shared.me;
        let recovered = self
            .shared
            .writer
            .call(move |store| crate::recovery::recover(store, me))
            .await??;
        Ok(recovered.interrupted)
    }

    /// Checks `job` and starts it: every refusal (nothing to run, a variant
    /// that is busy or has no session to resume, an empty instruction, a
    /// tampered worktree, another process holding the experiment) comes
    /// from here, before anything runs.
    pub async fn submit(&self, job: Job) -> Result<Ticket, Error> {
        let id = job.experiment().clone();
        let view = self.load(&id).await?;
        let config = Arc::new(self.config_of(&id).await?);
        if matches!(job, Job::Check { .. }) && config.run.check_command().is_none() {
            return Err(OrchestratorError::NoCheck {
                experiment: id.short().to_owned(),
            }
            .into());
        }
        let lease = self.lease(&id, job.doing()).await?;
        let units = self.units_of(&job, &view).await?;
        let mut registered = Vec::with_capacity(units.len());
        for (variant, prompting) in units {
            let registration = self.register(&id, &variant)?;
            registered.push((variant, prompting, registration));
        }
        let variants: Vec<VariantIndex> = registered
            .iter()
            .map(|(v, _, _)| VariantIndex(v.index))
            .collect();
        let (done, finished) = oneshot::channel();
        let launch = Launch {
            shared: self.shared.clone(),
            experiment: Arc::new(view.experiment),
            config,
            _lease: lease,
        };
        launch.queue(&registered).await?;
        tokio::spawn(launch.run(registered, done));
        Ok(Ticket {
            experiment: id,
            variants,
            done: finished,
        })
    }

    /// The variants `job` runs, each checked, and how it is prompted.
    async fn units_of(
        &self,
        job: &Job,
        view: &ExperimentView,
    ) -> Result<Vec<(Variant, Prompting)>, Error> {
        match job {
            Job::Run { .. } => {
                let ready: Vec<(Variant, Prompting)> = view
                    .variants
                    .iter()
                    .filter(|v| v.status == VariantStatus::Ready)
                    .map(|v| (v.clone(), Prompting::First))
                    .collect();
                if ready.is_empty() {
                    return Err(OrchestratorError::NothingToRun {
                        experiment: view.experiment.id.clone(),
                    }
                    .into());
                }
                Ok(ready)
            }
            Job::Retry { variant, .. } => {
                let variant = self.idle(view, *variant)?;
                let variant = self.reset(view, variant).await?;
                Ok(vec![(variant, Prompting::First)])
            }
            Job::Check { variant, .. } => {
                let variant = self.idle(view, *variant)?;
                self.guard(view, &variant).await?;
                Ok(vec![(variant, Prompting::CheckOnly)])
            }
            Job::FollowUp { variant, text, .. } => {
                if text.trim().is_empty() {
                    return Err(OrchestratorError::EmptyFollowUp.into());
                }
                let variant = self.idle(view, *variant)?;
                self.guard(view, &variant).await?;
                let (id, index, name) = (
                    view.experiment.id.clone(),
                    variant.index,
                    variant.name.clone(),
                );
                let session = self
                    .shared
                    .writer
                    .call(move |store| store.session(&id, index))
                    .await??;
                let session_id = session
                    .session_id
                    .ok_or(OrchestratorError::NoSession { index, name })?;
                let prompting = Prompting::FollowUp {
                    text: text.clone(),
                    session_id,
                };
                Ok(vec![(variant, prompting)])
            }
        }
    }

    /// The variant, when it can run again now: not running, its worktree there.
    fn idle(&self, view: &ExperimentView, index: VariantIndex) -> Result<Variant, Error> {
        let variant = view
            .variants
            .iter()
            .find(|v| v.index == index.0)
            .cloned()
            .ok_or_else(|| StoreError::VariantNotFound {
                experiment_id: view.experiment.id.clone(),
                index: index.0,
            })?;
        if variant.status.is_active() || self.is_registered(&view.experiment.id, variant.index) {
            return Err(busy(&variant).into());
        }
        if !variant.worktree.is_dir() {
            return Err(ExperimentError::WorktreeMissing {
                index: index.0,
                worktree: variant.worktree.clone(),
            }
            .into());
        }
        Ok(variant)
    }

    /// Checks the worktree before an agent works in it again.
    async fn guard(&self, view: &ExperimentView, variant: &Variant) -> Result<(), Error> {
        let linked = variant.linked(&view.experiment.repo_root)?;
        let checked = tokio::task::spawn_blocking(move || linked.guard())
            .await
            .map_err(join_error)?;
        match checked {
            Ok(()) => Ok(()),
            Err(err) => Err(self.fail_if_tampered(variant.clone(), err).await),
        }
    }

    /// Resets the variant's worktree and branch to the base, for a retry.
    async fn reset(&self, view: &ExperimentView, mut variant: Variant) -> Result<Variant, Error> {
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
        Ok(variant)
    }

    /// A variant found tampered with ends failed, saying what its agent did.
    async fn fail_if_tampered(&self, mut variant: Variant, err: WorktreeError) -> Error {
        if crate::experiment::mark_tampered(&mut variant, &err) {
            self.shared.save(&variant).await;
        }
        err.into()
    }

    /// Cancels one running variant of the experiment, or all. Returns how
    /// many were asked to stop; each ends as cancelled.
    pub fn cancel(&self, experiment: &ExperimentId, index: Option<VariantIndex>) -> usize {
        let units = lock(&self.shared.units);
        units
            .iter()
            .filter(|((id, i), _)| id == experiment.as_str() && index.is_none_or(|x| x.0 == *i))
            .filter(|(_, unit)| unit.send(Request::Cancel).is_ok())
            .count()
    }

    /// [`Dispatcher::cancel`], for a user who asked: nothing running in
    /// this process is an error that says so.
    pub fn cancel_running(
        &self,
        experiment: &ExperimentId,
        index: Option<VariantIndex>,
    ) -> Result<usize, Error> {
        match self.cancel(experiment, index) {
            0 => Err(OrchestratorError::NothingToCancel {
                experiment: experiment.short().to_owned(),
            }
            .into()),
            count => Ok(count),
        }
    }

    /// Cancels every running variant, for app or command-line exit.
    pub fn cancel_all(&self) -> usize {
        let units = lock(&self.shared.units);
        units
            .values()
            .filter(|unit| unit.send(Request::Cancel).is_ok())
            .count()
    }

    /// Whether any variant of the experiment runs in this process.
    pub fn is_running(&self, experiment: &ExperimentId) -> bool {
        lock(&self.shared.units)
            .keys()
            .any(|(id, _)| id == experiment.as_str())
    }

    /// Answers a running variant's approval request, or steers its session.
    /// "Allow always" is kept with the experiment, for its later sessions too.
    pub async fn steer(
        &self,
        experiment: &ExperimentId,
        index: VariantIndex,
        steer: Steer,
    ) -> Result<(), Error> {
        let unit = lock(&self.shared.units)
            .get(&(experiment.to_string(), index.0))
            .cloned()
            .ok_or(OrchestratorError::NotInteractive { index: index.0 })?;
        if let Steer::AllowAlways { tool } = &steer {
            self.allow_always(experiment, tool).await?;
        }
        let (reply, answer) = oneshot::channel();
        unit.send(Request::Steer { steer, reply })
            .map_err(|_| OrchestratorError::NotInteractive { index: index.0 })?;
        answer
            .await
            .map_err(|_| OrchestratorError::NotInteractive { index: index.0 })?
    }

    /// The live progress of a running variant, asked of its unit.
    pub async fn progress(
        &self,
        experiment: &ExperimentId,
        index: VariantIndex,
    ) -> Option<Progress> {
        let unit = lock(&self.shared.units)
            .get(&(experiment.to_string(), index.0))
            .cloned()?;
        let (reply, answer) = oneshot::channel();
        unit.send(Request::Query { reply }).ok()?;
        answer.await.ok()
    }

    /// For the app's exit: cancels every variant and waits (at most `limit`)
    /// until they have ended, so they are recorded as cancelled and nothing
    /// they started is left running.
    pub async fn shutdown(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let ended = self.shared.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            if lock(&self.shared.units).is_empty() {
                return;
            }
            self.cancel_all();
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                tracing::warn!("sessions were still ending when Fanout quit");
                return;
            }
        }
    }

    async fn allow_always(&self, experiment: &ExperimentId, tool: &str) -> Result<(), Error> {
        let (id, tool) = (experiment.to_string(), tool.to_owned());
        let mut config = self.stored_config(&id).await?;
        if !config.allowed_tools.contains(&tool) {
            config.allowed_tools.push(tool);
            self.shared
                .writer
                .call(move |store| store.set_run_config(&id, &config))
                .await??;
        }
        Ok(())
    }

    async fn load(&self, experiment: &ExperimentId) -> Result<ExperimentView, Error> {
        let id = experiment.to_string();
        Ok(self
            .shared
            .writer
            .call(move |store| -> Result<ExperimentView, StoreError> {
                let experiment = store.experiment(&id)?;
                let variants = store.variants(&experiment.id)?;
                Ok(ExperimentView {
                    experiment,
                    variants,
                })
            })
            .await??)
    }

    async fn stored_config(&self, id: &str) -> Result<RunConfig, Error> {
        let key = id.to_owned();
        let stored: Option<RunConfig> = self
            .shared
            .writer
            .call(move |store| store.run_config(&key))
            .await??;
        Ok(stored.unwrap_or_else(|| {
            self.shared
                .defaults
                .read()
                .unwrap_or_else(|e| e.into_inner())
                .clone()
        }))
    }

    /// The experiment's stored run configuration on this machine's environment.
    async fn config_of(&self, experiment: &ExperimentId) -> Result<Config, Error> {
        let run = self.stored_config(experiment.as_str()).await?;
        let environment = self
            .shared
            .environment
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        Ok(Config { run, environment })
    }

    async fn lease(&self, experiment: &ExperimentId, doing: &'static str) -> Result<Lease, Error> {
        let id = experiment.to_string();
        let writer = self.shared.writer.clone();
        self.shared
            .writer
            .call(move |store| crate::lease::take(store, &writer, &id, doing))
            .await?
    }

    fn is_registered(&self, experiment: &str, index: u32) -> bool {
        lock(&self.shared.units).contains_key(&(experiment.to_owned(), index))
    }

    /// Claims the variant for this dispatcher: one run at a time per variant.
    fn register(
        &self,
        experiment: &ExperimentId,
        variant: &Variant,
    ) -> Result<Registration, Error> {
        let mut units = lock(&self.shared.units);
        let key = (experiment.to_string(), variant.index);
        if units.contains_key(&key) {
            return Err(busy(variant).into());
        }
        let (requests, receiver) = mpsc::unbounded_channel();
        units.insert(key.clone(), requests);
        Ok(Registration {
            shared: self.shared.clone(),
            key,
            receiver: Some(receiver),
        })
    }
}

fn busy(variant: &Variant) -> OrchestratorError {
    OrchestratorError::VariantBusy {
        index: variant.index,
        name: variant.name.clone(),
        status: variant.status,
    }
}

/// A variant's place in the registry, given up when its run ends, however it ends.
struct Registration {
    shared: Arc<Shared>,
    key: (String, u32),
    receiver: Option<mpsc::UnboundedReceiver<Request>>,
}

impl Drop for Registration {
    fn drop(&mut self) {
        lock(&self.shared.units).remove(&self.key);
    }
}

/// One submitted job's run: its variants, the experiment's lease, and the
/// experiment's status at the end.
struct Launch {
    shared: Arc<Shared>,
    experiment: Arc<Experiment>,
    config: Arc<Config>,
    _lease: Lease,
}

impl Launch {
    /// Marks the variants queued and owned by this process, the experiment running.
    async fn queue(&self, registered: &[(Variant, Prompting, Registration)]) -> Result<(), Error> {
        let owner = self.shared.me;
        let variants: Vec<Variant> = registered
            .iter()
            .map(|(v, _, _)| Variant {
                status: VariantStatus::Queued,
                ..v.clone()
            })
            .collect();
        let id = self.experiment.id.clone();
        self.shared
            .writer
            .call(move |store| -> Result<(), StoreError> {
                for variant in &variants {
                    store.update_variant(variant)?;
                    store.claim_variant(&variant.experiment_id, variant.index, owner)?;
                }
                store.set_experiment_status(&id, ExperimentStatus::Running)
            })
            .await??;
        Ok(())
    }

    async fn run(
        self,
        registered: Vec<(Variant, Prompting, Registration)>,
        done: oneshot::Sender<()>,
    ) {
        let permits = self.permits();
        let allowed = self.allowed();
        let mut tasks = JoinSet::new();
        for (mut variant, prompting, mut registration) in registered {
            variant.status = VariantStatus::Queued;
            let Some(requests) = registration.receiver.take() else {
                continue;
            };
            let unit = Unit::new(
                self.shared.clone(),
                self.config.clone(),
                self.experiment.clone(),
                variant,
                requests,
                allowed.clone(),
            );
            let permits = permits.clone();
            tasks.spawn(async move {
                let variant = unit.run(prompting, permits).await;
                drop(registration);
                variant
            });
        }
        while let Some(joined) = tasks.join_next().await {
            if let Err(e) = joined {
                tracing::error!(error = %e, "a variant task ended abnormally");
            }
        }
        self.settle().await;
        self.shared.ended.notify_waiters();
        let _ = done.send(());
    }

    /// The experiment's slots: `max_parallel` at once, shared with any other
    /// job of the same experiment.
    fn permits(&self) -> Arc<Semaphore> {
        let slots = self.config.run.max_parallel.unwrap_or(MAX_VARIANTS).max(1);
        lock(&self.shared.permits)
            .entry(self.experiment.id.clone())
            .or_insert_with(|| Arc::new(Semaphore::new(slots)))
            .clone()
    }

    fn allowed(&self) -> AllowedTools {
        let mut all = lock(&self.shared.allowed);
        let allowed = all.entry(self.experiment.id.clone()).or_default().clone();
        for tool in &self.config.run.allowed_tools {
            allowed.insert(tool);
        }
        allowed
    }

    /// Once nothing of the experiment runs, it is finished (or cancelled,
    /// when every variant was).
    async fn settle(&self) {
        let id = self.experiment.id.clone();
        let settled = self
            .shared
            .writer
            .call(move |store| -> Result<(), StoreError> {
                let experiment = store.experiment(&id)?;
                let variants = store.variants(&id)?;
                if variants.iter().any(|v| v.status.is_active())
                    || experiment.status != ExperimentStatus::Running
                {
                    return Ok(());
                }
                let status = if variants
                    .iter()
                    .all(|v| v.status == VariantStatus::Cancelled)
                {
                    ExperimentStatus::Cancelled
                } else {
                    ExperimentStatus::Finished
                };
                store.set_experiment_status(&id, status)
            })
            .await;
        if let Err(error) = settled
            .map_err(Error::from)
            .and_then(|r| r.map_err(Error::from))
        {
            tracing::error!(%error, "updating the experiment's status failed");
        }
    }
}
