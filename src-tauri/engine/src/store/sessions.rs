//! Who runs a variant's session: the agent's session id, the Fanout process
//! that owns the run, the agent's process group, and cancel requests from
//! other Fanout processes.

use rusqlite::{params, OptionalExtension, Row};
use serde::Serialize;

use super::{Store, StoreError, VariantStatus};

/// A process as recorded: its pid and its start time in clock ticks since
/// boot (`/proc/<pid>/stat` field 22), which tells a live process from a
/// later one that reused the pid.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct ProcessId {
    pub pid: u32,
    pub start: u64,
}

/// A variant's session record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionRow {
    pub experiment_id: String,
    pub index: u32,
    pub status: VariantStatus,
    pub session_id: Option<String>,
    pub owner: Option<ProcessId>,
    /// The agent's process group while it runs.
    pub group: Option<ProcessId>,
    pub cancel_requested: bool,
}

const SELECT: &str = "SELECT v.experiment_id, v.idx, v.status, s.session_id, s.owner_pid,
        s.owner_start, s.pgid, s.pgid_start, COALESCE(s.cancel_requested, 0)
     FROM variants v LEFT JOIN sessions s ON s.variant_id = v.id";

impl Store {
    /// Marks `owner` as the process running the variant from now on, and
    /// forgets an earlier process group and cancel request.
    pub fn claim_variant(
        &mut self,
        experiment_id: &str,
        index: u32,
        owner: ProcessId,
    ) -> Result<(), StoreError> {
        let variant_id = self.variant_id(experiment_id, index)?;
        let tx = self.write()?;
        tx.prepare_cached(
            "INSERT INTO sessions (variant_id, owner_pid, owner_start, pgid, pgid_start, cancel_requested)
             VALUES (?1, ?2, ?3, NULL, NULL, 0)
             ON CONFLICT(variant_id) DO UPDATE SET owner_pid = ?2, owner_start = ?3,
                 pgid = NULL, pgid_start = NULL, cancel_requested = 0",
        )?
        .execute(params![variant_id, owner.pid, owner.start as i64])?;
        tx.commit()?;
        Ok(())
    }

    /// Records the agent's process group once spawned; `None` once it is gone.
    pub fn record_group(
        &mut self,
        experiment_id: &str,
        index: u32,
        group: Option<ProcessId>,
    ) -> Result<(), StoreError> {
        let variant_id = self.variant_id(experiment_id, index)?;
        let tx = self.write()?;
        tx.prepare_cached(
            "INSERT INTO sessions (variant_id, pgid, pgid_start) VALUES (?1, ?2, ?3)
             ON CONFLICT(variant_id) DO UPDATE SET pgid = ?2, pgid_start = ?3",
        )?
        .execute(params![
            variant_id,
            group.map(|g| g.pid),
            group.map(|g| g.start as i64)
        ])?;
        tx.commit()?;
        Ok(())
    }

    pub fn set_session_id(
        &mut self,
        experiment_id: &str,
        index: u32,
        session_id: &str,
    ) -> Result<(), StoreError> {
        let variant_id = self.variant_id(experiment_id, index)?;
        let tx = self.write()?;
        tx.prepare_cached(
            "INSERT INTO sessions (variant_id, session_id) VALUES (?1, ?2)
             ON CONFLICT(variant_id) DO UPDATE SET session_id = ?2",
        )?
        .execute(params![variant_id, session_id])?;
        tx.commit()?;
        Ok(())
    }

    /// Asks whichever process runs the variant to cancel it; it checks before
    /// starting the agent and when the agent ends.
    pub fn request_cancel(&mut self, experiment_id: &str, index: u32) -> Result<(), StoreError> {
        let variant_id = self.variant_id(experiment_id, index)?;
        let tx = self.write()?;
        tx.prepare_cached(
            "INSERT INTO sessions (variant_id, cancel_requested) VALUES (?1, 1)
             ON CONFLICT(variant_id) DO UPDATE SET cancel_requested = 1",
        )?
        .execute([variant_id])?;
        tx.commit()?;
        Ok(())
    }

    /// The session record of one variant (all `None` before its first run).
    pub fn session(&self, experiment_id: &str, index: u32) -> Result<SessionRow, StoreError> {
        self.variant_id(experiment_id, index)?;
        self.conn
            .prepare_cached(&format!(
                "{SELECT} WHERE v.experiment_id = ?1 AND v.idx = ?2"
            ))?
            .query_row(params![experiment_id, index], session_from_row)
            .optional()?
            .ok_or_else(|| StoreError::VariantNotFound {
                experiment_id: experiment_id.to_string(),
                index,
            })
    }

    /// The session records of every variant of every experiment that is
    /// queued, preparing, running or checking: what crash recovery looks at.
    pub fn active_sessions(&self) -> Result<Vec<SessionRow>, StoreError> {
        let active = VariantStatus::ALL
            .into_iter()
            .filter(|s| s.is_active())
            .map(|s| format!("'{}'", s.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let mut statement = self.conn.prepare(&format!(
            "{SELECT} WHERE v.status IN ({active}) ORDER BY v.experiment_id, v.idx"
        ))?;
        let rows = statement.query_map([], session_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }
}

fn session_from_row(row: &Row<'_>) -> rusqlite::Result<SessionRow> {
    let process = |pid: Option<u32>, start: Option<i64>| {
        pid.zip(start).map(|(pid, start)| ProcessId {
            pid,
            start: start as u64,
        })
    };
    Ok(SessionRow {
        experiment_id: row.get(0)?,
        index: row.get(1)?,
        status: row.get(2)?,
        session_id: row.get(3)?,
        owner: process(row.get(4)?, row.get(5)?),
        group: process(row.get(6)?, row.get(7)?),
        cancel_requested: row.get::<_, i64>(8)? != 0,
    })
}
