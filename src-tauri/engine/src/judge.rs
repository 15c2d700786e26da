//! The judge: every variant of an experiment ranked, with a rationale.
//!
//! It reads the reviews ([`crate::review`]), the check results, the diff
//! stats, the similarity matrix and the diff between the two best-reviewed
//! variants, against the rubric ([`crate::rubric`]). Its answer must rank
//! every variant exactly once; then rules no model can override are
//! applied: a variant whose check failed ranks below every passing one
//! (unless the user lets failed checks compete), and a variant that changed
//! nothing ranks last. Each rule that moved a variant says so.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use ts_rs::TS;

use crate::experiment::{Engine, ExperimentView};
use crate::ids::{ExperimentId, VariantIndex};
use crate::oneshot::{strings_at, text_at, Question};
use crate::review::{bounded_diff, Review, Score, CHARS_PER_TOKEN};
use crate::rubric::Rubric;
use crate::store::{Variant, VariantStatus};
use crate::Error;

/// Tokens the judge's prompt may hold: the reviews and stats of up to
/// [`crate::experiment::MAX_VARIANTS`] variants, and one diff between the
/// two best candidates (bounded to [`PAIR_BUDGET_TOKENS`]).
pub const JUDGE_BUDGET_TOKENS: usize = 40_000;

/// Tokens of the diff between the two best-reviewed variants.
pub const PAIR_BUDGET_TOKENS: usize = 12_000;

/// How the judge may rank.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(default)]
pub struct JudgeOptions {
    /// Let a variant whose check failed rank above passing ones.
    pub failed_checks_compete: bool,
}

/// Where a variant stands after its run, as the rules see it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "snake_case")]
pub enum Standing {
    /// Its check passed, or there was none.
    Passing,
    /// Its check failed (or was stopped).
    CheckFailed,
    /// It changed nothing against the base.
    NoChanges,
}

/// One variant's place.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Ranked {
    pub variant: u32,
    pub name: String,
    pub standing: Standing,
    pub scores: Vec<Score>,
    /// The judge's paragraph on this variant.
    pub paragraph: String,
}

/// A ranking of every variant, best first.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Ranking {
    pub ranked: Vec<Ranked>,
    /// Decisions on which the variants differ ("2 and 3 keep the limit in
    /// Redis, 1 in memory").
    pub disagreements: Vec<String>,
    pub rationale: String,
    /// Each rule that moved a variant, as a sentence.
    pub overrides: Vec<String>,
    pub options: JudgeOptions,
    /// The model (and how it was reached) that judged.
    pub judge: String,
    pub rubric_source: Option<String>,
    pub rubric_warning: Option<String>,
    /// The prompt's size in tokens (estimated) against its budget.
    pub prompt_tokens: u64,
    pub budget_tokens: u64,
    pub created_at: String,
}

impl Ranking {
    /// The variant ranked first.
    pub fn first(&self) -> Option<u32> {
        self.ranked.first().map(|r| r.variant)
    }
}

/// What a ranking is asked from, read from the engine.
#[derive(Debug, Clone)]
pub struct JudgeInput {
    pub view: ExperimentView,
    pub rubric: Rubric,
    pub reviews: Vec<Review>,
    /// Files changed and lines added and removed, per variant.
    pub stats: BTreeMap<u32, (usize, usize, usize)>,
    pub similarity: Option<Vec<Vec<f64>>>,
    /// The two best-reviewed variants and the diff between them.
    pub pair: Option<(u32, u32, String)>,
    pub options: JudgeOptions,
}

impl JudgeInput {
    fn standing(&self, v: &Variant) -> Standing {
        let changed = self
            .stats
            .get(&v.index)
            .is_some_and(|(files, _, _)| *files > 0);
        if !changed {
            return Standing::NoChanges;
        }
        let passed = v.status == VariantStatus::Succeeded
            && v.check.as_ref().is_none_or(|c| c.exit_code == Some(0));
        if passed {
            Standing::Passing
        } else {
            Standing::CheckFailed
        }
    }
}

impl Engine {
    /// Reads what judging the experiment needs.
    pub fn judge_input(
        &self,
        id: &ExperimentId,
        options: JudgeOptions,
    ) -> Result<JudgeInput, Error> {
        let view = self.experiment(id)?;
        let rubric = crate::rubric::load(&view.experiment.repo_root)?;
        let reviews = self.reviews(id)?;
        let mut stats = BTreeMap::new();
        for v in &view.variants {
            // A variant whose branch is gone (cleaned up) has no stats to give.
            let files = self
                .changed_files(id, VariantIndex(v.index), None)
                .unwrap_or_default();
            let added = files.iter().map(|f| f.added).sum();
            let removed = files.iter().map(|f| f.removed).sum();
            stats.insert(v.index, (files.len(), added, removed));
        }
        let similarity = self.similarity(id).ok();
        let pair = self.best_pair(id, &reviews)?;
        Ok(JudgeInput {
            view,
            rubric,
            reviews,
            stats,
            similarity,
            pair,
            options,
        })
    }

