//! The app's glue around the engine's dispatcher, none of it Tauri: desktop
//! notifications (a tool use waits for the user; a run ended), and the
//! window's streams and generations, each a task the page stops by its id.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use fanout_engine::agent::ApprovalUpdate;
use fanout_engine::api::Fanout;
use fanout_engine::approaches::{self, ApproachError, GenerationProgress, PlanRequest, Planner};
use fanout_engine::experiment::{ApproachSpec, ExperimentView};
use fanout_engine::ids::{ExperimentId, VariantIndex};
use fanout_engine::orchestrator::{
    coalesce_experiment, Tick, Ticket, Update, UpdateKind, UI_INTERVAL,
};
use fanout_engine::settings::Settings;
use fanout_engine::store::VariantStatus;
use fanout_engine::Error;
use tokio::sync::broadcast;
use tokio::task::AbortHandle;

/// Shows a desktop notification (title, body); failures are the notifier's to log.
pub type Notifier = Box<dyn Fn(&str, &str) + Send + Sync>;

#[derive(Clone)]
pub struct Live {
    shared: Arc<Shared>,
}

struct Shared {
    fanout: Fanout,
    /// Streams and generations, by the id the page stops them with.
    tasks: Mutex<HashMap<String, AbortHandle>>,
    next: AtomicU64,
    notifier: OnceLock<Notifier>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // The map stays consistent even if a holder panicked.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Live {
    pub fn new(fanout: Fanout) -> Live {
        Live {
            shared: Arc::new(Shared {
                fanout,
                tasks: Mutex::new(HashMap::new()),
                next: AtomicU64::new(1),
                notifier: OnceLock::new(),
            }),
        }
    }

    /// Set once the app exists; before that (and in tests without one)
    /// notices are only logged.
    pub fn set_notifier(&self, notifier: Notifier) {
        let _ = self.shared.notifier.set(notifier);
    }

    fn notify(&self, title: &str, body: &str) {
        match self.shared.notifier.get() {
            Some(notify) => notify(title, body),
            None => tracing::info!(%title, %body, "notice"),
        }
    }

    /// A notification each time a tool use waits for the user: the window
    /// may be behind others while an agent stands still. Runs until the
    /// dispatcher is gone.
    pub async fn notify_requests(self) {
        let mut updates = self.shared.fanout.subscribe();
        loop {
            match updates.recv().await {
                Ok(update) => self.notify_request(&update).await,
                Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(broadcast::error::RecvError::Closed) => break,
            }
        }
    }

    async fn notify_request(&self, update: &Update) {
        let UpdateKind::Approval {
            update: ApprovalUpdate::Requested { request },
        } = &update.kind
        else {
            return;
        };
        let id = ExperimentId::new(update.experiment_id.to_string());
        let task = self
            .shared
            .fanout
            .blocking(move |engine| engine.experiment(&id))
            .await
            .map(|view| view.experiment.task)
            .unwrap_or_default();
        let body = format!(
            "Variant {} of {} needs your approval: {} {}",
            update.variant,
            task.lines().next().unwrap_or("").trim(),
            request.tool,
            request.display.summary().lines().next().unwrap_or("")
        );
        self.notify("Fanout: an agent waits for you", &body);
    }

    /// Once the job's variants have ended: a notification saying how the
    /// experiment came out, then, when the settings ask for it, a review of
    /// each of its variants that succeeded with changes.
    pub fn after_job(&self, ticket: Ticket) {
        let live = self.clone();
        tokio::spawn(async move {
            let id = ticket.experiment.clone();
            let variants = ticket.variants.clone();
            ticket.finished().await;
            live.notify_outcome(&id).await;
            if let Err(err) = live.review_automatically(&id, &variants).await {
                tracing::warn!(%err, "the automatic review failed");
                live.notify("Fanout: the automatic review failed", &err.to_string());
            }
        });
    }

