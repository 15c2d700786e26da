//! A reviewer model's reading of one variant: what the change does (each
//! point naming its files), its risks, whether tests cover it, what it
//! changed that the task did not ask for, and a score per criterion of the
//! rubric ([`crate::rubric`]).
//!
//! The reviewer reads the task, the approach, the variant's diff against
//! the base, its check result and the agent's summary. The diff is bounded
//! by a token budget: whole patches, smallest first, while they fit; every
//! other file is named with its line counts, and the prompt and the review
//! both say which files were summarised so, never cut silently.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use ts_rs::TS;

use crate::diff::{FileChange, FileDiff, LineKind};
use crate::experiment::{variant_of, Engine, ExperimentView};
use crate::ids::{ExperimentId, VariantIndex};
use crate::oneshot::{strings_at, text_at, Question};
use crate::rubric::Rubric;
use crate::store::Variant;
use crate::Error;

/// Tokens of diff a review reads by default (about 4 characters a token).
pub const DEFAULT_BUDGET_TOKENS: usize = 24_000;

/// Characters per token, for the budget: a conservative average for code.
pub const CHARS_PER_TOKEN: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum ReviewError {
    #[error(
        "Variant {index} ({name}) changed nothing against the base, so there is nothing to review."
    )]
    NothingChanged { index: u32, name: String },
}

impl ReviewError {
    pub fn code(&self) -> &'static str {
        match self {
            ReviewError::NothingChanged { .. } => "review.nothing_changed",
        }
    }
}

/// One thing the change does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct ChangePoint {
    pub what: String,
    pub files: Vec<String>,
}

/// Whether the change is tested, and how the reviewer sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct TestsVerdict {
    pub covered: bool,
    pub note: String,
}

/// One criterion's score, 1 to 10.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
pub struct Score {
    pub criterion: String,
    pub score: u8,
}

/// A variant's review.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
pub struct Review {
    pub variant: u32,
    /// 1 to 6 points, each naming files the variant changed.
    pub changes: Vec<ChangePoint>,
    pub risks: Vec<String>,
    pub tests: TestsVerdict,
    /// Changes the task did not ask for.
    pub scope_creep: Vec<String>,
    /// One per criterion of the rubric, in its order.
    pub scores: Vec<Score>,
    /// The model (and how it was reached) that wrote it.
    pub reviewer: String,
    /// Files whose patch did not fit the budget: the reviewer saw only their
    /// names and line counts.
    pub summarised_files: Vec<String>,
    /// The diff's size in tokens (estimated) against the budget.
    pub diff_tokens: u64,
    pub budget_tokens: u64,
    pub created_at: String,
}

impl Review {
    /// The mean of its scores, for ranking and display.
    pub fn mean_score(&self) -> f64 {
        if self.scores.is_empty() {
            return 0.0;
        }
        let sum: u32 = self.scores.iter().map(|s| u32::from(s.score)).sum();
        f64::from(sum) / self.scores.len() as f64
    }
}

/// A diff cut to a budget: whole patches while they fit, names for the rest.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BoundedDiff {
    pub text: String,
    pub shown: Vec<String>,
    pub summarised: Vec<FileChange>,
    /// Files of `summarised` shown in part: (path, hunks shown, hunks in
    /// all, whether the last shown one is cut).
    pub partial: Vec<(String, usize, usize, bool)>,
    pub tokens: usize,
}

/// `files` as unified patches, smallest first, within `budget_tokens`. A
/// file whose patch does not fit whole gives as many of its first hunks as
/// still fit (`partial` says how many); binary and oversized files, and
/// what fits not at all, are named only (`summarised`).
pub fn bounded_diff(files: &[(FileChange, FileDiff)], budget_tokens: usize) -> BoundedDiff {
    let budget = budget_tokens.saturating_mul(CHARS_PER_TOKEN);
    let mut patches: Vec<(&FileChange, &FileDiff, String)> = files
        .iter()
        .map(|(change, diff)| (change, diff, unified(change, diff)))
        .collect();
    patches.sort_by_key(|(_, _, text)| text.len());
    let mut bounded = BoundedDiff::default();
    let mut left_over = Vec::new();
    for (change, diff, text) in patches {
        if !text.is_empty() && bounded.text.len() + text.len() <= budget {
            bounded.text.push_str(&text);
            bounded.shown.push(change.path.clone());
        } else {
            left_over.push((change, diff));
        }
    }
    for (change, diff) in left_over {
        if let Some((header, hunks)) = unified_hunks(change, diff) {
            let fitting = hunks
                .iter()
                .scan(bounded.text.len() + header.len(), |used, hunk| {
                    *used += hunk.len();
                    (*used <= budget).then_some(hunk)
                })
                .count();
            let cut = hunks.get(fitting).map(|next| {
                let room = budget.saturating_sub(
                    bounded.text.len()
                        + header.len()
                        + hunks[..fitting].iter().map(String::len).sum::<usize>(),
                );
                cut_hunk(next, room)
            });
            let cut = cut.flatten();
            if fitting > 0 || cut.is_some() {
                bounded.text.push_str(&header);
                hunks[..fitting]
                    .iter()
                    .for_each(|h| bounded.text.push_str(h));
                if let Some(cut) = &cut {
                    bounded.text.push_str(cut);
                }
                let shown = fitting + usize::from(cut.is_some());
                bounded
                    .partial
                    .push((change.path.clone(), shown, hunks.len(), cut.is_some()));
            }
        }
        bounded.summarised.push(change.clone());
    }
    bounded.summarised.sort_by(|a, b| a.path.cmp(&b.path));
    bounded.tokens = bounded.text.len().div_ceil(CHARS_PER_TOKEN);
    bounded
}

