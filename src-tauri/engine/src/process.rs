//! Child processes that are always cleaned up.
//!
//! [`spawn`] starts a program under Fanout's [`supervisor`] (a child
//! subreaper that owns every descendant of the program, even one that called
//! `setsid`, and stops them all when Fanout dies), in its own session and
//! process group, optionally inside a [`Sandbox`], and reads its stdout and
//! stderr as bounded lines. One owner task per child `select!`s over the
//! supervisor's exit, the cancel signal and its timers; nothing polls and
//! nothing sleeps a thread.
//!
//! Ending a child: cancel or timeout sends SIGTERM to the supervisor, which
//! passes it to every descendant and kills what is left after
//! [`ProcessSpec::grace`]; Fanout kills the group itself only if the
//! supervisor did not manage. When the program exits, whatever it left
//! running gets [`ProcessSpec::leak_grace`] to end and is then killed; the
//! outcome says whether it held the program's output. No process outlives its
//! session.
//!
//! No child inherits Fanout's API keys ([`crate::secrets::CHILD_SECRET_VARS`])
//! unless its spec names them, and every line read is scrubbed of the
//! secrets Fanout knows before anyone sees it.
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

use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use rustix::process::{Pid, Signal};
use serde::Serialize;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::{mpsc, Notify};
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, Instant};

pub use crate::events::Stream;
use crate::sandbox::Sandbox;
use crate::supervisor::{self, Report, SupervisorMissing};

/// How long after its own grace Fanout waits for the supervisor before it
/// kills the group itself.
const SUPERVISOR_SLACK: Duration = Duration::from_secs(2);

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
    #[error("The command line for `{program}` is too long for the system ({bytes} bytes of arguments). Shorten the prompt or the methodology, or use an agent template with {{prompt_file}}.")]
    TooLong { program: String, bytes: usize },
    #[error(transparent)]
    NoSupervisor(#[from] SupervisorMissing),
}

impl ProcessError {
    pub fn code(&self) -> &'static str {
        match self {
            ProcessError::NotFound { .. } => "process.not_found",
            ProcessError::WorkdirMissing { .. } => "process.workdir_missing",
            ProcessError::Spawn { .. } => "process.spawn",
            ProcessError::TooLong { .. } => "process.too_long",
            ProcessError::NoSupervisor(_) => "process.no_supervisor",
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
    /// Run inside this sandbox.
    pub sandbox: Option<Sandbox>,
    /// Secret variables of Fanout's environment this child may inherit
    /// (an agent CLI's own API key); every other one is removed.
    pub secrets: Vec<String>,
    /// Run on this host instead (see [`crate::hosts::RemoteShell`]); `cwd`
    /// is then a path there.
    pub remote: Option<crate::hosts::Shell>,
    /// Written to the child's stdin before anything else (a remote
    /// process's environment); stdin is closed after it unless
    /// [`ProcessSpec::piped_stdin`].
    pub stdin_prefix: Option<Vec<u8>>,
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
            sandbox: None,
            secrets: Vec::new(),
            remote: None,
            stdin_prefix: None,
        }
    }

    /// Runs on `remote`'s host, `cwd` being a path there.
    pub fn remote(mut self, remote: Option<crate::hosts::Shell>) -> Self {
        self.remote = remote;
        self
    }

    pub fn sandbox(mut self, sandbox: Option<Sandbox>) -> Self {
        self.sandbox = sandbox;
        self
    }

    /// Lets the child inherit these secret variables from Fanout's environment.
    pub fn secrets<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.secrets.extend(names.into_iter().map(Into::into));
        self
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
    /// Processes the child left running were still alive after it ended, and were killed.
    pub stray_processes: bool,
    pub duration_ms: u64,
    /// The program could not be started after all (the supervisor says why).
    pub spawn_error: Option<String>,
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
                    spawn_error: None,
                }
            }
        }
    }
}

