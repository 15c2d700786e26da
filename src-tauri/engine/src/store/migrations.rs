//! The schema's history.
//!
//! `MIGRATIONS[i]` takes a database from schema version `i` to `i + 1`; the
//! version lives in `PRAGMA user_version`. A released step is never edited:
//! databases out there were built by it. Changes go in a new step at the end.

use rusqlite::{Connection, TransactionBehavior};

use super::StoreError;

pub(super) const MIGRATIONS: &[&str] = &[
    V1_CORE,
    V2_MERGES,
    V3_SESSIONS,
    V4_REPO_SETTINGS,
    V5_LEASES,
    V6_RUN_CONFIGS,
    V7_JUDGEMENTS,
    V8_HOSTS,
];

/// The newest schema this build of Fanout knows.
pub const LATEST_VERSION: u32 = MIGRATIONS.len() as u32;

// Paths (`repo_root`, `worktree`) are UTF-8 text, or the raw bytes as a BLOB
// when the operating system gave a path that is not UTF-8; TEXT affinity keeps
// BLOBs as they are.
const V1_CORE: &str = "
CREATE TABLE experiments (
    id            TEXT PRIMARY KEY NOT NULL,
    slug          TEXT NOT NULL,
    repo_root     TEXT NOT NULL,
    task          TEXT NOT NULL,
    base_commit   TEXT NOT NULL,
    base_ref      TEXT,
    target_branch TEXT,
    created_at    TEXT NOT NULL,
    status        TEXT NOT NULL
);

CREATE TABLE variants (
    id                INTEGER PRIMARY KEY,
    experiment_id     TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    idx               INTEGER NOT NULL,
    name              TEXT NOT NULL,
    slug              TEXT NOT NULL,
    description       TEXT NOT NULL,
    guidelines        TEXT NOT NULL,
    agent             TEXT NOT NULL,
    model             TEXT,
    branch            TEXT NOT NULL,
    worktree          TEXT NOT NULL,
    status            TEXT NOT NULL,
    started_at        TEXT,
    finished_at       TEXT,
    exit_code         INTEGER,
    error             TEXT,
    summary           TEXT,
    cost_usd          REAL,
    input_tokens      INTEGER,
    output_tokens     INTEGER,
    turns             INTEGER,
    check_command     TEXT,
    check_exit_code   INTEGER,
    check_duration_ms INTEGER,
    check_output_tail TEXT,
    head_commit       TEXT,
    UNIQUE (experiment_id, idx)
);

-- Events are most of the database and most of its writes: they point at
-- their variant by its integer id, which keeps rows and the index small.
CREATE TABLE events (
    variant_id INTEGER NOT NULL REFERENCES variants(id) ON DELETE CASCADE,
    seq        INTEGER NOT NULL,
    time       TEXT NOT NULL,
    kind       TEXT NOT NULL,
    payload    TEXT NOT NULL,
    PRIMARY KEY (variant_id, seq)
);
";

const V2_MERGES: &str = "
CREATE TABLE merges (
    id            INTEGER PRIMARY KEY AUTOINCREMENT,
    experiment_id TEXT NOT NULL,
    variant       INTEGER NOT NULL,
    target        TEXT NOT NULL,
    merge_commit  TEXT NOT NULL,
    previous      TEXT NOT NULL,
    strategy      TEXT NOT NULL,
    created_at    TEXT NOT NULL,
    undone        INTEGER NOT NULL DEFAULT 0,
    FOREIGN KEY (experiment_id, variant)
        REFERENCES variants(experiment_id, idx) ON DELETE CASCADE
);

CREATE INDEX merges_by_experiment ON merges(experiment_id, id);

CREATE INDEX experiments_by_created ON experiments(created_at);
";

