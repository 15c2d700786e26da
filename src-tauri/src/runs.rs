//! Live runs for the app: every experiment run, retry and follow-up this
//! window started, kept until its sessions end, so it can be watched,
//! cancelled and reported; and approach generations that can be cancelled.
//!
//! Settings are read at each launch, so a changed setting applies to the next
//! run without a restart. Each launch gets its own [`Orchestrator`] (its
//! config is fixed at creation); all of an experiment's orchestrators publish
//! into one broadcast per experiment, so a watcher that subscribed before a
//! retry also sees the retry. Watchers get the engine's coalesced [`Tick`]s.
//! Nothing here knows Tauri: the shell passes a tick sink and a notifier.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use fanout_engine::agent::{AgentError, ApprovalUpdate, InteractiveHandle};
use fanout_engine::approaches::{self, PlanRequest, Planner};
use fanout_engine::experiment::{ApproachSpec, Engine, ExperimentView};
use fanout_engine::orchestrator::{coalesce, Orchestrator, Tick, Update, UpdateKind, UI_INTERVAL};
use fanout_engine::paths::Paths;
use fanout_engine::settings::Settings;
use fanout_engine::store::{StoredEvent, VariantStatus};
use fanout_engine::Error;
use serde::Serialize;
use tokio::sync::broadcast;
use tokio::task::AbortHandle;

use crate::error::{CommandError, CommandResult};

/// Updates buffered per experiment before a slow watcher counts as behind.
const UPDATE_BUFFER: usize = 16 * 1024;
/// How often a generation reports that it is still working.
const GENERATION_BEAT: Duration = Duration::from_millis(250);

/// Shows a desktop notification (title, body); failures are the notifier's to log.
pub type Notifier = Box<dyn Fn(&str, &str) + Send + Sync>;

/// One experiment's live state in this app.
struct Live {
    updates: broadcast::Sender<Update>,
    /// Orchestrators with sessions still going, by launch number.
    running: Vec<(u64, Orchestrator)>,
    /// The check command given at launch; retries and follow-ups reuse it.
    check: Option<String>,
}

impl Live {
    fn new() -> Live {
        Live {
            updates: broadcast::channel(UPDATE_BUFFER).0,
            running: Vec::new(),
            check: None,
        }
    }
}

/// What a generation reports while it works.
#[derive(Debug, Clone, Serialize)]
pub struct GenerationProgress {
    /// Who was asked, as a sentence.
    pub stage: String,
    pub elapsed_ms: u64,
}

/// An answer or a nudge for a variant's two-way session ("ask" profile).
#[derive(Debug, Clone)]
pub enum Steer {
    Allow { request: String },
    AllowAlways { tool: String },
    Deny { request: String, message: String },
    Send { text: String },
    Interrupt,
}

/// What to do with a variant: run it again from the base, or resume it.
#[derive(Debug, Clone)]
pub enum Again {
    Retry,
    FollowUp(String),
}

#[derive(Clone)]
pub struct Runs {
    shared: Arc<Shared>,
}

struct Shared {
    engine: Arc<Mutex<Engine>>,
    paths: Paths,
    live: Mutex<HashMap<String, Live>>,
    tasks: Mutex<HashMap<String, AbortHandle>>,
    next: AtomicU64,
    notifier: OnceLock<Notifier>,
    /// Woken each time a launch's sessions have all ended.
    ended: tokio::sync::Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The maps stay consistent even if a holder panicked.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn join_failed(what: &str) -> CommandError {
    CommandError::internal(what)
}

impl Runs {
    pub fn new(engine: Arc<Mutex<Engine>>, paths: Paths) -> Runs {
        Runs {
            shared: Arc::new(Shared {
                engine,
                paths,
                live: Mutex::new(HashMap::new()),
                tasks: Mutex::new(HashMap::new()),
                next: AtomicU64::new(1),
                notifier: OnceLock::new(),
                ended: tokio::sync::Notify::new(),
            }),
        }
    }

    /// Set once the app exists; before that (and in tests without one) outcomes are only logged.
    pub fn set_notifier(&self, notifier: Notifier) {
        let _ = self.shared.notifier.set(notifier);
    }

    async fn settings(&self) -> CommandResult<Settings> {
        let path = self.shared.paths.settings();
        tokio::task::spawn_blocking(move || Settings::load(&path))
            .await
            .map_err(|_| join_failed("reading the settings"))?
            .map_err(|e| CommandError::from(Error::from(e)))
    }

