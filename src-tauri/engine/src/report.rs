//! The Markdown report of an experiment: the comparison table, each approach
//! with its summary and check, and the similarity matrix.
//!
//! Text from agents (summaries, errors) is escaped where it goes into a table
//! cell, so it can neither break the table nor inject markup; outside the
//! table a summary is quoted as the Markdown the agent wrote.

use std::fmt::Write;

use crate::differ::Difference;
use crate::experiment::{short_id, Engine, ExperimentView};
use crate::ids::ExperimentId;
use crate::judge::Ranking;
use crate::orchestrator::{results, VariantResult};
use crate::review::Review;
use crate::store::Variant;
use crate::Error;

impl Engine {
    /// One variant's section of the report, for a pull request's body: its
    /// approach, summary, check and review, and the judge's rationale.
    pub fn variant_report(
        &self,
        id: &ExperimentId,
        index: crate::ids::VariantIndex,
    ) -> Result<String, Error> {
        let view = self.experiment(id)?;
        let rows = results(&view);
        let (v, r) = view
            .variants
            .iter()
            .zip(&rows)
            .find(|(v, _)| v.index == index.0)
            .ok_or_else(|| crate::store::StoreError::VariantNotFound {
                experiment_id: view.experiment.id.clone(),
                index: index.0,
            })?;
        let judged = Judged {
            reviews: self.reviews(id)?,
            ranking: self.ranking(id)?,
            differences: Vec::new(),
        };
        let mut out = format!("{}\n\n", quote(&view.experiment.task));
        let _ = writeln!(out, "### Approach: {}\n", heading(&v.name));
        render_variant(&mut out, v, r, &judged);
        if let Some(ranking) = &judged.ranking {
            let place = ranking.ranked.iter().position(|x| x.variant == v.index);
            if let Some(place) = place {
                let _ = writeln!(
                    out,
                    "**The judge** ranked it {} of {}: {}\n\n{}\n",
                    place + 1,
                    ranking.ranked.len(),
                    quote(&ranking.ranked[place].paragraph),
                    quote(&ranking.rationale)
                );
            }
        }
        out.push_str("_Made with Fanout._\n");
        Ok(out)
    }

    /// The experiment's report as Markdown.
    pub fn report(&self, id: &ExperimentId) -> Result<String, Error> {
        let view = self.experiment(id)?;
        let rows = results(&view);
        // Branches removed by a clean-up leave no changes to compare.
        let similarity = self.similarity(id).ok();
        let judged = Judged {
            reviews: self.reviews(id)?,
            ranking: self.ranking(id)?,
            differences: self.differences(id)?,
        };
        Ok(render(&view, &rows, similarity.as_deref(), &judged))
    }
}

/// What models said of the variants, as kept.
#[derive(Debug, Clone, Default)]
pub struct Judged {
    pub reviews: Vec<Review>,
    pub ranking: Option<Ranking>,
    pub differences: Vec<Difference>,
}

