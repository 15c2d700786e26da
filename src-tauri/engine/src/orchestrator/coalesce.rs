//! Updates for UIs: every event as it happens, and at most one batch per
//! variant per interval for views that repaint.
//!
//! The orchestrator publishes [`Update`]s, each naming its experiment and
//! variant, on a broadcast channel. [`coalesce`] turns one subscription into
//! [`Tick`]s: per interval, one [`VariantBatch`] per variant that changed, with
//! its latest progress (older progress is superseded) and all its transcript
//! events since the last tick (batched, not dropped). The store keeps every
//! event whatever a subscriber does; a subscriber that fell behind the
//! broadcast is told how many updates it missed, so it can reload from the store.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::sync::{broadcast, mpsc};
use tokio::time::MissedTickBehavior;

use crate::agent::ApprovalUpdate;
use crate::events::SessionEvent;
use crate::ids::ExperimentId;
use crate::store::VariantStatus;

/// The default interval: 30 updates per second per variant at most.
pub const UI_INTERVAL: Duration = Duration::from_nanos(1_000_000_000 / 30);

/// Events kept per variant for a subscriber that does not read; older ones
/// are dropped from its view (never from the store) and counted as missed.
pub const MAX_PENDING_EVENTS: usize = 10_000;

/// One thing that happened to one variant.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct Update {
    pub experiment_id: Arc<str>,
    pub variant: u32,
    pub kind: UpdateKind,
}

#[derive(Debug, Clone, Serialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum UpdateKind {
    Progress(Progress),
    Event {
        event: SessionEvent,
    },
    /// A tool use waits for the user, or was answered (two-way sessions).
    Approval {
        update: ApprovalUpdate,
    },
    /// A review of the variant (or a ranking of its experiment) was kept.
    Judged,
}

/// A variant's live state, as a status line shows it.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct Progress {
    pub status: VariantStatus,
    pub started_at: Option<String>,
    /// Tool calls so far in this session.
    pub tool_calls: u32,
    /// Turns, once the agent reported them.
    pub turns: Option<u32>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    pub cost_usd: Option<f64>,
    /// What the agent did last, in a few words.
    pub activity: Option<String>,
    pub error: Option<String>,
}

impl Progress {
    /// The progress of a variant about to start (again).
    pub fn starting(variant: &crate::store::Variant) -> Progress {
        Progress {
            status: variant.status,
            started_at: variant.started_at.clone(),
            tool_calls: 0,
            turns: None,
            input_tokens: 0,
            output_tokens: 0,
            cost_usd: None,
            activity: None,
            error: None,
        }
    }

    /// Folds an event into the progress; returns whether it changed.
    pub fn observe(&mut self, event: &SessionEvent) -> bool {
        let before = self.clone();
        match event {
            SessionEvent::Init { .. } => self.activity = Some("started".into()),
            SessionEvent::ToolUse { name, input, .. } => {
                self.tool_calls += 1;
                self.activity = Some(describe_tool(name, input));
            }
            SessionEvent::AssistantText { text } => self.activity = Some(first_words(text)),
            SessionEvent::Thinking { .. } => self.activity = Some("thinking".into()),
            SessionEvent::Usage {
                input_tokens,
                output_tokens,
                ..
            } => {
                self.input_tokens += input_tokens;
                self.output_tokens += output_tokens;
            }
            SessionEvent::Warning { message } => self.activity = Some(first_words(message)),
            SessionEvent::Setup { line, .. } => self.activity = Some(first_words(line)),
            SessionEvent::Result {
                cost_usd,
                input_tokens,
                output_tokens,
                turns,
                ..
            } => {
                (self.input_tokens, self.output_tokens) = (*input_tokens, *output_tokens);
                (self.turns, self.cost_usd) = (*turns, *cost_usd);
                self.activity = Some("finished".into());
            }
            SessionEvent::ToolResult { .. }
            | SessionEvent::Log { .. }
            | SessionEvent::Raw { .. } => {}
        }
        *self != before
    }
}

/// A tool use as a status line shows it: the tool and what it works on.
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

/// What a subscriber gets per interval.
#[derive(Debug, Clone, Default, Serialize, ts_rs::TS)]
pub struct Tick {
    pub batches: Vec<VariantBatch>,
    /// Updates this subscriber missed because it fell behind; reload from the store.
    pub missed: u64,
}