    async fn view(&self, id: &str) -> CommandResult<ExperimentView> {
        let (engine, id) = (self.shared.engine.clone(), id.to_owned());
        tokio::task::spawn_blocking(move || {
            let engine = engine
                .lock()
                .map_err(|_| join_failed("loading the experiment"))?;
            engine.experiment(&id).map_err(CommandError::from)
        })
        .await
        .map_err(|_| join_failed("loading the experiment"))?
    }

    /// Crash recovery at start: variants a dead Fanout left running become interrupted.
    pub async fn recover(&self) -> CommandResult<Vec<(String, u32)>> {
        let settings = self.settings().await.unwrap_or_default();
        let orch = Orchestrator::open(
            &self.shared.paths.database(),
            settings.orchestrator_config(None),
        )
        .await?;
        Ok(orch.recover().await?)
    }

    /// Starts every variant of a freshly created experiment.
    pub async fn launch(&self, id: &str, check: Option<String>) -> CommandResult<()> {
        let view = self.view(id).await?;
        if !view
            .variants
            .iter()
            .any(|v| v.status == VariantStatus::Ready)
        {
            return Err(Error::from(
                fanout_engine::orchestrator::OrchestratorError::NothingToRun {
                    experiment: view.experiment.id,
                },
            )
            .into());
        }
        let check = check.filter(|c| !c.trim().is_empty());
        lock(&self.shared.live)
            .entry(view.experiment.id.clone())
            .or_insert_with(Live::new)
            .check = check;
        let id = view.experiment.id.clone();
        self.start(id.clone(), move |orch| async move {
            orch.run(&id).await.map(|_| ())
        })
        .await
    }

    /// Retries a finished variant, or resumes its session with a follow-up.
    pub async fn again(&self, id: &str, index: u32, what: Again) -> CommandResult<()> {
        let view = self.view(id).await?;
        let variant = view
            .variants
            .iter()
            .find(|v| v.index == index)
            .ok_or_else(|| CommandError {
                code: "experiment.no_variant",
                message: format!(
                    "Experiment {} has no variant {index}.",
                    view.experiment.slug
                ),
            })?;
        if variant.status.is_active() {
            return Err(CommandError {
                code: "orchestrator.variant_busy",
                message: format!(
                    "Variant {index} ({}) is {} right now. Wait for it to finish, or cancel it first.",
                    variant.name, variant.status
                ),
            });
        }
        if matches!(&what, Again::FollowUp(text) if text.trim().is_empty()) {
            return Err(
                Error::from(fanout_engine::orchestrator::OrchestratorError::EmptyFollowUp).into(),
            );
        }
        let id = view.experiment.id.clone();
        self.start(id.clone(), move |orch| async move {
            match what {
                Again::Retry => orch.retry(&id, index).await.map(|_| ()),
                Again::FollowUp(text) => orch.follow_up(&id, index, &text).await.map(|_| ()),
            }
        })
        .await
    }

    /// Opens an orchestrator with today's settings, forwards its updates to
    /// the experiment's watchers and runs `work` on it in the background.
    async fn start<F, Fut>(&self, id: String, work: F) -> CommandResult<()>
    where
        F: FnOnce(Orchestrator) -> Fut + Send + 'static,
        Fut: std::future::Future<Output = Result<(), Error>> + Send + 'static,
    {
        let settings = self.settings().await?;
        let check = lock(&self.shared.live)
            .get(&id)
            .and_then(|l| l.check.clone());
        let orch = Orchestrator::open(
            &self.shared.paths.database(),
            settings.orchestrator_config(check),
        )
        .await?;
        let number = self.shared.next.fetch_add(1, Ordering::Relaxed);
        let sender = {
            let mut live = lock(&self.shared.live);
            let entry = live.entry(id.clone()).or_insert_with(Live::new);
            entry.running.push((number, orch.clone()));
            entry.updates.clone()
        };
        let mut updates = orch.subscribe();
        let task = self
            .view(&id)
            .await
            .map(|v| v.experiment.task)
            .unwrap_or_default();
        let forwarder = self.clone();
        tokio::spawn(async move {
            loop {
                match updates.recv().await {
                    Ok(update) => {
                        forwarder.notify_request(&task, &update);
                        // No watcher yet is fine: the store has everything.
                        drop(sender.send(update))
                    }
                    Err(broadcast::error::RecvError::Lagged(n)) => {
                        tracing::warn!(
                            missed = n,
                            "live updates fell behind; watchers reload from the store"
                        )
                    }
                    Err(broadcast::error::RecvError::Closed) => break,
                }
            }
        });
        let runs = self.clone();
        tokio::spawn(async move {
            let result = work(orch).await;
            if let Some(live) = lock(&runs.shared.live).get_mut(&id) {
                live.running.retain(|(n, _)| *n != number);
            }
            runs.shared.ended.notify_waiters();
            runs.report(&id, result).await;
        });
        Ok(())
    }

