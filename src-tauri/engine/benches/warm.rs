//! N variants must not mean N cold builds. A Rust crate with about 30
//! dependencies and its own tests, built once in the user's checkout; then
//! the first `cargo test` after a one-file change, three ways:
//!
//! - in the checkout itself (the floor: what the user pays by hand);
//! - as the first check of each of 3 variants, warmed by Fanout (their own
//!   copy of the checkout's `target/`: copy-on-write where the disk can, see
//!   `fanout_engine::warm`), run through Fanout in the check's sandbox,
//!   which shows the worktree at the checkout's path;
//! - as the first check of each of 3 variants started cold (warming off),
//!   as before.
//!
//! Target: warm ≤ 1.5× the checkout. Also prints what warming cost (time,
//! size, method) from the run record.
//!
//! Run: `cargo bench -p fanout-engine --bench warm`. Needs the crates below
//! in cargo's registry cache (building Fanout puts them there); it runs
//! cargo with `--offline`.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fanout_engine::api::Fanout;
use fanout_engine::experiment::{ApproachSpec, NewExperiment};
use fanout_engine::ids::VariantIndex;
use fanout_engine::orchestrator::{Environment, Job, RunConfig};
use fanout_engine::paths::Paths;
use fanout_engine::repo_settings::RepoSettings;
use fanout_testsupport::Fixture;

/// Dependencies Fanout itself builds with, so the registry has them.
const DEPENDENCIES: &str = r#"
serde = { version = "1", features = ["derive"] }
serde_json = "1"
regex = "1"
thiserror = "2"
sha2 = "0.10"
base64 = "0.22"
shell-words = "1"
globset = "0.4"
similar = "2"
time = { version = "0.3", features = ["formatting"] }
"#;

const LIB: &str = r#"
use serde::{Deserialize, Serialize};

#[derive(Debug, Serialize, Deserialize, PartialEq)]
pub struct Greeting { pub to: String, pub words: Vec<String> }

pub fn greet(to: &str) -> String {
    let g = Greeting { to: to.into(), words: shell_words::split("hello there").unwrap() };
    let json = serde_json::to_string(&g).unwrap();
    let re = regex::Regex::new(r"[a-z]+").unwrap();
    let digest = sha2::Sha256::digest(json.as_bytes());
    use sha2::Digest;
    let _ = (similar::TextDiff::from_lines("a", "b").ratio(), globset::Glob::new("*.rs"));
    format!("{} {} {}", re.find_iter(&json).count(), base64::Engine::encode(&base64::engine::general_purpose::STANDARD, &digest[..4]), g.to)
}

#[cfg(test)]
mod tests {
    #[test]
    fn greets() { assert!(super::greet("you").ends_with("you")); }
}
"#;

fn main() {
    let fx = Fixture::new();
    fx.write(
        "Cargo.toml",
        format!(
            "[package]\nname = \"warmbench\"\nversion = \"0.1.0\"\nedition = \"2021\"\n\n[dependencies]\n{DEPENDENCIES}"
        ),
    );
    fx.write("src/lib.rs", LIB);
    fx.write(".gitignore", "target/\n");
    cargo(&fx.root, &["generate-lockfile", "--offline"]);
    fx.commit_all("a crate with dependencies");
    let first = timed(|| cargo(&fx.root, &["test", "--offline", "-q"]));
    println!(
        "the user's first build and test in the checkout: {:.1} s",
        first.as_secs_f64()
    );

    // The floor: the same one-file change in the checkout, built by hand.
    change(&fx.root, 0);
    let checkout = timed(|| cargo(&fx.root, &["test", "--offline", "-q"]));
    fx.git(&["checkout", "--", "src/lib.rs"]);
    cargo(&fx.root, &["test", "--offline", "-q"]);

    let warm = variants(&fx, "warm", None);
    let cold = variants(&fx, "cold", Some(Vec::new()));

    println!("\nThe first `cargo test` after changing src/lib.rs (seconds):");
    println!(
        "  in the checkout                      {:>6.1}",
        checkout.as_secs_f64()
    );
    for (name, runs) in [
        ("warm worktrees (3)", &warm),
        ("cold worktrees (3, as before)", &cold),
    ] {
        let secs: Vec<String> = runs
            .iter()
            .map(|d| format!("{:.1}", d.as_secs_f64()))
            .collect();
        let worst = runs.iter().max().copied().unwrap_or_default();
        println!(
            "  {name:<36} {:>6}  worst {:.2}× the checkout",
            secs.join(" / "),
            worst.as_secs_f64() / checkout.as_secs_f64()
        );
    }
}

