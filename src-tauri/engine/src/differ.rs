//! What differs between two variants, in words: the substantive difference
//! in design, behaviour and tests, read from their approaches and the diff
//! between them. Asked on demand and kept, so the compare view shows it
//! again without asking.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use ts_rs::TS;

use crate::experiment::{variant_of, Engine, ExperimentView};
use crate::ids::{ExperimentId, VariantIndex};
use crate::oneshot::{text_at, Question};
use crate::review::{bounded_diff, BoundedDiff};
use crate::Error;

/// Tokens of the diff between the two variants the explanation reads.
pub const DIFFER_BUDGET_TOKENS: usize = 16_000;

/// The difference between variants `a` and `b`, in words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Difference {
    pub a: u32,
    pub b: u32,
    /// One or two sentences.
    pub summary: String,
    pub design: String,
    pub behaviour: String,
    pub tests: String,
    /// Files whose patch did not fit the budget (named only).
    pub summarised_files: Vec<String>,
    pub by: String,
    pub created_at: String,
}

/// What an explanation is asked from.
#[derive(Debug, Clone)]
pub struct DifferInput {
    pub view: ExperimentView,
    pub a: u32,
    pub b: u32,
    pub diff: BoundedDiff,
}

impl Engine {
    /// Reads the two variants and the diff from `a` to `b`.
    pub fn differ_input(
        &self,
        id: &ExperimentId,
        a: VariantIndex,
        b: VariantIndex,
    ) -> Result<DifferInput, Error> {
        let view = self.experiment(id)?;
        variant_of(&view, a)?;
        variant_of(&view, b)?;
        let files = self.render_all(id, b, Some(a), &crate::diff::DiffOptions::default())?;
        Ok(DifferInput {
            view,
            a: a.0,
            b: b.0,
            diff: bounded_diff(&files, DIFFER_BUDGET_TOKENS),
        })
    }

    pub fn save_difference(&self, id: &ExperimentId, difference: &Difference) -> Result<(), Error> {
        let (id, difference) = (id.to_string(), difference.clone());
        let created = difference.created_at.clone();
        Ok(self.writer().call_blocking(move |s| {
            s.set_difference(&id, (difference.a, difference.b), &created, &difference)
        })??)
    }

    /// Every explanation kept for the experiment.
    pub fn differences(&self, id: &ExperimentId) -> Result<Vec<Difference>, Error> {
        let id = id.to_string();
        Ok(self.writer().call_blocking(move |s| s.differences(&id))??)
    }

    /// What differs between `a` and `b`, when it was asked before.
    pub fn difference(
        &self,
        id: &ExperimentId,
        a: VariantIndex,
        b: VariantIndex,
    ) -> Result<Option<Difference>, Error> {
        let id = id.to_string();
        Ok(self
            .writer()
            .call_blocking(move |s| s.difference(&id, (a.0, b.0)))??)
    }
}

/// The question asked.
pub fn question(input: &DifferInput) -> Question {
    let side = |index: u32| {
        input
            .view
            .variants
            .iter()
            .find(|v| v.index == index)
            .map(|v| format!("Variant {}, {}: {}", v.index, v.name, v.description.trim()))
            .unwrap_or_default()
    };
    let mut prompt = format!(
        "Two agents did the same coding task in different ways. Explain the substantive difference between their results: \
         design, behaviour and tests. Not the wording or formatting.\n\n## The task\n{}\n\n## A\n{}\n\n## B\n{}\n\n\
         ## The diff from A's result to B's\n```diff\n{}```\n",
        input.view.experiment.task.trim(),
        side(input.a),
        side(input.b),
        input.diff.text
    );
    if !input.diff.summarised.is_empty() {
        prompt.push_str("\nThese files differ too, but did not fit whole:\n");
        for change in &input.diff.summarised {
            prompt.push_str(&crate::review::summary_line(&input.diff, change));
        }
    }
    prompt.push_str(
        "\nAnswer with `summary` (one or two sentences), `design`, `behaviour` and `tests` (a few sentences each; say \"no difference\" where there is none).",
    );
    Question {
        what: "explanation of the difference",
        system: None,
        prompt,
        tool: "explain_difference",
        schema: json!({
            "type": "object",
            "properties": {
                "summary": {"type": "string"},
                "design": {"type": "string"},
                "behaviour": {"type": "string"},
                "tests": {"type": "string"}
            },
            "required": ["summary", "design", "behaviour", "tests"]
        }),
    }
}

/// The explanation in `value`, or what is wrong with it.
pub fn parse(value: &Value, input: &DifferInput, by: &str) -> Result<Difference, String> {
    Ok(Difference {
        a: input.a,
        b: input.b,
        summary: text_at(value, "summary")?,
        design: text_at(value, "design")?,
        behaviour: text_at(value, "behaviour")?,
        tests: text_at(value, "tests")?,
        summarised_files: input
            .diff
            .summarised
            .iter()
            .map(|c| c.path.clone())
            .collect(),
        by: by.to_owned(),
        created_at: crate::experiment::now_rfc3339(),
    })
}
