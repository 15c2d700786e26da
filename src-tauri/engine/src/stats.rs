//! Which agent wins, across experiments: per agent and model, how many
//! experiments and variants it ran, how often its variant was merged (won),
//! its check pass rate, its median time, cost and tokens, how often the
//! judge ranked it first; and how often the judge's first pick was the one
//! the user merged.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Serialize;
use ts_rs::TS;

use crate::experiment::Engine;
use crate::judge::Ranking;
use crate::store::{MergeRecord, StoreError, Variant, VariantStatus};
use crate::Error;

/// One agent and model's record.
#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
pub struct AgentStats {
    pub agent: String,
    /// `None` when the agent chose its own default.
    pub model: Option<String>,
    pub experiments: u32,
    pub variants: u32,
    /// Variants of it merged (and not undone).
    pub merged: u32,
    pub checks_run: u32,
    pub checks_passed: u32,
    pub median_duration_ms: Option<u64>,
    pub total_cost_usd: Option<f64>,
    pub median_cost_usd: Option<f64>,
    pub input_tokens: u64,
    pub output_tokens: u64,
    /// Rankings that put one of its variants first.
    pub ranked_first: u32,
}

/// How well the judge's first pick matched what the user merged.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, TS)]
pub struct JudgeRecord {
    /// Experiments with both a ranking and a merge.
    pub judged_and_merged: u32,
    /// Of those, how many merged the judge's first pick.
    pub first_pick_merged: u32,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, TS)]
pub struct Stats {
    pub agents: Vec<AgentStats>,
    pub judge: JudgeRecord,
    pub experiments: u32,
}

/// What one experiment contributes.
struct Record {
    variants: Vec<Variant>,
    merges: Vec<MergeRecord>,
    ranking: Option<Ranking>,
}

impl Engine {
    /// The statistics of every experiment, or of one repository's.
    pub fn stats(&self, repo: Option<&Path>) -> Result<Stats, Error> {
        let root = match repo {
            Some(path) => Some(crate::repo::inspect(path)?.root),
            None => None,
        };
        let records = self.writer().call_blocking(move |s| {
            let mut records = Vec::new();
            for experiment in s.experiments()? {
                if root.as_ref().is_some_and(|r| *r != experiment.repo_root) {
                    continue;
                }
                let id = experiment.id.clone();
                records.push(Record {
                    variants: s.variants(&id)?,
                    merges: s.merges(&id)?,
                    ranking: s.ranking(&id)?,
                });
            }
            Ok::<_, StoreError>(records)
        })??;
        Ok(tally(&records))
    }
}

fn tally(records: &[Record]) -> Stats {
    let mut by_agent: BTreeMap<(String, Option<String>), Tally> = BTreeMap::new();
    let mut judge = JudgeRecord::default();
    for record in records {
        let merged: Vec<u32> = record
            .merges
            .iter()
            .filter(|m| !m.undone)
            .map(|m| m.variant)
            .collect();
        let first = record.ranking.as_ref().and_then(Ranking::first);
        if let (Some(first), Some(last_merged)) = (first, merged.last()) {
            judge.judged_and_merged += 1;
            judge.first_pick_merged += u32::from(first == *last_merged);
        }
        let mut seen_in_experiment = std::collections::BTreeSet::new();
        for v in record
            .variants
            .iter()
            .filter(|v| v.status != VariantStatus::Ready)
        {
            let key = (v.agent.clone(), v.model.clone());
            let t = by_agent.entry(key.clone()).or_default();
            if seen_in_experiment.insert(key) {
                t.experiments += 1;
            }
            t.add(v, merged.contains(&v.index), first == Some(v.index));
        }
    }
    let agents = by_agent
        .into_iter()
        .map(|((agent, model), t)| t.finish(agent, model))
        .collect();
    Stats {
        agents,
        judge,
        experiments: records.len() as u32,
    }
}

#[derive(Default)]
struct Tally {
    experiments: u32,
    variants: u32,
    merged: u32,
    checks_run: u32,
    checks_passed: u32,
    durations: Vec<u64>,
    costs: Vec<f64>,
    input_tokens: u64,
    output_tokens: u64,
    ranked_first: u32,
}

impl Tally {
    fn add(&mut self, v: &Variant, merged: bool, first: bool) {
        self.variants += 1;
        self.merged += u32::from(merged);
        self.ranked_first += u32::from(first);
        if let Some(check) = &v.check {
            self.checks_run += 1;
            self.checks_passed += u32::from(check.exit_code == Some(0));
        }
        if let Some(ms) = duration_ms(v) {
            self.durations.push(ms);
        }
        if let Some(cost) = v.cost_usd {
            self.costs.push(cost);
        }
        self.input_tokens += v.input_tokens.unwrap_or(0);
        self.output_tokens += v.output_tokens.unwrap_or(0);
    }

    fn finish(mut self, agent: String, model: Option<String>) -> AgentStats {
        self.durations.sort_unstable();
        self.costs.sort_by(f64::total_cmp);
        AgentStats {
            agent,
            model,
            experiments: self.experiments,
            variants: self.variants,
            merged: self.merged,
            checks_run: self.checks_run,
            checks_passed: self.checks_passed,
            median_duration_ms: median(&self.durations),
            total_cost_usd: (!self.costs.is_empty()).then(|| self.costs.iter().sum()),
            median_cost_usd: median(&self.costs),
            input_tokens: self.input_tokens,
            output_tokens: self.output_tokens,
            ranked_first: self.ranked_first,
        }
    }
}

fn median<T: Copy>(sorted: &[T]) -> Option<T> {
    sorted
        .get(sorted.len() / 2)
        .copied()
        .filter(|_| !sorted.is_empty())
}

fn duration_ms(v: &Variant) -> Option<u64> {
    let parse = |t: &Option<String>| {
        t.as_deref().and_then(|t| {
            time::OffsetDateTime::parse(t, &time::format_description::well_known::Rfc3339).ok()
        })
    };
    let (start, end) = (parse(&v.started_at)?, parse(&v.finished_at)?);
    u64::try_from((end - start).whole_milliseconds()).ok()
}
