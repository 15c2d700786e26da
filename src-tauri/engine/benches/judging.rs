//! Choosing the winner at scale, on a real repository:
//!
//! - the judge's prompt for 8 variants whose diffs are 5,000 changed lines
//!   each (with a review of each kept): its size in tokens against the
//!   judge's budget, and the review prompts' against theirs;
//! - combining 1,000 hunks picked from one variant into a new one (target:
//!   under 1 s).
//!
//! Run: `cargo bench -p fanout-engine --bench judging`. Prints its own
//! report; `FANOUT_BENCH_RUNS` (default 5) runs of the combination.

use std::time::{Duration, Instant};

use fanout_engine::combine::Take;
use fanout_engine::experiment::{ApproachSpec, Engine, NewExperiment};
use fanout_engine::ids::{ExperimentId, VariantIndex};
use fanout_engine::judge::{self, JudgeOptions, JUDGE_BUDGET_TOKENS};
use fanout_engine::orchestrator::RunConfig;
use fanout_engine::paths::Paths;
use fanout_engine::review::{
    self, ChangePoint, Review, Score, TestsVerdict, DEFAULT_BUDGET_TOKENS,
};
use fanout_testsupport::Fixture;

/// Lines of the file every variant changes.
const LINES: usize = 20_000;

fn main() {
    let runs: usize = std::env::var("FANOUT_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    judge_prompt();
    combination(runs);
}

fn base_text() -> String {
    (1..=LINES)
        .map(|i| format!("line {i} of the file\n"))
        .collect()
}

/// An experiment of `variants` approaches over `big.txt`, each variant's
/// worktree edited by `edit` and committed.
fn experiment(
    variants: usize,
    edit: impl Fn(usize, usize) -> Option<String>,
) -> (Fixture, Engine, ExperimentId) {
    let fx = Fixture::new();
    fx.write("big.txt", base_text());
    fx.commit_all("a big file");
    let engine = Engine::open(Paths::at(fx.sibling("home"))).expect("engine");
    let view = engine
        .create_experiment(NewExperiment {
            repo: fx.root.clone(),
            task: "rewrite the big file".into(),
            approaches: (1..=variants)
                .map(|i| ApproachSpec {
                    name: format!("way {i}"),
                    ..ApproachSpec::default()
                })
                .collect(),
            include_uncommitted: false,
            worktree_root: Some(fx.sibling("worktrees")),
            default_agent: "claude-code".into(),
            run: RunConfig::default(),
        })
        .expect("experiment");
    for (n, v) in view.variants.iter().enumerate() {
        let text: String = (1..=LINES)
            .map(|line| edit(n, line).unwrap_or_else(|| format!("line {line} of the file")) + "\n")
            .collect();
        std::fs::write(v.worktree.join("big.txt"), text).expect("edit");
    }
    let id = view.id();
    engine.commit(&id, None).expect("commit");
    (fx, engine, id)
}

fn judge_prompt() {
    // Variant n rewrites every fourth line from its own offset: 5,000 lines each.
    let (_fx, engine, id) = experiment(8, |n, line| {
        (line % 4 == n % 4).then(|| format!("line {line} rewritten by way {}", n + 1))
    });
    let mut review_tokens = Vec::new();
    for index in 1..=8u32 {
        let input = engine
            .review_input(&id, VariantIndex(index), DEFAULT_BUDGET_TOKENS)
            .expect("review input");
        review_tokens.push(judge::tokens(&review::question(&input).prompt));
        let review = Review {
            variant: index,
            changes: vec![ChangePoint {
                what: "rewrites a quarter of the lines".into(),
                files: vec!["big.txt".into()],
            }],
            risks: vec!["a very large change".into()],
            tests: TestsVerdict {
                covered: false,
                note: "no tests".into(),
            },
            scope_creep: Vec::new(),
            scores: [
                "correctness",
                "tests",
                "scope",
                "simplicity",
                "maintainability",
            ]
            .iter()
            .map(|c| Score {
                criterion: (*c).into(),
                score: 5 + (index % 4) as u8,
            })
            .collect(),
            reviewer: "bench".into(),
            summarised_files: input
                .diff
                .summarised
                .iter()
                .map(|c| c.path.clone())
                .collect(),
            diff_tokens: input.diff.tokens as u64,
            budget_tokens: DEFAULT_BUDGET_TOKENS as u64,
            created_at: "2026-12-07T00:00:00Z".into(),
        };
        engine.save_review(&id, &review).expect("save");
    }
    let started = Instant::now();
    let input = engine
        .judge_input(&id, JudgeOptions::default())
        .expect("judge input");
    let question = judge::question(&input);
    let built = started.elapsed();
    let tokens = judge::tokens(&question.prompt);
    println!("judge prompt, 8 variants × 5,000 changed lines:");
    println!(
        "  {tokens} tokens (budget {JUDGE_BUDGET_TOKENS}: {}), built in {} ms",
        if tokens <= JUDGE_BUDGET_TOKENS {
            "within"
        } else {
            "OVER"
        },
        built.as_millis()
    );
    println!(
        "  review prompts: {} to {} tokens (diff budget {DEFAULT_BUDGET_TOKENS}: the patch is cut to it, and the prompt says where)",
        review_tokens.iter().min().copied().unwrap_or(0),
        review_tokens.iter().max().copied().unwrap_or(0)
    );
}

fn combination(runs: usize) {
    // Variant 1 rewrites every tenth line: with 3 lines of context, 2,000 hunks.
    let (_fx, engine, id) = experiment(1, |_, line| {
        (line % 10 == 0).then(|| format!("line {line} changed"))
    });
    let takes: Vec<Take> = (1..=1_000u32)
        .map(|hunk| Take {
            variant: VariantIndex(1),
            path: "big.txt".into(),
            hunk: Some(2 * hunk - 1),
        })
        .collect();
    let mut times: Vec<Duration> = Vec::new();
    for _ in 0..runs {
        let started = Instant::now();
        let combined = engine.combine(&id, &takes).expect("combined");
        times.push(started.elapsed());
        // Each run adds a variant; the next run's counts the same work.
        let _ = combined;
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!("combining 1,000 hunks of a 20,000-line file into a new variant ({runs} runs):");
    println!(
        "  min {:.0} ms, median {:.0} ms, max {:.0} ms (target: under 1,000 ms)",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    );
}
