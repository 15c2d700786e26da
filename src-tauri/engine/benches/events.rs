//! Events per second through the orchestrator's store writer: 16 fake
//! sessions each send 10,000 events at full speed, as the variant tasks do
//! (serialized, timestamped, queued on the bounded channel, written in batches
//! of one transaction each), into a real WAL database file. Also the peak
//! memory of the process (VmHWM).
//!
//! Run: `cargo bench -p fanout-engine --bench events`. Prints its own report;
//! the target is at least 200,000 events/s. `FANOUT_BENCH_EVENTS=N` sets the
//! events per session (default 10,000); a long run (50,000) also pays the
//! WAL checkpoints that a default round stays under.

mod support;

use std::time::Instant;

use fanout_engine::events::{SessionEvent, Stream};
use fanout_engine::store::Store;
use fanout_engine::store::StoreWriter;

const SESSIONS: u32 = 16;
const ROUNDS: usize = 3;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let events_per_session = events_per_session();
    let mut rates = Vec::new();
    for round in 1..=ROUNDS {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("fanout.db");
        let mut store = Store::open(&path).expect("open store");
        let id = "0197aa00-0000-7000-8000-000000000000";
        store
            .insert_experiment(&support::experiment(id), &support::variants(id, SESSIONS))
            .expect("insert experiment");
        let writer = StoreWriter::spawn(store).expect("writer");
        let cpu_start = cpu_seconds();
        let seconds = runtime.block_on(async {
            let start = Instant::now();
            let mut sessions = tokio::task::JoinSet::new();
            for variant in 1..=SESSIONS {
                let writer = writer.clone();
                sessions.spawn(async move {
                    for n in 0..events_per_session {
                        writer.event(id, variant, &event(n)).await;
                    }
                });
            }
            while sessions.join_next().await.is_some() {}
            writer.flush().await.expect("flush");
            start.elapsed().as_secs_f64()
        });
        let total = SESSIONS as usize * events_per_session;
        let check = Store::open(&path).expect("reopen");
        let stored: usize = (1..=SESSIONS)
            .map(|v| {
                check
                    .events(id, v, 0, usize::MAX)
                    .map(|e| e.len())
                    .unwrap_or(0)
            })
            .sum();
        assert_eq!(stored, total, "every event is in the store");
        assert_eq!(writer.lost_events(), 0);
        let cpu = cpu_seconds().zip(cpu_start).map(|(end, start)| end - start);
        rates.push(total as f64 / seconds);
        println!(
            "round {round}: {SESSIONS} sessions x {events_per_session} events = {total} in {seconds:.3} s = {:.0} events/s{}",
            total as f64 / seconds,
            cpu.map(|cpu| format!(" ({cpu:.2} s of CPU on all threads)")).unwrap_or_default()
        );
    }
    rates.sort_by(f64::total_cmp);
    println!(
        "orchestrator store writer: median {:.0} events/s (min {:.0}, max {:.0}); peak memory (VmHWM) {}; target >= 200000 events/s",
        rates[ROUNDS / 2],
        rates[0],
        rates[ROUNDS - 1],
        peak_memory().unwrap_or_else(|| "unknown".into())
    );
}

fn events_per_session() -> usize {
    std::env::var("FANOUT_BENCH_EVENTS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(10_000)
}

/// A mix like a real session's: text, tool calls, results, plain lines.
fn event(n: usize) -> SessionEvent {
    match n % 4 {
        0 => SessionEvent::AssistantText {
            text: format!("Reading src/parser.rs ({n}) to see how tokens are split."),
        },
        1 => SessionEvent::ToolUse {
            id: Some(format!("toolu_{n}")),
            name: "Edit".into(),
            input: serde_json::json!({"file_path": "src/parser.rs", "old_string": "a", "new_string": "b"}),
        },
        2 => SessionEvent::ToolResult {
            id: Some(format!("toolu_{n}")),
            ok: true,
            summary: "The file src/parser.rs has been updated.".into(),
        },
        _ => SessionEvent::Log {
            stream: Stream::Stderr,
            line: format!("compiling fanout-engine v0.1.0 ({n})"),
        },
    }
}

/// This process's user + system CPU time (all threads), from /proc: on a
/// shared machine wall time also counts other processes' turns on the CPU.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn peak_memory() -> Option<String> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .map(|v| v.trim().to_owned())
}