/// One variant's changes since the last tick.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct VariantBatch {
    pub experiment_id: Arc<str>,
    pub variant: u32,
    /// The latest progress, when it changed.
    pub progress: Option<Progress>,
    /// Every event since the last tick, in order.
    pub events: Vec<SessionEvent>,
    /// Every approval request and answer since the last tick, in order.
    pub approvals: Vec<ApprovalUpdate>,
    /// A review or ranking was kept since the last tick: reload them.
    pub judged: bool,
}

/// Collects updates between ticks.
#[derive(Debug, Default)]
pub struct Coalescer {
    pending: BTreeMap<(Arc<str>, u32), VariantBatch>,
    missed: u64,
}

impl Coalescer {
    pub fn push(&mut self, update: Update) {
        let missed = &mut self.missed;
        let batch = self
            .pending
            .entry((update.experiment_id.clone(), update.variant))
            .or_insert_with(|| VariantBatch {
                experiment_id: update.experiment_id,
                variant: update.variant,
                progress: None,
                events: Vec::new(),
                approvals: Vec::new(),
                judged: false,
            });
        match update.kind {
            UpdateKind::Progress(progress) => batch.progress = Some(progress),
            UpdateKind::Event { event } => {
                // A subscriber that stopped reading must not make Fanout hold
                // a session's whole transcript: it reloads from the store.
                if batch.events.len() == MAX_PENDING_EVENTS {
                    // Half at once keeps dropping cheap.
                    batch.events.drain(..MAX_PENDING_EVENTS / 2);
                    *missed += (MAX_PENDING_EVENTS / 2) as u64;
                }
                batch.events.push(event);
            }
            // Few and each one needs an answer: never dropped.
            UpdateKind::Approval { update } => batch.approvals.push(update),
            UpdateKind::Judged => batch.judged = true,
        }
    }

    /// Whether a tick would carry anything.
    pub fn has_news(&self) -> bool {
        !self.pending.is_empty() || self.missed > 0
    }

    pub fn missed(&mut self, count: u64) {
        self.missed += count;
    }

    /// Everything collected since the last call, or `None` when nothing changed.
    pub fn take(&mut self) -> Option<Tick> {
        if self.pending.is_empty() && self.missed == 0 {
            return None;
        }
        Some(Tick {
            batches: std::mem::take(&mut self.pending).into_values().collect(),
            missed: std::mem::take(&mut self.missed),
        })
    }
}

/// Spawns a task that turns `updates` into at most one [`Tick`] per
/// `interval` (so at most one batch per variant per interval). A subscriber
/// slower than that gets fewer, larger ticks: the task keeps draining the
/// broadcast meanwhile, so it does not fall behind it. The last tick comes
/// when the orchestrator is gone; the task ends when the receiver is dropped.
pub fn coalesce(updates: broadcast::Receiver<Update>, interval: Duration) -> mpsc::Receiver<Tick> {
    coalesce_where(updates, interval, |_| true)
}

/// [`coalesce`] of one experiment's updates.
pub fn coalesce_experiment(
    updates: broadcast::Receiver<Update>,
    experiment: &ExperimentId,
    interval: Duration,
) -> mpsc::Receiver<Tick> {
    let experiment = experiment.clone();
    coalesce_where(updates, interval, move |u| {
        *u.experiment_id == *experiment.as_str()
    })
}

fn coalesce_where(
    mut updates: broadcast::Receiver<Update>,
    interval: Duration,
    keep: impl Fn(&Update) -> bool + Send + 'static,
) -> mpsc::Receiver<Tick> {
    let (tx, rx) = mpsc::channel(16);
    tokio::spawn(async move {
        let mut coalescer = Coalescer::default();
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut due = false;
        loop {
            tokio::select! {
                // Sending first: a flood of updates must not starve the repaint.
                biased;
                permit = tx.reserve(), if due && coalescer.has_news() => match permit {
                    Ok(permit) => {
                        permit.send(coalescer.take().unwrap_or_default());
                        due = false;
                    }
                    Err(_) => return,
                },
                _ = ticker.tick(), if !due => due = true,
                update = updates.recv() => match update {
                    Ok(update) if keep(&update) => coalescer.push(update),
                    Ok(_) => {}
                    Err(broadcast::error::RecvError::Lagged(n)) => coalescer.missed(n),
                    Err(broadcast::error::RecvError::Closed) => break,
                },
            }
        }
        if let Some(tick) = coalescer.take() {
            // Even the last tick keeps the pace.
            if !due {
                ticker.tick().await;
            }
            let _ = tx.send(tick).await;
        }
    });
    rx
}
