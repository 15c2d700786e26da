//! Child processes that are always cleaned up.
//!
//! [`spawn`] starts a program in its own session and process group (so a
//! signal reaches everything it started), asks Linux to kill it if Fanout dies
//! (`PR_SET_PDEATHSIG`), and reads its stdout and stderr as bounded lines.
//! One owner task per child `select!`s over the child's exit, the cancel
//! signal and its timers; nothing polls and nothing sleeps a thread.
//!
//! Ending a child: cancel or timeout sends SIGTERM to the whole group, then
//! SIGKILL after [`ProcessSpec::grace`]; the child is always waited for. When
//! the child has exited but its stdout or stderr stays open longer than
//! [`ProcessSpec::leak_grace`], a grandchild inherited the pipe: the outcome
//! says so and the group is killed. Members of the group still alive when the
//! child is gone are killed too, so no process outlives its session.
//!
//! Usage: read lines with [`RunningProcess::next_line`] until `None`, then
//! [`RunningProcess::finish`]. `finish` drains unread lines itself, so calling
//! it early never deadlocks on a full pipe.
//!
//! Call [`spawn`] from a runtime worker thread, not from `spawn_blocking`:
//! Linux delivers the parent-death signal when the spawning *thread* exits.

use std::ffi::{OsStr, OsString};
use std::io;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rustix::process::{Pid, Signal};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

pub use crate::events::Stream;

/// How long readers may take to notice closed pipes after the group was killed.
const ABANDON_READERS_AFTER: Duration = Duration::from_secs(1);

/// Variables this process set for itself (the desktop app's WebKit switches)
/// that the programs it starts must not inherit: an agent running a project's
/// own WebKit tests should see the user's environment, not Fanout's.
static PRIVATE_ENV: std::sync::OnceLock<Vec<OsString>> = std::sync::OnceLock::new();

/// Names variables no child process inherits; the first call wins.
pub fn keep_from_children(names: &[&str]) {
    let _ = PRIVATE_ENV.set(names.iter().map(OsString::from).collect());
}

/// See [`keep_from_children`].
pub fn private_env() -> &'static [OsString] {
    PRIVATE_ENV.get().map(Vec::as_slice).unwrap_or_default()
}

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("The program `{program}` was not found. Install it, or set the full path to it in the settings.")]
    NotFound { program: String },
    #[error("The working directory {} does not exist. Recreate the worktree, or retry the variant.", path.display())]
    WorkdirMissing { path: PathBuf },
    #[error("Could not start `{program}`: {source}. Check that it is executable.")]
    Spawn {
        program: String,
        #[source]
        source: io::Error,
    },
}

impl ProcessError {
    pub fn code(&self) -> &'static str {
        match self {
            ProcessError::NotFound { .. } => "process.not_found",
            ProcessError::WorkdirMissing { .. } => "process.workdir_missing",
            ProcessError::Spawn { .. } => "process.spawn",
        }
    }
}

/// What to run and how patiently. Built with [`ProcessSpec::new`] and its setters.
#[derive(Debug, Clone)]
pub struct ProcessSpec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub cwd: PathBuf,
    pub env: Vec<(OsString, OsString)>,
    /// The child is ended (SIGTERM, then SIGKILL) when it runs longer than this.
    pub timeout: Option<Duration>,
    /// Time between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// How long stdout/stderr may stay open after the child exited.
    pub leak_grace: Duration,
    /// Longest line kept; the rest of a longer line is counted, not stored.
    pub max_line_bytes: usize,
    /// Lines buffered between the readers and the consumer. With the line
    /// bound this caps a child's unread output in memory (64 MiB by default,
    /// only ever reached by a consumer that stopped reading huge lines).
    pub channel_capacity: usize,
    /// Give the child a pipe on stdin (see [`RunningProcess::take_stdin`])
    /// instead of `/dev/null`: for agents spoken to while they run.
    pub piped_stdin: bool,
}

