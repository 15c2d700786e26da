//! Child processes: lines, bounds, cancellation, timeouts, leaked pipes and
//! leftover process groups, all with real processes.

mod common;

use std::path::Path;
use std::time::Duration;

use common::{alive, assert_group_gone, group_members};
use fanout_engine::process::{self, OutputLine, ProcessEnd, ProcessError, ProcessSpec, Stream};

fn sh(script: &str) -> ProcessSpec {
    ProcessSpec::new("/bin/sh", std::env::temp_dir())
        .arg("-c")
        .arg(script)
        .grace(Duration::from_millis(500))
        .leak_grace(Duration::from_millis(300))
}

async fn collect(
    mut running: process::RunningProcess,
) -> (Vec<OutputLine>, process::ProcessOutcome) {
    let mut lines = Vec::new();
    while let Some(line) = running.next_line().await {
        lines.push(line);
    }
    (lines, running.finish().await)
}

#[tokio::test]
async fn reads_both_streams_and_reports_the_exit_code() {
    let running = process::spawn(sh("echo out; echo err >&2; printf 'no newline'; exit 7"))
        .expect("sh starts");
    let (lines, outcome) = collect(running).await;

    let text = |stream| {
        lines
            .iter()
            .filter(|l| l.stream == stream)
            .map(|l| l.text.as_str())
            .collect::<Vec<_>>()
    };
    assert_eq!(
        text(Stream::Stdout),
        ["out", "no newline"],
        "stdout lines, the last one without its newline too"
    );
    assert_eq!(text(Stream::Stderr), ["err"], "stderr is read separately");
    assert_eq!(outcome.end, ProcessEnd::Exited, "nobody cancelled it");
    assert_eq!(outcome.code, Some(7), "the exit code is passed on");
    assert!(
        !outcome.leaked_output && !outcome.stray_processes,
        "sh left nothing behind"
    );
}

#[tokio::test]
async fn runs_in_its_own_process_group() {
    let running = process::spawn(sh("sleep 30")).expect("sh starts");
    let stat = std::fs::read_to_string(format!("/proc/{}/stat", running.pid()))
        .expect("the child is alive");
    let pgrp = stat
        .rsplit_once(')')
        .map(|(_, r)| r.split_whitespace().nth(2).unwrap_or("").to_owned());
    assert_eq!(
        pgrp,
        Some(running.pid().to_string()),
        "the child leads its own group, so signals reach all it starts"
    );
    running.canceller().cancel();
    let outcome = running.finish().await;
    assert_eq!(outcome.end, ProcessEnd::Cancelled);
}

#[tokio::test]
async fn a_huge_line_is_truncated_and_counted() {
    let spec = sh("head -c 3000000 /dev/zero | tr '\\0' x; echo; echo after").max_line_bytes(1000);
    let (lines, outcome) = collect(process::spawn(spec).expect("sh starts")).await;

    assert_eq!(
        lines.len(),
        2,
        "the huge line and the next one: {:?}",
        lines.iter().map(|l| l.text.len()).collect::<Vec<_>>()
    );
    assert_eq!(
        lines[0].text.len(),
        1000,
        "only the bound is kept in memory"
    );
    assert_eq!(
        lines[0].dropped_bytes,
        3_000_000 - 1000,
        "what was dropped is counted"
    );
    assert_eq!(lines[1].text, "after", "reading goes on after a huge line");
    assert_eq!(outcome.code, Some(0));
}

#[tokio::test]
async fn cancel_ends_a_cooperative_child_with_sigterm() {
    let running = process::spawn(sh("echo ready; exec sleep 30")).expect("sh starts");
    let mut running = running;
    assert_eq!(
        running.next_line().await.map(|l| l.text),
        Some("ready".into())
    );
    running.canceller().cancel();
    let outcome = running.finish().await;

    assert_eq!(
        outcome.end,
        ProcessEnd::Cancelled,
        "cancel is reported as such"
    );
    assert_eq!(outcome.signal, Some(15), "SIGTERM ended it");
    assert!(!outcome.escalated_to_kill, "no SIGKILL was needed");
}