/// Starts `spec` under the supervisor, in its own process group. Must be
/// called inside a tokio runtime.
pub fn spawn(spec: ProcessSpec) -> Result<RunningProcess, ProcessError> {
    let spec = match spec.remote.clone() {
        Some(remote) => remote.wrap(spec),
        None => spec,
    };
    if let Some(prefix) = &spec.stdin_prefix {
        if !crate::hosts::block_fits(prefix) {
            return Err(ProcessError::Spawn {
                program: spec.program.display().to_string(),
                source: io::Error::other("its environment is too large to send to the host"),
            });
        }
    }
    if !spec.cwd.is_dir() {
        return Err(ProcessError::WorkdirMissing {
            path: spec.cwd.clone(),
        });
    }
    let program = resolve_program(&spec)?;
    let supervisor = supervisor::executable()?;
    let spawn_failed = |source| ProcessError::Spawn {
        program: spec.program.display().to_string(),
        source,
    };
    let (report_read, report_write) = rustix::pipe::pipe_with(rustix::pipe::PipeFlags::CLOEXEC)
        .map_err(|e| spawn_failed(e.into()))?;
    let mut child = command(&spec, &supervisor, &program, &report_write)
        .spawn()
        .map_err(|source| too_long(&spec, source).unwrap_or_else(&spawn_failed))?;
    drop(report_write);
    let pid = child.id().ok_or_else(|| {
        spawn_failed(io::Error::other(
            "the child exited before its pid could be read",
        ))
    })?;

    let mut stdin = child.stdin.take();
    if let Some(prefix) = &spec.stdin_prefix {
        write_prefix(&mut stdin, prefix).map_err(&spawn_failed)?;
        if !spec.piped_stdin {
            stdin = None;
        }
    }
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
        report: tokio::spawn(read_report(report_read)),
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

/// Writes `prefix` into a fresh pipe at once: it fits in the pipe's buffer
/// (see [`crate::hosts`]), so no reader is needed yet.
fn write_prefix(stdin: &mut Option<ChildStdin>, prefix: &[u8]) -> io::Result<()> {
    use std::os::fd::AsFd;
    let pipe = stdin
        .as_ref()
        .ok_or_else(|| io::Error::other("its input could not be opened"))?;
    let mut rest = prefix;
    while !rest.is_empty() {
        match rustix::io::write(pipe.as_fd(), rest) {
            Ok(0) => return Err(io::Error::other("its input closed")),
            Ok(n) => rest = &rest[n..],
            Err(rustix::io::Errno::INTR) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// The program's full path: found on the PATH the child will have, so a
/// missing program is a clear error now rather than a failure inside the
/// supervisor, and so a sandbox can show exactly that file.
fn resolve_program(spec: &ProcessSpec) -> Result<PathBuf, ProcessError> {
    let path_var = spec
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone());
    find_program(&spec.program, &spec.cwd, path_var.as_deref())
}

/// Where `program` is: itself when it names a path (relative ones from
/// `cwd`), otherwise the first executable of that name on `path_var` (or on
/// Fanout's own PATH).
pub fn find_program(
    program: &Path,
    cwd: &Path,
    path_var: Option<&OsStr>,
) -> Result<PathBuf, ProcessError> {
    let not_found = || ProcessError::NotFound {
        program: program.display().to_string(),
    };
    if program.components().count() > 1 {
        let path = if program.is_absolute() {
            program.to_path_buf()
        } else {
            cwd.join(program)
        };
        return if path.is_file() {
            Ok(path)
        } else {
            Err(not_found())
        };
    }
    let search = path_var
        .map(OsStr::to_os_string)
        .or_else(|| std::env::var_os("PATH"))
        .unwrap_or_default();
    std::env::split_paths(&search)
        .map(|dir| dir.join(program))
        .find(|candidate| is_executable(candidate))
        .ok_or_else(not_found)
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata()
        .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// E2BIG from exec: the arguments (a long prompt) exceed the system's limit.
fn too_long(spec: &ProcessSpec, source: io::Error) -> Result<ProcessError, io::Error> {
    if source.raw_os_error() == Some(rustix::io::Errno::TOOBIG.raw_os_error()) {
        Ok(ProcessError::TooLong {
            program: spec.program.display().to_string(),
            bytes: spec.args.iter().map(|a| a.len() + 1).sum(),
        })
    } else {
        Err(source)
    }
}

fn command(spec: &ProcessSpec, supervisor: &Path, program: &Path, report: &OwnedFd) -> Command {
    let (program, args) = match &spec.sandbox {
        Some(sandbox) => {
            let mut sandbox = sandbox.clone();
            sandbox.readable.push(program.to_path_buf());
            sandbox.wrap(program.as_os_str(), &spec.args, &spec.cwd)
        }
        None => (program.to_path_buf(), spec.args.clone()),
    };
    let report_fd = report.as_raw_fd();
    let argv = supervisor::arguments(
        spec.grace,
        spec.leak_grace,
        report_fd,
        program.as_os_str(),
        &args,
    );
    let mut cmd = Command::new(supervisor);
    for name in private_env() {
        cmd.env_remove(name);
    }
    for name in crate::secrets::CHILD_SECRET_VARS {
        if !spec.secrets.iter().any(|s| s == name) {
            cmd.env_remove(name);
        }
    }
    cmd.args(argv)
        .current_dir(&spec.cwd)
        .envs(spec.env.iter().map(|(k, v)| (k, v)))
        .stdin(if spec.piped_stdin || spec.stdin_prefix.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // The supervisor stops its tree itself; a SIGKILL would orphan it.
        .kill_on_drop(false);
    // SAFETY: the closure runs between fork and exec and only makes raw
    // syscalls through rustix; it neither allocates nor takes locks.
    unsafe {
        cmd.pre_exec(move || detach_from_parent(report_fd));
    }
    cmd
}

/// In the forked child: a new session (hence a new process group whose id
/// is the supervisor's pid), and the report pipe kept across exec. Fanout's
/// death reaches the supervisor through a pidfd it opens on its parent.
fn detach_from_parent(report_fd: i32) -> io::Result<()> {
    rustix::process::setsid()?;
    // SAFETY: the descriptor is open in this child: it was inherited from
    // the parent, which holds it until spawn returns.
    let report = unsafe { BorrowedFd::borrow_raw(report_fd) };
    rustix::io::fcntl_setfd(report, rustix::io::FdFlags::empty())?;
    Ok(())
}

/// Reads the supervisor's one-line report; `None` if it died before writing it.
async fn read_report(fd: OwnedFd) -> Option<Report> {
    use tokio::io::AsyncReadExt;
    let mut receiver = tokio::net::unix::pipe::Receiver::from_owned_fd(fd).ok()?;
    let mut text = Vec::new();
    receiver.read_to_end(&mut text).await.ok()?;
    serde_json::from_slice(text.trim_ascii()).ok()
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
            text: crate::secrets::redact(&String::from_utf8_lossy(bytes)).into_owned(),
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

/// Stops the supervisor's tree when dropped: if the owner task is dropped
/// before the child ended (the runtime shuts down with the app), nothing of
/// it survives. SIGUSR1 asks the supervisor to kill everything at once; a
/// SIGKILL would end the supervisor first and orphan what left the group.
/// Defused once the owner has seen the group gone.
struct GroupGuard(Option<Pid>);

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pid) = self.0 {
            let _ = rustix::process::kill_process(pid, Signal::USR1);
        }
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
    /// The supervisor's report, read to its end.
    report: JoinHandle<Option<Report>>,
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
                    // The supervisor ended the tree before it exited; pipes
                    // still open now were leaked past it.
                    life.leak_check_at = Some(Instant::now() + SUPERVISOR_SLACK);
                }
                _ = reader_done(&mut out) => {}
                _ = reader_done(&mut err) => {}
                _ = self.cancel.notified(), if life.end.is_none() => {
                    self.terminate(&mut life, ProcessEnd::Cancelled);
                }
                _ = sleep_until_opt(deadline), if life.end.is_none() && !life.exited => {
                    self.terminate(&mut life, ProcessEnd::TimedOut);
                }
                // The supervisor did not end its tree in time: the last resort.
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
        let report = tokio::time::timeout(ABANDON_READERS_AFTER, &mut self.report)
            .await
            .ok()
            .and_then(Result::ok)
            .flatten();
        outcome(life, report, stray_processes, started)
    }

    fn terminate(&self, life: &mut Life, why: ProcessEnd) {
        life.end = Some(why);
        if life.exited {
            // Only what escaped the supervisor remains; it gets no grace.
            signal_group(self.pgid, Signal::KILL);
            life.abandon_at = Some(Instant::now() + ABANDON_READERS_AFTER);
            return;
        }
        // The supervisor passes it on to every descendant, once.
        if let Some(pid) = self.pgid {
            let _ = rustix::process::kill_process(pid, Signal::TERM);
        }
        life.kill_at = Some(Instant::now() + self.spec.grace + SUPERVISOR_SLACK);
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

/// The program's end as the supervisor saw it; its own exit status when
/// there is no report (the supervisor itself was killed).
fn outcome(
    life: Life,
    report: Option<Report>,
    stray_processes: bool,
    started: Instant,
) -> ProcessOutcome {
    use std::os::unix::process::ExitStatusExt;
    let status = life.status;
    let report = report.unwrap_or_else(|| Report {
        code: status.and_then(|s| s.code()),
        signal: status.and_then(|s| s.signal()),
        ..Report::default()
    });
    ProcessOutcome {
        end: life.end.unwrap_or(ProcessEnd::Exited),
        code: report.code,
        signal: report.signal,
        escalated_to_kill: life.escalated || report.escalated,
        leaked_output: life.leaked || report.leaked_output,
        stray_processes: stray_processes || report.leftovers > 0,
        duration_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
        spawn_error: report.spawn_error,
    }
}