impl ProcessSpec {
    pub fn new(program: impl Into<PathBuf>, cwd: impl Into<PathBuf>) -> Self {
        ProcessSpec {
            program: program.into(),
            args: Vec::new(),
            cwd: cwd.into(),
            env: Vec::new(),
            timeout: None,
            grace: Duration::from_secs(5),
            leak_grace: Duration::from_secs(3),
            // Big enough for a tool call writing a sizeable file to stay parseable JSON.
            max_line_bytes: 1024 * 1024,
            channel_capacity: 64,
            piped_stdin: false,
        }
    }

    pub fn piped_stdin(mut self) -> Self {
        self.piped_stdin = true;
        self
    }

    pub fn arg(mut self, arg: impl AsRef<OsStr>) -> Self {
        self.args.push(arg.as_ref().to_owned());
        self
    }

    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    pub fn env(mut self, key: impl AsRef<OsStr>, value: impl AsRef<OsStr>) -> Self {
        self.env
            .push((key.as_ref().to_owned(), value.as_ref().to_owned()));
        self
    }

    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    pub fn grace(mut self, grace: Duration) -> Self {
        self.grace = grace;
        self
    }

    pub fn leak_grace(mut self, leak_grace: Duration) -> Self {
        self.leak_grace = leak_grace;
        self
    }

    pub fn max_line_bytes(mut self, max: usize) -> Self {
        self.max_line_bytes = max.max(1);
        self
    }
}

/// One line of output, without its line ending, bounded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputLine {
    pub stream: Stream,
    pub text: String,
    /// Bytes of this line that were beyond [`ProcessSpec::max_line_bytes`].
    pub dropped_bytes: usize,
}

/// Why the child ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessEnd {
    /// On its own (whatever its exit code).
    Exited,
    /// [`Canceller::cancel`] was called.
    Cancelled,
    /// It ran past [`ProcessSpec::timeout`].
    TimedOut,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProcessOutcome {
    pub end: ProcessEnd,
    /// Exit code, when the child exited rather than being killed by a signal.
    pub code: Option<i32>,
    /// The signal that ended the child, if one did.
    pub signal: Option<i32>,
    /// SIGTERM was not enough: the group got SIGKILL.
    pub escalated_to_kill: bool,
    /// stdout or stderr stayed open after the child exited (a grandchild held it).
    pub leaked_output: bool,
    /// Processes of the group were still alive after the child ended, and were killed.
    pub stray_processes: bool,
    pub duration_ms: u64,
}

/// Asks a running child to end (SIGTERM to its group, then SIGKILL). Cheap to clone.
#[derive(Debug, Clone)]
pub struct Canceller(Arc<Notify>);

impl Canceller {
    /// A canceller for work that is not a child process (the built-in API agent).
    pub(crate) fn detached() -> Canceller {
        Canceller(Arc::new(Notify::new()))
    }

    pub fn cancel(&self) {
        // notify_one keeps a permit when the owner is not waiting yet, so no cancel is lost.
        self.0.notify_one();
    }

    /// Resolves once [`Canceller::cancel`] was called; for the one owner of a detached canceller.
    pub(crate) async fn cancelled(&self) {
        self.0.notified().await;
    }
}

/// A started child: its lines, a canceller, and its outcome.
#[derive(Debug)]
pub struct RunningProcess {
    pid: u32,
    stdin: Option<ChildStdin>,
    lines: mpsc::Receiver<OutputLine>,
    canceller: Canceller,
    owner: JoinHandle<ProcessOutcome>,
    /// Set once [`RunningProcess::finish`] saw the child gone.
    finished: bool,
}

/// A handle dropped before `finish` belongs to work that was abandoned (an
/// aborted task, a cancelled request): the child is ended as if cancelled,
/// rather than running on unread until its timeout.
impl Drop for RunningProcess {
    fn drop(&mut self) {
        if !self.finished {
            self.canceller.cancel();
        }
    }
}

