//! One process changes an experiment at a time.
//!
//! Every operation that changes an experiment (running, retrying or following
//! up variants, committing, merging, undoing a merge, cleaning up, deleting)
//! holds the experiment's lease while it works; reads never take it and
//! never wait. The lease is a row in Fanout's database naming the holding
//! process by pid and start time, so a second `fanout` in another terminal is
//! refused with a sentence naming the holder, and the lease of a process
//! that died is simply taken over.
//!
//! Within one process the lease is shared and counted: the app runs several
//! launches of one experiment at once (a retry while others run) and keeps
//! them apart itself, by each variant's status.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, OnceLock};

use crate::orchestrator::procfs;
use crate::store::{LeaseHolder, Store, StoreWriter};

#[derive(Debug, thiserror::Error)]
#[error("Experiment {experiment} is being changed by another Fanout process ({program}, pid {pid}, {doing} since {since}), so nothing was done. Wait until it is done, or cancel its run, then try again.")]
pub struct LeaseError {
    pub experiment: String,
    pub program: String,
    pub pid: u32,
    pub doing: String,
    pub since: String,
}

impl LeaseError {
    pub fn code(&self) -> &'static str {
        "lease.held"
    }
}

/// Held while an experiment is being changed; gives the lease back when
/// dropped (the last holder in this process does), through the store writer.
pub struct Lease {
    experiment: String,
    writer: StoreWriter,
}

impl std::fmt::Debug for Lease {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Lease")
            .field("experiment", &self.experiment)
            .finish()
    }
}

/// How many holders this process has, per experiment.
fn holders() -> MutexGuard<'static, HashMap<String, usize>> {
    static HOLDERS: OnceLock<Mutex<HashMap<String, usize>>> = OnceLock::new();
    HOLDERS
        .get_or_init(|| Mutex::new(HashMap::new()))
        .lock()
        .unwrap_or_else(|e| e.into_inner())
}

/// Takes the lease of `experiment_id` (a full id) for this process, to do
/// what `doing` says ("merging", "running variants"). Runs on the writer's
/// own store (`store`); `writer` gives the lease back later.
pub fn take(
    store: &mut Store,
    writer: &StoreWriter,
    experiment_id: &str,
    doing: &str,
) -> Result<Lease, crate::Error> {
    let mut held = holders();
    let lease = || Lease {
        experiment: experiment_id.to_owned(),
        writer: writer.clone(),
    };
    if let Some(count) = held.get_mut(experiment_id) {
        *count += 1;
        return Ok(lease());
    }
    let me = LeaseHolder {
        process: procfs::this_process(),
        program: program_name(),
        doing: doing.to_owned(),
        since: crate::experiment::now_rfc3339(),
    };
    if let Some(other) = store.take_lease(experiment_id, &me, procfs::is_alive)? {
        return Err(LeaseError {
            experiment: crate::experiment::short_id(experiment_id).to_owned(),
            program: other.program,
            pid: other.process.pid,
            doing: other.doing,
            since: other.since,
        }
        .into());
    }
    held.insert(experiment_id.to_owned(), 1);
    Ok(lease())
}

impl Drop for Lease {
    fn drop(&mut self) {
        let mut held = holders();
        let Some(count) = held.get_mut(&self.experiment) else {
            return;
        };
        *count -= 1;
        if *count > 0 {
            return;
        }
        held.remove(&self.experiment);
        let (experiment, me) = (self.experiment.clone(), procfs::this_process());
        let queued = self.writer.call_later(move |store| {
            if let Err(error) = store.release_lease(&experiment, me) {
                tracing::warn!(%error, %experiment, "giving back an experiment lease failed");
            }
        });
        if !queued {
            // The row stays until this process exits; then it is taken over.
            tracing::warn!(experiment = %self.experiment, "the lease could not be given back now");
        }
    }
}

fn program_name() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|exe| exe.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "fanout".to_owned())
}
