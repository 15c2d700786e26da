//! Fan-out benchmark: creating 8 worktrees of a 5,000-file repository with
//! `worktree::create_all` against 8 sequential `git worktree add`, in one run.
//! Target: at most 0.7× the sequential time.
//!
//! For the record it also times the pure-libgit2 way (one `Repository` per
//! thread, `Repository::worktree`), which `create_all` does not use; the
//! figures are why (see the comment on `add_in_parallel` in worktree.rs).
//!
//! Run: `cargo bench -p fanout-engine --bench fanout`. Environment:
//! `FANOUT_BENCH_ROUNDS` (default 5), `FANOUT_BENCH_FILES` (default 5000).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use fanout_engine::worktree::{self, NewWorktree};

const WORKTREES: u32 = 8;

fn main() {
    let rounds = env_number("FANOUT_BENCH_ROUNDS", 5);
    let files = env_number("FANOUT_BENCH_FILES", 5_000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let repo = tmp.path().join("repo");
    let started = Instant::now();
    build_repo(&repo, files);
    let base = git(&repo, &["rev-parse", "HEAD"]);
    println!(
        "fan-out benchmark: {WORKTREES} worktrees of a repository of {files} files, {rounds} rounds (repository built in {:.1?})",
        started.elapsed()
    );

    let (mut sequential, mut fanout, mut libgit2) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds {
        let root = tmp.path().join(format!("round-{round}"));
        // Alternating the order keeps a warm or cold page cache from always
        // favouring the same contender.
        let order: [u8; 3] = if round % 2 == 0 { [0, 1, 2] } else { [2, 1, 0] };
        for contender in order {
            match contender {
                0 => sequential.push(time(|| sequential_git(&repo, &base, &root, round))),
                1 => fanout.push(time(|| create_all(&repo, &base, &root, round))),
                _ => libgit2.push(time(|| libgit2_parallel(&repo, &base, &root, round))),
            }
        }
        cleanup(&repo);
        println!(
            "  round {}: sequential git {:>8.1?}  create_all {:>8.1?}  libgit2 parallel {:>8.1?}",
            round + 1,
            sequential[round],
            fanout[round],
            libgit2[round]
        );
    }

    let (seq, fan, lg2) = (median(&sequential), median(&fanout), median(&libgit2));
    println!("medians: sequential `git worktree add` {seq:.1?}, create_all {fan:.1?}, libgit2 parallel {lg2:.1?}");
    println!(
        "ratio create_all / sequential git: {:.2}x (target <= 0.70x); libgit2 parallel / sequential git: {:.2}x",
        fan.as_secs_f64() / seq.as_secs_f64(),
        lg2.as_secs_f64() / seq.as_secs_f64()
    );
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

fn libgit2_parallel(repo: &Path, base: &str, root: &Path, round: usize) {
    let base = git2::Oid::from_str(base).expect("base id");
    std::thread::scope(|scope| {
        for i in 1..=WORKTREES {
            scope.spawn(move || {
                let repo = git2::Repository::open(repo).expect("open");
                let commit = repo.find_commit(base).expect("base commit");
                let branch = repo
                    .branch(&format!("fanout/lg2-{round}/{i}"), &commit, false)
                    .expect("branch");
                let mut opts = git2::WorktreeAddOptions::new();
                opts.reference(Some(branch.get()));
                let path = root.join("libgit2").join(i.to_string());
                std::fs::create_dir_all(path.parent().expect("parent")).expect("parent dir");
                repo.worktree(&format!("lg2-{round}-{i}"), &path, Some(&opts))
                    .expect("libgit2 worktree add");
            });
        }
    });
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
}

fn build_repo(repo: &Path, files: usize) {
    std::fs::create_dir_all(repo).expect("repo dir");
    git(repo, &["init", "--quiet", "-b", "main"]);
    git(repo, &["config", "user.name", "Bench"]);
    git(repo, &["config", "user.email", "bench@example.com"]);
    for i in 0..files {
        let path = repo.join(format!("src/module_{:03}/file_{i:05}.rs", i % 100));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("module dir");
        let body: String = (0..30)
            .map(|line| {
                format!("pub fn f_{i}_{line}(x: u64) -> u64 {{ x.wrapping_mul({line}) ^ {i} }}\n")
            })
            .collect();
        std::fs::write(&path, body).expect("write file");
    }
    git(repo, &["add", "-A"]);
    git(repo, &["commit", "--quiet", "-m", "generated"]);
    // A real clone is packed; 5,000 loose objects would favour neither side
    // realistically.
    git(repo, &["repack", "-a", "-d", "--quiet"]);
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
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