impl RunningProcess {
    /// The child's pid, which is also its process group id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn canceller(&self) -> Canceller {
        self.canceller.clone()
    }

    /// The child's stdin, once, when the spec asked for [`ProcessSpec::piped_stdin`].
    /// Dropping it closes the pipe: the child reads end of file.
    pub fn take_stdin(&mut self) -> Option<ChildStdin> {
        self.stdin.take()
    }

    /// The next line from stdout or stderr; `None` once both are closed.
    pub async fn next_line(&mut self) -> Option<OutputLine> {
        self.lines.recv().await
    }

    /// Waits until the child and its group are gone, discarding unread lines.
    pub async fn finish(mut self) -> ProcessOutcome {
        while self.lines.recv().await.is_some() {}
        let joined = (&mut self.owner).await;
        self.finished = true;
        match joined {
            Ok(outcome) => outcome,
            Err(join_error) => {
                // The owner only ends this way if the runtime shuts down under it;
                // report the child as killed rather than inventing an exit code.
                tracing::error!(%join_error, pid = self.pid, "process owner task ended abnormally");
                ProcessOutcome {
                    end: ProcessEnd::Cancelled,
                    code: None,
                    signal: None,
                    escalated_to_kill: true,
                    leaked_output: false,
                    stray_processes: false,
                    duration_ms: 0,
                }
            }
        }
    }
}

/// Starts `spec` in its own process group. Must be called inside a tokio runtime.
pub fn spawn(spec: ProcessSpec) -> Result<RunningProcess, ProcessError> {
    if !spec.cwd.is_dir() {
        return Err(ProcessError::WorkdirMissing {
            path: spec.cwd.clone(),
        });
    }
    let mut child = command(&spec)
        .spawn()
        .map_err(|source| spawn_error(&spec.program, source))?;
    let pid = child.id().ok_or_else(|| ProcessError::Spawn {
        program: spec.program.display().to_string(),
        source: io::Error::other("the child exited before its pid could be read"),
    })?;

    let stdin = child.stdin.take();
    let (tx, rx) = mpsc::channel(spec.channel_capacity.max(1));
    let stdout = child
        .stdout
        .take()
        .map(|pipe| Reader::start(pipe, Stream::Stdout, spec.max_line_bytes, tx.clone()));
    let stderr = child
        .stderr
        .take()
        .map(|pipe| Reader::start(pipe, Stream::Stderr, spec.max_line_bytes, tx));
    let notify = Arc::new(Notify::new());
    let pgid = Pid::from_raw(pid as i32);
    let owner = Owner {
        child,
        pgid,
        guard: GroupGuard(pgid),
        spec,
        cancel: notify.clone(),
        readers: [stdout, stderr],
    };
    Ok(RunningProcess {
        pid,
        stdin,
        lines: rx,
        canceller: Canceller(notify),
        owner: tokio::spawn(owner.run()),
        finished: false,
    })
}

