//! Fan-out benchmark: creating 8 worktrees of a 5,000-file repository with
//! `worktree::create_all` against 8 sequential `git worktree add`, in one run.
//! Target: at most 0.7× the sequential time.
//!
//! For the record it also times the pure-libgit2 way (one `Repository` per
//! thread, `Repository::worktree`), which `create_all` does not use: its
//! failures and figures are why (see `register_each` in worktree.rs).
//!
//! Run: `cargo bench -p fanout-engine --bench fanout`. Environment:
//! `FANOUT_BENCH_ROUNDS` (default 5), `FANOUT_BENCH_FILES` (default 5000).

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use fanout_engine::worktree::{self, NewWorktree};
use fanout_testsupport::{git, Fixture};

const WORKTREES: u32 = 8;

fn main() {
    let rounds = env_number("FANOUT_BENCH_ROUNDS", 5);
    let files = env_number("FANOUT_BENCH_FILES", 5_000);
    let started = Instant::now();
    let fx = Fixture::empty();
    build_repo(&fx, files);
    let base = fx.head();
    let repo = fx.root.clone();
    println!(
        "fan-out benchmark: {WORKTREES} worktrees of a repository of {files} files, {rounds} rounds (repository built in {:.1?})",
        started.elapsed()
    );

    let (mut sequential, mut fanout, mut libgit2) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let root = fx.sibling(&format!("round-{round}"));
        // Alternating the order keeps a warm or cold page cache from always
        // favouring the same contender.
        let order: [u8; 3] = if round % 2 == 0 { [0, 1, 2] } else { [2, 1, 0] };
        for contender in order {
            match contender {
                0 => sequential.push(time(|| sequential_git(&repo, &base, &root, round))),
                1 => fanout.push(time(|| create_all(&repo, &base, &root, round))),
                _ => {
                    let start = Instant::now();
                    let outcome = libgit2_parallel(&repo, &base, &root, round);
                    libgit2.push(outcome.map(|()| start.elapsed()));
                }
            }
        }
        cleanup(&repo);
        let lg2 = match &libgit2[round] {
            Ok(d) => format!("{d:.1?}"),
            Err(e) => format!("failed ({e})"),
        };
        println!(
            "  round {}: sequential git {:>8.1?}  create_all {:>8.1?}  libgit2 parallel {lg2}",
            round + 1,
            sequential[round],
            fanout[round],
        );
    }

    let (seq, fan) = (median(&sequential), median(&fanout));
    println!("medians: sequential `git worktree add` {seq:.1?}, create_all {fan:.1?}");
    println!(
        "ratio create_all / sequential git: {:.2}x (target <= 0.70x)",
        fan.as_secs_f64() / seq.as_secs_f64()
    );
    let lg2: Vec<Duration> = libgit2
        .iter()
        .filter_map(|r| r.as_ref().ok().copied())
        .collect();
    let failed = libgit2.len() - lg2.len();
    if lg2.is_empty() {
        println!("libgit2 parallel: failed in every round");
    } else {
        let lg2 = median(&lg2);
        println!(
            "libgit2 parallel: median {lg2:.1?}, {:.2}x sequential git; failed in {failed} of {rounds} rounds",
            lg2.as_secs_f64() / seq.as_secs_f64()
        );
    }
}

fn create_all(repo: &Path, base: &str, root: &Path, round: usize) {
    let approaches: Vec<NewWorktree> = (1..=WORKTREES)
        .map(|index| NewWorktree {
            index,
            approach_slug: format!("approach-{index}"),
        })
        .collect();
    let created = worktree::create_all(
        repo,
        &root.join("fanout"),
        &format!("bench-{round}"),
        base,
        &approaches,
    )
    .expect("create_all succeeds");
    assert_eq!(created.len(), WORKTREES as usize);
}

