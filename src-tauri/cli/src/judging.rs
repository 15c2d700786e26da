//! `fanout review`, `judge` and `differ`: a model's reading of the variants,
//! printed for humans or as one JSON document.

use fanout_engine::api::Fanout;
use fanout_engine::differ::Difference;
use fanout_engine::ids::VariantIndex;
use fanout_engine::judge::{JudgeOptions, Ranking};
use fanout_engine::llm::ApiEndpoint;
use fanout_engine::oneshot::{Asker, AskerChoice};
use fanout_engine::orchestrator::{Environment, Executables, RunConfig};
use fanout_engine::paths::Paths;
use fanout_engine::review::Review;
use fanout_engine::Error;
use serde_json::json;

use crate::Failure;

/// Who answers: `--reviewer` and `--model`.
pub struct Reviewer {
    pub choice: String,
    pub model: Option<String>,
}

/// What is asked.
pub enum Ask {
    Review {
        experiment: String,
        variant: Option<String>,
        budget: usize,
    },
    Judge {
        experiment: String,
        options: JudgeOptions,
    },
    Differ {
        experiment: String,
        a: String,
        b: String,
    },
}

pub fn ask(ask: Ask, reviewer: Reviewer, json_out: bool) -> Result<(), Failure> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::Message(format!("Could not start Fanout's runtime: {e}. Try again."))
        })?;
    runtime.block_on(async move {
        let fanout = Fanout::open(
            Paths::from_env()?,
            Environment::default(),
            RunConfig::default(),
        )?;
        let asker = asker(&fanout, &ask, reviewer).await?;
        match ask {
            Ask::Review {
                experiment,
                variant,
                budget,
            } => {
                let (id, indices) = fanout
                    .blocking(move |e| {
                        let id = e.resolve(&experiment)?;
                        let view = e.experiment(&id)?;
                        let indices = match variant {
                            Some(selector) => vec![crate::variant(e, id.as_str(), &selector)?.1],
                            // Every variant with work to review.
                            None => view
                                .variants
                                .iter()
                                .filter(|v| {
                                    v.head_commit.as_deref()
                                        != Some(view.experiment.base_commit.as_str())
                                })
                                .map(|v| VariantIndex(v.index))
                                .collect(),
                        };
                        Ok((id, indices))
                    })
                    .await?;
                let mut reviews = Vec::new();
                for index in indices {
                    reviews.push(fanout.review(&id, index, &asker, budget).await?);
                }
                print_reviews(&reviews, json_out);
            }
            Ask::Judge {
                experiment,
                options,
            } => {
                let id = fanout.blocking(move |e| e.resolve(&experiment)).await?;
                print_ranking(&fanout.judge(&id, &asker, options).await?, json_out);
            }
            Ask::Differ { experiment, a, b } => {
                let (id, a, b) = fanout
                    .blocking(move |e| {
                        let (id, a) = crate::variant(e, &experiment, &a)?;
                        let (_, b) = crate::variant(e, id.as_str(), &b)?;
                        Ok((id, a, b))
                    })
                    .await?;
                print_difference(&fanout.differ(&id, a, b, &asker).await?, json_out);
            }
        }
        Ok::<(), Error>(())
    })?;
    Ok(())
}

/// The reviewer the flags name, in the experiment's repository.
async fn asker(fanout: &Fanout, ask: &Ask, reviewer: Reviewer) -> Result<Asker, Error> {
    let choice: AskerChoice = reviewer
        .choice
        .parse()
        .map_err(fanout_engine::settings::SettingsError::Invalid)?;
    let experiment = match ask {
        Ask::Review { experiment, .. }
        | Ask::Judge { experiment, .. }
        | Ask::Differ { experiment, .. } => experiment.clone(),
    };
    fanout
        .blocking(move |e| {
            let workdir = e.experiment(&e.resolve(&experiment)?)?.experiment.repo_root;
            let api = ApiEndpoint {
                model: reviewer.model,
                ..ApiEndpoint::default()
            };
            Asker::choose(choice, &Executables::from_env(), workdir, &api)
        })
        .await
}

fn json_line(value: serde_json::Value) {
    println!(
        "{}",
        serde_json::to_string_pretty(&value).unwrap_or_else(|_| "null".into())
    );
}

fn print_reviews(reviews: &[Review], json_out: bool) {
    if json_out {
        return json_line(json!({ "reviews": reviews }));
    }
    for r in reviews {
        println!("Variant {} — reviewed by {}", r.variant, r.reviewer);
        for point in &r.changes {
            println!("  • {} ({})", point.what, point.files.join(", "));
        }
        for risk in &r.risks {
            println!("  risk: {risk}");
        }
        println!(
            "  tests: {} {}",
            if r.tests.covered {
                "covered."
            } else {
                "not covered."
            },
            r.tests.note
        );
        for creep in &r.scope_creep {
            println!("  beyond the task: {creep}");
        }
        let scores: Vec<String> = r
            .scores
            .iter()
            .map(|s| format!("{} {}", s.criterion, s.score))
            .collect();
        println!(
            "  scores: {} (mean {:.1})",
            scores.join(", "),
            r.mean_score()
        );
        if !r.summarised_files.is_empty() {
            println!(
                "  not read in full (over the {}-token budget): {}",
                r.budget_tokens,
                r.summarised_files.join(", ")
            );
        }
        println!();
    }
}

fn print_ranking(ranking: &Ranking, json_out: bool) {
    if json_out {
        return json_line(json!(ranking));
    }
    println!("Ranking by {}", ranking.judge);
    for (place, r) in ranking.ranked.iter().enumerate() {
        let scores: Vec<String> = r
            .scores
            .iter()
            .map(|s| format!("{} {}", s.criterion, s.score))
            .collect();
        println!(
            "\n{}. variant {} — {} [{}]",
            place + 1,
            r.variant,
            r.name,
            scores.join(", ")
        );
        println!("   {}", r.paragraph);
    }
    if !ranking.disagreements.is_empty() {
        println!("\nWhere they disagree:");
        for d in &ranking.disagreements {
            println!("  • {d}");
        }
    }
    for o in &ranking.overrides {
        println!("\nRule: {o}");
    }
    if let Some(warning) = &ranking.rubric_warning {
        println!("\nRubric: {warning}");
    }
    println!("\n{}", ranking.rationale);
}

fn print_difference(d: &Difference, json_out: bool) {
    if json_out {
        return json_line(json!(d));
    }
    println!("Variant {} against variant {} — by {}\n", d.b, d.a, d.by);
    println!("{}\n", d.summary);
    println!("Design:    {}", d.design);
    println!("Behaviour: {}", d.behaviour);
    println!("Tests:     {}", d.tests);
}
