//! `fanout cancel` from another process than the one running the variants.

use std::time::Duration;

use super::{procfs, OrchestratorError};
use crate::ids::{ExperimentId, VariantIndex};
use crate::store::{ProcessId, StoreError, StoreWriter};
use crate::Error;

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
/// each variant a live process runs gets a cancel request (its owner looks
/// when a stage begins and when a process ends) and its running process
/// tree is stopped (SIGTERM through its supervisor, SIGKILL after `grace`).
/// Blocks up to `grace` per running agent: for the command line, not async code.
pub fn cancel_elsewhere(
    writer: &StoreWriter,
    experiment: &ExperimentId,
    index: Option<VariantIndex>,
    grace: Duration,
) -> Result<Cancelled, Error> {
    let id = experiment.to_string();
    let chosen = move |i: u32| index.is_none_or(|wanted| wanted.0 == i);
    let me = procfs::this_process();
    let recovered = writer.call_blocking(move |store| crate::recovery::recover(store, me))??;
    let mut done = Cancelled {
        interrupted: recovered
            .interrupted
            .iter()
            .filter(|(exp, i)| *exp == id && chosen(*i))
            .map(|(_, i)| *i)
            .collect(),
        ..Cancelled::default()
    };
    let key = id.clone();
    let targets = writer.call_blocking(
        move |store| -> Result<Vec<(u32, Option<ProcessId>)>, StoreError> {
            let active: Vec<u32> = store
                .variants(&key)?
                .into_iter()
                .filter(|v| v.status.is_active() && chosen(v.index))
                .map(|v| v.index)
                .collect();
            let mut targets = Vec::with_capacity(active.len());
            for index in active {
                store.request_cancel(&key, index)?;
                targets.push((index, store.session(&key, index)?.group));
            }
            Ok(targets)
        },
    )??;
    for (index, group) in targets {
        // Outside the writer: stopping a tree waits for it.
        let stopped = group.is_some_and(|g| crate::recovery::terminate_tree(g, grace));
        if stopped {
            done.stopped.push(index);
        } else {
            done.dequeued.push(index);
        }
    }
    if done.is_empty() {
        return Err(OrchestratorError::NothingToCancel {
            experiment: experiment.short().to_owned(),
        }
        .into());
    }
    Ok(done)
}

impl crate::experiment::Engine {
    /// [`cancel_elsewhere`] through this engine's store writer.
    pub fn cancel_elsewhere(
        &self,
        experiment: &ExperimentId,
        index: Option<VariantIndex>,
        grace: Duration,
    ) -> Result<Cancelled, Error> {
        cancel_elsewhere(self.writer(), experiment, index, grace)
    }
}
