//! Processes recorded in the store, checked against the live system.
//!
//! A pid alone can be reused by an unrelated process; a pid together with its
//! start time (`/proc/<pid>/stat` field 22, clock ticks since boot) cannot.
//! Every signal sent to a recorded process group is preceded by that check.

use rustix::process::{Pid, Signal};

use crate::store::ProcessId;

/// The start time of `pid`, or `None` when it is gone (or a zombie: it has
/// ended, only its exit status is left).
pub fn start_ticks(pid: u32) -> Option<u64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // The command name (field 2) may hold spaces and parentheses: count from the last ')'.
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    if fields.first() == Some(&"Z") {
        return None;
    }
    fields.get(19)?.parse().ok()
}

/// This Fanout process, as recorded for the variants it runs.
pub fn this_process() -> ProcessId {
    let pid = std::process::id();
    ProcessId {
        pid,
        start: start_ticks(pid).unwrap_or(0),
    }
}

/// `process` is the very process that was recorded, still running.
pub fn is_alive(process: ProcessId) -> bool {
    start_ticks(process.pid) == Some(process.start)
}

/// Sends `signal` to the group led by `group` if its leader is still the
/// recorded process. Returns whether it was sent.
pub fn signal_group(group: ProcessId, signal: Signal) -> bool {
    if !is_alive(group) {
        return false;
    }
    let Some(pid) = Pid::from_raw(group.pid as i32) else {
        return false;
    };
    rustix::process::kill_process_group(pid, signal).is_ok()
}

/// Sends `signal` to the recorded process itself (not its group) if it is
/// still the recorded process. Returns whether it was sent.
pub fn signal_process(process: ProcessId, signal: Signal) -> bool {
    if !is_alive(process) {
        return false;
    }
    let Some(pid) = Pid::from_raw(process.pid as i32) else {
        return false;
    };
    rustix::process::kill_process(pid, signal).is_ok()
}

/// Whether any process of the group `pgid` is still there.
pub fn group_exists(pgid: u32) -> bool {
    Pid::from_raw(pgid as i32)
        .is_some_and(|pid| rustix::process::test_kill_process_group(pid).is_ok())
}