/// One file's patch as `git diff` prints it; empty for binary and oversized
/// files, which have no lines to show.
pub fn unified(change: &FileChange, diff: &FileDiff) -> String {
    unified_hunks(change, diff)
        .map(|(header, hunks)| header + &hunks.concat())
        .unwrap_or_default()
}

/// The first lines of `hunk` that fit in `room` bytes, with a last line
/// saying how many were left out; `None` when not even its header fits with
/// a few lines.
fn cut_hunk(hunk: &str, room: usize) -> Option<String> {
    const MARK_ROOM: usize = 80;
    let lines: Vec<&str> = hunk.split_inclusive('\n').collect();
    let mut text = String::new();
    let mut kept = 0;
    for line in &lines {
        if text.len() + line.len() + MARK_ROOM > room {
            break;
        }
        text.push_str(line);
        kept += 1;
    }
    // The header and at least a few lines, or nothing.
    if kept < 4 {
        return None;
    }
    text.push_str(&format!(
        "\\ … {} more lines of this hunk are not shown (the review's budget)\n",
        lines.len() - kept
    ));
    Some(text)
}

/// A patch's file header and each of its hunks, as text.
fn unified_hunks(change: &FileChange, diff: &FileDiff) -> Option<(String, Vec<String>)> {
    let FileDiff::Patch { hunks, .. } = diff else {
        return None;
    };
    let old = change.old_path.as_deref().unwrap_or(&change.path);
    let header = format!("--- a/{old}\n+++ b/{}\n", change.path);
    let texts = hunks
        .iter()
        .map(|hunk| {
            let mut text = format!(
                "@@ -{},{} +{},{} @@\n",
                hunk.old_start, hunk.old_lines, hunk.new_start, hunk.new_lines
            );
            for line in &hunk.lines {
                text.push(match line.kind {
                    LineKind::Context => ' ',
                    LineKind::Added => '+',
                    LineKind::Removed => '-',
                });
                text.push_str(line.text.strip_suffix('\n').unwrap_or(&line.text));
                text.push('\n');
            }
            text
        })
        .collect();
    Some((header, texts))
}

/// How `bounded` shows `change`: for a prompt's list of what did not fit whole.
pub fn summary_line(bounded: &BoundedDiff, change: &FileChange) -> String {
    let shown = bounded
        .partial
        .iter()
        .find(|(path, ..)| *path == change.path)
        .map(|(_, shown, total, cut)| {
            let cut = if *cut { ", the last of them cut" } else { "" };
            format!(", its first {shown} of {total} hunks shown above{cut}")
        })
        .unwrap_or_default();
    format!(
        "- {} (+{} −{}{}{shown})\n",
        change.path,
        change.added,
        change.removed,
        if change.binary { ", binary" } else { "" }
    )
}

/// What a review is asked from, read from the engine.
#[derive(Debug, Clone)]
pub struct ReviewInput {
    pub view: ExperimentView,
    pub variant: Variant,
    pub rubric: Rubric,
    pub diff: BoundedDiff,
    /// Every file the variant changed, for checking the points' file names.
    pub changed: Vec<String>,
    pub budget_tokens: usize,
}

impl Engine {
    /// Reads what reviewing `index` needs: its diff against the base
    /// (bounded by `budget_tokens`), the rubric, the variant's record.
    pub fn review_input(
        &self,
        id: &ExperimentId,
        index: VariantIndex,
        budget_tokens: usize,
    ) -> Result<ReviewInput, Error> {
        let view = self.experiment(id)?;
        let variant = variant_of(&view, index)?.clone();
        let files = self.render_all(id, index, None, &crate::diff::DiffOptions::default())?;
        if files.is_empty() {
            return Err(ReviewError::NothingChanged {
                index: variant.index,
                name: variant.name.clone(),
            }
            .into());
        }
        let rubric = crate::rubric::load(&view.experiment.repo_root)?;
        let changed = files.iter().map(|(c, _)| c.path.clone()).collect();
        let diff = bounded_diff(&files, budget_tokens);
        Ok(ReviewInput {
            view,
            variant,
            rubric,
            diff,
            changed,
            budget_tokens,
        })
    }

