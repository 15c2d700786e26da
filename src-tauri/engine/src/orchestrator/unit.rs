//! One variant's run, from queued to its end: a task that waits for a slot,
//! prepares the worktree, runs the agent's session, commits, runs the check,
//! and answers requests all along (cancel, steer, approve, query), each
//! `select!`ed beside whatever it waits for. It never fails: every failure
//! ends the variant with a sentence in its `error`.
//!
//! A `fanout cancel` in another process cannot reach this task's channel; it
//! leaves its request in the store and stops the running process tree
//! itself, and the unit looks at the store when a stage begins and when a
//! process ends ([`Unit::cancelled_elsewhere`]).

use std::future::Future;
use std::sync::Arc;

use serde_json::json;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit, Semaphore};

use super::config::Config;
use super::dispatcher::Shared;
use super::prepare::{prepare, two_way, Sandboxes};
use super::{check, setup, Progress, UpdateKind};
use crate::agent::{
    self, AllowedTools, ApiAgent, ApprovalUpdate, Approvals, ClaudeInteractive, InteractiveHandle,
    Session, SessionSpec,
};
use crate::events::SessionEvent;
use crate::executor::{self, Executor, Workspace};
use crate::experiment::{commit_message, now_rfc3339};
use crate::process::{Canceller, ProcessEnd};
use crate::repo_settings::RepoSettings;
use crate::sandbox::Sandbox;
use crate::store::{Experiment, ProcessId, Variant, VariantStatus};
use crate::Error;

/// What a face asks of a running variant.
pub(crate) enum Request {
    Cancel,
    Steer {
        steer: Steer,
        reply: oneshot::Sender<Result<(), Error>>,
    },
    Query {
        reply: oneshot::Sender<Progress>,
    },
}

/// An answer to an approval request, or a nudge, for a variant whose
/// session asks the user (the "ask" profile).
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize, serde::Serialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Steer {
    Allow {
        request: String,
    },
    /// Allows the tool for the rest of the experiment.
    AllowAlways {
        tool: String,
    },
    Deny {
        request: String,
        message: String,
    },
    Send {
        text: String,
    },
    Interrupt,
}

/// What the variant's session is asked to do.
pub(crate) enum Prompting {
    First,
    FollowUp {
        text: String,
        session_id: String,
    },
    /// No session: only the experiment's check, in the worktree as it is.
    CheckOnly,
}

/// How a variant ends: its status and, unless it succeeded, why.
pub(crate) type Ending = (VariantStatus, Option<String>);

/// How often a variant waiting for memory looks again.
const MEMORY_POLL: std::time::Duration = std::time::Duration::from_secs(1);

/// How a variant's line begins while it waits for memory.
const WAITING_FOR_MEMORY: &str = "waiting for memory";

fn cancelled(reason: &str) -> Ending {
    (VariantStatus::Cancelled, Some(reason.to_owned()))
}

pub(crate) struct Unit {
    shared: Arc<Shared>,
    config: Arc<Config>,
    experiment: Arc<Experiment>,
    experiment_id: Arc<str>,
    variant: Variant,
    progress: Progress,
    requests: mpsc::UnboundedReceiver<Request>,
    allowed: AllowedTools,
    /// A cancel came (from a face, or found in the store).
    cancelled: bool,
    /// The process running now (setup, agent, check), for a cancel.
    process: Option<Canceller>,
    /// The live session's handle, while it asks the user.
    interactive: Option<InteractiveHandle>,
    /// Where the variant runs, once opened for this run.
    place: Option<(Arc<dyn Executor>, Workspace)>,
}

/// ssh's own exit status: the connection failed or dropped.
const SSH_FAILED: i32 = 255;

impl Unit {
    pub(crate) fn new(
        shared: Arc<Shared>,
        config: Arc<Config>,
        experiment: Arc<Experiment>,
        variant: Variant,
        requests: mpsc::UnboundedReceiver<Request>,
        allowed: AllowedTools,
    ) -> Unit {
        let progress = Progress::starting(&variant);
        Unit {
            experiment_id: Arc::from(experiment.id.as_str()),
            shared,
            config,
            experiment,
            variant,
            progress,
            requests,
            allowed,
            cancelled: false,
            process: None,
            interactive: None,
            place: None,
        }
    }