#[tokio::test]
async fn cancel_escalates_to_sigkill_when_sigterm_is_ignored() {
    let pgid;
    let outcome = {
        let mut running =
            process::spawn(sh("trap '' TERM; echo ready; while true; do sleep 1; done"))
                .expect("sh starts");
        pgid = running.pid();
        assert_eq!(
            running.next_line().await.map(|l| l.text),
            Some("ready".into()),
            "the trap is set"
        );
        running.canceller().cancel();
        running.finish().await
    };
    assert_eq!(outcome.end, ProcessEnd::Cancelled);
    assert!(
        outcome.escalated_to_kill,
        "SIGTERM was ignored, so the group got SIGKILL"
    );
    assert_eq!(outcome.signal, Some(9), "SIGKILL ended it");
    assert!(
        outcome.duration_ms < 10_000,
        "it ended soon after the 0.5 s grace, took {} ms",
        outcome.duration_ms
    );
    assert_group_gone(pgid).await;
}

#[tokio::test]
async fn a_timeout_ends_a_hanging_child() {
    // `exec`: one process, so the signal that ends it is the timeout's own.
    // A shell waiting on `sleep` may see its child die first and exit with
    // 128 + the signal instead of being killed itself.
    let spec = sh("exec sleep 30").timeout(Some(Duration::from_millis(300)));
    let running = process::spawn(spec).expect("sh starts");
    let pgid = running.pid();
    let outcome = running.finish().await;

    assert_eq!(
        outcome.end,
        ProcessEnd::TimedOut,
        "the timer, not the child, ended it"
    );
    assert!(
        outcome.signal.is_some(),
        "it was killed by a signal: {outcome:?}"
    );
    assert_group_gone(pgid).await;
}

#[tokio::test]
async fn a_grandchild_holding_stdout_is_detected_and_killed() {
    let running = process::spawn(sh("sleep 300 & echo started")).expect("sh starts");
    let pgid = running.pid();
    let (lines, outcome) = collect(running).await;

    assert_eq!(lines.first().map(|l| l.text.as_str()), Some("started"));
    assert_eq!(outcome.code, Some(0), "the child itself exited normally");
    assert!(
        outcome.leaked_output,
        "sleep inherited stdout and kept it open after sh exited"
    );
    assert_group_gone(pgid).await;
}

#[tokio::test]
async fn leftover_group_members_are_killed_even_without_a_leaked_pipe() {
    let running =
        process::spawn(sh("sleep 300 >/dev/null 2>&1 & echo started")).expect("sh starts");
    let pgid = running.pid();
    let (_, outcome) = collect(running).await;

    assert!(
        !outcome.leaked_output,
        "the background sleep does not hold our pipes"
    );
    assert!(
        outcome.stray_processes,
        "but it was still alive in the group when sh ended"
    );
    assert_group_gone(pgid).await;
}

