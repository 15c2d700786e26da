//! Records the store benchmarks insert before timing: one experiment and its
//! variants, shaped like what Fanout stores.

use std::path::PathBuf;

use fanout_engine::store::{Experiment, ExperimentStatus, Variant, VariantStatus};

pub fn experiment(id: &str) -> Experiment {
    Experiment {
        id: id.to_string(),
        slug: "bench".to_string(),
        repo_root: PathBuf::from("/repo"),
        task: "bench".to_string(),
        base_commit: "0".repeat(40),
        base_ref: None,
        target_branch: Some("main".to_string()),
        created_at: "2026-01-01T00:00:00Z".to_string(),
        status: ExperimentStatus::Running,
    }
}

pub fn variants(id: &str, count: u32) -> Vec<Variant> {
    (1..=count)
        .map(|index| Variant {
            experiment_id: id.to_string(),
            index,
            name: format!("Approach {index}"),
            slug: format!("approach-{index}"),
            description: String::new(),
            guidelines: String::new(),
            agent: "claude_code".to_string(),
            model: None,
            branch: format!("fanout/bench/{index}"),
            worktree: PathBuf::from(format!("/wt/{index}")),
            status: VariantStatus::Running,
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
        })
        .collect()
}
