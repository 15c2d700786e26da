//! Records as the store keeps them, for tests and benchmarks that put rows
//! in a store without running an experiment. Change a field with struct
//! update syntax: `Variant { status, ..variant(id, 1) }`.

use std::path::PathBuf;

use fanout_engine::store::{Variant, VariantStatus};

/// Variant `index` of experiment `experiment_id`, ready to run: named
/// "Approach {index}", with a description and guidelines, and nothing of a
/// run (times, outcome, usage, check, commit) set yet.
pub fn variant(experiment_id: &str, index: u32) -> Variant {
    Variant {
        experiment_id: experiment_id.to_string(),
        index,
        name: format!("Approach {index}"),
        slug: format!("approach-{index}"),
        description: "Do it this way.".to_string(),
        guidelines: "Keep it small.".to_string(),
        agent: "claude_code".to_string(),
        model: None,
        branch: format!("fanout/x/{index}-approach-{index}"),
        worktree: PathBuf::from(format!("/data/worktrees/app/x/{index}-approach-{index}")),
        status: VariantStatus::Ready,
        started_at: None,
        finished_at: None,
        exit_code: None,
        error: None,
        summary: None,
        cost_usd: None,
        input_tokens: None,
        output_tokens: None,
        turns: None,
        check: None,
        head_commit: None,
        host: None,
    }
}
