//! What the supervisor and the sandbox add to starting a session: the time
//! from spawning `/bin/true` to its outcome, three ways. Plainly (std's
//! `Command`, the floor), through `process::spawn` without a sandbox (the
//! supervisor only), and through `process::spawn` in the sandbox of a real
//! variant's worktree (supervisor and bubblewrap, with every mount a session
//! gets).
//!
//! Run: `cargo bench -p fanout-engine --bench sandbox`. Prints its own
//! report: minimum, median and maximum over `FANOUT_BENCH_RUNS` (default 40)
//! runs of each, after 3 warm-up runs.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use fanout_engine::experiment::{ApproachSpec, Engine, NewExperiment};
use fanout_engine::orchestrator::RunConfig;
use fanout_engine::paths::Paths;
use fanout_engine::process::{self, ProcessSpec};
use fanout_engine::sandbox::{self, Layout, Sandbox};
use fanout_testsupport::Fixture;

fn main() {
    let runs: usize = std::env::var("FANOUT_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(40);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let fx = Fixture::new();
    let sandbox = variant_sandbox(&fx);
    let cwd = fx.dir.path().to_path_buf();

    let plain = measure(runs, || {
        let status = Command::new("/bin/true")
            .current_dir(&cwd)
            .status()
            .expect("true");
        assert!(status.success());
    });
    let supervised = measure(runs, || {
        runtime.block_on(start_and_finish(ProcessSpec::new("/bin/true", &cwd)));
    });
    let sandboxed = measure(runs, || {
        runtime.block_on(start_and_finish(
            ProcessSpec::new("/bin/true", &cwd).sandbox(Some(sandbox.clone())),
        ));
    });

    println!("Starting /bin/true to its outcome, {runs} runs each (min / median / max):");
    for (name, times) in [
        ("std::process::Command", &plain),
        ("process::spawn, supervisor", &supervised),
        ("process::spawn, supervisor + sandbox", &sandboxed),
    ] {
        println!(
            "  {name:<40} {:>7.1} / {:>7.1} / {:>7.1} ms",
            ms(times[0]),
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1])
        );
    }
    println!(
        "  sandbox cost per session (median): {:.1} ms over the supervisor, {:.1} ms over a plain spawn",
        ms(sandboxed[sandboxed.len() / 2]) - ms(supervised[supervised.len() / 2]),
        ms(sandboxed[sandboxed.len() / 2]) - ms(plain[plain.len() / 2]),
    );
}

async fn start_and_finish(spec: ProcessSpec) {
    let outcome = process::spawn(spec).expect("spawn").finish().await;
    assert_eq!(outcome.code, Some(0), "{outcome:?}");
}

fn measure(runs: usize, mut once: impl FnMut()) -> Vec<Duration> {
    for _ in 0..3 {
        once();
    }
    let mut times: Vec<Duration> = (0..runs)
        .map(|_| {
            let start = Instant::now();
            once();
            start.elapsed()
        })
        .collect();
    times.sort();
    times
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The sandbox a session of a real variant gets: `fx`'s repository, one
/// experiment with one worktree, and the layout the orchestrator builds.
fn variant_sandbox(fx: &Fixture) -> Sandbox {
    let paths = Paths::at(fx.sibling("home"));
    let engine = Engine::open(paths.clone()).expect("engine");
    let view = engine
        .create_experiment(NewExperiment {
            repo: fx.root.clone(),
            task: "bench".into(),
            approaches: vec![ApproachSpec {
                name: "a".into(),
                ..ApproachSpec::default()
            }],
            include_uncommitted: false,
            worktree_root: None,
            default_agent: "command".into(),
            run: RunConfig::default(),
        })
        .expect("experiment");
    let variant = &view.variants[0];
    let linked = variant.linked(&fx.root).expect("registered");
    let available = sandbox::availability();
    let bwrap = available
        .bwrap
        .clone()
        .filter(|_| available.available)
        .unwrap_or_else(|| panic!("the sandbox is not available here: {:?}", available.reason));
    sandbox::for_worktree(Layout {
        bwrap: &bwrap,
        repo_root: &linked.root,
        common_dir: &linked.common_dir,
        worktree: &linked.worktree,
        git_dir: &linked.git_dir,
        data_dir: paths.home(),
        worktrees_dir: variant.worktree.parent().and_then(Path::parent),
        agent_state: Vec::new(),
        agent_config: Vec::new(),
        session_home: None,
        network: true,
    })
}
