//! Events per second into the store: `append_events` in batches of 500 on a
//! real WAL database file, as the orchestrator writes agents' output.
//!
//! Run: `cargo bench -p fanout-engine --bench store`. Prints its own report;
//! the target is at least 200,000 events/s.

mod support;

use std::time::Instant;

use fanout_engine::store::{NewEvent, Store};
use serde_json::json;

const VARIANTS: u32 = 8;
const BATCH: usize = 500;
const EVENTS_PER_ROUND: usize = 200_000;
const ROUNDS: usize = 5;

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("fanout.db");
    let mut store = Store::open(&path).expect("open store");
    let id = "0197aa00-0000-7000-8000-000000000000";
    store
        .insert_experiment(&support::experiment(id), &support::variants(id, VARIANTS))
        .expect("insert experiment");

    let mut rates = Vec::new();
    for round in 0..ROUNDS {
        // Built outside the timing: the bench measures the store, not the
        // construction of JSON values.
        let events = events(id, round);
        let (start, cpu_start) = (Instant::now(), cpu_seconds());
        for batch in events.chunks(BATCH) {
            store.append_events(batch).expect("append batch");
        }
        let seconds = start.elapsed().as_secs_f64();
        let cpu = cpu_seconds().map(|end| end - cpu_start.unwrap_or(end));
        rates.push(EVENTS_PER_ROUND as f64 / seconds);
        println!(
            "round {}: {EVENTS_PER_ROUND} events in {seconds:.3} s wall = {:.0} events/s{}",
            round + 1,
            EVENTS_PER_ROUND as f64 / seconds,
            cpu.map(|cpu| format!(
                " ({cpu:.2} s of CPU = {:.0} events per CPU-second)",
                EVENTS_PER_ROUND as f64 / cpu
            ))
            .unwrap_or_default()
        );
    }
    rates.sort_by(f64::total_cmp);
    let size = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
    println!(
        "append_events, batches of {BATCH}, {VARIANTS} variants interleaved, WAL file: median {:.0} events/s (min {:.0}, max {:.0}); database {} MB after {} events",
        rates[ROUNDS / 2],
        rates[0],
        rates[ROUNDS - 1],
        size / 1_000_000,
        EVENTS_PER_ROUND * ROUNDS
    );
}

/// This process's user + system CPU time, from /proc (Linux only): on a
/// shared machine wall time also counts other processes' turns on the CPU.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // Fields after the parenthesised command name; utime and stime are the
    // 14th and 15th fields of the whole line, in clock ticks (100 per second
    // on Linux).
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn events(id: &str, round: usize) -> Vec<NewEvent> {
    (0..EVENTS_PER_ROUND)
        .map(|n| NewEvent {
            experiment_id: id.to_string(),
            variant: 1 + (n % VARIANTS as usize) as u32,
            time: "2026-01-01T00:00:00.123Z".to_string(),
            kind: "assistant_text".to_string(),
            payload: json!({
                "round": round,
                "n": n,
                "text": "Reading src/parser.rs to see how tokens are split before the rewrite.",
            }),
        })
        .collect()
}