    /// A desktop notification when a tool use waits for the user: the window
    /// may be behind others while an agent stands still.
    fn notify_request(&self, task: &str, update: &Update) {
        if let UpdateKind::Approval {
            update: ApprovalUpdate::Requested { request },
        } = &update.kind
        {
            let task = task.lines().next().unwrap_or("").trim();
            let body = format!(
                "Variant {} of {task} needs your approval: {} {}",
                update.variant,
                request.tool,
                request.display.summary().lines().next().unwrap_or("")
            );
            self.notify("Fanout: an agent waits for you", &body);
        }
    }

    fn notify(&self, title: &str, body: &str) {
        match self.shared.notifier.get() {
            Some(notify) => notify(title, body),
            None => tracing::info!(%title, %body, "notice"),
        }
    }

    /// For the app's exit: cancels every session this window runs and waits
    /// (at most `limit`) until they have ended, so their variants are
    /// recorded as cancelled and nothing they started is left running.
    pub async fn shutdown(&self, limit: Duration) {
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            let ended = self.shared.ended.notified();
            tokio::pin!(ended);
            ended.as_mut().enable();
            let running: Vec<Orchestrator> = lock(&self.shared.live)
                .values()
                .flat_map(|l| l.running.iter().map(|(_, o)| o.clone()))
                .collect();
            if running.is_empty() {
                return;
            }
            running.iter().for_each(|o| {
                o.cancel_all();
            });
            if tokio::time::timeout_at(deadline, ended).await.is_err() {
                tracing::warn!("sessions were still ending when the app quit");
                return;
            }
        }
    }

    /// The running two-way session of a variant, or a sentence saying why there is none.
    fn interactive(&self, id: &str, index: u32) -> CommandResult<InteractiveHandle> {
        lock(&self.shared.live)
            .get(id)
            .and_then(|l| l.running.iter().find_map(|(_, o)| o.interactive(id, index)))
            .ok_or_else(|| CommandError {
                code: "run.not_interactive",
                message: format!(
                    "Variant {index} has no live agent session in this window to answer or steer. \
                     Only running variants of the \"ask\" permission profile take approvals and messages; \
                     follow up on a finished variant instead."
                ),
            })
    }

    /// Answers a variant's approval request, or steers its session.
    pub fn steer(&self, id: &str, index: u32, what: Steer) -> CommandResult<()> {
        let handle = self.interactive(id, index)?;
        let sent = match what {
            Steer::Allow { request } => handle.allow(&request),
            Steer::AllowAlways { tool } => handle.allow_always(&tool),
            Steer::Deny { request, message } => handle.deny(&request, &message),
            Steer::Send { text } => handle.send(&text),
            Steer::Interrupt => handle.interrupt(),
        };
        sent.map_err(|e| CommandError::from(Error::from(AgentError::from(e))))
    }

    async fn report(&self, id: &str, result: Result<(), Error>) {
        if let Err(err) = &result {
            tracing::error!(%err, experiment = id, "a run ended with an error");
        }
        let notice = match (result, self.view(id).await) {
            (Err(err), _) => Some(("Fanout: the run failed".to_owned(), err.to_string())),
            (Ok(()), Ok(view)) => outcome_notice(&view),
            (Ok(()), Err(err)) => Some(("Fanout: the run ended".to_owned(), err.message)),
        };
        if let Some((title, body)) = notice {
            self.notify(&title, &body);
        }
    }

    /// Asks this app's sessions of the experiment to stop (one variant, or all).
    pub fn cancel(&self, id: &str, index: Option<u32>) -> CommandResult<usize> {
        let live = lock(&self.shared.live);
        let count: usize = live
            .get(id)
            .map(|l| {
                l.running
                    .iter()
                    .map(|(_, o)| o.cancel(id, index))
                    .sum::<usize>()
            })
            .unwrap_or(0);
        if count == 0 {
            return Err(CommandError {
                code: "orchestrator.nothing_to_cancel",
                message: "Nothing of this experiment is running in this window, so there is nothing to cancel.".into(),
            });
        }
        Ok(count)
    }

    /// Sends the experiment's coalesced ticks to `sink` until it returns false
    /// or [`Runs::unwatch`] is called with the returned id. Ticks are batched
    /// by the engine (at most 30 per second per variant).
    pub fn watch<S>(&self, id: &str, mut sink: S) -> String
    where
        S: FnMut(Tick) -> bool + Send + 'static,
    {
        let receiver = lock(&self.shared.live)
            .entry(id.to_owned())
            .or_insert_with(Live::new)
            .updates
            .subscribe();
        let watch = format!("watch-{}", self.shared.next.fetch_add(1, Ordering::Relaxed));
        let mut ticks = coalesce(receiver, UI_INTERVAL);
        let runs = self.clone();
        let key = watch.clone();
        let task = tokio::spawn(async move {
            while let Some(tick) = ticks.recv().await {
                if !sink(tick) {
                    break;
                }
            }
            lock(&runs.shared.tasks).remove(&key);
        });
        lock(&self.shared.tasks).insert(watch.clone(), task.abort_handle());
        watch
    }

