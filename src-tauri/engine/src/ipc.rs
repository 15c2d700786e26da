//! The TypeScript the window is written against, generated from the
//! engine's own types with ts-rs: every type that crosses between the shell
//! and the page, and the engine's constants the page needs, in one file
//! (`ui/src/lib/generated/types.ts`). `make types` writes it; a test fails
//! when the file is stale or a type refers to one not listed here.
//!
//! ts-rs, not specta: it derives beside serde and reads serde's attributes,
//! with nothing to change in the Tauri commands themselves (specta's Tauri
//! support needs its own command macros and builder).

use ts_rs::TS;

use crate::agent::approval::{
    ApprovalDisplay, ApprovalRequest, ApprovalRules, ApprovalSettings, ApprovalUpdate, Decider,
    Decision,
};
use crate::agent::{AgentKind, PermissionProfile};
use crate::approaches::{GenerationProgress, PlanRequest};
use crate::combine::Take;
use crate::contract::{Code, Failure};
use crate::desktop::{AppInfo, KeyOrigin, KeyStatus, TokenStatus};
use crate::detect::{AgentStatus, AgentsReport};
use crate::diff::{
    FileChange, FileDiff, FileDiffView, FileStatus, Gap, Hunk, Line, LineKind, Outline, PageLine,
};
use crate::differ::Difference;
use crate::events::{SessionEvent, Stream};
use crate::experiment::{
    ApproachSpec, ArchivedVariant, CleanOptions, CleanReport, CommitResult, ExperimentView,
    VariantDisk, MAX_EVENTS_PAGE, MAX_VARIANTS,
};
use crate::hosts::{HostConfig, HostReport};
use crate::ids::{ExperimentId, VariantIndex};
use crate::ignored_files::CopyReport;
use crate::judge::{JudgeOptions, Ranked, Ranking, Standing};
use crate::llm::{ApiEndpoint, Usage};
use crate::machine::Machine;
use crate::merge::{MergeOutcome, MergePreview, Strategy};
use crate::oneshot::AskerChoice;
use crate::orchestrator::{Progress, Steer, Tick, Update, UpdateKind, VariantBatch, VariantResult};
use crate::pr::{PrDraft, PullRequest};
use crate::repo::{Base, CommitInfo, RepoInfo};
use crate::repo_settings::{RepoSettings, RepoSettingsView};
use crate::review::{ChangePoint, Review, Score, TestsVerdict};
use crate::sandbox::Availability;
use crate::secrets::Provider;
use crate::settings::{ReviewerSettings, Settings, Theme};
use crate::stats::{AgentStats, JudgeRecord, Stats};
use crate::store::{
    CheckResult, Experiment, ExperimentStatus, MergeRecord, StoredEvent, Variant, VariantStatus,
};
use crate::warm::{Detected, WarmReport, WarmedFolder};
use crate::worktree::RemoveReport;

/// Where the generated file lives, relative to the repository's root.
pub const GENERATED_FILE: &str = "ui/src/lib/generated/types.ts";

/// One declared type: its TypeScript name, declaration and what it names.
pub struct Declared {
    pub name: String,
    pub decl: String,
    pub docs: Option<String>,
    pub refers_to: Vec<String>,
}

fn declared<T: TS + 'static + ?Sized>() -> Declared {
    Declared {
        name: T::ident(),
        decl: T::decl(),
        docs: T::docs(),
        refers_to: T::dependencies().into_iter().map(|d| d.ts_name).collect(),
    }
}

macro_rules! types {
    ($($t:ty),* $(,)?) => { vec![$(declared::<$t>()),*] };
}

/// Every type that crosses between the shell and the page.
pub fn types() -> Vec<Declared> {
    types![
        // Names
        ExperimentId,
        serde_json::Value,
        VariantIndex,
        // The error contract
        Code,
        Failure,
        // The app and repositories
        AppInfo,
        Machine,
        RepoInfo,
        CommitInfo,
        Base,
        // Experiments
        Experiment,
        ExperimentStatus,
        ExperimentView,
        Variant,
        VariantStatus,
        CheckResult,
        ApproachSpec,
        CommitResult,
        VariantDisk,
        CleanOptions,
        CleanReport,
        ArchivedVariant,
        RemoveReport,
        VariantResult,
        // Diffs
        FileChange,
        FileStatus,
        FileDiff,
        FileDiffView,
        Outline,
        PageLine<'static>,
        Hunk,
        Gap,
        Line,
        LineKind,
        // Merging
        Strategy,
        MergePreview,
        MergeOutcome,
        MergeRecord,
        // Runs
        Tick,
        VariantBatch,
        Update,
        UpdateKind,
        Progress,
        SessionEvent,
        Stream,
        Usage,
        StoredEvent,
        CopyReport,
        Steer,
        ApprovalUpdate,
        ApprovalRequest,
        ApprovalDisplay,
        PlanRequest,
        GenerationProgress,
        // Choosing the winner
        Review,
        ChangePoint,
        TestsVerdict,
        Score,
        Ranking,
        Ranked,
        Standing,
        JudgeOptions,
        Difference,
        Take,
        Stats,
        AgentStats,
        JudgeRecord,
        // Settings
        Settings,
        ReviewerSettings,
        AskerChoice,
        Theme,
        AgentKind,
        PermissionProfile,
        ApiEndpoint,
        Provider,
        ApprovalSettings,
        ApprovalRules,
        Decision,
        Decider,
        RepoSettings,
        RepoSettingsView,
        AgentsReport,
        AgentStatus,
        Availability,
        KeyStatus,
        KeyOrigin,
        TokenStatus,
        PrDraft,
        PullRequest,
        // Hosts
        HostConfig,
        HostReport,
        // Warm worktrees
        Detected,
        WarmReport,
        WarmedFolder,
    ]
}

/// The engine's facts the page needs, as TypeScript constants.
fn constants() -> String {
    let active: Vec<String> = VariantStatus::ALL
        .iter()
        .filter(|s| s.is_active())
        .map(|s| format!("\"{}\"", s.as_str()))
        .collect();
    format!(
        "/** The most variants one experiment may have. */\n\
         export const MAX_VARIANTS = {MAX_VARIANTS};\n\n\
         /** The most transcript events one page of `variant_events` holds. */\n\
         export const MAX_EVENTS_PAGE = {MAX_EVENTS_PAGE};\n\n\
         /** The statuses of a variant that is queued or working. */\n\
         export const ACTIVE_STATUSES: readonly VariantStatus[] = [{}];\n",
        active.join(", ")
    )
}

/// The generated file's text.
pub fn typescript() -> String {
    let mut out = String::from(
        "// Generated from the engine's Rust types by `make types` (fanout_engine::ipc).\n\
         // Do not edit: change the Rust type and run `make types`.\n\n",
    );
    for t in types() {
        if let Some(docs) = &t.docs {
            out.push_str(docs);
        }
        // serde_json writes every integer as a JSON number; ts-rs would
        // call 64-bit ones `bigint`.
        out.push_str(&format!(
            "export {}\n\n",
            t.decl.replace("bigint", "number")
        ));
    }
    out.push_str(&constants());
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_a_declared_type_names_is_declared_too() {
        let all = types();
        let names: std::collections::HashSet<&str> = all.iter().map(|t| t.name.as_str()).collect();
        for t in &all {
            for name in &t.refers_to {
                let ident = name.split('<').next().unwrap_or(name);
                assert!(
                    names.contains(ident),
                    "{} refers to {ident}, which ipc::types() does not list",
                    t.name
                );
            }
        }
        assert_eq!(names.len(), all.len(), "no type is listed twice");
    }
}