fn sequential_git(repo: &Path, base: &str, root: &Path, round: usize) {
    for i in 1..=WORKTREES {
        let path = root.join("git").join(i.to_string());
        let branch = format!("fanout/seq-{round}/{i}");
        git(
            repo,
            &[
                "worktree",
                "add",
                "--quiet",
                "-b",
                &branch,
                path.to_str().expect("utf-8 temp path"),
                base,
            ],
        );
    }
}

/// libgit2's own worktree creation, one `Repository` per thread. It can fail
/// under concurrency (its "branch already checked out" check reads the other,
/// half-created worktrees), so failures are reported, not fatal.
fn libgit2_parallel(repo: &Path, base: &str, root: &Path, round: usize) -> Result<(), String> {
    let base = git2::Oid::from_str(base).map_err(|e| e.to_string())?;
    std::fs::create_dir_all(root.join("libgit2")).map_err(|e| e.to_string())?;
    let outcomes: Vec<Result<(), git2::Error>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (1..=WORKTREES)
            .map(|i| {
                scope.spawn(move || {
                    let repo = git2::Repository::open(repo)?;
                    let commit = repo.find_commit(base)?;
                    let branch = repo.branch(&format!("fanout/lg2-{round}/{i}"), &commit, false)?;
                    let mut opts = git2::WorktreeAddOptions::new();
                    opts.reference(Some(branch.get()));
                    let path = root.join("libgit2").join(i.to_string());
                    repo.worktree(&format!("lg2-{round}-{i}"), &path, Some(&opts))
                        .map(|_| ())
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("no panic"))
            .collect()
    });
    let errors: Vec<String> = outcomes
        .into_iter()
        .filter_map(|r| r.err())
        .map(|e| e.message().to_string())
        .collect();
    match errors.first() {
        None => Ok(()),
        Some(first) => Err(format!(
            "{} of {WORKTREES} failed, e.g. {first}",
            errors.len()
        )),
    }
}

/// Removes every worktree and benchmark branch through `worktree::remove`, so
/// the next round starts from a repository with only the main checkout.
fn cleanup(repo: &Path) {
    let listing = git(repo, &["worktree", "list", "--porcelain"]);
    let mut pairs = Vec::new();
    let mut path: Option<PathBuf> = None;
    for line in listing.lines() {
        if let Some(p) = line.strip_prefix("worktree ") {
            path = Some(PathBuf::from(p));
        } else if let Some(b) = line.strip_prefix("branch refs/heads/") {
            if let (true, Some(p)) = (b.starts_with("fanout/"), path.take()) {
                pairs.push((b.to_string(), p));
            }
        }
    }
    let report = worktree::remove(repo, &pairs, None, true).expect("cleanup succeeds");
    assert_eq!(
        report.removed.len(),
        pairs.len(),
        "every benchmark worktree was removed"
    );
    // What a failed libgit2 round may leave: half-made registrations, and
    // branches it created before failing.
    git(repo, &["worktree", "prune"]);
    let leftovers = git(
        repo,
        &["branch", "--list", "--format=%(refname:short)", "fanout/*"],
    );
    for branch in leftovers.lines() {
        git(repo, &["branch", "-D", branch]);
    }
}

fn build_repo(fx: &Fixture, files: usize) {
    for i in 0..files {
        let body: String = (0..30)
            .map(|line| {
                format!("pub fn f_{i}_{line}(x: u64) -> u64 {{ x.wrapping_mul({line}) ^ {i} }}\n")
            })
            .collect();
        fx.write(&format!("src/module_{:03}/file_{i:05}.rs", i % 100), body);
    }
    fx.commit_all("generated");
    // A real clone is packed; 5,000 loose objects would favour neither side
    // realistically.
    fx.git(&["repack", "-a", "-d", "--quiet"]);
}

fn time(f: impl FnOnce()) -> Duration {
    let start = Instant::now();
    f();
    start.elapsed()
}

fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    sorted[sorted.len() / 2]
}

fn env_number(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