    /// Stops a watch or a generation; an unknown id is already over.
    pub fn stop(&self, task: &str) -> bool {
        match lock(&self.shared.tasks).remove(task) {
            Some(handle) => {
                handle.abort();
                true
            }
            None => false,
        }
    }

    /// A page of a variant's stored transcript after `after_seq`.
    pub async fn events(
        &self,
        id: &str,
        index: u32,
        after_seq: i64,
        limit: usize,
    ) -> CommandResult<Vec<StoredEvent>> {
        let (engine, id) = (self.shared.engine.clone(), id.to_owned());
        tokio::task::spawn_blocking(move || {
            let mut engine = engine
                .lock()
                .map_err(|_| join_failed("loading the transcript"))?;
            let experiment = engine.experiment(&id)?.experiment.id;
            engine
                .store()
                .events(&experiment, index, after_seq, limit.clamp(1, 2000))
                .map_err(|e| CommandError::from(Error::from(e)))
        })
        .await
        .map_err(|_| join_failed("loading the transcript"))?
    }

    /// Proposes approaches; `request` names it for [`Runs::stop`]. Aborting
    /// drops the planner's future, which ends a `claude -p` child
    /// (see `fanout_engine::process`).
    pub async fn generate<P>(
        &self,
        request: String,
        repo: PathBuf,
        plan: PlanRequest,
        mut progress: P,
    ) -> CommandResult<Vec<ApproachSpec>>
    where
        P: FnMut(GenerationProgress) + Send,
    {
        let settings = self.settings().await?;
        let claude = settings
            .executables()
            .claude
            .unwrap_or_else(|| PathBuf::from("claude"));
        let api = settings.api.clone();
        let planner = tokio::task::spawn_blocking(move || Planner::choose(claude, repo, &api))
            .await
            .map_err(|_| join_failed("choosing how to plan"))?;
        let stage = match &planner {
            Planner::Api(_) => "Asking the model API for approaches…",
            Planner::ClaudeCli { .. } => "Asking Claude Code (claude -p) for approaches…",
        };
        let mut task = tokio::spawn(async move { approaches::generate(&planner, &plan).await });
        lock(&self.shared.tasks).insert(request.clone(), task.abort_handle());
        let started = Instant::now();
        let mut beat = tokio::time::interval(GENERATION_BEAT);
        let joined = loop {
            tokio::select! {
                joined = &mut task => break joined,
                _ = beat.tick() => progress(GenerationProgress {
                    stage: stage.to_owned(),
                    elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
                }),
            }
        };
        lock(&self.shared.tasks).remove(&request);
        match joined {
            Ok(result) => result.map_err(|e| CommandError::from(Error::from(e))),
            Err(e) if e.is_cancelled() => Err(CommandError {
                code: "approaches.cancelled",
                message: "Generating approaches was cancelled. Generate again, or write the approaches yourself.".into(),
            }),
            Err(_) => Err(join_failed("generating approaches")),
        }
    }
}

/// The notification for a finished run; `None` while variants are still active
/// (another launch of the same experiment goes on).
pub fn outcome_notice(view: &ExperimentView) -> Option<(String, String)> {
    let variants = &view.variants;
    if variants.iter().any(|v| v.status.is_active()) {
        return None;
    }
    let count = |s: VariantStatus| variants.iter().filter(|v| v.status == s).count();
    let (ok, failed, cancelled) = (
        count(VariantStatus::Succeeded),
        count(VariantStatus::Failed),
        count(VariantStatus::Cancelled),
    );
    let task = view.experiment.task.lines().next().unwrap_or("").trim();
    let title = if failed > 0 {
        "Fanout: an experiment had failures"
    } else if ok == 0 && cancelled > 0 {
        "Fanout: an experiment was cancelled"
    } else {
        "Fanout: an experiment finished"
    };
    let mut parts = vec![format!("{ok} of {} succeeded", variants.len())];
    if failed > 0 {
        parts.push(format!("{failed} failed"));
    }
    if cancelled > 0 {
        parts.push(format!("{cancelled} cancelled"));
    }
    Some((title.to_owned(), format!("{task}: {}.", parts.join(", "))))
}

#[cfg(test)]
mod tests;
