//! Fanout's full diff rendering against `git diff` on the same two commits.
//!
//! Generates a repository whose variant changes 1,000 files and 160,000 lines,
//! then, in one run, times a few repetitions of (a) `diff::render_all`: the
//! changed-file list with numstat counts plus every file's hunks with word-level
//! emphasis, and (b) `git --no-pager diff <base> <variant>` with its output
//! piped and discarded. Prints the medians and their ratio (target: ≤ 1).
//!
//! Run: `cargo bench -p fanout-engine --bench diff`.

use std::io::Read;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use fanout_engine::diff::{self, DiffOptions, FileDiff};
use fanout_testsupport::{git_command, Fixture};

const FILES: usize = 1000;
const LINES: usize = 240;
const REPETITIONS: usize = 5;

/// Source-like lines; the variant rewrites one word in every third line, so
/// each file has 80 replaced lines that get word-level emphasis.
fn content(file: usize, variant: bool) -> String {
    let mut s = String::new();
    for line in 0..LINES {
        let word = if variant && line % 3 == 1 {
            "changed"
        } else {
            "value"
        };
        s.push_str(&format!(
            "    let item_{file}_{line} = compute({word}, {line}, \"text {file}\"); // note\n"
        ));
    }
    s
}

fn write_all(fx: &Fixture, variant: bool) {
    for f in 0..FILES {
        fx.write(
            &format!("src/mod{}/file{f}.rs", f % 20),
            content(f, variant),
        );
    }
}

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn time_git(root: &Path, base: &str, variant: &str) -> (Duration, usize) {
    let start = Instant::now();
    let mut child = git_command(root, &["--no-pager", "diff", base, variant])
        .stdout(Stdio::piped())
        .spawn()
        .expect("git diff starts");
    let mut out = Vec::new();
    child
        .stdout
        .take()
        .expect("piped")
        .read_to_end(&mut out)
        .expect("read");
    assert!(child.wait().expect("git diff ends").success());
    (start.elapsed(), out.len())
}

fn time_fanout(root: &Path, base: &str, variant: &str) -> (Duration, usize, usize) {
    let start = Instant::now();
    let repo = git2::Repository::open(root).expect("open");
    let all = diff::render_all(&repo, base, variant, &DiffOptions::default()).expect("render");
    let elapsed = start.elapsed();
    let lines = all
        .iter()
        .map(|(_, d)| match d {
            FileDiff::Patch { added, removed, .. } => added + removed,
            _ => 0,
        })
        .sum();
    (elapsed, all.len(), lines)
}

fn time_list(root: &Path, base: &str, variant: &str) -> Duration {
    let start = Instant::now();
    let repo = git2::Repository::open(root).expect("open");
    diff::changed_files(&repo, base, variant).expect("list");
    start.elapsed()
}

fn main() {
    let fx = Fixture::empty();
    let root = fx.root.as_path();
    write_all(&fx, false);
    let base = fx.commit_all("base");
    write_all(&fx, true);
    let variant = fx.commit_all("variant");

    let (mut fanout, mut git_times, mut list) = (Vec::new(), Vec::new(), Vec::new());
    let (mut files, mut lines, mut bytes) = (0, 0, 0);
    // One untimed round of each warms the page cache and git's object access.
    time_git(root, &base, &variant);
    time_fanout(root, &base, &variant);
    for _ in 0..REPETITIONS {
        let (t, n, l) = time_fanout(root, &base, &variant);
        (files, lines) = (n, l);
        fanout.push(t);
        let (t, b) = time_git(root, &base, &variant);
        bytes = b;
        git_times.push(t);
        list.push(time_list(root, &base, &variant));
    }
    let (f, g) = (median(fanout), median(git_times));
    println!("diff benchmark: {files} files, {lines} changed lines (added + removed), git diff output {bytes} bytes");
    println!(
        "threads available: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("fanout render_all (list + hunks + word emphasis), median of {REPETITIONS}: {f:?}");
    println!("git --no-pager diff, median of {REPETITIONS}:                         {g:?}");
    println!(
        "  of which the file list with numstat counts (changed_files):     {:?}",
        median(list)
    );
    println!(
        "ratio fanout / git: {:.2} (target <= 1.00)",
        f.as_secs_f64() / g.as_secs_f64()
    );
}
