//! The handle through which the user answers a running session's approval
//! requests and steers it, whichever backend runs it (Claude Code in two-way
//! mode, the built-in agent with the "ask" profile). The session's one task
//! reads the handle's commands; the handle lists what waits for the user.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex, MutexGuard};

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::approval::{ApprovalRequest, ApprovalRules, ApprovalUpdate};

#[derive(Debug, thiserror::Error)]
pub enum InteractiveError {
    #[error("No approval request `{id}` is waiting: it was answered already, or its turn ended.")]
    UnknownRequest { id: String },
    #[error("The agent's session has ended, so it cannot take messages or answers any more. Follow up on the variant instead.")]
    Ended,
    #[error("The message is empty. Say what the agent should do next.")]
    EmptyMessage,
    #[error("This agent cannot be interrupted in the middle of a turn. Send a message (it arrives when the turn ends), or cancel the variant.")]
    CannotInterrupt,
}

impl InteractiveError {
    pub fn code(&self) -> &'static str {
        match self {
            InteractiveError::UnknownRequest { .. } => "agent.unknown_request",
            InteractiveError::Ended => "agent.session_ended",
            InteractiveError::EmptyMessage => "agent.empty_message",
            InteractiveError::CannotInterrupt => "agent.cannot_interrupt",
        }
    }
}

/// Tools the user allowed for the rest of a session, or of an experiment when
/// several sessions share one. Cheap to clone; clones share the set.
#[derive(Debug, Clone, Default)]
pub struct AllowedTools(Arc<Mutex<BTreeSet<String>>>);

impl AllowedTools {
    fn lock(&self) -> MutexGuard<'_, BTreeSet<String>> {
        self.0.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn contains(&self, tool: &str) -> bool {
        self.lock().contains(tool)
    }

    pub fn insert(&self, tool: &str) {
        self.lock().insert(tool.to_owned());
    }
}

/// Where a session's approval news goes, and what decides without asking.
#[derive(Debug, Clone)]
pub struct Approvals {
    pub rules: ApprovalRules,
    pub allowed: AllowedTools,
    /// Every request, decision and wait, in order; a closed receiver is ignored.
    pub updates: mpsc::UnboundedSender<ApprovalUpdate>,
}

/// What the handle asks the session's task to do.
#[derive(Debug)]
pub(crate) enum Command {
    Allow {
        request: ApprovalRequest,
    },
    AllowAlways {
        tool: String,
    },
    Deny {
        request: ApprovalRequest,
        message: String,
    },
    Send {
        text: String,
    },
    Interrupt,
    End,
}

/// Answers and steers one two-way session. Cheap to clone, `Send`; the calls
/// return at once (the session's task does the writing).
#[derive(Debug, Clone)]
pub struct InteractiveHandle {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    commands: mpsc::UnboundedSender<Command>,
    state: Mutex<State>,
    /// The backend can stop a turn midway and wait for the next message.
    interruptible: bool,
}

#[derive(Debug, Default)]
struct State {
    pending: Vec<(ApprovalRequest, Instant)>,
    /// The session takes no more messages or answers.
    closed: bool,
}

impl InteractiveHandle {
    /// A handle for a new session, and the receiving end of its commands,
    /// which the session's one task reads.
    pub(crate) fn new(
        interruptible: bool,
    ) -> (InteractiveHandle, mpsc::UnboundedReceiver<Command>) {
        let (commands, receiver) = mpsc::unbounded_channel();
        let handle = InteractiveHandle {
            shared: Arc::new(Shared {
                commands,
                state: Mutex::new(State::default()),
                interruptible,
            }),
        };
        (handle, receiver)
    }

    /// Lists `request` as waiting for the user, from now.
    pub(crate) fn wait_for_user(&self, request: ApprovalRequest) {
        self.state().pending.push((request, Instant::now()));
    }

    /// The request waiting longest, and since when.
    pub(crate) fn oldest_pending(&self) -> Option<(ApprovalRequest, Instant)> {
        self.state().pending.first().cloned()
    }

    /// Takes the waiting requests `keep` says no to off the list.
    pub(crate) fn take_pending(
        &self,
        keep: impl Fn(&ApprovalRequest) -> bool,
    ) -> Vec<ApprovalRequest> {
        let mut state = self.state();
        let (taken, kept) = std::mem::take(&mut state.pending)
            .into_iter()
            .partition(|(r, _)| !keep(r));
        state.pending = kept;
        taken.into_iter().map(|(r, _)| r).collect()
    }

    /// The session takes no more messages or answers.
    pub(crate) fn close(&self) {
        self.state().closed = true;
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.shared.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn command(&self, command: Command) -> Result<(), InteractiveError> {
        if self.state().closed {
            return Err(InteractiveError::Ended);
        }
        self.shared
            .commands
            .send(command)
            .map_err(|_| InteractiveError::Ended)
    }

    /// Takes request `id` off the waiting list at once, so `pending()` no
    /// longer lists it when the call returns and it is answered only once.
    fn claim(&self, id: &str) -> Result<ApprovalRequest, InteractiveError> {
        let mut state = self.state();
        if state.closed {
            return Err(InteractiveError::Ended);
        }
        let at = state
            .pending
            .iter()
            .position(|(r, _)| r.id == id)
            .ok_or_else(|| InteractiveError::UnknownRequest { id: id.to_owned() })?;
        Ok(state.pending.remove(at).0)
    }

    /// The requests waiting for the user, oldest first.
    pub fn pending(&self) -> Vec<ApprovalRequest> {
        self.state()
            .pending
            .iter()
            .map(|(r, _)| r.clone())
            .collect()
    }

    /// Whether the session still takes messages and answers.
    pub fn is_open(&self) -> bool {
        !self.state().closed
    }

    /// Allows this one request.
    pub fn allow(&self, id: &str) -> Result<(), InteractiveError> {
        let request = self.claim(id)?;
        self.command(Command::Allow { request })
    }

    /// Allows `tool` from now on (and its waiting requests) for every session
    /// sharing this one's [`AllowedTools`].
    pub fn allow_always(&self, tool: &str) -> Result<(), InteractiveError> {
        self.command(Command::AllowAlways {
            tool: tool.to_owned(),
        })
    }

    /// Denies the request; `message` (or a default) goes to the model.
    pub fn deny(&self, id: &str, message: &str) -> Result<(), InteractiveError> {
        let request = self.claim(id)?;
        let message = match message.trim() {
            "" => "The user denied this.".to_owned(),
            text => text.to_owned(),
        };
        self.command(Command::Deny { request, message })
    }

    /// The next user message: sent now when no turn runs, else after the current turn.
    pub fn send(&self, text: &str) -> Result<(), InteractiveError> {
        if text.trim().is_empty() {
            return Err(InteractiveError::EmptyMessage);
        }
        self.command(Command::Send {
            text: text.to_owned(),
        })
    }

    /// Aborts the running turn; the session then waits for the next message.
    pub fn interrupt(&self) -> Result<(), InteractiveError> {
        if !self.shared.interruptible {
            return Err(InteractiveError::CannotInterrupt);
        }
        self.command(Command::Interrupt)
    }

    /// Closes stdin: the CLI ends after the running turn.
    pub fn end(&self) -> Result<(), InteractiveError> {
        self.command(Command::End)
    }
}
