//! After Fanout died: what its runs left behind.
//!
//! Every Fanout process (the app at startup, every `fanout` command) looks
//! first at the variants the database still calls active. Those whose owner
//! is no longer running (pid and start time) become `interrupted`, their
//! worktrees kept for a retry, and the process tree each one ran is stopped
//! when its supervisor, recorded with its start time, is still there: that
//! proves the tree is Fanout's own. (The supervisor already stops its tree
//! when it sees Fanout die; this is for what was still stopping, or for a
//! supervisor that could not tell.) Variants of a live Fanout process are
//! left alone.

use std::time::{Duration, Instant};

use rustix::process::{Pid, Signal};
use serde::Serialize;

use crate::experiment::now_rfc3339;
use crate::orchestrator::procfs;
use crate::store::{ExperimentStatus, ProcessId, Store, StoreError, VariantStatus};

/// How long a stopped supervisor may take to end its tree before its group
/// is killed outright.
const STOP_WAIT: Duration = Duration::from_secs(3);

/// What recovery found.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Recovered {
    /// Variants marked interrupted, as `(experiment id, index)`.
    pub interrupted: Vec<(String, u32)>,
    /// Process trees that were still running and were stopped.
    pub stopped: Vec<ProcessId>,
}

/// Marks the variants of dead Fanout processes interrupted and stops what
/// they left running. `me` is this process, whose variants are never touched.
/// Blocks up to a few seconds per tree it stops: call it off async code.
pub fn recover(store: &mut Store, me: ProcessId) -> Result<Recovered, StoreError> {
    let mut recovered = Recovered::default();
    for row in store.active_sessions()? {
        if row
            .owner
            .is_some_and(|owner| owner == me || procfs::is_alive(owner))
        {
            continue;
        }
        if let Some(group) = row.group.filter(|g| procfs::is_alive(*g)) {
            stop_tree(group);
            recovered.stopped.push(group);
        }
        let Some(mut variant) = store
            .variants(&row.experiment_id)?
            .into_iter()
            .find(|v| v.index == row.index)
        else {
            continue;
        };
        variant.error = Some(format!(
            "Fanout stopped while this variant was {}. Its worktree is kept: retry the variant to run it again.",
            variant.status
        ));
        variant.status = VariantStatus::Interrupted;
        variant.finished_at = Some(now_rfc3339());
        store.update_variant(&variant)?;
        recovered.interrupted.push((row.experiment_id, row.index));
    }
    settle_experiments(store, &recovered)?;
    Ok(recovered)
}

/// An experiment whose run died is no longer running once none of its
/// variants is: it ends as its run would have ended it.
fn settle_experiments(store: &mut Store, recovered: &Recovered) -> Result<(), StoreError> {
    let mut ids: Vec<&String> = recovered.interrupted.iter().map(|(id, _)| id).collect();
    ids.dedup();
    for id in ids {
        let experiment = store.experiment(id)?;
        let variants = store.variants(id)?;
        if experiment.status != ExperimentStatus::Running
            || variants.iter().any(|v| v.status.is_active())
        {
            continue;
        }
        let status = if variants
            .iter()
            .all(|v| v.status == VariantStatus::Cancelled)
        {
            ExperimentStatus::Cancelled
        } else {
            ExperimentStatus::Finished
        };
        store.set_experiment_status(id, status)?;
    }
    Ok(())
}

/// Stops the tree a recorded supervisor runs: SIGUSR1 asks it to kill every
/// process of the tree at once (even those that left its process group);
/// if it has not ended shortly after, its group is killed.
pub fn stop_tree(group: ProcessId) {
    if procfs::signal_process(group, Signal::USR1) {
        wait_until_gone(group, STOP_WAIT);
    }
    kill_group_if_alive(group);
}

/// Asks a recorded supervisor to stop its tree gracefully (SIGTERM: every
/// process gets SIGTERM, then SIGKILL after the supervisor's grace), waits
/// up to `grace` and a little more, then kills the group. Returns whether
/// the tree was running. Blocks: for the command line, not async code.
pub fn terminate_tree(group: ProcessId, grace: Duration) -> bool {
    if !procfs::signal_process(group, Signal::TERM) {
        return false;
    }
    wait_until_gone(group, grace + STOP_WAIT);
    kill_group_if_alive(group);
    true
}

fn wait_until_gone(group: ProcessId, limit: Duration) {
    let deadline = Instant::now() + limit;
    while procfs::is_alive(group) && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The last resort: SIGKILL to the group, while its leader is still the
/// recorded supervisor (or gone, when Linux keeps the id reserved for the
/// group's remaining members).
fn kill_group_if_alive(group: ProcessId) {
    let alive = procfs::is_alive(group) || procfs::group_exists(group.pid);
    if let (true, Some(pid)) = (alive, Pid::from_raw(group.pid as i32)) {
        let _ = rustix::process::kill_process_group(pid, Signal::KILL);
    }
}
