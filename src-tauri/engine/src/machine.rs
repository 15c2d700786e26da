//! This machine's load and memory, read from /proc: what admission by
//! memory waits on, and what the window shows beside a running experiment.

use serde::Serialize;
use ts_rs::TS;

/// The machine as it is now.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, TS)]
pub struct Machine {
    /// The load average over the last minute.
    pub load_1: f64,
    pub cores: usize,
    /// Memory the kernel says new work can have without swapping (`MemAvailable`).
    pub memory_available: u64,
    pub memory_total: u64,
}

/// Reads the load and memory; `None` where /proc does not say (not Linux).
pub fn now() -> Option<Machine> {
    let load = std::fs::read_to_string("/proc/loadavg").ok()?;
    let load_1 = load.split_whitespace().next()?.parse().ok()?;
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    Some(Machine {
        load_1,
        cores: cores(),
        memory_available: meminfo_bytes(&meminfo, "MemAvailable")?,
        memory_total: meminfo_bytes(&meminfo, "MemTotal")?,
    })
}

/// Memory new work can have now, in bytes.
pub fn available_memory() -> Option<u64> {
    let meminfo = std::fs::read_to_string("/proc/meminfo").ok()?;
    meminfo_bytes(&meminfo, "MemAvailable")
}

pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}

/// A `/proc/meminfo` field, in bytes (the file says kB).
fn meminfo_bytes(meminfo: &str, field: &str) -> Option<u64> {
    meminfo.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        let kib: u64 = rest.split_whitespace().next()?.parse().ok()?;
        Some(kib * 1024)
    })
}

/// `1.5 GB`, for sentences about memory.
pub fn gigabytes(bytes: u64) -> String {
    format!("{:.1} GB", bytes as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meminfo_fields_are_read_in_bytes() {
        let text = "MemTotal:       24576000 kB\nMemFree:  100 kB\nMemAvailable:   2048000 kB\n";
        assert_eq!(meminfo_bytes(text, "MemAvailable"), Some(2_097_152_000));
        assert_eq!(meminfo_bytes(text, "MemTotal"), Some(25_165_824_000));
        assert_eq!(meminfo_bytes(text, "Swap"), None);
    }

    #[test]
    fn this_machine_is_read() {
        let m = now().expect("Linux has /proc");
        assert!(m.memory_total >= m.memory_available && m.cores >= 1);
    }
}
