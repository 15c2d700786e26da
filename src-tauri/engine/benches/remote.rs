//! The cost of going remote: the wall time of a 3-variant run of the fake
//! Claude Code (each writes a file; a check runs after it) on this machine
//! and on an ssh host at 127.0.0.1 (an OpenSSH server this benchmark starts,
//! see `fanout_testsupport::Sshd`). The host side pays for pushing the base,
//! a worktree there, the supervisor copied once, the session's connection,
//! the commit there and the fetch back; 127.0.0.1 leaves only that overhead.
//!
//! Both run without the bubblewrap sandbox, which a host does not get: its
//! start-up cost is the "Sandbox and supervisor" benchmark's.
//!
//! Run: `cargo bench -p fanout-engine --bench remote`. Prints min / median /
//! max over `FANOUT_BENCH_RUNS` (default 5) runs of each, alternating.

use std::time::{Duration, Instant};

use fanout_engine::orchestrator::{Config, Environment};
use fanout_testsupport::{fake_claude, fake_config, Fixture, Rig, Sshd};

const NAMES: [&str; 3] = ["one", "two", "three"];

fn main() {
    let runs: usize = std::env::var("FANOUT_BENCH_RUNS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(5);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let sshd = Sshd::start();
    let (mut local, mut remote) = (Vec::new(), Vec::new());
    // One unmeasured run of each: the supervisor's copy to the host and the
    // page cache are paid once, as on a host in use.
    runtime.block_on(once(&sshd, false));
    runtime.block_on(once(&sshd, true));
    for round in 0..runs {
        let order = if round % 2 == 0 {
            [false, true]
        } else {
            [true, false]
        };
        for on_host in order {
            let took = runtime.block_on(once(&sshd, on_host));
            if on_host {
                remote.push(took);
            } else {
                local.push(took);
            }
        }
    }
    local.sort();
    remote.sort();
    println!("A 3-variant run to its end, {runs} runs each (min / median / max):");
    for (name, times) in [("this machine", &local), ("ssh host at 127.0.0.1", &remote)] {
        println!(
            "  {name:<24} {:>7.0} / {:>7.0} / {:>7.0} ms",
            ms(times[0]),
            ms(times[times.len() / 2]),
            ms(times[times.len() - 1])
        );
    }
    println!(
        "  median ratio, host / here: {:.2}×",
        ms(remote[remote.len() / 2]) / ms(local[local.len() / 2])
    );
}

async fn once(sshd: &Sshd, on_host: bool) -> Duration {
    let host = on_host.then_some(Sshd::ALIAS);
    let placed: Vec<(&str, Option<&str>)> = NAMES.iter().map(|n| (*n, host)).collect();
    let rig = Rig::placed(
        Fixture::new(),
        &placed,
        "claude-code",
        Environment::default(),
    );
    let mut config: Config = fake_config(fake_claude(), "success");
    config.environment.hosts = sshd.hosts(sshd.host(NAMES.len(), Some(&fake_claude())));
    config.run.sandbox = false;
    config.run.check = Some("test -f fake-output.txt".into());
    let started = Instant::now();
    let done = rig.run(config).await;
    let took = started.elapsed();
    for v in &done.variants {
        assert!(
            v.error.is_none(),
            "variant {} failed: {:?}",
            v.index,
            v.error
        );
    }
    took
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
