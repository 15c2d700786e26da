//! Fanout's persistence: experiments, their variants, the variants' event
//! streams and the merges made from them, in one SQLite file in Fanout's data
//! directory (see [`crate::paths::Paths::database`]).
//!
//! The database runs in WAL mode so readers never wait for the writer, with a
//! busy timeout so a second writer (another window, the CLI) waits its turn
//! instead of failing. Every write is one `BEGIN IMMEDIATE` transaction: it
//! takes the write lock up front, so the busy timeout applies to it and it can
//! never fail half-way because another writer got in first.
//!
//! A file that is not a Fanout database, is damaged, or comes from a newer
//! Fanout is reported and left exactly as it was.

mod judgements;
mod leases;
mod migrations;
mod model;
mod repo_settings;
mod run_configs;
mod sessions;
pub mod writer;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rusqlite::types::{FromSqlError, Type, Value, ValueRef};
use rusqlite::{
    params, Connection, ErrorCode, OpenFlags, OptionalExtension, Row, ToSql, TransactionBehavior,
};

pub use leases::LeaseHolder;
pub use migrations::LATEST_VERSION;
pub use model::{
    CheckResult, EventRecord, Experiment, ExperimentStatus, MergeRecord, NewEvent, SerializedEvent,
    StoredEvent, Variant, VariantStatus,
};
pub use sessions::{ProcessId, SessionRow};
pub use writer::StoreWriter;

/// How long a write waits for another connection's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// How many ambiguous candidates an error message names.
const CANDIDATES_SHOWN: usize = 10;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("Fanout cannot create the folder for its database, {path}: {source}. Check that the folder is writable, or set FANOUT_HOME to another one.")]
    CreateDir {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("Fanout cannot open its database {path}: {source}. Check that the file and its folder exist and are readable and writable.")]
    Open {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("The file {path} is not a readable SQLite database; it may be damaged. Fanout left it untouched: move it aside (or restore it from a backup) and start Fanout again to begin with a new database.")]
    Corrupt { path: PathBuf },
    #[error("The file {path} is a SQLite database that Fanout did not create: it already holds other tables. Fanout left it untouched: move it aside, or set FANOUT_HOME to another folder.")]
    Foreign { path: PathBuf },
    #[error("Fanout's database was written by a newer version of Fanout (schema version {found}; this version understands up to {supported}). Fanout left it untouched: upgrade Fanout to open it.")]
    TooNew { found: u32, supported: u32 },
    #[error("Updating Fanout's database to schema version {version} failed: {source}. The step was rolled back and the database is still usable by the Fanout that wrote it; report this error.")]
    Migrate {
        version: u32,
        source: rusqlite::Error,
    },
    #[error("Fanout's database is damaged ({source}). Move the file aside (or restore it from a backup) and start Fanout again to begin with a new database.")]
    Damaged { source: rusqlite::Error },
    #[error("Fanout's database is busy: another Fanout process has been writing to it for more than {} seconds. Wait for it to finish, or close other Fanout windows and commands, and try again.", BUSY_TIMEOUT.as_secs())]
    Busy,
    #[error("No experiment has the id {id}. List the experiments to see which ones exist.")]
    NotFound { id: String },
    #[error("The prefix '{prefix}' matches {} experiments: {}. Type more characters of the id.", .candidates.len(), shown(.candidates))]
    Ambiguous {
        prefix: String,
        candidates: Vec<String>,
    },
    #[error("An experiment id (or the start of one) is needed, but an empty one was given.")]
    EmptyId,
    #[error("An experiment with the id {id} already exists. Mint a new id for a new experiment.")]
    AlreadyExists { id: String },
    #[error("Experiment {experiment_id} has no variant {index}. Show the experiment to see its variants.")]
    VariantNotFound { experiment_id: String, index: u32 },
    #[error("Experiment {experiment_id} has no merge that made commit {commit}.")]
    MergeNotFound {
        experiment_id: String,
        commit: String,
    },
    #[error(
        "The merge of experiment {experiment_id} that made commit {commit} is already undone."
    )]
    AlreadyUndone {
        experiment_id: String,
        commit: String,
    },
    #[error("{reason}")]
    Invalid { reason: String },
    #[error("Fanout's database holds an unknown {what} status '{value}'; it was probably written by a newer Fanout. Upgrade Fanout to read it.")]
    UnknownStatus { what: &'static str, value: String },
    #[error("Fanout's database holds a value this version cannot read ({detail}); it was probably written by a newer Fanout or edited by hand. Upgrade Fanout, or move the database aside to start a new one.")]
    BadValue { detail: String },
    #[error("Fanout's database reported an error: {source}. Try again; if it keeps happening, report this error.")]
    Sqlite { source: rusqlite::Error },
    #[error("Fanout's database writer stopped unexpectedly. Restart Fanout: variants still marked running will show as interrupted and can be retried.")]
    WriterGone,
    #[error("Fanout could not start its database writer thread ({source}). Close other programs to free resources and try again.")]
    WriterThread {
        #[source]
        source: std::io::Error,
    },
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::CreateDir { .. } => "store.create_dir",
            StoreError::Open { .. } => "store.open",
            StoreError::Corrupt { .. } => "store.corrupt",
            StoreError::Foreign { .. } => "store.foreign",
            StoreError::TooNew { .. } => "store.too_new",
            StoreError::Migrate { .. } => "store.migrate",
            StoreError::Damaged { .. } => "store.damaged",
            StoreError::Busy => "store.busy",
            StoreError::NotFound { .. } => "store.not_found",
            StoreError::Ambiguous { .. } => "store.ambiguous",
            StoreError::EmptyId => "store.empty_id",
            StoreError::AlreadyExists { .. } => "store.already_exists",
            StoreError::VariantNotFound { .. } => "store.variant_not_found",
            StoreError::MergeNotFound { .. } => "store.merge_not_found",
            StoreError::AlreadyUndone { .. } => "store.already_undone",
            StoreError::Invalid { .. } => "store.invalid",
            StoreError::UnknownStatus { .. } => "store.unknown_status",
            StoreError::BadValue { .. } => "store.bad_value",
            StoreError::Sqlite { .. } => "store.sqlite",
            StoreError::WriterGone => "store.writer_gone",
            StoreError::WriterThread { .. } => "store.writer_thread",
        }
    }
}