    /// The diff between the two best-reviewed variants, bounded.
    fn best_pair(
        &self,
        id: &ExperimentId,
        reviews: &[Review],
    ) -> Result<Option<(u32, u32, String)>, Error> {
        let mut best: Vec<&Review> = reviews.iter().collect();
        best.sort_by(|a, b| b.mean_score().total_cmp(&a.mean_score()));
        let [first, second, ..] = best.as_slice() else {
            return Ok(None);
        };
        let (a, b) = (first.variant, second.variant);
        let files = self.render_all(
            id,
            VariantIndex(b),
            Some(VariantIndex(a)),
            &crate::diff::DiffOptions::default(),
        )?;
        Ok(Some((a, b, bounded_diff(&files, PAIR_BUDGET_TOKENS).text)))
    }

    /// Keeps `ranking` as the experiment's latest.
    pub fn save_ranking(&self, id: &ExperimentId, ranking: &Ranking) -> Result<(), Error> {
        let (id, ranking) = (id.to_string(), ranking.clone());
        let created = ranking.created_at.clone();
        Ok(self
            .writer()
            .call_blocking(move |s| s.set_ranking(&id, &created, &ranking))??)
    }

    /// The experiment's latest ranking.
    pub fn ranking(&self, id: &ExperimentId) -> Result<Option<Ranking>, Error> {
        let id = id.to_string();
        Ok(self.writer().call_blocking(move |s| s.ranking(&id))??)
    }
}

/// The question the judge is asked.
pub fn question(input: &JudgeInput) -> Question {
    let exp = &input.view.experiment;
    let mut prompt = format!(
        "Rank every variant of a coding experiment, best first. Each variant is one agent's attempt at the same task.\n\n\
         ## The task\n{}\n\n## The rubric\n{}\n\n## The variants\n",
        exp.task.trim(),
        input.rubric.text.trim()
    );
    for v in &input.view.variants {
        prompt.push_str(&variant_section(input, v));
    }
    if let Some(matrix) = &input.similarity {
        prompt.push_str("\n## How alike their changes are (0 to 1)\n");
        for (i, row) in matrix.iter().enumerate() {
            let cells: Vec<String> = row.iter().map(|x| format!("{x:.2}")).collect();
            prompt.push_str(&format!("{}: {}\n", i + 1, cells.join(" ")));
        }
    }
    if let Some((a, b, diff)) = &input.pair {
        prompt.push_str(&format!(
            "\n## What variant {b} does differently from variant {a} (the two best reviewed)\n```diff\n{diff}```\n"
        ));
    }
    prompt.push_str(&format!(
        "\nAnswer with `ranking`: every variant exactly once, best first, each with `variant` (its number), \
         `scores` (an integer from 1 to 10 for each criterion: {}) and `paragraph` (why it stands there); \
         `disagreements`: the decisions on which the variants differ, each naming the variants; and `rationale`: \
         a paragraph on the whole ranking.",
        input.rubric.criteria.join(", ")
    ));
    Question {
        what: "ranking",
        system: Some(
            "You judge coding work for a developer who will merge one result. Be concrete; cite files and behaviour."
                .into(),
        ),
        prompt,
        tool: "submit_ranking",
        schema: schema(&input.rubric.criteria),
    }
}

fn variant_section(input: &JudgeInput, v: &Variant) -> String {
    let (files, added, removed) = input.stats.get(&v.index).copied().unwrap_or_default();
    let mut text = format!(
        "\n### Variant {} — {}\nApproach: {}\nAgent: {}. Status: {}. Changes: {files} files, +{added} −{removed}.\n",
        v.index,
        v.name,
        v.description.trim(),
        v.agent,
        v.status
    );
    text.push_str(&match &v.check {
        None => "Check: none ran.\n".to_owned(),
        Some(c) => format!(
            "Check `{}`: {}.\n",
            c.command,
            match c.exit_code {
                Some(0) => "passed".to_owned(),
                Some(code) => format!("failed (exit code {code})"),
                None => "stopped".to_owned(),
            }
        ),
    });
    if let Some(summary) = v.summary.as_deref().filter(|s| !s.trim().is_empty()) {
        text.push_str(&format!(
            "The agent's summary: {}\n",
            crate::events::bound(summary.trim(), 1500)
        ));
    }
    match input.reviews.iter().find(|r| r.variant == v.index) {
        None => text.push_str("No review.\n"),
        Some(review) => {
            text.push_str("Review:\n");
            for point in &review.changes {
                text.push_str(&format!("- {} ({})\n", point.what, point.files.join(", ")));
            }
            for risk in &review.risks {
                text.push_str(&format!("- Risk: {risk}\n"));
            }
            text.push_str(&format!(
                "- Tests: {} {}\n",
                if review.tests.covered {
                    "covered."
                } else {
                    "not covered."
                },
                review.tests.note
            ));
            for creep in &review.scope_creep {
                text.push_str(&format!("- Beyond the task: {creep}\n"));
            }
            let scores: Vec<String> = review
                .scores
                .iter()
                .map(|s| format!("{} {}", s.criterion, s.score))
                .collect();
            text.push_str(&format!("- Scores: {}\n", scores.join(", ")));
        }
    }
    text
}

