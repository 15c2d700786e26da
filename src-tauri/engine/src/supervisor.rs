//! The supervisor every program Fanout starts for an agent runs under: a
//! small process that is a child subreaper (`PR_SET_CHILD_SUBREAPER`), as
//! container shims are, so every descendant of the program stays in its tree
//! even after it double-forked or called `setsid` and left the process group.
//!
//! It starts the program and then owns the whole tree:
//! - when the program exits, what it left running gets `leak_grace` to end
//!   on its own and is then killed; the report says whether any of it still
//!   held the program's output;
//! - SIGTERM, SIGINT or SIGHUP (Fanout cancelling) reach every descendant as
//!   SIGTERM, and SIGKILL follows after `grace`; SIGUSR1 kills at once;
//! - when Fanout itself dies (a pidfd on the parent becomes readable), the
//!   tree is stopped the same way, so nothing outlives a crash of Fanout;
//! - it exits only once no descendant is left, and writes one JSON line to
//!   the report fd: the program's exit code or signal, how many processes
//!   were left over, whether they held the output.
//!
//! Every Fanout binary is also the supervisor: `main` calls
//! [`serve_if_asked`] first. Test binaries find the `fanout-supervisor`
//! binary of this crate instead (see [`executable`]).

use std::collections::{HashMap, HashSet};
use std::ffi::{OsStr, OsString};
use std::os::fd::{AsFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use rustix::process::{Pid, Signal, WaitOptions};
use serde::{Deserialize, Serialize};
use tokio::io::unix::AsyncFd;
use tokio::signal::unix::{signal, SignalKind};
use tokio::time::{sleep_until, Instant};

/// The first argument that makes a Fanout binary a supervisor.
pub const FLAG: &str = "--fanout-supervise";

/// Set once this process's `main` called [`serve_if_asked`]: its own
/// executable can then supervise.
static SERVES: AtomicBool = AtomicBool::new(false);

/// What the supervisor reports when it is done.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Report {
    /// The program's exit code, when it exited.
    pub code: Option<i32>,
    /// The signal that ended the program, when one did.
    pub signal: Option<i32>,
    /// Processes the program left running after it exited (or that were
    /// running when the tree was stopped), which the supervisor killed.
    pub leftovers: usize,
    /// One of the leftovers still held the program's stdout or stderr.
    pub leaked_output: bool,
    /// SIGTERM was not enough when the tree was stopped: SIGKILL followed.
    pub escalated: bool,
    /// The program could not be started: why.
    pub spawn_error: Option<String>,
    /// The program was not found (only with `spawn_error`).
    pub not_found: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("Fanout's process supervisor was not found (looked for {looked}). Reinstall Fanout, or set FANOUT_SUPERVISOR to the path of `fanout-supervisor`.")]
pub struct SupervisorMissing {
    looked: String,
}

/// Runs the supervisor and exits when this process was started as one;
/// returns at once otherwise. Call it first in `main` of every binary that
/// starts agents, so the binary can supervise its own children.
pub fn serve_if_asked() {
    SERVES.store(true, Ordering::SeqCst);
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() == Some(OsStr::new(FLAG)) {
        std::process::exit(main(args.collect()));
    }
}

/// The program to run as a supervisor: `FANOUT_SUPERVISOR`, this very
/// executable when it serves, or `fanout-supervisor` beside it (or one
/// folder up, where cargo puts binaries for the test executables in `deps/`).
pub fn executable() -> Result<PathBuf, SupervisorMissing> {
    if let Some(path) = std::env::var_os("FANOUT_SUPERVISOR").filter(|p| !p.is_empty()) {
        return Ok(PathBuf::from(path));
    }
    let exe = std::env::current_exe().map_err(|e| SupervisorMissing {
        looked: format!("this program's own path, which could not be read: {e}"),
    })?;
    if SERVES.load(Ordering::SeqCst) {
        return Ok(exe);
    }
    let dirs: Vec<PathBuf> = exe.ancestors().skip(1).take(2).map(PathBuf::from).collect();
    let candidates: Vec<PathBuf> = dirs.iter().map(|d| d.join("fanout-supervisor")).collect();
    candidates
        .iter()
        .find(|c| c.is_file())
        .cloned()
        .ok_or_else(|| SupervisorMissing {
            looked: candidates
                .iter()
                .map(|c| c.display().to_string())
                .collect::<Vec<_>>()
                .join(", "),
        })
}