    async fn review_automatically(
        &self,
        id: &ExperimentId,
        variants: &[VariantIndex],
    ) -> Result<(), Error> {
        let settings_file = self.shared.fanout.paths().settings();
        let key = id.clone();
        let (view, settings) = self
            .shared
            .fanout
            .blocking(move |e| Ok((e.experiment(&key)?, Settings::load(&settings_file)?)))
            .await?;
        if !settings.reviewer.automatic {
            return Ok(());
        }
        let repo = view.experiment.repo_root.clone();
        let reviewer = settings.clone();
        let asker = fanout_engine::api::blocking(move || reviewer.reviewer_asker(repo)).await?;
        let changed = |v: &fanout_engine::store::Variant| {
            v.status == VariantStatus::Succeeded
                && v.head_commit.as_deref() != Some(view.experiment.base_commit.as_str())
        };
        for v in view
            .variants
            .iter()
            .filter(|v| variants.contains(&VariantIndex(v.index)) && changed(v))
        {
            self.shared
                .fanout
                .review(
                    id,
                    VariantIndex(v.index),
                    &asker,
                    settings.reviewer.budget_tokens,
                )
                .await?;
        }
        Ok(())
    }

    async fn notify_outcome(&self, id: &ExperimentId) {
        let id = id.clone();
        let view = self
            .shared
            .fanout
            .blocking(move |engine| engine.experiment(&id))
            .await;
        let notice = match view {
            Ok(view) => outcome_notice(&view),
            Err(err) => Some(("Fanout: the run ended".to_owned(), err.to_string())),
        };
        if let Some((title, body)) = notice {
            self.notify(&title, &body);
        }
    }

    /// Sends the experiment's coalesced ticks to `sink` until it returns
    /// false or [`Live::stop`] is called with the returned id.
    pub fn watch<S>(&self, experiment: &ExperimentId, sink: S) -> String
    where
        S: FnMut(Tick) -> bool + Send + 'static,
    {
        self.watch_updates(self.shared.fanout.subscribe(), experiment, sink)
    }

    /// [`Live::watch`] from a subscription taken earlier.
    fn watch_updates<S>(
        &self,
        updates: broadcast::Receiver<Update>,
        experiment: &ExperimentId,
        mut sink: S,
    ) -> String
    where
        S: FnMut(Tick) -> bool + Send + 'static,
    {
        let mut ticks = coalesce_experiment(updates, experiment, UI_INTERVAL);
        let id = format!("watch-{}", self.shared.next.fetch_add(1, Ordering::Relaxed));
        let (live, key) = (self.clone(), id.clone());
        let task = tokio::spawn(async move {
            while let Some(tick) = ticks.recv().await {
                if !sink(tick) {
                    break;
                }
            }
            lock(&live.shared.tasks).remove(&key);
        });
        lock(&self.shared.tasks).insert(id.clone(), task.abort_handle());
        id
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

    /// Proposes approaches, as the settings say (the API when a key is set,
    /// else Claude Code); `request` names it for [`Live::stop`]. Stopping
    /// drops the planner's future, which ends a `claude -p` child.
    pub async fn generate<P>(
        &self,
        request: String,
        repo: PathBuf,
        plan: PlanRequest,
        progress: P,
    ) -> Result<Vec<ApproachSpec>, Error>
    where
        P: FnMut(GenerationProgress) + Send + 'static,
    {
        let settings_file = self.shared.fanout.paths().settings();
        let planner = fanout_engine::api::blocking(move || {
            let settings = Settings::load(&settings_file)?;
            let claude = settings
                .executables()
                .claude
                .unwrap_or_else(|| PathBuf::from("claude"));
            Ok(Planner::choose(claude, repo, &settings.api))
        })
        .await?;
        let task =
            tokio::spawn(
                async move { approaches::generate_reporting(&planner, &plan, progress).await },
            );
        lock(&self.shared.tasks).insert(request.clone(), task.abort_handle());
        let joined = task.await;
        lock(&self.shared.tasks).remove(&request);
        match joined {
            Ok(result) => Ok(result?),
            Err(e) if e.is_cancelled() => Err(ApproachError::Cancelled.into()),
            Err(e) => Err(fanout_engine::orchestrator::join_error(e).into()),
        }
    }
}

/// The notification for a finished run; `None` while variants are still
/// active (another job of the same experiment goes on).
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
