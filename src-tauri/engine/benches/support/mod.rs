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

/// Running, as variants are while their agents write the events the
/// benchmarks time.
pub fn variants(id: &str, count: u32) -> Vec<Variant> {
    (1..=count)
        .map(|index| Variant {
            status: VariantStatus::Running,
            ..fanout_testsupport::variant(id, index)
        })
        .collect()
}