fn shown(candidates: &[String]) -> String {
    let mut list = candidates
        .iter()
        .take(CANDIDATES_SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if candidates.len() > CANDIDATES_SHOWN {
        list.push_str(&format!(
            " and {} more",
            candidates.len() - CANDIDATES_SHOWN
        ));
    }
    list
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> StoreError {
        match e {
            rusqlite::Error::FromSqlConversionFailure(_, _, inner) => {
                match inner.downcast::<StoreError>() {
                    Ok(store_error) => *store_error,
                    Err(other) => StoreError::BadValue {
                        detail: other.to_string(),
                    },
                }
            }
            rusqlite::Error::IntegralValueOutOfRange(..)
            | rusqlite::Error::InvalidColumnType(..) => StoreError::BadValue {
                detail: e.to_string(),
            },
            rusqlite::Error::ToSqlConversionFailure(inner) => StoreError::Invalid {
                reason: format!("A value is too large for Fanout's database ({inner})."),
            },
            _ => match e.sqlite_error_code() {
                Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy,
                Some(ErrorCode::DatabaseCorrupt | ErrorCode::NotADatabase) => {
                    StoreError::Damaged { source: e }
                }
                _ => StoreError::Sqlite { source: e },
            },
        }
    }
}

/// The store. Not `Sync` (one SQLite connection): share it behind a mutex,
/// or open one `Store` per thread on the same file.
#[derive(Debug)]
pub struct Store {
    conn: Connection,
    path: Option<PathBuf>,
}

impl Store {
    /// Opens (creating the folder and file if missing) and migrates the
    /// database at `path`.
    pub fn open(path: &Path) -> Result<Store, StoreError> {
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| StoreError::CreateDir {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
            | OpenFlags::SQLITE_OPEN_CREATE
            | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let conn =
            Connection::open_with_flags(path, flags).map_err(|source| open_error(path, source))?;
        Store::init(conn, Some(path.to_path_buf()))
    }

    /// A private database that lives as long as the value; for tests and
    /// dry runs.
    pub fn open_in_memory() -> Result<Store, StoreError> {
        let conn = Connection::open_in_memory().map_err(StoreError::from)?;
        Store::init(conn, None)
    }

    /// Checks that the file is Fanout's and not from the future before the
    /// first write: switching to WAL rewrites the header, so it must come after.
    fn init(mut conn: Connection, path: Option<PathBuf>) -> Result<Store, StoreError> {
        let at_open = |e: rusqlite::Error| match &path {
            Some(path) => open_error(path, e),
            None => StoreError::from(e),
        };
        conn.busy_timeout(BUSY_TIMEOUT).map_err(at_open)?;
        // Both reads in one transaction: another Fanout process creating the
        // same new database must not be seen half-way (tables, no version yet).
        let (found, tables) = {
            let tx = conn.transaction().map_err(at_open)?;
            let found = migrations::user_version(&tx).map_err(at_open)?;
            let tables = has_tables(&tx).map_err(at_open)?;
            tx.commit().map_err(at_open)?;
            (found, tables)
        };
        if found > LATEST_VERSION {
            return Err(StoreError::TooNew {
                found,
                supported: LATEST_VERSION,
            });
        }
        if found == 0 && tables {
            return Err(StoreError::Foreign {
                path: path.unwrap_or_default(),
            });
        }
        if path.is_some() {
            enable_wal(&conn).map_err(at_open)?;
            // With WAL, NORMAL loses no committed data on an application
            // crash, only possibly the last transactions on power loss, and
            // it spares an fsync per transaction.
            conn.pragma_update(None, "synchronous", "normal")
                .map_err(at_open)?;
        }
        conn.pragma_update(None, "foreign_keys", true)
            .map_err(at_open)?;
        conn.set_prepared_statement_cache_capacity(32);
        migrations::migrate(&mut conn)?;
        Ok(Store { conn, path })
    }

    /// The database file, or `None` for an in-memory store.
    pub fn path(&self) -> Option<&Path> {
        self.path.as_deref()
    }

    /// After how many WAL pages a commit on this connection checkpoints by
    /// itself (SQLite's default is 1,000); 0 switches that off.
    pub fn set_auto_checkpoint(&self, pages: u32) -> Result<(), StoreError> {
        self.conn
            .pragma_update(None, "wal_autocheckpoint", pages)
            .map_err(StoreError::from)
    }

    pub fn schema_version(&self) -> Result<u32, StoreError> {
        Ok(migrations::user_version(&self.conn)?)
    }

    /// Stores a new experiment with its variants, all or nothing. The variants
    /// must belong to it and be numbered 1..=N.
    pub fn insert_experiment(
        &mut self,
        exp: &Experiment,
        variants: &[Variant],
    ) -> Result<(), StoreError> {
        check_new_experiment(exp, variants)?;
        let tx = self.write()?;
        let exists = tx
            .prepare_cached("SELECT 1 FROM experiments WHERE id = ?1")?
            .exists([&exp.id])?;
        if exists {
            return Err(StoreError::AlreadyExists { id: exp.id.clone() });
        }
        tx.prepare_cached(
            "INSERT INTO experiments (id, slug, repo_root, task, base_commit, base_ref,
                                      target_branch, created_at, status)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            exp.id,
            exp.slug,
            path_to_sql(&exp.repo_root),
            exp.task,
            exp.base_commit,
            exp.base_ref,
            exp.target_branch,
            exp.created_at,
            exp.status,
        ])?;
        let insert = format!(
            "INSERT INTO variants ({VARIANT_COLUMNS}) VALUES ({})",
            (1..=VARIANT_COLUMN_COUNT)
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        for v in variants {
            let mut statement = tx.prepare_cached(&insert)?;
            with_variant_params(v, |params| statement.execute(params))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// Adds one variant to an existing experiment (a combined one), at an
    /// index no variant of it has yet.
    pub fn add_variant(&mut self, variant: &Variant) -> Result<(), StoreError> {
        self.require_experiment(&variant.experiment_id)?;
        let tx = self.write()?;
        let taken = tx
            .prepare_cached("SELECT 1 FROM variants WHERE experiment_id = ?1 AND idx = ?2")?
            .exists(params![variant.experiment_id, variant.index])?;
        if taken {
            return Err(StoreError::Invalid {
                reason: format!(
                    "Experiment {} already has a variant {}.",
                    variant.experiment_id, variant.index
                ),
            });
        }
        let insert = format!(
            "INSERT INTO variants ({VARIANT_COLUMNS}) VALUES ({})",
            (1..=VARIANT_COLUMN_COUNT)
                .map(|i| format!("?{i}"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        {
            let mut statement = tx.prepare_cached(&insert)?;
            with_variant_params(variant, |params| statement.execute(params))?;
        }
        tx.commit()?;
        Ok(())
    }

    /// All experiments, newest first.
    pub fn experiments(&self) -> Result<Vec<Experiment>, StoreError> {
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments ORDER BY created_at DESC, id DESC"
        ))?;
        let rows = statement.query_map([], experiment_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn experiment(&self, id: &str) -> Result<Experiment, StoreError> {
        self.conn
            .prepare_cached(&format!(
                "SELECT {EXPERIMENT_COLUMNS} FROM experiments WHERE id = ?1"
            ))?
            .query_row([id], experiment_from_row)
            .optional()?
            .ok_or_else(|| StoreError::NotFound { id: id.to_string() })
    }

    /// The experiment whose id is `id_or_prefix`, or the only one whose id
    /// starts with it (ignoring case, as people type ids by hand).
    pub fn find_experiment(&self, id_or_prefix: &str) -> Result<Experiment, StoreError> {
        let needle = id_or_prefix.trim();
        if needle.is_empty() {
            return Err(StoreError::EmptyId);
        }
        match self.experiment(needle) {
            Err(StoreError::NotFound { .. }) => {}
            found => return found,
        }
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {EXPERIMENT_COLUMNS} FROM experiments
             WHERE lower(substr(id, 1, length(?1))) = lower(?1)
             ORDER BY created_at DESC, id DESC"
        ))?;
        let mut matches = statement
            .query_map([needle], experiment_from_row)?
            .collect::<Result<Vec<_>, _>>()?;
        match matches.len() {
            0 => Err(StoreError::NotFound {
                id: needle.to_string(),
            }),
            1 => Ok(matches.remove(0)),
            _ => Err(StoreError::Ambiguous {
                prefix: needle.to_string(),
                candidates: matches.into_iter().map(|e| e.id).collect(),
            }),
        }
    }

    /// The experiment's variants by index; `NotFound` if the experiment is not.
    pub fn variants(&self, experiment_id: &str) -> Result<Vec<Variant>, StoreError> {
        self.require_experiment(experiment_id)?;
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {VARIANT_COLUMNS} FROM variants WHERE experiment_id = ?1 ORDER BY idx"
        ))?;
        let rows = statement.query_map([experiment_id], variant_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    /// Overwrites the stored variant `(v.experiment_id, v.index)` with `v`.
    pub fn update_variant(&mut self, v: &Variant) -> Result<(), StoreError> {
        let assignments = VARIANT_COLUMNS
            .split(", ")
            .enumerate()
            .skip(2)
            .map(|(i, column)| format!("{column} = ?{}", i + 1))
            .collect::<Vec<_>>()
            .join(", ");
        let sql =
            format!("UPDATE variants SET {assignments} WHERE experiment_id = ?1 AND idx = ?2");
        let tx = self.write()?;
        let changed = {
            let mut statement = tx.prepare_cached(&sql)?;
            with_variant_params(v, |params| statement.execute(params))?
        };
        if changed == 0 {
            return Err(StoreError::VariantNotFound {
                experiment_id: v.experiment_id.clone(),
                index: v.index,
            });
        }
        tx.commit()?;
        Ok(())
    }

    pub fn set_experiment_status(
        &mut self,
        id: &str,
        status: ExperimentStatus,
    ) -> Result<(), StoreError> {
        let tx = self.write()?;
        let changed = tx
            .prepare_cached("UPDATE experiments SET status = ?2 WHERE id = ?1")?
            .execute(params![id, status])?;
        if changed == 0 {
            return Err(StoreError::NotFound { id: id.to_string() });
        }
        tx.commit()?;
        Ok(())
    }

    /// Appends a batch of events in one transaction, numbering each variant's
    /// events on from its last stored one. Nothing is stored if any event
    /// names a variant that does not exist.
    pub fn append_events<E: EventRecord>(&mut self, events: &[E]) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let tx = self.write()?;
        {
            // The next seq is read inside the write transaction, so another
            // handle on the same file cannot take the same numbers.
            let mut last_seq = tx.prepare_cached(
                "SELECT id, (SELECT MAX(seq) FROM events WHERE variant_id = variants.id)
                 FROM variants WHERE experiment_id = ?1 AND idx = ?2",
            )?;
            let mut insert = tx.prepare_cached(
                "INSERT INTO events (variant_id, seq, time, kind, payload)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
            )?;
            // (experiment, index) -> (variant row id, last seq given out).
            let mut last: HashMap<(&str, u32), (i64, i64)> = HashMap::new();
            for event in events {
                let key = (event.experiment_id(), event.variant());
                let (variant_id, seq) = match last.get_mut(&key) {
                    Some(entry) => entry,
                    None => {
                        let found: Option<(i64, Option<i64>)> = last_seq
                            .query_row(params![key.0, key.1], |row| Ok((row.get(0)?, row.get(1)?)))
                            .optional()?;
                        let Some((variant_id, max)) = found else {
                            return Err(StoreError::VariantNotFound {
                                experiment_id: event.experiment_id().to_owned(),
                                index: event.variant(),
                            });
                        };
                        last.entry(key).or_insert((variant_id, max.unwrap_or(0)))
                    }
                };
                *seq += 1;
                insert.execute(params![
                    *variant_id,
                    *seq,
                    event.time(),
                    event.kind(),
                    event.payload_json().as_ref(),
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    /// Up to `limit` events of one variant with `seq > after_seq`, in order;
    /// page on with the last returned `seq`.
    pub fn events(
        &self,
        experiment_id: &str,
        variant: u32,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<StoredEvent>, StoreError> {
        let variant_id = self.variant_id(experiment_id, variant)?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let mut statement = self.conn.prepare_cached(
            "SELECT seq, time, kind, payload FROM events
             WHERE variant_id = ?1 AND seq > ?2
             ORDER BY seq LIMIT ?3",
        )?;
        let rows = statement.query_map(params![variant_id, after_seq, limit], |row| {
            Ok(StoredEvent {
                seq: row.get(0)?,
                time: row.get(1)?,
                kind: row.get(2)?,
                payload: json_from_row(row, 3)?,
            })
        })?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn record_merge(&mut self, m: &MergeRecord) -> Result<(), StoreError> {
        let tx = self.write()?;
        {
            let exists = tx
                .prepare_cached("SELECT 1 FROM variants WHERE experiment_id = ?1 AND idx = ?2")?
                .exists(params![m.experiment_id, m.variant])?;
            if !exists {
                return Err(StoreError::VariantNotFound {
                    experiment_id: m.experiment_id.clone(),
                    index: m.variant,
                });
            }
        }
        tx.prepare_cached(
            "INSERT INTO merges (experiment_id, variant, target, merge_commit, previous,
                                 strategy, created_at, undone, source_commit)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
        )?
        .execute(params![
            m.experiment_id,
            m.variant,
            m.target,
            m.commit,
            m.previous,
            m.strategy,
            m.created_at,
            m.undone,
            m.source,
        ])?;
        tx.commit()?;
        Ok(())
    }

    /// The experiment's most recent merge that is not undone: the one an undo
    /// would revert. `None` when there is none; `NotFound` without the
    /// experiment.
    pub fn last_merge(&self, experiment_id: &str) -> Result<Option<MergeRecord>, StoreError> {
        self.require_experiment(experiment_id)?;
        Ok(self
            .conn
            .prepare_cached(&format!(
                "SELECT {MERGE_COLUMNS} FROM merges
                 WHERE experiment_id = ?1 AND undone = 0 ORDER BY id DESC LIMIT 1"
            ))?
            .query_row([experiment_id], merge_from_row)
            .optional()?)
    }

    /// Every merge of the experiment, undone or not, oldest first.
    pub fn merges(&self, experiment_id: &str) -> Result<Vec<MergeRecord>, StoreError> {
        self.require_experiment(experiment_id)?;
        let mut statement = self.conn.prepare_cached(&format!(
            "SELECT {MERGE_COLUMNS} FROM merges WHERE experiment_id = ?1 ORDER BY id"
        ))?;
        let rows = statement.query_map([experiment_id], merge_from_row)?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn mark_merge_undone(
        &mut self,
        experiment_id: &str,
        commit: &str,
    ) -> Result<(), StoreError> {
        let tx = self.write()?;
        let undone: Option<bool> = tx
            .prepare_cached(
                "SELECT undone FROM merges WHERE experiment_id = ?1 AND merge_commit = ?2
                 ORDER BY id DESC LIMIT 1",
            )?
            .query_row([experiment_id, commit], |row| row.get(0))
            .optional()?;
        match undone {
            None => Err(StoreError::MergeNotFound {
                experiment_id: experiment_id.to_string(),
                commit: commit.to_string(),
            }),
            Some(true) => Err(StoreError::AlreadyUndone {
                experiment_id: experiment_id.to_string(),
                commit: commit.to_string(),
            }),
            Some(false) => {
                tx.prepare_cached(
                    "UPDATE merges SET undone = 1 WHERE experiment_id = ?1 AND merge_commit = ?2",
                )?
                .execute([experiment_id, commit])?;
                tx.commit()?;
                Ok(())
            }
        }
    }

    /// Deletes the experiment with its variants, events and merges.
    /// Every variant's worktree folder, of every experiment: the folders that
    /// are Fanout's, not the user's.
    pub fn worktree_paths(&self) -> Result<Vec<PathBuf>, StoreError> {
        let mut statement = self.conn.prepare_cached("SELECT worktree FROM variants")?;
        let rows = statement.query_map([], |row| path_from_row(row, 0))?;
        Ok(rows.collect::<Result<_, _>>()?)
    }

    pub fn delete_experiment(&mut self, id: &str) -> Result<(), StoreError> {
        let tx = self.write()?;
        let changed = tx
            .prepare_cached("DELETE FROM experiments WHERE id = ?1")?
            .execute([id])?;
        if changed == 0 {
            return Err(StoreError::NotFound { id: id.to_string() });
        }
        tx.commit()?;
        Ok(())
    }

    /// Crash recovery, for startup: variants left queued, preparing, running
    /// or checking by a Fanout that stopped become `interrupted`. Returns them
    /// as `(experiment_id, index)`, sorted.
    pub fn mark_interrupted(&mut self) -> Result<Vec<(String, u32)>, StoreError> {
        let active = VariantStatus::ALL
            .into_iter()
            .filter(|status| status.is_active())
            .map(|status| format!("'{}'", status.as_str()))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "UPDATE variants SET status = ?1 WHERE status IN ({active})
             RETURNING experiment_id, idx"
        );
        let tx = self.write()?;
        let mut marked = {
            let mut statement = tx.prepare_cached(&sql)?;
            let rows = statement.query_map([VariantStatus::Interrupted], |row| {
                Ok((row.get(0)?, row.get(1)?))
            })?;
            rows.collect::<Result<Vec<(String, u32)>, _>>()?
        };
        tx.commit()?;
        marked.sort();
        Ok(marked)
    }

    fn write(&mut self) -> Result<rusqlite::Transaction<'_>, StoreError> {
        Ok(self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?)
    }

    fn require_experiment(&self, id: &str) -> Result<(), StoreError> {
        let exists = self
            .conn
            .prepare_cached("SELECT 1 FROM experiments WHERE id = ?1")?
            .exists([id])?;
        if exists {
            Ok(())
        } else {
            Err(StoreError::NotFound { id: id.to_string() })
        }
    }

    /// The variant's row id, which its events point at.
    fn variant_id(&self, experiment_id: &str, index: u32) -> Result<i64, StoreError> {
        self.require_experiment(experiment_id)?;
        self.conn
            .prepare_cached("SELECT id FROM variants WHERE experiment_id = ?1 AND idx = ?2")?
            .query_row(params![experiment_id, index], |row| row.get(0))
            .optional()?
            .ok_or_else(|| StoreError::VariantNotFound {
                experiment_id: experiment_id.to_string(),
                index,
            })
    }
}

/// What SQLite says while opening, in terms of the file.
fn open_error(path: &Path, source: rusqlite::Error) -> StoreError {
    match source.sqlite_error_code() {
        Some(ErrorCode::NotADatabase | ErrorCode::DatabaseCorrupt) => StoreError::Corrupt {
            path: path.to_path_buf(),
        },
        Some(ErrorCode::DatabaseBusy | ErrorCode::DatabaseLocked) => StoreError::Busy,
        _ => StoreError::Open {
            path: path.to_path_buf(),
            source,
        },
    }
}

/// Switches a file database to WAL. While the file is still in rollback
/// mode, SQLite refuses the switch at once, without calling the busy handler,
/// if any other handle holds a lock on it. That happens only while two
/// programs create the same new database (the app and `fanout` on a new
/// FANOUT_HOME), so wait for the other as the busy timeout would.
fn enable_wal(conn: &Connection) -> rusqlite::Result<()> {
    let deadline = Instant::now() + BUSY_TIMEOUT;
    let mut pause = Duration::from_millis(1);
    loop {
        let switched = conn
            .pragma_update_and_check(None, "journal_mode", "wal", |row| row.get::<_, String>(0));
        match switched {
            Err(e)
                if e.sqlite_error_code() == Some(ErrorCode::DatabaseBusy)
                    && Instant::now() < deadline =>
            {
                std::thread::sleep(pause);
                pause = (pause * 2).min(Duration::from_millis(50));
            }
            Err(e) => return Err(e),
            Ok(mode) => {
                // A file system without shared memory for SQLite (some network
                // mounts) keeps the old mode: everything still works, only a
                // reader then waits for the writer.
                if !mode.eq_ignore_ascii_case("wal") {
                    tracing::warn!(%mode, "SQLite kept its journal mode instead of WAL");
                }
                return Ok(());
            }
        }
    }
}

fn has_tables(conn: &Connection) -> rusqlite::Result<bool> {
    conn.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table'")?
        .exists([])
}

fn check_new_experiment(exp: &Experiment, variants: &[Variant]) -> Result<(), StoreError> {
    let invalid = |reason: String| Err(StoreError::Invalid { reason });
    if exp.id.trim().is_empty() {
        return invalid("An experiment needs an id, but an empty one was given.".to_string());
    }
    if let Some(v) = variants.iter().find(|v| v.experiment_id != exp.id) {
        return invalid(format!(
            "Variant {} names experiment {}, not the experiment {} it is stored with.",
            v.index, v.experiment_id, exp.id
        ));
    }
    let mut indexes: Vec<u32> = variants.iter().map(|v| v.index).collect();
    indexes.sort_unstable();
    if indexes
        .iter()
        .zip(1..)
        .any(|(&index, expected)| index != expected)
    {
        return invalid(format!(
            "The variants of experiment {} must be numbered 1 to {} once each, but their numbers are {indexes:?}.",
            exp.id,
            variants.len()
        ));
    }
    Ok(())
}

const EXPERIMENT_COLUMNS: &str =
    "id, slug, repo_root, task, base_commit, base_ref, target_branch, created_at, status";

fn experiment_from_row(row: &Row<'_>) -> rusqlite::Result<Experiment> {
    Ok(Experiment {
        id: row.get(0)?,
        slug: row.get(1)?,
        repo_root: path_from_row(row, 2)?,
        task: row.get(3)?,
        base_commit: row.get(4)?,
        base_ref: row.get(5)?,
        target_branch: row.get(6)?,
        created_at: row.get(7)?,
        status: row.get(8)?,
    })
}

// One list drives the INSERT, the UPDATE and the SELECT, so their column
// orders cannot drift apart; `with_variant_params` and `variant_from_row`
// follow it. The first two columns are the key.
const VARIANT_COLUMNS: &str = "experiment_id, idx, name, slug, description, guidelines, agent, \
     model, branch, worktree, status, started_at, finished_at, exit_code, error, summary, \
     cost_usd, input_tokens, output_tokens, turns, check_command, check_exit_code, \
     check_duration_ms, check_output_tail, head_commit, host";
const VARIANT_COLUMN_COUNT: usize = 26;

fn with_variant_params<T>(
    v: &Variant,
    run: impl FnOnce(&[&dyn ToSql]) -> rusqlite::Result<T>,
) -> Result<T, StoreError> {
    let worktree = path_to_sql(&v.worktree);
    let check = v.check.as_ref();
    let check_command = check.map(|c| c.command.as_str());
    let check_exit_code = check.and_then(|c| c.exit_code);
    let check_duration_ms = check.map(|c| c.duration_ms);
    let check_output_tail = check.map(|c| c.output_tail.as_str());
    let params: [&dyn ToSql; VARIANT_COLUMN_COUNT] = [
        &v.experiment_id,
        &v.index,
        &v.name,
        &v.slug,
        &v.description,
        &v.guidelines,
        &v.agent,
        &v.model,
        &v.branch,
        &worktree,
        &v.status,
        &v.started_at,
        &v.finished_at,
        &v.exit_code,
        &v.error,
        &v.summary,
        &v.cost_usd,
        &v.input_tokens,
        &v.output_tokens,
        &v.turns,
        &check_command,
        &check_exit_code,
        &check_duration_ms,
        &check_output_tail,
        &v.head_commit,
        &v.host,
    ];
    Ok(run(&params)?)
}

fn variant_from_row(row: &Row<'_>) -> rusqlite::Result<Variant> {
    let check_command: Option<String> = row.get(20)?;
    let check = match check_command {
        Some(command) => Some(CheckResult {
            command,
            exit_code: row.get(21)?,
            duration_ms: row.get(22)?,
            output_tail: row.get(23)?,
        }),
        None => None,
    };
    Ok(Variant {
        experiment_id: row.get(0)?,
        index: row.get(1)?,
        name: row.get(2)?,
        slug: row.get(3)?,
        description: row.get(4)?,
        guidelines: row.get(5)?,
        agent: row.get(6)?,
        model: row.get(7)?,
        branch: row.get(8)?,
        worktree: path_from_row(row, 9)?,
        status: row.get(10)?,
        started_at: row.get(11)?,
        finished_at: row.get(12)?,
        exit_code: row.get(13)?,
        error: row.get(14)?,
        summary: row.get(15)?,
        cost_usd: row.get(16)?,
        input_tokens: row.get(17)?,
        output_tokens: row.get(18)?,
        turns: row.get(19)?,
        check,
        head_commit: row.get(24)?,
        host: row.get(25)?,
    })
}

const MERGE_COLUMNS: &str = "experiment_id, variant, target, merge_commit, previous, strategy,
     created_at, undone, source_commit";

fn merge_from_row(row: &Row<'_>) -> rusqlite::Result<MergeRecord> {
    Ok(MergeRecord {
        experiment_id: row.get(0)?,
        variant: row.get(1)?,
        target: row.get(2)?,
        commit: row.get(3)?,
        previous: row.get(4)?,
        strategy: row.get(5)?,
        created_at: row.get(6)?,
        undone: row.get(7)?,
        source: row.get(8)?,
    })
}

fn json_from_row(row: &Row<'_>, index: usize) -> rusqlite::Result<serde_json::Value> {
    let text: String = row.get(index)?;
    serde_json::from_str(&text)
        .map_err(|e| rusqlite::Error::FromSqlConversionFailure(index, Type::Text, Box::new(e)))
}

/// A path as UTF-8 text when it is, otherwise (Unix only) its raw bytes, so
/// no path the operating system can give is refused or altered.
fn path_to_sql(path: &Path) -> Value {
    match path.to_str() {
        Some(text) => Value::Text(text.to_string()),
        None => non_utf8_path_to_sql(path),
    }
}

#[cfg(unix)]
fn non_utf8_path_to_sql(path: &Path) -> Value {
    use std::os::unix::ffi::OsStrExt;
    Value::Blob(path.as_os_str().as_bytes().to_vec())
}

// Outside Unix an OS path that is not UTF-8 can only be an unpaired UTF-16
// surrogate; storing the replacement character is the best text can do.
#[cfg(not(unix))]
fn non_utf8_path_to_sql(path: &Path) -> Value {
    Value::Text(path.to_string_lossy().into_owned())
}

fn path_from_row(row: &Row<'_>, index: usize) -> rusqlite::Result<PathBuf> {
    match row.get_ref(index)? {
        ValueRef::Text(bytes) => match std::str::from_utf8(bytes) {
            Ok(text) => Ok(PathBuf::from(text)),
            Err(e) => Err(rusqlite::Error::FromSqlConversionFailure(
                index,
                Type::Text,
                Box::new(e),
            )),
        },
        ValueRef::Blob(bytes) => path_from_bytes(bytes).ok_or_else(|| {
            rusqlite::Error::FromSqlConversionFailure(
                index,
                Type::Blob,
                Box::new(FromSqlError::InvalidType),
            )
        }),
        other => Err(rusqlite::Error::InvalidColumnType(
            index,
            "path".to_string(),
            other.data_type(),
        )),
    }
}

#[cfg(unix)]
fn path_from_bytes(bytes: &[u8]) -> Option<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    Some(PathBuf::from(std::ffi::OsStr::from_bytes(bytes)))
}

#[cfg(not(unix))]
fn path_from_bytes(bytes: &[u8]) -> Option<PathBuf> {
    std::str::from_utf8(bytes).ok().map(PathBuf::from)
}