    /// The whole run. Returns the variant as stored at its end.
    pub(crate) async fn run(mut self, prompting: Prompting, permits: Arc<Semaphore>) -> Variant {
        self.publish();
        let (status, error) = match self.admit(permits).await {
            Err(reason) => cancelled(reason),
            Ok(_admitted) => match self.execute(prompting).await {
                Ok(end) => end,
                Err(error) => (VariantStatus::Failed, Some(error.to_string())),
            },
        };
        self.finish(status, error).await
    }

    /// Waits for the variant's turn: a slot of its experiment, then a place
    /// on its host, or, on this machine, enough free memory. The permits
    /// hold while the variant runs; a cancel while waiting says where.
    async fn admit(
        &mut self,
        permits: Arc<Semaphore>,
    ) -> Result<(OwnedSemaphorePermit, Option<OwnedSemaphorePermit>), &'static str> {
        let Some(permit) = self.slot(permits).await else {
            return Err("The variant was cancelled before it started.");
        };
        let Some(alias) = self.variant.host.clone() else {
            if !self.memory().await {
                return Err("The variant was cancelled while it waited for memory.");
            }
            return Ok((permit, None));
        };
        let places = self.shared.host_slots(&alias);
        if places.available_permits() == 0 {
            self.progress.activity = Some(format!("waiting for a free place on {alias}"));
            self.publish();
        }
        let Some(place) = self.slot(places).await else {
            return Err("The variant was cancelled while it waited for its host.");
        };
        self.progress.activity = None;
        Ok((permit, Some(place)))
    }

    /// Opens the variant's workspace with its executor (this machine, or
    /// its host), off the runtime.
    async fn open(&mut self, fresh: bool) -> Result<(), Error> {
        let hosts = self.config.environment.hosts.clone();
        let executor: Arc<dyn Executor> = Arc::from(executor::for_variant(&hosts, &self.variant)?);
        if executor.name() != crate::hosts::LOCAL {
            self.progress.activity = Some(format!("connecting to {}", executor.name()));
            self.publish();
        }
        let (opener, experiment, variant) = (
            executor.clone(),
            self.experiment.clone(),
            self.variant.clone(),
        );
        let workspace = self
            .serve(tokio::task::spawn_blocking(move || {
                opener.open(&experiment, &variant, fresh)
            }))
            .await
            .map_err(super::join_error)??;
        self.progress.activity = None;
        self.place = Some((executor, workspace));
        Ok(())
    }

    fn workspace(&self) -> Option<&Workspace> {
        self.place.as_ref().map(|(_, w)| w)
    }

    fn remote(&self) -> bool {
        self.workspace().is_some_and(Workspace::is_remote)
    }

    /// A process on the host ended on its own (not cancelled, not timed
    /// out) with ssh's own failure: the connection is gone, the work there
    /// is kept.
    fn connection_lost(&self, on_its_own: bool, exit_code: Option<i32>) -> Option<Ending> {
        let alias = self.variant.host.as_deref()?;
        (self.remote() && on_its_own && exit_code == Some(SSH_FAILED)).then(|| {
            (
                VariantStatus::Interrupted,
                Some(format!(
                    "The connection to the host `{alias}` dropped (ssh ended with {SSH_FAILED}). The variant's work there is kept: retry the variant, or follow up on it, once the host is reachable."
                )),
            )
        })
    }

    /// Waits for a free slot (at most `max_parallel` variants run at once);
    /// `None` when cancelled while waiting.
    async fn slot(&mut self, permits: Arc<Semaphore>) -> Option<OwnedSemaphorePermit> {
        let acquire = permits.acquire_owned();
        tokio::pin!(acquire);
        loop {
            tokio::select! {
                permit = &mut acquire => return permit.ok(),
                Some(request) = self.requests.recv() => {
                    self.on_request(request);
                    if self.cancelled {
                        return None;
                    }
                }
            }
        }
    }

    /// Waits, queued, while less memory is available than the environment
    /// asks for, saying so on the variant's line; `false` when cancelled.
    async fn memory(&mut self) -> bool {
        let mut poll = tokio::time::interval(MEMORY_POLL);
        loop {
            let wanted = self.shared.min_free_memory();
            let available = crate::machine::available_memory().unwrap_or(u64::MAX);
            if available >= wanted {
                if self
                    .progress
                    .activity
                    .as_deref()
                    .is_some_and(|a| a.starts_with(WAITING_FOR_MEMORY))
                {
                    self.progress.activity = None;
                }
                return true;
            }
            let waiting = format!(
                "{WAITING_FOR_MEMORY}: {} available, {} wanted",
                crate::machine::gigabytes(available),
                crate::machine::gigabytes(wanted)
            );
            if self.progress.activity.as_deref() != Some(waiting.as_str()) {
                self.progress.activity = Some(waiting);
                self.publish();
            }
            tokio::select! {
                _ = poll.tick() => {}
                Some(request) = self.requests.recv() => {
                    self.on_request(request);
                    if self.cancelled {
                        return false;
                    }
                }
            }
        }
    }

    /// Waits for `work` while answering requests.
    async fn serve<T>(&mut self, work: impl Future<Output = T>) -> T {
        tokio::pin!(work);
        loop {
            tokio::select! {
                done = &mut work => return done,
                Some(request) = self.requests.recv() => self.on_request(request),
            }
        }
    }

    fn on_request(&mut self, request: Request) {
        match request {
            Request::Cancel => {
                self.cancelled = true;
                if let Some(process) = &self.process {
                    process.cancel();
                }
            }
            Request::Steer { steer, reply } => {
                let _ = reply.send(self.steer(steer));
            }
            Request::Query { reply } => {
                let _ = reply.send(self.progress.clone());
            }
        }
    }

    fn steer(&mut self, steer: Steer) -> Result<(), Error> {
        let handle = self.interactive.as_ref().filter(|h| h.is_open()).ok_or(
            super::OrchestratorError::NotInteractive {
                index: self.variant.index,
            },
        )?;
        let sent = match steer {
            Steer::Allow { request } => handle.allow(&request),
            Steer::AllowAlways { tool } => handle.allow_always(&tool),
            Steer::Deny { request, message } => handle.deny(&request, &message),
            Steer::Send { text } => handle.send(&text),
            Steer::Interrupt => handle.interrupt(),
        };
        Ok(sent.map_err(agent::AgentError::from)?)
    }

    fn publish(&self) {
        self.shared.publish(
            &self.experiment_id,
            self.variant.index,
            UpdateKind::Progress(self.progress.clone()),
        );
    }

    async fn set_status(&mut self, status: VariantStatus) {
        self.variant.status = status;
        self.progress.status = status;
        self.shared.save(&self.variant).await;
        self.publish();
    }

    async fn finish(mut self, status: VariantStatus, mut error: Option<String>) -> Variant {
        error.iter_mut().for_each(crate::secrets::scrub);
        self.variant.finished_at = Some(now_rfc3339());
        self.variant.error = error.clone();
        self.progress.error = error;
        self.set_status(status).await;
        self.variant
    }

    /// A `fanout cancel` from another process leaves its request in the store.
    async fn cancelled_elsewhere(&mut self) -> bool {
        if self.cancelled {
            return true;
        }
        let (id, index) = (self.variant.experiment_id.clone(), self.variant.index);
        let requested = matches!(
            self.shared.writer.call(move |s| s.session(&id, index)).await,
            Ok(Ok(row)) if row.cancel_requested
        );
        self.cancelled |= requested;
        requested
    }

    /// Preparing, running, committing, checking; returns how the variant ends.
    async fn execute(&mut self, prompting: Prompting) -> Result<Ending, Error> {
        if matches!(prompting, Prompting::CheckOnly) {
            return self.check_only().await;
        }
        self.set_status(VariantStatus::Preparing).await;
        self.open(matches!(prompting, Prompting::First)).await?;
        let config = self.config.clone();
        let experiment = self.experiment.clone();
        let (agent, mut spec, mut launch) = self
            .serve(prepare(
                &config,
                &experiment,
                &self.variant.clone(),
                &prompting,
            ))
            .await?;
        let settings = self.repo_settings().await?;
        let sandboxes = if self.remote() {
            Sandboxes::on_host(self.variant.host.as_deref())
        } else {
            self.serve(Sandboxes::for_variant(
                &config,
                &experiment,
                &self.variant.clone(),
                &spec,
                settings.check_network,
            ))
            .await?
        };
        if let Some(workspace) = self.workspace() {
            spec.workdir = workspace.dir.clone();
            spec.remote = workspace.remote.clone();
        }
        spec.sandbox = sandboxes.agent.clone();
        launch["sandbox"] = json!(sandboxes.describe());
        self.start_fresh();
        let methodology_warning = launch["methodology_warning"].as_str().map(str::to_owned);
        for note in [sandboxes.unavailable.clone(), methodology_warning]
            .into_iter()
            .flatten()
        {
            self.on_event(SessionEvent::Warning { message: note }).await;
        }
        // A follow-up continues in a worktree that was set up already.
        if matches!(prompting, Prompting::First) {
            if let Some(ending) = self.setup(&settings, sandboxes.tools.clone()).await? {
                return Ok(ending);
            }
        }
        if self.cancelled_elsewhere().await {
            return Ok(cancelled(
                "The variant was cancelled before its agent started.",
            ));
        }
        let (exp_id, index) = (self.variant.experiment_id.clone(), self.variant.index);
        self.shared
            .writer
            .record(&exp_id, index, "launch", launch)
            .await;
        self.set_status(VariantStatus::Running).await;

        let (tx, mut rx) = mpsc::channel(256);
        let (approvals_tx, mut approvals) = mpsc::unbounded_channel();
        let session = if two_way(&config, &self.variant) {
            let (session, handle) = self.start_two_way(&spec, approvals_tx, tx)?;
            self.interactive = Some(handle);
            session
        } else {
            agent.start(&spec, tx)?
        };
        self.process = Some(session.canceller());
        self.record_group(session.pid()).await;
        // A cancel from a face or from another process that came while the
        // agent started reaches it now.
        if self.cancelled_elsewhere().await {
            session.cancel();
        }
        loop {
            tokio::select! {
                event = rx.recv() => match event {
                    Some(event) => self.on_event(event).await,
                    None => break,
                },
                Some(update) = approvals.recv() => self.on_approval(update).await,
                Some(request) = self.requests.recv() => self.on_request(request),
            }
        }
        while let Ok(update) = approvals.try_recv() {
            self.on_approval(update).await;
        }
        let outcome = self.serve(session.wait()).await;
        (self.process, self.interactive) = (None, None);
        let on_its_own = outcome.status == agent::SessionStatus::Failed;
        if let Some(ending) = self.connection_lost(on_its_own, outcome.exit_code) {
            return Ok(ending);
        }
        if let Some(ending) = self.verify_worktree().await {
            return Ok(ending);
        }
        // The group stays recorded after the session (for diagnosis); every
        // later signal checks its start time first, so a reused pid is safe.
        if let Some(session_id) = outcome.session_id.clone() {
            let id = exp_id.clone();
            let _ = self
                .shared
                .writer
                .call(move |s| s.set_session_id(&id, index, &session_id))
                .await;
        }
        self.variant.exit_code = outcome.exit_code;
        if !outcome.succeeded() {
            let stopped = outcome.status == agent::SessionStatus::Cancelled
                || self.cancelled_elsewhere().await;
            let reason = outcome
                .reason
                .unwrap_or_else(|| "The session failed.".into());
            return Ok(if stopped {
                cancelled(&reason)
            } else {
                (VariantStatus::Failed, Some(reason))
            });
        }
        self.commit().await?;
        let Some(command) = config.run.check_command().map(str::to_owned) else {
            return Ok((VariantStatus::Succeeded, None));
        };
        if self.cancelled_elsewhere().await {
            return Ok(cancelled("The variant was cancelled before its check ran."));
        }
        Ok(self.check(&command, sandboxes.check).await)
    }

    /// The experiment's check alone, in the variant's worktree as it is.
    async fn check_only(&mut self) -> Result<Ending, Error> {
        let config = self.config.clone();
        let Some(command) = config.run.check_command().map(str::to_owned) else {
            return Ok((VariantStatus::Succeeded, None));
        };
        self.open(false).await?;
        let settings = self.repo_settings().await?;
        let experiment = self.experiment.clone();
        let sandboxes = if self.remote() {
            Sandboxes::on_host(self.variant.host.as_deref())
        } else {
            self.serve(Sandboxes::for_check(
                &config,
                &experiment,
                &self.variant.clone(),
                settings.check_network,
            ))
            .await?
        };
        if let Some(note) = sandboxes.unavailable.clone() {
            self.on_event(SessionEvent::Warning { message: note }).await;
        }
        Ok(self.check(&command, sandboxes.check).await)
    }

    async fn repo_settings(&mut self) -> Result<RepoSettings, Error> {
        let root = self.experiment.repo_root.clone();
        let writer = self.shared.writer.clone();
        Ok(self
            .serve(writer.call(move |store| store.repo_settings(&root)))
            .await??
            .unwrap_or_default())
    }

    /// Runs the repository's setup command in the worktree, its output part
    /// of the transcript. `None` when there is none or it succeeded; otherwise
    /// how the variant ends, without its agent.
    async fn setup(
        &mut self,
        settings: &RepoSettings,
        sandbox: Option<Sandbox>,
    ) -> Result<Option<Ending>, Error> {
        let Some(command) = settings.setup_command.clone() else {
            return Ok(None);
        };
        let (timeout, grace) = (settings.setup_timeout(), self.config.grace());
        let workspace = self.workspace().cloned().ok_or_else(no_workspace)?;
        let mut running = match setup::spawn(&workspace, &command, timeout, grace, sandbox) {
            Ok(running) => running,
            Err(e) => {
                let reason = format!("The setup command `{command}` could not start ({e}), so the agent was not started.");
                return Ok(Some((VariantStatus::Failed, Some(reason))));
            }
        };
        self.process = Some(running.canceller());
        self.record_group(running.pid()).await;
        let mut tail = setup::Tail::default();
        loop {
            tokio::select! {
                line = running.next_line() => match line {
                    Some(line) => {
                        tail.push(&line.text);
                        let line = SessionEvent::Setup {
                            stream: line.stream,
                            line: crate::events::bound(&line.text, crate::events::MAX_TEXT_BYTES),
                        };
                        self.on_event(line).await;
                    }
                    None => break,
                },
                Some(request) = self.requests.recv() => self.on_request(request),
            }
        }
        let outcome = self.serve(running.finish()).await;
        self.process = None;
        let on_its_own = outcome.end == ProcessEnd::Exited;
        if let Some(ending) = self.connection_lost(on_its_own, outcome.code) {
            return Ok(Some(ending));
        }
        let result = setup::SetupResult::new(&command, &outcome, &tail);
        let (exp_id, index) = (self.variant.experiment_id.clone(), self.variant.index);
        let payload = serde_json::to_value(&result).unwrap_or_default();
        self.shared
            .writer
            .record(&exp_id, index, "setup_result", payload)
            .await;
        let Some(reason) = result.failure(timeout, outcome.signal) else {
            return Ok(None);
        };
        self.variant.exit_code = outcome.code;
        let stopped = outcome.end == ProcessEnd::Cancelled || self.cancelled_elsewhere().await;
        Ok(Some(if stopped {
            cancelled(&reason)
        } else {
            (VariantStatus::Failed, Some(reason))
        }))
    }

    /// Records the process group now running for the variant, so a
    /// `fanout cancel` in another process can end it.
    async fn record_group(&self, pid: u32) {
        let group = super::procfs::start_ticks(pid).map(|start| ProcessId { pid, start });
        let (id, index) = (self.variant.experiment_id.clone(), self.variant.index);
        let _ = self
            .shared
            .writer
            .call(move |s| s.record_group(&id, index, group))
            .await;
    }

    async fn on_event(&mut self, mut event: SessionEvent) {
        // The built-in agent's events never passed through a process's
        // (scrubbed) output: the model may echo a key it read.
        event.scrub();
        let index = self.variant.index;
        self.shared
            .writer
            .event(&self.variant.experiment_id, index, &event)
            .await;
        let changed = self.progress.observe(&event);
        record_result(&mut self.variant, &event, &self.progress);
        self.shared
            .publish(&self.experiment_id, index, UpdateKind::Event { event });
        if changed {
            self.publish();
        }
    }

    /// Records and publishes an approval update; the variant shows
    /// `needs_input` while a request waits for the user.
    async fn on_approval(&mut self, update: ApprovalUpdate) {
        let index = self.variant.index;
        let payload = serde_json::to_value(&update).unwrap_or_default();
        self.shared
            .writer
            .record(&self.variant.experiment_id, index, "approval", payload)
            .await;
        self.shared
            .publish(&self.experiment_id, index, UpdateKind::Approval { update });
        let waiting = self
            .interactive
            .as_ref()
            .is_some_and(|handle| !handle.pending().is_empty());
        let status = match (waiting, self.variant.status) {
            (true, VariantStatus::Running) => VariantStatus::NeedsInput,
            (false, VariantStatus::NeedsInput) => VariantStatus::Running,
            _ => return,
        };
        self.set_status(status).await;
    }

    /// A session that asks the user: Claude Code in two-way mode, or the
    /// built-in agent, with the repository's approval rules.
    fn start_two_way(
        &self,
        spec: &SessionSpec,
        updates: mpsc::UnboundedSender<ApprovalUpdate>,
        events: mpsc::Sender<SessionEvent>,
    ) -> Result<(Session, InteractiveHandle), Error> {
        let config = &self.config;
        let approvals = Approvals {
            rules: config
                .environment
                .approvals
                .for_repository(&self.experiment.repo_root)
                .clone(),
            allowed: self.allowed.clone(),
            updates,
        };
        if self.variant.agent.parse::<agent::AgentKind>()? == agent::AgentKind::Api {
            let api = ApiAgent::new(config.run.api.config().map_err(agent::AgentError::from)?);
            return Ok(api.start_asking(spec, approvals, events)?);
        }
        let executable =
            super::prepare::executable(config, &self.variant, agent::AgentKind::ClaudeCode)?
                .unwrap_or_else(|| "claude".into());
        Ok(ClaudeInteractive::new(executable).start(spec, approvals, events)?)
    }

    /// A new session: the previous one's numbers no longer apply.
    fn start_fresh(&mut self) {
        let v = &mut self.variant;
        v.started_at = Some(now_rfc3339());
        (v.finished_at, v.error, v.exit_code, v.summary) = (None, None, None, None);
        (v.cost_usd, v.input_tokens, v.output_tokens, v.turns) = (None, None, None, None);
        v.check = None;
        self.progress = Progress::starting(v);
    }

    /// Every backend can write `.git` as easily as a file (see
    /// [`crate::linked`]): after each session, before anything is committed,
    /// the worktree is checked, and a tampered one ends the variant.
    async fn verify_worktree(&mut self) -> Option<Ending> {
        let linked = match self.variant.linked(&self.experiment.repo_root) {
            Ok(linked) => linked,
            Err(err) => return Some((VariantStatus::Failed, Some(err.to_string()))),
        };
        match self
            .serve(tokio::task::spawn_blocking(move || linked.guard()))
            .await
        {
            Ok(Ok(())) => None,
            Ok(Err(err)) => Some((VariantStatus::Failed, Some(err.to_string()))),
            Err(err) => Some((
                VariantStatus::Failed,
                Some(super::join_error(err).to_string()),
            )),
        }
    }

    /// Commits the session's work on the variant's branch here, wherever
    /// the variant ran.
    async fn commit(&mut self) -> Result<(), Error> {
        let (executor, workspace) = self.place.clone().ok_or_else(no_workspace)?;
        let message = commit_message(&self.experiment, &self.variant);
        let (experiment, variant) = (self.experiment.clone(), self.variant.clone());
        let commit = self
            .serve(tokio::task::spawn_blocking(move || {
                executor.collect(&experiment, &variant, &workspace, &message)
            }))
            .await
            .map_err(super::join_error)??;
        if let Some(commit) = commit {
            self.variant.head_commit = Some(commit);
        }
        Ok(())
    }

    async fn check(&mut self, command: &str, sandbox: Option<Sandbox>) -> Ending {
        self.set_status(VariantStatus::Checking).await;
        // At most `max_checks` checks at once on this machine.
        let checks = self.shared.checks.clone();
        if checks.available_permits() == 0 {
            self.progress.activity = Some("waiting for a free check slot".into());
            self.publish();
        }
        let Some(_slot) = self.slot(checks).await else {
            return cancelled("The variant was cancelled before its check ran.");
        };
        self.progress.activity = None;
        let (timeout, grace) = (self.config.check_timeout(), self.config.grace());
        let Some(mut workspace) = self.workspace().cloned() else {
            return (VariantStatus::Failed, Some(no_workspace().to_string()));
        };
        // A sandbox that shows the worktree at the checkout's path runs the
        // check from there.
        if let Some(moved) = sandbox.as_ref().and_then(|s| s.moved.as_ref()) {
            workspace.dir = moved.checkout.clone();
        }
        let run = match check::spawn(&workspace, command, timeout, grace, sandbox) {
            Ok(running) => {
                self.process = Some(running.canceller());
                // A `fanout cancel` elsewhere stops the check through this.
                self.record_group(running.pid()).await;
                self.serve(check::collect(command, running)).await
            }
            Err(error) => check::not_started(command, &error),
        };
        self.process = None;
        let on_its_own = run.end == Some(ProcessEnd::Exited);
        if let Some(ending) = self.connection_lost(on_its_own, run.result.exit_code) {
            return ending;
        }
        let (exp_id, index) = (self.variant.experiment_id.clone(), self.variant.index);
        let payload = serde_json::to_value(&run.result).unwrap_or_default();
        self.shared
            .writer
            .record(&exp_id, index, "check", payload)
            .await;
        let failure = run.failure(timeout);
        self.variant.check = Some(run.result.clone());
        match failure {
            None => (VariantStatus::Succeeded, None),
            Some(reason) if run.end == Some(ProcessEnd::Cancelled) => cancelled(&reason),
            Some(reason) => (VariantStatus::Failed, Some(reason)),
        }
    }
}

/// A stage that needs the workspace ran before it was opened: a bug.
fn no_workspace() -> Error {
    super::OrchestratorError::Task {
        detail: "the variant's workspace was not opened".into(),
    }
    .into()
}

/// Folds what a session reports into the variant's record: the agent's
/// result (summary, cost, tokens, turns), or, until it comes, the tokens
/// counted so far.
fn record_result(v: &mut Variant, event: &SessionEvent, progress: &Progress) {
    if let SessionEvent::Result {
        summary,
        cost_usd,
        input_tokens,
        output_tokens,
        turns,
        ..
    } = event
    {
        v.summary = summary.clone();
        v.cost_usd = *cost_usd;
        (v.input_tokens, v.output_tokens) = (Some(*input_tokens), Some(*output_tokens));
        v.turns = *turns;
    }
    if v.input_tokens.is_none() && (progress.input_tokens > 0 || progress.output_tokens > 0) {
        (v.input_tokens, v.output_tokens) =
            (Some(progress.input_tokens), Some(progress.output_tokens));
    }
}