/// The arguments that run `program` under the supervisor (after the
/// supervisor's own path).
pub fn arguments(
    grace: Duration,
    leak_grace: Duration,
    report_fd: RawFd,
    program: &OsStr,
    args: &[OsString],
) -> Vec<OsString> {
    let mut argv: Vec<OsString> = vec![
        FLAG.into(),
        "--grace-ms".into(),
        grace.as_millis().to_string().into(),
        "--leak-grace-ms".into(),
        leak_grace.as_millis().to_string().into(),
        "--report-fd".into(),
        report_fd.to_string().into(),
        "--".into(),
        program.to_owned(),
    ];
    argv.extend(args.iter().cloned());
    argv
}

struct Options {
    grace: Duration,
    leak_grace: Duration,
    report_fd: Option<RawFd>,
    program: OsString,
    args: Vec<OsString>,
}

/// The supervisor's `main`, given its arguments after [`FLAG`]. Returns the
/// exit code: the program's, 128 + its signal, or 125 for a usage error.
pub fn main(args: Vec<OsString>) -> i32 {
    let options = match parse(args) {
        Ok(options) => options,
        Err(message) => {
            eprintln!("fanout-supervisor: {message}");
            return 125;
        }
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build();
    let report = match runtime {
        Ok(runtime) => runtime.block_on(supervise(&options)),
        Err(e) => Report {
            spawn_error: Some(format!("the supervisor could not start its runtime: {e}")),
            ..Report::default()
        },
    };
    send_report(options.report_fd, &report);
    match (report.code, report.signal) {
        (Some(code), _) => code,
        (None, Some(signal)) => 128 + signal,
        _ => 127,
    }
}

fn parse(args: Vec<OsString>) -> Result<Options, String> {
    let mut options = Options {
        grace: Duration::from_secs(5),
        leak_grace: Duration::from_secs(3),
        report_fd: None,
        program: OsString::new(),
        args: Vec::new(),
    };
    let mut args = args.into_iter();
    let millis = |value: Option<OsString>, name: &str| {
        value
            .and_then(|v| v.to_str()?.parse::<u64>().ok())
            .map(Duration::from_millis)
            .ok_or_else(|| format!("{name} needs a number of milliseconds"))
    };
    while let Some(arg) = args.next() {
        match arg.to_str() {
            Some("--grace-ms") => options.grace = millis(args.next(), "--grace-ms")?,
            Some("--leak-grace-ms") => options.leak_grace = millis(args.next(), "--leak-grace-ms")?,
            Some("--report-fd") => {
                let fd = args.next().and_then(|v| v.to_str()?.parse::<RawFd>().ok());
                options.report_fd = Some(fd.ok_or("--report-fd needs a file descriptor")?);
            }
            Some("--") => {
                options.program = args.next().ok_or("no program to run after --")?;
                options.args = args.collect();
                return Ok(options);
            }
            _ => return Err(format!("unknown argument {arg:?}")),
        }
    }
    Err("no program to run (expected `-- <program> [args…]`)".into())
}

fn send_report(fd: Option<RawFd>, report: &Report) {
    let Some(fd) = fd else { return };
    // SAFETY: Fanout handed this descriptor to us for this one line; nothing
    // else in this process uses it.
    let file = unsafe { std::fs::File::from_raw_fd(fd) };
    let mut line = serde_json::to_string(report).unwrap_or_default();
    line.push('\n');
    let _ = std::io::Write::write_all(&mut &file, line.as_bytes());
}

/// Where the supervisor is in the program's life.
#[derive(Debug, Default)]
struct Life {
    /// The program's status, once it was reaped.
    exit: Option<(Option<i32>, Option<i32>)>,
    /// The tree is being stopped: SIGKILL for what is left at this time.
    kill_at: Option<Instant>,
    /// The program exited with descendants left: they get until then.
    leftovers_until: Option<Instant>,
    leftovers: usize,
    leaked_output: bool,
    /// Everything is being killed: every wake-up kills what appeared since.
    killing: bool,
    escalated: bool,
}

async fn supervise(options: &Options) -> Report {
    let me = rustix::process::getpid();
    if let Err(e) = rustix::process::set_child_subreaper(Some(me)) {
        return failed(
            format!("it could not become a child subreaper ({e})"),
            false,
        );
    }
    let parent = match watch_parent() {
        Ok(parent) => parent,
        Err(message) => return failed(message, false),
    };
    if let Some(fd) = options.report_fd {
        // The report is ours: the program must not inherit it.
        // SAFETY: the descriptor stays open for the supervisor's whole life.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let _ = rustix::io::fcntl_setfd(borrowed, rustix::io::FdFlags::CLOEXEC);
    }
    let signals = match Signals::new() {
        Ok(signals) => signals,
        Err(e) => return failed(format!("it could not watch signals ({e})"), false),
    };
    let output_pipes = [own_fd_target(1), own_fd_target(2)];
    let child = match std::process::Command::new(&options.program)
        .args(&options.args)
        .spawn()
    {
        Ok(child) => child,
        Err(e) => {
            let not_found = e.kind() == std::io::ErrorKind::NotFound;
            return failed(e.to_string(), not_found);
        }
    };
    let main_pid = child.id();
    // The child is reaped with waitpid(-1) below, with every orphan.
    drop(child);
    let mut signals = signals;
    let mut parent = parent;
    let mut life = Life::default();
    loop {
        reap(main_pid, &mut life);
        if life.exit.is_some() && no_children() {
            break;
        }
        if life.killing {
            // A process forked while the others were being killed.
            signal_descendants(Signal::KILL);
        } else if life.exit.is_some() && life.leftovers_until.is_none() && life.kill_at.is_none() {
            life.leftovers_until = Some(Instant::now() + options.leak_grace);
        }
        // While killing, a process stuck in the kernel may die without our
        // noticing a signal in time: look again shortly.
        let recheck = life
            .killing
            .then(|| Instant::now() + Duration::from_millis(100));
        tokio::select! {
            _ = signals.child.recv() => {}
            _ = signals.term.recv() => stop(&mut life, options.grace),
            _ = signals.int.recv() => stop(&mut life, options.grace),
            _ = signals.hup.recv() => stop(&mut life, options.grace),
            _ = signals.kill.recv() => kill_all_now(&mut life, &output_pipes),
            _ = parent_gone(&mut parent) => stop(&mut life, options.grace),
            _ = sleep_until_opt(life.kill_at), if !life.killing => {
                life.escalated = !descendants().is_empty();
                kill_all_now(&mut life, &output_pipes);
            }
            _ = sleep_until_opt(life.leftovers_until), if !life.killing && life.kill_at.is_none() => {
                kill_all_now(&mut life, &output_pipes);
            }
            _ = sleep_until_opt(recheck) => {}
        }
    }
    let (code, signal) = life.exit.unwrap_or((None, None));
    Report {
        code,
        signal,
        leftovers: life.leftovers,
        leaked_output: life.leaked_output,
        escalated: life.escalated,
        spawn_error: None,
        not_found: false,
    }
}

fn failed(message: String, not_found: bool) -> Report {
    Report {
        spawn_error: Some(message),
        not_found,
        ..Report::default()
    }
}

/// A pidfd on the parent (Fanout): readable once it has exited.
fn watch_parent() -> Result<Option<AsyncFd<OwnedFd>>, String> {
    let Some(parent) = rustix::process::getppid() else {
        return Err("Fanout, which started it, is already gone".into());
    };
    let fd = match rustix::process::pidfd_open(parent, rustix::process::PidfdFlags::NONBLOCK) {
        Ok(fd) => fd,
        // Kernels before 5.3: the parent-death signal Fanout set still stops us.
        Err(_) => return Ok(None),
    };
    // The parent may have died before the pidfd was opened, and we were
    // reparented already: then the pidfd names an unrelated process or none.
    if rustix::process::getppid() != Some(parent) {
        return Err("Fanout, which started it, is already gone".into());
    }
    // SAFETY: the AsyncFd owns the descriptor, so it stays open while registered.
    unsafe { AsyncFd::register(fd) }
        .map(Some)
        .map_err(|e| format!("it could not watch Fanout ({e})"))
}

async fn parent_gone(parent: &mut Option<AsyncFd<OwnedFd>>) {
    match parent {
        Some(fd) => {
            let _ = fd.readable().await;
            // Once is enough: the tree is being stopped.
            *parent = None;
        }
        None => std::future::pending().await,
    }
}

struct Signals {
    child: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    int: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
    kill: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> std::io::Result<Signals> {
        Ok(Signals {
            child: signal(SignalKind::child())?,
            term: signal(SignalKind::terminate())?,
            int: signal(SignalKind::interrupt())?,
            hup: signal(SignalKind::hangup())?,
            kill: signal(SignalKind::user_defined1())?,
        })
    }
}

/// Reaps every child that has ended: the program, and orphans that were
/// reparented to us.
fn reap(main_pid: u32, life: &mut Life) {
    while let Ok(Some((pid, status))) = rustix::process::waitpid(None, WaitOptions::NOHANG) {
        if pid.as_raw_pid() as u32 == main_pid {
            life.exit = Some((status.exit_status(), status.terminating_signal()));
        }
    }
}

fn no_children() -> bool {
    matches!(
        rustix::process::waitpid(None, WaitOptions::NOHANG),
        Err(rustix::io::Errno::CHILD)
    )
}

/// SIGTERM to every descendant now, SIGKILL to what is left after `grace`.
fn stop(life: &mut Life, grace: Duration) {
    if life.kill_at.is_some() {
        return;
    }
    let alive = signal_descendants(Signal::TERM);
    if life.exit.is_some() {
        life.leftovers = life.leftovers.max(alive);
    }
    life.kill_at = Some(Instant::now() + grace);
}

fn kill_all_now(life: &mut Life, output_pipes: &[Option<String>; 2]) {
    let tree = descendants();
    if life.exit.is_some() {
        life.leftovers = life.leftovers.max(tree.len());
        life.leaked_output |= tree.iter().any(|pid| holds_any(*pid, output_pipes));
    }
    signal_descendants(Signal::KILL);
    life.killing = true;
}

/// Sends `signal` to every live descendant, each through a pidfd opened
/// after checking it is still ours, so a reused pid is never signalled.
/// Returns how many were signalled.
fn signal_descendants(signal: Signal) -> usize {
    let mut sent = 0;
    for pid in descendants() {
        let Some(raw) = Pid::from_raw(pid as i32) else {
            continue;
        };
        let Ok(fd) = rustix::process::pidfd_open(raw, rustix::process::PidfdFlags::empty()) else {
            // No pidfd (an old kernel): a plain kill; the check was just made.
            let _ = rustix::process::kill_process(raw, signal);
            sent += 1;
            continue;
        };
        if !descendants().contains(&pid) {
            continue;
        }
        if rustix::process::pidfd_send_signal(fd.as_fd(), signal).is_ok() {
            sent += 1;
        }
    }
    sent
}

/// Live (not zombie) descendants of this process, from /proc.
fn descendants() -> HashSet<u32> {
    let me = std::process::id();
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return HashSet::new();
    };
    for pid in entries
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
    {
        if let Some((ppid, zombie)) = parent_of(pid) {
            if !zombie {
                children.entry(ppid).or_default().push(pid);
            }
        }
    }
    let mut found = HashSet::new();
    let mut pending = vec![me];
    while let Some(pid) = pending.pop() {
        for child in children.get(&pid).into_iter().flatten() {
            if found.insert(*child) {
                pending.push(*child);
            }
        }
    }
    found
}

/// A process's parent and whether it is a zombie.
fn parent_of(pid: u32) -> Option<(u32, bool)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let fields: Vec<&str> = stat.rsplit_once(')')?.1.split_whitespace().collect();
    let zombie = fields.first() == Some(&"Z");
    Some((fields.get(1)?.parse().ok()?, zombie))
}

/// What this process's descriptor `fd` refers to (`pipe:[1234]`).
fn own_fd_target(fd: u32) -> Option<String> {
    std::fs::read_link(format!("/proc/self/fd/{fd}"))
        .ok()
        .map(|t| t.to_string_lossy().into_owned())
        .filter(|t| t.starts_with("pipe:") || t.starts_with("socket:"))
}

/// Whether `pid` has one of `targets` open.
fn holds_any(pid: u32, targets: &[Option<String>; 2]) -> bool {
    let Ok(fds) = std::fs::read_dir(format!("/proc/{pid}/fd")) else {
        return false;
    };
    fds.flatten().any(|fd| {
        std::fs::read_link(fd.path())
            .map(|t| {
                let t = t.to_string_lossy();
                targets.iter().flatten().any(|target| *target == t)
            })
            .unwrap_or(false)
    })
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}