fn schema(criteria: &[String]) -> Value {
    let scores = crate::rubric::scores_schema(criteria);
    json!({
        "type": "object",
        "properties": {
            "ranking": {"type": "array", "items": {
                "type": "object",
                "properties": {
                    "variant": {"type": "integer"},
                    "scores": scores,
                    "paragraph": {"type": "string"}
                },
                "required": ["variant", "scores", "paragraph"]
            }},
            "disagreements": {"type": "array", "items": {"type": "string"}},
            "rationale": {"type": "string"}
        },
        "required": ["ranking", "disagreements", "rationale"]
    })
}

/// The ranking in `value` with the rules applied, or what is wrong with it
/// (a sentence the model reads).
pub fn parse(
    value: &Value,
    input: &JudgeInput,
    judge: &str,
    prompt_tokens: usize,
) -> Result<Ranking, String> {
    let items = value
        .get("ranking")
        .and_then(Value::as_array)
        .ok_or("\"ranking\" must be a list of variants.")?;
    let known: BTreeSet<u32> = input.view.variants.iter().map(|v| v.index).collect();
    let mut seen = BTreeSet::new();
    let mut ranked = Vec::with_capacity(items.len());
    for item in items {
        let index = item
            .get("variant")
            .and_then(Value::as_u64)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or("Every entry of \"ranking\" needs \"variant\", a variant's number.")?;
        if !known.contains(&index) {
            return Err(format!(
                "The ranking names variant {index}, which this experiment does not have (it has {}).",
                list(&known)
            ));
        }
        if !seen.insert(index) {
            return Err(format!("The ranking names variant {index} twice."));
        }
        let variant = input
            .view
            .variants
            .iter()
            .find(|v| v.index == index)
            .ok_or("a variant vanished")?;
        ranked.push(Ranked {
            variant: index,
            name: variant.name.clone(),
            standing: input.standing(variant),
            scores: crate::review::parse_scores_in(item, &input.rubric.criteria)?,
            paragraph: text_at(item, "paragraph")?,
        });
    }
    let missing: BTreeSet<u32> = known.difference(&seen).copied().collect();
    if !missing.is_empty() {
        return Err(format!(
            "The ranking leaves out variant {}. Rank every variant exactly once.",
            list(&missing)
        ));
    }
    let overrides = apply_rules(&mut ranked, input.options);
    Ok(Ranking {
        ranked,
        disagreements: strings_at(value, "disagreements")?,
        rationale: text_at(value, "rationale")?,
        overrides,
        options: input.options,
        judge: judge.to_owned(),
        rubric_source: input
            .rubric
            .source
            .as_ref()
            .map(|p| p.display().to_string()),
        rubric_warning: input.rubric.warning.clone(),
        prompt_tokens: prompt_tokens as u64,
        budget_tokens: JUDGE_BUDGET_TOKENS as u64,
        created_at: crate::experiment::now_rfc3339(),
    })
}

fn list(indices: &BTreeSet<u32>) -> String {
    indices
        .iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// Moves failed checks below every passing variant (unless they may
/// compete) and variants without changes to the end, keeping the judge's
/// order within each group; says what moved.
pub fn apply_rules(ranked: &mut [Ranked], options: JudgeOptions) -> Vec<String> {
    let group = |r: &Ranked| match r.standing {
        Standing::Passing => 0,
        Standing::CheckFailed if options.failed_checks_compete => 0,
        Standing::CheckFailed => 1,
        Standing::NoChanges => 2,
    };
    let before: Vec<u32> = ranked.iter().map(|r| r.variant).collect();
    ranked.sort_by_key(group);
    let mut overrides = Vec::new();
    for (position, r) in ranked.iter().enumerate() {
        let was = before
            .iter()
            .position(|v| *v == r.variant)
            .unwrap_or(position);
        if position <= was {
            continue;
        }
        overrides.push(match r.standing {
            Standing::NoChanges => format!(
                "Variant {} ({}) was moved to the end: it changed nothing.",
                r.variant, r.name
            ),
            _ => format!(
                "Variant {} ({}) was moved below every passing variant: its check failed.",
                r.variant, r.name
            ),
        });
    }
    overrides
}

/// Estimated tokens of `text`.
pub fn tokens(text: &str) -> usize {
    text.len().div_ceil(CHARS_PER_TOKEN)
}