/// Renders the report from its parts.
pub fn render(
    view: &ExperimentView,
    rows: &[VariantResult],
    similarity: Option<&[Vec<f64>]>,
    judged: &Judged,
) -> String {
    let exp = &view.experiment;
    let mut out = String::new();
    let _ = writeln!(out, "# Fanout experiment {}\n", short_id(&exp.id));
    let _ = writeln!(out, "{}\n", quote(&exp.task));
    let _ = writeln!(
        out,
        "- Repository: `{}`\n- Base commit: `{}`\n- Created: {}\n- Status: {}\n",
        exp.repo_root.display(),
        exp.base_commit,
        exp.created_at,
        exp.status
    );
    out.push_str("## Results\n\n");
    out.push_str(
        "| # | Approach | Status | Time | Turns | Tokens in/out | Cost | Files | +/− | Check |\n",
    );
    out.push_str("|---|---|---|---|---|---|---|---|---|---|\n");
    for r in rows {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} |",
            r.index,
            cell(&r.name),
            r.status,
            r.duration_ms.map_or("–".into(), format_duration),
            opt(r.turns),
            match (r.input_tokens, r.output_tokens) {
                (Some(i), Some(o)) => format!("{i}/{o}"),
                _ => "–".into(),
            },
            r.cost_usd.map_or("–".into(), |c| format!("${c:.4}")),
            opt(r.files_changed),
            match (r.lines_added, r.lines_removed) {
                (Some(a), Some(d)) => format!("+{a}/−{d}"),
                _ => "–".into(),
            },
            check_cell(r),
        );
    }
    out.push('\n');
    if let Some(ranking) = &judged.ranking {
        render_ranking(&mut out, ranking);
    }
    for (v, r) in view.variants.iter().zip(rows) {
        let _ = writeln!(out, "## {}. {}\n", v.index, heading(&v.name));
        render_variant(&mut out, v, r, judged);
    }
    if !judged.differences.is_empty() {
        out.push_str("## What differs\n\n");
        for d in &judged.differences {
            let _ = writeln!(out, "**{} against {}**, by {}\n", d.b, d.a, cell(&d.by));
            let _ = writeln!(out, "{}\n", quote(&d.summary));
            let _ = writeln!(
                out,
                "- Design: {}\n- Behaviour: {}\n- Tests: {}\n",
                cell(&d.design),
                cell(&d.behaviour),
                cell(&d.tests)
            );
        }
    }
    out.push_str("## Similarity\n\n");
    match similarity {
        Some(matrix) if !matrix.is_empty() => {
            out.push_str("How alike the variants' changes are (0 = nothing in common, 1 = identical).\n\n|   |");
            for v in &view.variants {
                let _ = write!(out, " {} |", v.index);
            }
            out.push_str("\n|---|");
            out.push_str(&"---|".repeat(view.variants.len()));
            out.push('\n');
            for (v, row) in view.variants.iter().zip(matrix) {
                let _ = write!(out, "| {} |", v.index);
                for value in row {
                    let _ = write!(out, " {value:.2} |");
                }
                out.push('\n');
            }
        }
        _ => out.push_str("_Not available: the variants' branches are gone._\n"),
    }
    out
}

/// One variant's section: its approach, summary, check, review.
fn render_variant(out: &mut String, v: &Variant, r: &VariantResult, judged: &Judged) {
    let _ = writeln!(
        out,
        "Branch `{}`, agent {}{}{}.\n",
        v.branch,
        v.agent,
        v.model
            .as_ref()
            .map(|m| format!(" ({m})"))
            .unwrap_or_default(),
        v.host
            .as_ref()
            .map(|h| format!(", on the host `{h}`"))
            .unwrap_or_default()
    );
    if !v.description.trim().is_empty() {
        let _ = writeln!(out, "{}\n", v.description.trim());
    }
    if !v.guidelines.trim().is_empty() {
        let _ = writeln!(out, "**Guidelines**\n\n{}\n", v.guidelines.trim());
    }
    out.push_str("**Summary**\n\n");
    let _ = writeln!(
        out,
        "{}\n",
        r.summary.as_deref().map_or("_No summary._".into(), quote)
    );
    if let Some(error) = &r.error {
        let _ = writeln!(out, "**Error**: {}\n", cell(error));
    }
    if let Some(check) = &r.check {
        let _ = writeln!(
            out,
            "**Check** `{}`: {} in {}\n\n```text\n{}\n```\n",
            check.command.replace('`', "'"),
            check
                .exit_code
                .map_or("no exit code".into(), |c| format!("exit {c}")),
            format_duration(check.duration_ms),
            check.output_tail.replace("```", "'''")
        );
    }
    if let Some(review) = judged.reviews.iter().find(|rv| rv.variant == v.index) {
        render_review(out, review);
    }
}