#[tokio::test]
async fn a_slow_consumer_is_not_mistaken_for_a_leaked_pipe() {
    let mut spec = sh("for i in $(seq 1 200); do echo line $i; done");
    spec.channel_capacity = 1;
    let mut running = process::spawn(spec).expect("sh starts");
    // The child exits at once with most lines still in the pipe; reading
    // slower than the leak grace must not count as a grandchild holding it.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let mut count = 0;
    while running.next_line().await.is_some() {
        count += 1;
        if count % 50 == 0 {
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
    }
    let outcome = running.finish().await;
    assert_eq!(count, 200, "every line arrived");
    assert!(
        !outcome.leaked_output,
        "the pipe was open only because we read slowly"
    );
}

#[tokio::test]
async fn finish_without_reading_does_not_deadlock() {
    let mut spec = sh("for i in $(seq 1 5000); do echo line $i; done");
    spec.channel_capacity = 4;
    let outcome = process::spawn(spec).expect("sh starts").finish().await;
    assert_eq!(
        outcome.code,
        Some(0),
        "finish drained the lines nobody read"
    );
}

#[tokio::test]
async fn a_missing_program_or_workdir_is_a_clear_error() {
    let missing = process::spawn(ProcessSpec::new("/nonexistent/agent", std::env::temp_dir()))
        .expect_err("there is no such program");
    assert_eq!(missing.code(), "process.not_found");
    assert!(
        missing.to_string().contains("/nonexistent/agent"),
        "the message names the program: {missing}"
    );

    let nowhere = Path::new("/nonexistent/worktree");
    let err =
        process::spawn(ProcessSpec::new("/bin/true", nowhere)).expect_err("no such directory");
    assert!(
        matches!(err, ProcessError::WorkdirMissing { .. }),
        "got {err:?}"
    );
    assert!(
        err.to_string().contains("/nonexistent/worktree"),
        "the message names the directory: {err}"
    );
}

#[test]
fn a_runtime_shutting_down_kills_the_whole_group() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let pgid = runtime.block_on(async {
        let mut running =
            process::spawn(sh("sleep 300 & echo ready; sleep 300")).expect("sh starts");
        assert_eq!(
            running.next_line().await.map(|l| l.text),
            Some("ready".into())
        );
        let pgid = running.pid();
        // Leak the handle, as an app that exits without cancelling would.
        std::mem::forget(running);
        pgid
    });
    assert!(
        !group_members(pgid).is_empty(),
        "the group runs while the runtime lives"
    );
    drop(runtime);
    runtime_free_wait_until_gone(pgid);
}

/// Like `assert_group_gone`, for a test without a runtime.
fn runtime_free_wait_until_gone(pgid: u32) {
    for _ in 0..40 {
        if group_members(pgid).is_empty() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!(
        "processes of group {pgid} outlived the runtime: {:?}",
        group_members(pgid)
    );
}

async fn assert_gone(pid: u32, what: &str) {
    for _ in 0..60 {
        if !alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{what} ({pid}) outlived its session");
}

/// Processes that left the process group (`setsid`) or were orphaned by a
/// double fork are still the supervisor's: they end with the session, and
/// the outcome says something was left behind.
#[tokio::test]
async fn escapees_from_the_group_end_with_the_session() {
    let running = process::spawn(sh("setsid sleep 300 >/dev/null 2>&1 & echo setsid=$!; \
         (sleep 301 >/dev/null 2>&1 & echo orphan=$!); \
         echo done"))
    .expect("sh starts");
    let (lines, outcome) = collect(running).await;
    let pid_of = |key: &str| -> u32 {
        lines
            .iter()
            .find_map(|l| l.text.strip_prefix(&format!("{key}=")))
            .and_then(|p| p.trim().parse().ok())
            .unwrap_or_else(|| panic!("the script printed {key}: {lines:?}"))
    };
    assert_eq!(outcome.code, Some(0), "sh itself exited normally");
    assert!(
        outcome.stray_processes,
        "the outcome says processes were left behind"
    );
    assert_gone(pid_of("setsid"), "a process in a session of its own").await;
    assert_gone(pid_of("orphan"), "a double-forked orphan").await;
}

/// Cancelling reaches what left the group too.
#[tokio::test]
async fn cancel_reaches_processes_that_left_the_group() {
    let mut running =
        process::spawn(sh("setsid sh -c 'echo $$; exec sleep 300' & wait")).expect("sh starts");
    let pid: u32 = running
        .next_line()
        .await
        .and_then(|l| l.text.trim().parse().ok())
        .expect("the escapee printed its pid");
    assert!(alive(pid), "it runs");
    running.canceller().cancel();
    let outcome = running.finish().await;
    assert_eq!(outcome.end, ProcessEnd::Cancelled);
    assert_gone(pid, "a process in a session of its own").await;
}

/// A prompt too long for the system's argument limit says so, rather than
/// "check that it is executable".
#[tokio::test]
async fn a_too_long_argument_says_so() {
    let huge = "x".repeat(200 * 1024);
    let err = process::spawn(ProcessSpec::new("/bin/echo", std::env::temp_dir()).arg(&huge))
        .expect_err("a 200 KiB argument cannot be passed");
    assert_eq!(err.code(), "process.too_long", "{err}");
    assert!(err.to_string().contains("too long"), "{err}");
}