    /// Keeps `review` as its variant's latest.
    pub fn save_review(&self, id: &ExperimentId, review: &Review) -> Result<(), Error> {
        let (id, review) = (id.to_string(), review.clone());
        let created = review.created_at.clone();
        Ok(self
            .writer()
            .call_blocking(move |s| s.set_review(&id, review.variant, &created, &review))??)
    }

    /// Every variant's latest review.
    pub fn reviews(&self, id: &ExperimentId) -> Result<Vec<Review>, Error> {
        let id = id.to_string();
        let reviews: Vec<(u32, Review)> =
            self.writer().call_blocking(move |s| s.reviews(&id))??;
        Ok(reviews.into_iter().map(|(_, r)| r).collect())
    }
}

/// The question a reviewer is asked.
pub fn question(input: &ReviewInput) -> Question {
    let v = &input.variant;
    let mut prompt = format!(
        "Review one variant of a coding task. Several agents attempted the same task, each in its own way; this is one of them.\n\n\
         ## The task\n{task}\n\n\
         ## This variant's approach\n{name}: {description}\nGuidelines: {guidelines}\nAgent: {agent}\n\n\
         ## What the agent said it did\n{summary}\n\n\
         ## Its check\n{check}\n\n\
         ## The rubric\n{rubric}\n\n\
         ## The diff against the base\n",
        task = input.view.experiment.task.trim(),
        name = v.name,
        description = v.description.trim(),
        guidelines = v.guidelines.trim(),
        agent = v.agent,
        summary = v.summary.as_deref().unwrap_or("(nothing)").trim(),
        check = check_text(v),
        rubric = input.rubric.text.trim(),
    );
    prompt.push_str("```diff\n");
    prompt.push_str(&input.diff.text);
    prompt.push_str("```\n");
    if !input.diff.summarised.is_empty() {
        prompt.push_str(&format!(
            "\nThese files changed too, but their patches did not fit the review's budget of {} tokens whole (or are binary):\n",
            input.budget_tokens
        ));
        for change in &input.diff.summarised {
            prompt.push_str(&summary_line(&input.diff, change));
        }
    }
    prompt.push_str(&format!(
        "\nAnswer with: `changes`, 3 to 6 points of what the change does, each naming the files it concerns (paths as in the diff); \
         `risks`; `tests` (whether tests cover the change, and a note); `scope_creep` (changes the task did not ask for); \
         and `scores`, an integer from 1 to 10 for each criterion: {}.",
        input.rubric.criteria.join(", ")
    ));
    Question {
        what: "review",
        system: Some("You are a careful senior reviewer. Judge only what the diff shows; say when you cannot tell.".into()),
        prompt,
        tool: "submit_review",
        schema: schema(&input.rubric.criteria),
    }
}

fn check_text(v: &Variant) -> String {
    match &v.check {
        None => "No check command ran.".to_owned(),
        Some(check) => format!(
            "`{}` {} in {} ms. Its last output:\n{}",
            check.command,
            match check.exit_code {
                Some(0) => "passed".to_owned(),
                Some(code) => format!("failed with exit code {code}"),
                None => "was stopped (timeout or signal)".to_owned(),
            },
            check.duration_ms,
            crate::events::bound(check.output_tail.trim(), 2000)
        ),
    }
}

fn schema(criteria: &[String]) -> Value {
    let scores = crate::rubric::scores_schema(criteria);
    json!({
        "type": "object",
        "properties": {
            "changes": {"type": "array", "items": {
                "type": "object",
                "properties": {"what": {"type": "string"}, "files": {"type": "array", "items": {"type": "string"}}},
                "required": ["what", "files"]
            }},
            "risks": {"type": "array", "items": {"type": "string"}},
            "tests": {"type": "object", "properties": {"covered": {"type": "boolean"}, "note": {"type": "string"}}, "required": ["covered", "note"]},
            "scope_creep": {"type": "array", "items": {"type": "string"}},
            "scores": scores
        },
        "required": ["changes", "risks", "tests", "scope_creep", "scores"]
    })
}

