//! Benchmark in the real window: a machine that does not drown. 16 variants
//! (two experiments of 8, launched back to back) whose agents replay a
//! recorded Claude Code session at its recorded speed
//! (`tests/fixtures/agents/replay-claude`) and whose checks each burn a core
//! for 20 s of CPU time, on this machine; once with the machine's check limit
//! (Settings → checks at once: half the cores), once without it (16 at once).
//! For each: the wall time from the first launch to the last variant's end,
//! the peak memory of the app and everything it started (RSS summed over the
//! processes, sampled every 250 ms), and the page's longest frame gap while
//! it all runs (requestAnimationFrame, as `ui_bench` measures it).
//!
//! Not part of `make test` (`#[ignore]`): figures for BENCHMARKS.md. Run with
//! `make bench-drown`. FANOUT_BENCH_CHECK_SECS sets the CPU seconds of each
//! check (default 20); FANOUT_BENCH_LIMITS the limits to run, comma-separated
//! (default `1,16`).

#[allow(dead_code)]
#[path = "e2e/git.rs"]
mod git;
#[allow(dead_code)]
#[path = "e2e/harness.rs"]
mod harness;

use std::path::Path;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fanout_engine::experiment::Engine;
use fanout_engine::paths::Paths;
use fanout_engine::store::ExperimentStatus;
use git::Repo;
use harness::{tid, App};

/// Notes the longest gap between two frames from now on.
const FRAMES: &str = r#"
window.__frames = { max: 0, n: 0 };
let last = performance.now();
function frame(now) {
  window.__frames.max = Math.max(window.__frames.max, now - last);
  window.__frames.n += 1;
  last = now;
  requestAnimationFrame(frame);
}
requestAnimationFrame(frame);
"#;

struct Figures {
    limit: usize,
    wall: Duration,
    peak_rss_mb: f64,
    longest_frame_ms: f64,
    frames: u64,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: make bench-drown"]
async fn sixteen_variants_with_and_without_the_check_limit() {
    let secs: u64 = std::env::var("FANOUT_BENCH_CHECK_SECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let limits: Vec<usize> = std::env::var("FANOUT_BENCH_LIMITS")
        .unwrap_or_else(|_| "1,16".into())
        .split(',')
        .filter_map(|l| l.trim().parse().ok())
        .collect();
    let mut all = Vec::new();
    for limit in limits {
        let figures = run(limit, secs).await;
        eprintln!(
            "checks at once {}: wall {:.1} s, peak memory {:.0} MB, longest frame {:.0} ms over {} frames",
            figures.limit,
            figures.wall.as_secs_f64(),
            figures.peak_rss_mb,
            figures.longest_frame_ms,
            figures.frames
        );
        all.push(figures);
    }
    eprintln!(
        "\n16 variants, checks of {secs} CPU-seconds each, on {} cores:",
        cores()
    );
    for f in &all {
        eprintln!(
            "| {} | {:.1} s | {:.0} MB | {:.0} ms |",
            f.limit,
            f.wall.as_secs_f64(),
            f.peak_rss_mb,
            f.longest_frame_ms
        );
    }
}

async fn run(limit: usize, secs: u64) -> Figures {
    let agent = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agents/replay-claude");
    let agent = agent.display().to_string();
    let mut app = App::start_with_env(
        env!("CARGO_BIN_EXE_fanout-app"),
        &[("FANOUT_CLAUDE_BIN", &agent)],
    )
    .await;
    let repo = Repo::new("drown").await;
    let path = repo.root.display().to_string();
    app.type_into(&tid("repo-path-input"), &path).await;
    app.click(&tid("repo-open")).await;
    app.text_contains(&tid("repo-root"), &path).await;

    app.open_settings().await;
    app.type_into(&tid("settings-max-checks"), &limit.to_string())
        .await;
    app.type_into(&tid("settings-min-memory"), "0").await;
    app.click("input[type=\"radio\"][value=\"edits\"]").await;
    app.click(&tid("settings-save")).await;
    app.testid("settings-saved").await;

    let check = format!(
        "python3 -c 'import time, itertools; t = time.process_time(); any(time.process_time() - t > {secs} for _ in itertools.count())'"
    );
    let started = Instant::now();
    let (sampler, peak, stop) = sample_memory(&app);
    for experiment in 1..=2 {
        app.click(&tid("nav-new")).await;
        app.type_into(&tid("task-input"), &format!("Burn {experiment}"))
            .await;
        app.type_into(&tid("check-input"), &check).await;
        for _ in 0..5 {
            app.click(&tid("add-approach")).await;
        }
        let names = app.count(&tid("approach-name"), 8).await;
        for (i, el) in names.iter().enumerate() {
            el.send_keys(&format!("way {experiment}.{i}"))
                .await
                .expect("type an approach name");
        }
        app.click(&tid("launch")).await;
        app.count(&tid("variant-card"), 8).await;
    }
    app.js(FRAMES).await;
    let home = app.fanout_home();
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let home = home.clone();
        let done = tokio::task::spawn_blocking(move || all_ended(&home))
            .await
            .unwrap_or(false);
        if done {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(3600),
            "the run did not end within an hour"
        );
    }
    let wall = started.elapsed();
    let frames = app.js("return window.__frames").await;
    stop.store(true, Ordering::SeqCst);
    let _ = sampler.join();
    app.shot(&format!("limit-{limit}")).await;
    app.close().await;
    Figures {
        limit,
        wall,
        peak_rss_mb: peak.load(Ordering::SeqCst) as f64 / 1e6,
        longest_frame_ms: frames["max"].as_f64().unwrap_or(0.0),
        frames: frames["n"].as_u64().unwrap_or(0),
    }
}

/// Both experiments exist and neither is running any more.
fn all_ended(home: &Path) -> bool {
    let Ok(engine) = Engine::open(Paths::at(home)) else {
        return false;
    };
    let Ok(experiments) = engine.experiments() else {
        return false;
    };
    experiments.len() == 2
        && experiments
            .iter()
            .all(|e| e.status != ExperimentStatus::Running && e.status != ExperimentStatus::Ready)
}

/// Samples the summed RSS of the run's processes until told to stop.
fn sample_memory(app: &App) -> (std::thread::JoinHandle<()>, Arc<AtomicU64>, Arc<AtomicBool>) {
    let peak = Arc::new(AtomicU64::new(0));
    let stop = Arc::new(AtomicBool::new(false));
    let (p, s) = (peak.clone(), stop.clone());
    let probe = app.processes_probe();
    let handle = std::thread::spawn(move || {
        while !s.load(Ordering::SeqCst) {
            let pids = probe();
            let total: u64 = pids.iter().map(|pid| rss(*pid)).sum();
            p.fetch_max(total, Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(250));
        }
    });
    (handle, peak, stop)
}

/// A process's resident memory in bytes; 0 when it is gone.
fn rss(pid: i32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.split_whitespace().next()?.parse::<u64>().ok())
        })
        .map_or(0, |kb| kb * 1024)
}

fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}
