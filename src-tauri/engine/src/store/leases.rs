//! Experiment leases as rows: who holds one, taking one, giving it back.

use rusqlite::{params, OptionalExtension};
use serde::Serialize;

use super::{ProcessId, Store, StoreError};

/// The process that holds an experiment's lease.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LeaseHolder {
    pub process: ProcessId,
    /// The program's name (`fanout`, `fanout-app`).
    pub program: String,
    /// What it is doing, as a phrase ("running variants").
    pub doing: String,
    pub since: String,
}

impl Store {
    /// Takes the experiment's lease for `me`, unless another process that
    /// `alive` says is still running holds it: then that holder. A dead
    /// holder's lease is taken over.
    pub fn take_lease(
        &mut self,
        experiment_id: &str,
        me: &LeaseHolder,
        alive: impl Fn(ProcessId) -> bool,
    ) -> Result<Option<LeaseHolder>, StoreError> {
        self.require_experiment(experiment_id)?;
        let tx = self.write()?;
        let held = tx
            .prepare_cached(
                "SELECT holder_pid, holder_start, program, doing, since FROM leases
                 WHERE experiment_id = ?1",
            )?
            .query_row([experiment_id], |row| {
                Ok(LeaseHolder {
                    process: ProcessId {
                        pid: row.get(0)?,
                        start: row.get::<_, i64>(1)? as u64,
                    },
                    program: row.get(2)?,
                    doing: row.get(3)?,
                    since: row.get(4)?,
                })
            })
            .optional()?;
        if let Some(holder) = held.filter(|h| h.process != me.process && alive(h.process)) {
            return Ok(Some(holder));
        }
        tx.prepare_cached(
            "INSERT INTO leases (experiment_id, holder_pid, holder_start, program, doing, since)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6)
             ON CONFLICT(experiment_id) DO UPDATE SET holder_pid = ?2, holder_start = ?3,
                 program = ?4, doing = ?5, since = ?6",
        )?
        .execute(params![
            experiment_id,
            me.process.pid,
            me.process.start as i64,
            me.program,
            me.doing,
            me.since
        ])?;
        tx.commit()?;
        Ok(None)
    }

    /// Gives the lease back, if `me` still holds it.
    pub fn release_lease(&mut self, experiment_id: &str, me: ProcessId) -> Result<(), StoreError> {
        let tx = self.write()?;
        tx.prepare_cached(
            "DELETE FROM leases WHERE experiment_id = ?1 AND holder_pid = ?2 AND holder_start = ?3",
        )?
        .execute(params![experiment_id, me.pid, me.start as i64])?;
        tx.commit()?;
        Ok(())
    }
}
