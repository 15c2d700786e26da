//! The records the store keeps, as the rest of Fanout sees them.

use std::fmt;
use std::path::PathBuf;
use std::str::FromStr;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSqlOutput, ValueRef};
use rusqlite::ToSql;
use serde::{Deserialize, Serialize};

use super::StoreError;

/// Where an experiment is in its life.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentStatus {
    /// Worktrees made, no agents started yet.
    Ready,
    Running,
    Finished,
    Failed,
    Cancelled,
    Merged,
}

/// Where one variant (one approach, one worktree) is in its life.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq, Hash, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum VariantStatus {
    Ready,
    Queued,
    Preparing,
    Running,
    /// Running, and a tool use waits for the user's approval.
    NeedsInput,
    Checking,
    Succeeded,
    Failed,
    Cancelled,
    /// Was active when Fanout stopped; see [`super::Store::mark_interrupted`].
    Interrupted,
}

impl ExperimentStatus {
    pub const ALL: [ExperimentStatus; 6] = [
        ExperimentStatus::Ready,
        ExperimentStatus::Running,
        ExperimentStatus::Finished,
        ExperimentStatus::Failed,
        ExperimentStatus::Cancelled,
        ExperimentStatus::Merged,
    ];

    /// The text stored in the database; the same as the serde name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExperimentStatus::Ready => "ready",
            ExperimentStatus::Running => "running",
            ExperimentStatus::Finished => "finished",
            ExperimentStatus::Failed => "failed",
            ExperimentStatus::Cancelled => "cancelled",
            ExperimentStatus::Merged => "merged",
        }
    }
}

impl VariantStatus {
    pub const ALL: [VariantStatus; 10] = [
        VariantStatus::Ready,
        VariantStatus::Queued,
        VariantStatus::Preparing,
        VariantStatus::Running,
        VariantStatus::NeedsInput,
        VariantStatus::Checking,
        VariantStatus::Succeeded,
        VariantStatus::Failed,
        VariantStatus::Cancelled,
        VariantStatus::Interrupted,
    ];

    /// The text stored in the database; the same as the serde name.
    pub fn as_str(self) -> &'static str {
        match self {
            VariantStatus::Ready => "ready",
            VariantStatus::Queued => "queued",
            VariantStatus::Preparing => "preparing",
            VariantStatus::Running => "running",
            VariantStatus::NeedsInput => "needs_input",
            VariantStatus::Checking => "checking",
            VariantStatus::Succeeded => "succeeded",
            VariantStatus::Failed => "failed",
            VariantStatus::Cancelled => "cancelled",
            VariantStatus::Interrupted => "interrupted",
        }
    }

    /// Whether a Fanout process is (or was, if it died) working on the
    /// variant: such variants cannot survive a restart of Fanout.
    pub fn is_active(self) -> bool {
        matches!(
            self,
            VariantStatus::Queued
                | VariantStatus::Preparing
                | VariantStatus::Running
                | VariantStatus::NeedsInput
                | VariantStatus::Checking
        )
    }
}

impl FromStr for ExperimentStatus {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| StoreError::UnknownStatus {
                what: "experiment",
                value: s.to_string(),
            })
    }
}

impl FromStr for VariantStatus {
    type Err = StoreError;

    fn from_str(s: &str) -> Result<Self, StoreError> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str() == s)
            .ok_or_else(|| StoreError::UnknownStatus {
                what: "variant",
                value: s.to_string(),
            })
    }
}

impl fmt::Display for ExperimentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Display for VariantStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// The statuses cross the SQL boundary as text. An unknown value travels inside
// rusqlite's conversion error as a `StoreError`, and comes back out as one.
macro_rules! status_sql {
    ($ty:ty) => {
        impl ToSql for $ty {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::from(self.as_str()))
            }
        }

        impl FromSql for $ty {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                value
                    .as_str()?
                    .parse()
                    .map_err(|e: StoreError| FromSqlError::Other(Box::new(e)))
            }
        }
    };
}
status_sql!(ExperimentStatus);
status_sql!(VariantStatus);