fn command(spec: &ProcessSpec) -> Command {
    let mut cmd = Command::new(&spec.program);
    for name in private_env() {
        cmd.env_remove(name);
    }
    cmd.args(&spec.args)
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(if spec.piped_stdin {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
    let parent = rustix::process::getpid();
    // SAFETY: the closure runs between fork and exec and only makes raw
    // syscalls through rustix; it neither allocates nor takes locks.
    unsafe {
        cmd.pre_exec(move || detach_from_parent(parent));
    }
    cmd
}

/// In the forked child: a new session (hence a new process group whose id is
/// the child's pid), and death when Fanout dies.
fn detach_from_parent(parent: Pid) -> io::Result<()> {
    rustix::process::setsid()?;
    #[cfg(target_os = "linux")]
    {
        rustix::process::set_parent_process_death_signal(Some(Signal::KILL))?;
        // The parent may have died between fork and prctl; then no signal would come.
        if rustix::process::getppid() != Some(parent) {
            return Err(rustix::io::Errno::SRCH.into());
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = parent;
    Ok(())
}

fn spawn_error(program: &Path, source: io::Error) -> ProcessError {
    let program = program.display().to_string();
    if source.kind() == io::ErrorKind::NotFound {
        ProcessError::NotFound { program }
    } else {
        ProcessError::Spawn { program, source }
    }
}

/// Sends `signal` to every process of the group; a group already gone is fine.
fn signal_group(pgid: Option<Pid>, signal: Signal) {
    let Some(pgid) = pgid else { return };
    match rustix::process::kill_process_group(pgid, signal) {
        Ok(()) | Err(rustix::io::Errno::SRCH) => {}
        Err(error) => {
            tracing::warn!(%error, pgid = pgid.as_raw_pid(), "could not signal a process group")
        }
    }
}

fn group_alive(pgid: Option<Pid>) -> bool {
    pgid.is_some_and(|pgid| rustix::process::test_kill_process_group(pgid).is_ok())
}

/// A task reading one pipe into bounded lines.
struct Reader {
    task: JoinHandle<()>,
    /// Set while the reader waits for the consumer to take a line: then an
    /// open pipe means a slow consumer, not a leaked pipe.
    waiting_on_consumer: Arc<AtomicBool>,
    done: bool,
}

impl Reader {
    fn start<R>(pipe: R, stream: Stream, max: usize, tx: mpsc::Sender<OutputLine>) -> Reader
    where
        R: AsyncRead + Unpin + Send + 'static,
    {
        let waiting = Arc::new(AtomicBool::new(false));
        let sink = LineSink {
            stream,
            tx,
            waiting: waiting.clone(),
            consumer_gone: false,
        };
        Reader {
            task: tokio::spawn(read_lines(pipe, max, sink)),
            waiting_on_consumer: waiting,
            done: false,
        }
    }
}

struct LineSink {
    stream: Stream,
    tx: mpsc::Sender<OutputLine>,
    waiting: Arc<AtomicBool>,
    consumer_gone: bool,
}

impl LineSink {
    async fn emit(&mut self, bytes: &[u8], dropped_bytes: usize) {
        if self.consumer_gone {
            return;
        }
        let bytes = bytes.strip_suffix(b"\r").unwrap_or(bytes);
        let line = OutputLine {
            stream: self.stream,
            text: String::from_utf8_lossy(bytes).into_owned(),
            dropped_bytes,
        };
        self.waiting.store(true, Ordering::SeqCst);
        // A consumer that went away must not stall the child: keep draining the pipe.
        self.consumer_gone = self.tx.send(line).await.is_err();
        self.waiting.store(false, Ordering::SeqCst);
    }
}

async fn read_lines<R: AsyncRead + Unpin>(pipe: R, max: usize, mut sink: LineSink) {
    let mut reader = BufReader::with_capacity(64 * 1024, pipe);
    let mut line: Vec<u8> = Vec::new();
    let mut dropped = 0usize;
    loop {
        let (used, complete) = {
            let Ok(buf) = reader.fill_buf().await else {
                break;
            };
            if buf.is_empty() {
                break;
            }
            let newline = buf.iter().position(|&b| b == b'\n');
            let chunk = &buf[..newline.unwrap_or(buf.len())];
            let take = chunk.len().min(max.saturating_sub(line.len()));
            line.extend_from_slice(&chunk[..take]);
            dropped += chunk.len() - take;
            (newline.map_or(buf.len(), |i| i + 1), newline.is_some())
        };
        reader.consume(used);
        if complete {
            sink.emit(&line, dropped).await;
            line.clear();
            dropped = 0;
        }
    }
    if !line.is_empty() || dropped > 0 {
        sink.emit(&line, dropped).await;
    }
}

/// Kills the group when dropped: if the owner task is dropped before the child
/// ended (the runtime shuts down with the app), nothing of the group survives.
/// Defused once the owner has seen the group gone.
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        signal_group(self.0, Signal::KILL);
    }
}

/// The one task that owns a child until it and its group are gone.
struct Owner {
    child: Child,
    pgid: Option<Pid>,
    guard: GroupGuard,
    spec: ProcessSpec,
    cancel: Arc<Notify>,
    readers: [Option<Reader>; 2],
}

/// The owner's progress through a child's life.
#[derive(Default)]
struct Life {
    exited: bool,
    /// `None` after an exit only if waiting for the child failed.
    status: Option<ExitStatus>,
    end: Option<ProcessEnd>,
    kill_at: Option<Instant>,
    escalated: bool,
    leak_check_at: Option<Instant>,
    leaked: bool,
    abandon_at: Option<Instant>,
}

impl Owner {
    async fn run(mut self) -> ProcessOutcome {
        let started = Instant::now();
        let deadline = self.spec.timeout.map(|t| started + t);
        let mut life = Life::default();
        let [mut out, mut err] = std::mem::take(&mut self.readers);
        loop {
            let pipes_open =
                out.as_ref().is_some_and(|r| !r.done) || err.as_ref().is_some_and(|r| !r.done);
            if life.exited && !pipes_open {
                break;
            }
            tokio::select! {
                status = self.child.wait(), if !life.exited => {
                    life.exited = true;
                    life.status = status
                        .inspect_err(|error| tracing::warn!(%error, "waiting for a child failed"))
                        .ok();
                    life.leak_check_at = Some(Instant::now() + self.spec.leak_grace);
                }
                _ = reader_done(&mut out) => {}
                _ = reader_done(&mut err) => {}
                _ = self.cancel.notified(), if life.end.is_none() => {
                    self.terminate(&mut life, ProcessEnd::Cancelled);
                }
                _ = sleep_until_opt(deadline), if life.end.is_none() && !life.exited => {
                    self.terminate(&mut life, ProcessEnd::TimedOut);
                }
                // Also after the child died of SIGTERM: its group may still hold the pipes.
                _ = sleep_until_opt(life.kill_at), if !life.escalated => {
                    life.escalated = true;
                    signal_group(self.pgid, Signal::KILL);
                }
                _ = sleep_until_opt(life.leak_check_at), if !life.leaked => {
                    self.check_leak(&mut life, [&out, &err]);
                }
                _ = sleep_until_opt(life.abandon_at) => {
                    // A process outside the group (it left with setsid) holds the pipe.
                    for reader in [&mut out, &mut err].into_iter().flatten() {
                        reader.task.abort();
                        reader.done = true;
                    }
                }
            }
        }
        let stray_processes = group_alive(self.pgid);
        if stray_processes {
            signal_group(self.pgid, Signal::KILL);
        }
        // The group is gone; its id may be reused by others from now on.
        self.guard.0 = None;
        outcome(life, stray_processes, started)
    }

    fn terminate(&self, life: &mut Life, why: ProcessEnd) {
        life.end = Some(why);
        if life.exited {
            // Only leftovers of the group remain; they get no grace.
            signal_group(self.pgid, Signal::KILL);
            life.abandon_at = Some(Instant::now() + ABANDON_READERS_AFTER);
            return;
        }
        signal_group(self.pgid, Signal::TERM);
        life.kill_at = Some(Instant::now() + self.spec.grace);
    }

    fn check_leak(&self, life: &mut Life, readers: [&Option<Reader>; 2]) {
        let open: Vec<&Reader> = readers.into_iter().flatten().filter(|r| !r.done).collect();
        if open.is_empty() {
            life.leak_check_at = None;
            return;
        }
        if open
            .iter()
            .any(|r| r.waiting_on_consumer.load(Ordering::SeqCst))
        {
            life.leak_check_at = Some(Instant::now() + self.spec.leak_grace);
            return;
        }
        tracing::warn!(pgid = ?self.pgid.map(|p| p.as_raw_pid()), "output still open after the child exited; killing its process group");
        life.leaked = true;
        life.leak_check_at = None;
        signal_group(self.pgid, Signal::KILL);
        life.abandon_at = Some(Instant::now() + ABANDON_READERS_AFTER);
    }
}

async fn reader_done(reader: &mut Option<Reader>) {
    match reader {
        Some(r) if !r.done => {
            // The task only ends by finishing or by our abort; either way the pipe is done.
            let _ = (&mut r.task).await;
            r.done = true;
        }
        _ => std::future::pending().await,
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(at) => sleep_until(at).await,
        None => std::future::pending().await,
    }
}

fn outcome(life: Life, stray_processes: bool, started: Instant) -> ProcessOutcome {
    use std::os::unix::process::ExitStatusExt;
    let status = life.status;
    ProcessOutcome {
        end: life.end.unwrap_or(ProcessEnd::Exited),
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        escalated_to_kill: life.escalated,
        leaked_output: life.leaked,
        stray_processes,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
    }
}