/// An experiment of 3 variants with warming as `warm` says; each variant
/// changes src/lib.rs and runs the experiment's check (`cargo test`) through
/// Fanout, in its sandbox, as a variant's first check runs. The checks'
/// times, in order.
fn variants(fx: &Fixture, name: &str, warm: Option<Vec<String>>) -> Vec<Duration> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        let paths = Paths::at(fx.sibling(&format!("home-{name}")));
        let fanout = Fanout::open(paths, Environment::default(), RunConfig::default())
            .expect("Fanout opens");
        let engine = fanout.engine();
        engine
            .save_repo_settings(
                &fx.root,
                RepoSettings {
                    warm,
                    ..RepoSettings::default()
                },
            )
            .expect("repository settings");
        let started = Instant::now();
        let view = engine
            .create_experiment(NewExperiment {
                repo: fx.root.clone(),
                task: format!("{name} builds"),
                approaches: (1..=3)
                    .map(|i| ApproachSpec {
                        name: format!("{name} {i}"),
                        ..ApproachSpec::default()
                    })
                    .collect(),
                include_uncommitted: false,
                worktree_root: Some(fx.sibling(&format!("worktrees-{name}"))),
                default_agent: "claude-code".into(),
                run: RunConfig {
                    check: Some("cargo test --offline -q".into()),
                    sandbox: true,
                    ..RunConfig::default()
                },
            })
            .expect("experiment");
        println!(
            "\n{name}: 3 worktrees created in {:.1} s",
            started.elapsed().as_secs_f64()
        );
        let id = view.id();
        let mut times = Vec::new();
        for v in &view.variants {
            let events = engine
                .events(&id, VariantIndex(v.index), 0, 100)
                .expect("events");
            if let Some(warmed) = events.iter().find(|e| e.kind == "warmed") {
                println!("  variant {} warmed: {}", v.index, warmed.payload);
            }
            change(&v.worktree, v.index);
            let job = Job::Check {
                experiment: id.clone(),
                variant: VariantIndex(v.index),
            };
            fanout
                .submit(job)
                .await
                .expect("the check starts")
                .finished()
                .await;
            let after = engine.experiment(&id).expect("the experiment");
            let check = after.variants[v.index as usize - 1]
                .check
                .clone()
                .expect("the check ran");
            assert_eq!(check.exit_code, Some(0), "{}", check.output_tail);
            times.push(Duration::from_millis(check.duration_ms));
        }
        times
    })
}

/// What a variant does: one more function in src/lib.rs.
fn change(dir: &Path, n: u32) {
    let path = dir.join("src/lib.rs");
    let mut text = std::fs::read_to_string(&path).expect("src/lib.rs");
    text.push_str(&format!("\npub fn added_{n}() -> u32 {{ {n} }}\n"));
    std::fs::write(&path, text).expect("write src/lib.rs");
}

fn cargo(dir: &Path, args: &[&str]) {
    let status = Command::new("cargo")
        .args(args)
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("RUSTFLAGS")
        .status()
        .expect("cargo runs");
    assert!(status.success(), "cargo {args:?} in {}", dir.display());
}

fn timed(work: impl FnOnce()) -> Duration {
    let started = Instant::now();
    work();
    started.elapsed()
}