/// The review in `value`, or what is wrong with it (a sentence the model reads).
pub fn parse(value: &Value, input: &ReviewInput, reviewer: &str) -> Result<Review, String> {
    let changes = parse_changes(value, &input.changed)?;
    let tests = value.get("tests").ok_or("\"tests\" is missing.")?;
    let tests = TestsVerdict {
        covered: tests
            .get("covered")
            .and_then(Value::as_bool)
            .ok_or("\"tests.covered\" must be true or false.")?,
        note: text_at(tests, "note").unwrap_or_default(),
    };
    Ok(Review {
        variant: input.variant.index,
        changes,
        risks: strings_at(value, "risks")?,
        tests,
        scope_creep: strings_at(value, "scope_creep")?,
        scores: parse_scores_in(value, &input.rubric.criteria)?,
        reviewer: reviewer.to_owned(),
        summarised_files: input
            .diff
            .summarised
            .iter()
            .map(|c| c.path.clone())
            .collect(),
        diff_tokens: input.diff.tokens as u64,
        budget_tokens: input.budget_tokens as u64,
        created_at: crate::experiment::now_rfc3339(),
    })
}

fn parse_changes(value: &Value, changed: &[String]) -> Result<Vec<ChangePoint>, String> {
    let items = value
        .get("changes")
        .and_then(Value::as_array)
        .ok_or("\"changes\" must be a list of points.")?;
    if items.is_empty() || items.len() > 6 {
        return Err(format!(
            "\"changes\" must hold 1 to 6 points; it held {}.",
            items.len()
        ));
    }
    let known: BTreeSet<&str> = changed.iter().map(String::as_str).collect();
    items
        .iter()
        .map(|item| {
            let what = text_at(item, "what")?;
            let files = strings_at(item, "files")?;
            if files.is_empty() {
                return Err(format!("The point \"{what}\" names no file."));
            }
            if let Some(unknown) = files.iter().find(|f| !known.contains(f.as_str())) {
                return Err(format!(
                    "The point \"{what}\" names {unknown}, which this variant did not change. Name files from the diff."
                ));
            }
            Ok(ChangePoint { what, files })
        })
        .collect()
}

/// The score of each criterion in `value["scores"]`, 1 to 10, in the rubric's order.
pub(crate) fn parse_scores_in(value: &Value, criteria: &[String]) -> Result<Vec<Score>, String> {
    let scores = value
        .get("scores")
        .and_then(Value::as_object)
        .ok_or("\"scores\" must be an object of criterion: score.")?;
    criteria
        .iter()
        .map(|criterion| {
            let score = scores
                .get(criterion)
                .and_then(Value::as_u64)
                .filter(|s| (1..=10).contains(s))
                .ok_or_else(|| {
                    format!("\"scores.{criterion}\" must be an integer from 1 to 10.")
                })?;
            Ok(Score {
                criterion: criterion.clone(),
                score: score as u8,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::{FileStatus, Hunk, Line};

    fn change(path: &str) -> FileChange {
        FileChange {
            path: path.into(),
            old_path: None,
            status: FileStatus::Modified,
            binary: false,
            added: 1,
            removed: 1,
        }
    }

    fn patch(lines: usize) -> FileDiff {
        let line = |kind, text: &str| Line {
            kind,
            old_line: None,
            new_line: None,
            text: format!("{text}\n"),
            emphasis: Vec::new(),
            no_newline_at_end: false,
        };
        FileDiff::Patch {
            hunks: vec![Hunk {
                old_start: 1,
                old_lines: lines as u32,
                new_start: 1,
                new_lines: lines as u32,
                lines: (0..lines)
                    .map(|i| line(LineKind::Added, &format!("line {i}")))
                    .collect(),
            }],
            gaps: Vec::new(),
            added: lines,
            removed: 0,
            timed_out: false,
        }
    }

    #[test]
    fn the_budget_keeps_whole_small_patches_cuts_the_big_one_and_names_the_rest() {
        let files = vec![
            (change("big.rs"), patch(2_000)),
            (change("small.rs"), patch(3)),
            (
                change("image.png"),
                FileDiff::Binary {
                    old_size: 1,
                    new_size: 2,
                },
            ),
        ];
        let bounded = bounded_diff(&files, 500);
        assert_eq!(bounded.shown, ["small.rs"], "the small patch fits whole");
        assert_eq!(
            bounded
                .summarised
                .iter()
                .map(|c| c.path.as_str())
                .collect::<Vec<_>>(),
            ["big.rs", "image.png"],
            "the big patch and the binary file are in the list of what is not shown whole"
        );
        assert!(bounded.text.contains("+line 2\n"));
        assert_eq!(
            bounded.partial,
            [("big.rs".to_owned(), 1, 1, true)],
            "the big patch fills what is left of the budget, cut at a line"
        );
        assert!(
            bounded
                .text
                .contains("more lines of this hunk are not shown"),
            "and the cut says so"
        );
        assert!(bounded.tokens <= 500);
    }
}