/// One task explored several ways.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ts_rs::TS)]
pub struct Experiment {
    /// A UUID v4 as 32 hex digits, minted by the engine when it creates the experiment.
    pub id: String,
    pub slug: String,
    pub repo_root: PathBuf,
    pub task: String,
    pub base_commit: String,
    /// `refs/fanout/...` when the base is a snapshot of uncommitted changes.
    pub base_ref: Option<String>,
    /// The branch the user was on; `None` when HEAD was detached.
    pub target_branch: Option<String>,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub status: ExperimentStatus,
}

/// One approach of an experiment, in its own worktree and branch.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ts_rs::TS)]
pub struct Variant {
    pub experiment_id: String,
    /// 1..=N within its experiment.
    pub index: u32,
    pub name: String,
    pub slug: String,
    pub description: String,
    pub guidelines: String,
    pub agent: String,
    pub model: Option<String>,
    pub branch: String,
    pub worktree: PathBuf,
    pub status: VariantStatus,
    pub started_at: Option<String>,
    pub finished_at: Option<String>,
    pub exit_code: Option<i32>,
    pub error: Option<String>,
    pub summary: Option<String>,
    pub cost_usd: Option<f64>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub turns: Option<u32>,
    pub check: Option<CheckResult>,
    /// The variant branch's last auto-commit.
    pub head_commit: Option<String>,
    /// The ssh host (an alias of the user's ssh configuration) the variant
    /// runs on; `None` on this machine.
    #[serde(default)]
    pub host: Option<String>,
}

/// The outcome of the experiment's check command in one variant's worktree.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ts_rs::TS)]
pub struct CheckResult {
    pub command: String,
    /// `None` when the command was killed by a signal or timed out.
    pub exit_code: Option<i32>,
    pub duration_ms: u64,
    pub output_tail: String,
}

/// An event to append; the store gives it its sequence number.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub experiment_id: String,
    pub variant: u32,
    pub time: String,
    pub kind: String,
    pub payload: serde_json::Value,
}

/// A [`NewEvent`] whose payload is already JSON text: the orchestrator
/// serializes on the sessions' threads so the single writer only inserts.
#[derive(Clone, Debug, PartialEq)]
pub struct SerializedEvent {
    pub experiment_id: String,
    pub variant: u32,
    pub time: String,
    pub kind: String,
    /// A JSON document.
    pub payload: String,
}

/// What [`super::Store::append_events`] needs of an event.
pub trait EventRecord {
    fn experiment_id(&self) -> &str;
    fn variant(&self) -> u32;
    fn time(&self) -> &str;
    fn kind(&self) -> &str;
    fn payload_json(&self) -> std::borrow::Cow<'_, str>;
}

impl EventRecord for NewEvent {
    fn experiment_id(&self) -> &str {
        &self.experiment_id
    }
    fn variant(&self) -> u32 {
        self.variant
    }
    fn time(&self) -> &str {
        &self.time
    }
    fn kind(&self) -> &str {
        &self.kind
    }
    fn payload_json(&self) -> std::borrow::Cow<'_, str> {
        self.payload.to_string().into()
    }
}

impl EventRecord for SerializedEvent {
    fn experiment_id(&self) -> &str {
        &self.experiment_id
    }
    fn variant(&self) -> u32 {
        self.variant
    }
    fn time(&self) -> &str {
        &self.time
    }
    fn kind(&self) -> &str {
        &self.kind
    }
    fn payload_json(&self) -> std::borrow::Cow<'_, str> {
        self.payload.as_str().into()
    }
}

/// An event as stored: `seq` counts from 1 within its variant, without gaps.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ts_rs::TS)]
pub struct StoredEvent {
    pub seq: i64,
    pub time: String,
    pub kind: String,
    /// The event's fields: always a JSON object.
    #[ts(type = "Record<string, unknown>")]
    pub payload: serde_json::Value,
}

/// A variant merged into a target branch, kept so the merge can be undone.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq, ts_rs::TS)]
pub struct MergeRecord {
    pub experiment_id: String,
    pub variant: u32,
    pub target: String,
    /// The commit the merge made on the target branch.
    pub commit: String,
    /// The target branch's commit before the merge; undo restores it.
    pub previous: String,
    /// The variant's commit that was merged (`None` in merges recorded
    /// before Fanout kept it).
    pub source: Option<String>,
    pub strategy: String,
    pub created_at: String,
    pub undone: bool,
}