/// The judge's ranking: a table, then its words, quoted (they are a model's).
fn render_ranking(out: &mut String, ranking: &Ranking) {
    out.push_str("## Ranking\n\n");
    let _ = writeln!(out, "By {}.\n", cell(&ranking.judge));
    out.push_str("| Place | # | Approach | Scores |\n|---|---|---|---|\n");
    for (place, r) in ranking.ranked.iter().enumerate() {
        let scores: Vec<String> = r
            .scores
            .iter()
            .map(|s| format!("{} {}", s.criterion, s.score))
            .collect();
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            place + 1,
            r.variant,
            cell(&r.name),
            cell(&scores.join(", "))
        );
    }
    out.push('\n');
    for r in &ranking.ranked {
        let _ = writeln!(
            out,
            "**{}. {}**\n\n{}\n",
            r.variant,
            heading(&r.name),
            quote(&r.paragraph)
        );
    }
    if !ranking.disagreements.is_empty() {
        out.push_str("**Where the variants disagree**\n\n");
        for d in &ranking.disagreements {
            let _ = writeln!(out, "- {}", cell(d));
        }
        out.push('\n');
    }
    for o in &ranking.overrides {
        let _ = writeln!(out, "_{}_\n", cell(o));
    }
    let _ = writeln!(out, "{}\n", quote(&ranking.rationale));
}

/// A variant's review, each of the reviewer's sentences escaped.
fn render_review(out: &mut String, review: &Review) {
    let _ = writeln!(out, "**Review** by {}\n", cell(&review.reviewer));
    for point in &review.changes {
        let _ = writeln!(
            out,
            "- {} ({})",
            cell(&point.what),
            cell(&point.files.join(", "))
        );
    }
    for risk in &review.risks {
        let _ = writeln!(out, "- Risk: {}", cell(risk));
    }
    let _ = writeln!(
        out,
        "- Tests: {} {}",
        if review.tests.covered {
            "covered."
        } else {
            "not covered."
        },
        cell(&review.tests.note)
    );
    for creep in &review.scope_creep {
        let _ = writeln!(out, "- Beyond the task: {}", cell(creep));
    }
    let scores: Vec<String> = review
        .scores
        .iter()
        .map(|s| format!("{} {}", s.criterion, s.score))
        .collect();
    let _ = writeln!(out, "- Scores: {}\n", cell(&scores.join(", ")));
}

/// Text made safe for one table cell: one line, no table or inline syntax.
pub fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .chars()
    {
        match ch {
            '|' | '\\' | '`' | '*' | '_' | '[' | ']' | '#' | '~' => {
                out.push('\\');
                out.push(ch);
            }
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            _ => out.push(ch),
        }
    }
    out
}

fn heading(text: &str) -> String {
    cell(text)
}

/// A block quote, so the agent's own Markdown cannot end the section.
fn quote(text: &str) -> String {
    text.trim()
        .lines()
        .map(|line| format!("> {line}").trim_end().to_owned())
        .collect::<Vec<_>>()
        .join("\n")
}

fn check_cell(r: &VariantResult) -> String {
    match (&r.check, r.check_passed) {
        (None, _) => "–".into(),
        (Some(_), Some(true)) => "passed".into(),
        (Some(c), _) => c
            .exit_code
            .map_or("failed".into(), |code| format!("failed ({code})")),
    }
}

fn opt<T: std::fmt::Display>(value: Option<T>) -> String {
    value.map_or("–".into(), |v| v.to_string())
}

/// `850 ms`, `12.3 s`, `4 min 05 s`.
pub fn format_duration(ms: u64) -> String {
    match ms {
        0..=999 => format!("{ms} ms"),
        1000..=59_999 => format!("{:.1} s", ms as f64 / 1000.0),
        _ => format!("{} min {:02} s", ms / 60_000, (ms / 1000) % 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_cannot_break_the_table_or_inject_markup() {
        let text = "a | b\nnew line <script>*bold*";
        let escaped = cell(text);
        assert!(!escaped.contains('\n'), "one line: {escaped}");
        assert!(!escaped.contains(" | "), "pipes are escaped: {escaped}");
        assert!(escaped.contains("\\|"), "{escaped}");
        assert!(escaped.contains("&lt;script&gt;"), "no raw HTML: {escaped}");
        assert!(escaped.contains("\\*bold\\*"), "no emphasis: {escaped}");
    }

    #[test]
    fn durations_read_naturally() {
        assert_eq!(format_duration(850), "850 ms");
        assert_eq!(format_duration(12_340), "12.3 s");
        assert_eq!(format_duration(245_000), "4 min 05 s");
    }
}