// One row per variant that ran: the agent's session id (what a follow-up
// resumes), the Fanout process that owns the run (crash recovery leaves the
// variants of a live owner alone), the agent's process group with its start
// time (so `fanout cancel` in another process signals the right group, never
// a recycled pid), and a cancel request for runs owned by another process.
const V3_SESSIONS: &str = "
CREATE TABLE sessions (
    variant_id       INTEGER PRIMARY KEY REFERENCES variants(id) ON DELETE CASCADE,
    session_id       TEXT,
    owner_pid        INTEGER,
    owner_start      INTEGER,
    pgid             INTEGER,
    pgid_start       INTEGER,
    cancel_requested INTEGER NOT NULL DEFAULT 0
);
";

// How each new worktree of a repository is prepared (see `repo_settings`):
// the settings as JSON, so a later Fanout can add fields without a migration.
const V4_REPO_SETTINGS: &str = "
CREATE TABLE repo_settings (
    repo_root  TEXT PRIMARY KEY NOT NULL,
    settings   TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
";

// Which Fanout process changes an experiment right now (see `crate::lease`):
// its pid and start time, so a dead holder's lease is taken over, never a
// live one's; what it is doing and since when, for the sentence another
// process shows. And the commit each merge took from its variant, so cleanup
// can tell whether the variant's branch still holds only what was merged.
const V5_LEASES: &str = "
ALTER TABLE merges ADD COLUMN source_commit TEXT;

CREATE TABLE leases (
    experiment_id TEXT PRIMARY KEY NOT NULL,
    holder_pid    INTEGER NOT NULL,
    holder_start  INTEGER NOT NULL,
    program       TEXT NOT NULL,
    doing         TEXT NOT NULL,
    since         TEXT NOT NULL
);
";

// How an experiment's variants run (see `orchestrator::RunConfig`), stored
// with it so a retry or follow-up, in this process or after a restart, in
// the app or the command line, runs exactly as the first run did: the
// permission profile, check, timeouts, parallelism, sandbox, and the tools
// the user allowed for the rest of the experiment. JSON, so a later Fanout
// can add fields without a migration.
const V6_RUN_CONFIGS: &str = "
CREATE TABLE run_configs (
    experiment_id TEXT PRIMARY KEY NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    config        TEXT NOT NULL
);
";

// What models said about an experiment's variants: each variant's latest
// review, the experiment's latest ranking, and what differs between two
// variants in words. JSON documents (see `review`, `judge`, `differ`), kept
// so the window, the command line and the report show the same words.
const V7_JUDGEMENTS: &str = "
CREATE TABLE reviews (
    experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    variant       INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    body          TEXT NOT NULL,
    PRIMARY KEY (experiment_id, variant)
);
CREATE TABLE rankings (
    experiment_id TEXT PRIMARY KEY NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    created_at    TEXT NOT NULL,
    body          TEXT NOT NULL
);
CREATE TABLE differences (
    experiment_id TEXT NOT NULL REFERENCES experiments(id) ON DELETE CASCADE,
    a             INTEGER NOT NULL,
    b             INTEGER NOT NULL,
    created_at    TEXT NOT NULL,
    body          TEXT NOT NULL,
    PRIMARY KEY (experiment_id, a, b)
);
";

// Where each variant runs: NULL on this machine, otherwise the alias of the
// ssh host (see `executor`) that holds its worktree and runs its agent.
const V8_HOSTS: &str = "
ALTER TABLE variants ADD COLUMN host TEXT;
";

pub(super) fn user_version(conn: &Connection) -> rusqlite::Result<u32> {
    conn.pragma_query_value(None, "user_version", |row| row.get(0))
}

/// Brings the schema up to [`LATEST_VERSION`], one transaction per step, so a
/// failure leaves the database at the last completed version. The version is
/// read again inside each transaction because another Fanout process may be
/// migrating the same file at the same moment.
pub(super) fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    for (step, sql) in MIGRATIONS.iter().enumerate() {
        let version = step as u32 + 1;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        if user_version(&tx)? >= version {
            continue;
        }
        tx.execute_batch(sql)
            .and_then(|()| tx.pragma_update(None, "user_version", version))
            .and_then(|()| tx.commit())
            .map_err(|source| StoreError::Migrate { version, source })?;
    }
    Ok(())
}
