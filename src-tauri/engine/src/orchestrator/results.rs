//! What each variant came to: the numbers of the comparison table.

use serde::Serialize;

use crate::diff;
use crate::experiment::{Engine, ExperimentView};
use crate::ids::ExperimentId;
use crate::repo;
use crate::store::{CheckResult, VariantStatus};
use crate::Error;

/// One row of the results table.
#[derive(Debug, Clone, Serialize, ts_rs::TS)]
pub struct VariantResult {
    pub index: u32,
    pub name: String,
    pub agent: String,
    pub model: Option<String>,
    /// Where it ran: `local`, or the ssh host's alias.
    pub host: String,
    pub status: VariantStatus,
    pub duration_ms: Option<u64>,
    pub turns: Option<u32>,
    pub input_tokens: Option<u64>,
    pub output_tokens: Option<u64>,
    pub cost_usd: Option<f64>,
    /// Against the base; `None` when the branch is gone (cleaned up).
    pub files_changed: Option<usize>,
    pub lines_added: Option<usize>,
    pub lines_removed: Option<usize>,
    pub check: Option<CheckResult>,
    pub check_passed: Option<bool>,
    pub summary: Option<String>,
    pub error: Option<String>,
    pub branch: String,
}

/// The results of every variant. Reads git: call from blocking code.
pub fn results(view: &ExperimentView) -> Vec<VariantResult> {
    let repo = repo::open(&view.experiment.repo_root).ok();
    view.variants
        .iter()
        .map(|v| {
            let files = repo.as_ref().and_then(|repo| {
                diff::changed_files(repo, &view.experiment.base_commit, &v.branch_ref()).ok()
            });
            VariantResult {
                index: v.index,
                name: v.name.clone(),
                agent: v.agent.clone(),
                model: v.model.clone(),
                host: v
                    .host
                    .clone()
                    .unwrap_or_else(|| crate::hosts::LOCAL.to_owned()),
                status: v.status,
                duration_ms: duration_ms(v.started_at.as_deref(), v.finished_at.as_deref()),
                turns: v.turns,
                input_tokens: v.input_tokens,
                output_tokens: v.output_tokens,
                cost_usd: v.cost_usd,
                files_changed: files.as_ref().map(Vec::len),
                lines_added: files.as_ref().map(|f| f.iter().map(|c| c.added).sum()),
                lines_removed: files.as_ref().map(|f| f.iter().map(|c| c.removed).sum()),
                check_passed: v.check.as_ref().map(|c| c.exit_code == Some(0)),
                check: v.check.clone(),
                summary: v.summary.clone(),
                error: v.error.clone(),
                branch: v.branch.clone(),
            }
        })
        .collect()
}

impl Engine {
    /// The results table of an experiment.
    pub fn results(&self, id: &ExperimentId) -> Result<Vec<VariantResult>, Error> {
        Ok(results(&self.experiment(id)?))
    }
}

fn duration_ms(started: Option<&str>, finished: Option<&str>) -> Option<u64> {
    use time::format_description::well_known::Rfc3339;
    let parse = |t: &str| time::OffsetDateTime::parse(t, &Rfc3339).ok();
    let elapsed = parse(finished?)? - parse(started?)?;
    u64::try_from(elapsed.whole_milliseconds()).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_come_from_the_stored_times() {
        assert_eq!(
            duration_ms(Some("2026-01-01T00:00:00Z"), Some("2026-01-01T00:01:02.5Z")),
            Some(62_500)
        );
        assert_eq!(
            duration_ms(Some("2026-01-01T00:00:00Z"), None),
            None,
            "still running"
        );
        assert_eq!(
            duration_ms(Some("garbage"), Some("2026-01-01T00:00:00Z")),
            None
        );
    }
}
