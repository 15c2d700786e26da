//! How variants run: what is stored with each experiment ([`RunConfig`]),
//! what belongs to the machine and this process ([`Environment`]), and the
//! two together ([`Config`]), which a variant's unit reads.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::agent::{AgentKind, ApprovalSettings, PermissionProfile};
use crate::llm::ApiEndpoint;

/// Where the agent CLIs are; `None` means the name on the PATH.
#[derive(Debug, Clone, Default)]
pub struct Executables {
    pub claude: Option<PathBuf>,
    pub codex: Option<PathBuf>,
    pub gemini: Option<PathBuf>,
}

impl Executables {
    /// `FANOUT_CLAUDE_BIN`, `FANOUT_CODEX_BIN` and `FANOUT_GEMINI_BIN` when set.
    pub fn from_env() -> Executables {
        let var = |name| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        Executables {
            claude: var("FANOUT_CLAUDE_BIN"),
            codex: var("FANOUT_CODEX_BIN"),
            gemini: var("FANOUT_GEMINI_BIN"),
        }
    }

    pub fn for_kind(&self, kind: AgentKind) -> Option<PathBuf> {
        match kind {
            AgentKind::ClaudeCode => self.claude.clone(),
            AgentKind::Codex => self.codex.clone(),
            AgentKind::Gemini => self.gemini.clone(),
            _ => None,
        }
    }
}

/// How an experiment's variants run, stored with the experiment when it is
/// created: a retry or a follow-up, in the app or on the command line, now
/// or after a restart, runs exactly as the first run did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct RunConfig {
    pub permission: PermissionProfile,
    /// Run in each worktree after a successful session (through `sh -c`);
    /// `None` (or blank) is no check.
    pub check: Option<String>,
    pub check_timeout_secs: u64,
    /// Per session.
    pub timeout_secs: u64,
    /// Sessions at once; `None` runs every variant of a launch at once.
    pub max_parallel: Option<usize>,
    pub max_turns: Option<u32>,
    /// The template of the `command` agent.
    pub agent_command: Option<String>,
    /// Secret variables of Fanout's environment the custom command agent may
    /// inherit; no other child gets any it was not made for.
    pub agent_command_secrets: Vec<String>,
    /// Run agents, setup commands and checks in the sandbox
    /// ([`crate::sandbox`]) where this machine can.
    pub sandbox: bool,
    /// The methodology file relative to the repository root; the default when `None`.
    pub methodology_path: Option<PathBuf>,
    /// The model API of the built-in agent.
    pub api: ApiEndpoint,
    /// Tools the user allowed for the rest of the experiment ("allow always").
    pub allowed_tools: Vec<String>,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            permission: PermissionProfile::default(),
            check: None,
            check_timeout_secs: 30 * 60,
            timeout_secs: 30 * 60,
            max_parallel: None,
            max_turns: None,
            agent_command: None,
            agent_command_secrets: Vec::new(),
            sandbox: true,
            methodology_path: None,
            api: ApiEndpoint::default(),
            allowed_tools: Vec::new(),
        }
    }
}

impl RunConfig {
    /// The check command, when there is one: blank is no check, not a check
    /// that passes.
    pub fn check_command(&self) -> Option<&str> {
        self.check.as_deref().filter(|c| !c.trim().is_empty())
    }
}

/// What belongs to this machine and this process rather than to an
/// experiment: where the agent CLIs are, the agents' extra environment (the
/// login shell's PATH), the approval rules of the "ask" profile, Fanout's
/// data folder, the grace between SIGTERM and SIGKILL.
#[derive(Debug, Clone)]
pub struct Environment {
    pub executables: Executables,
    /// Extra environment for the agents.
    pub env: Vec<(String, String)>,
    /// What the "ask" profile allows or denies without asking, per repository.
    pub approvals: ApprovalSettings,
    /// Fanout's data folder, hidden from sandboxed programs.
    pub data_dir: PathBuf,
    /// Between SIGTERM and SIGKILL.
    pub grace: Duration,
    /// Checks running at once on this machine, across every experiment: N
    /// agents ending together must not start N test suites.
    pub max_checks: usize,
    /// A variant waits to start while less memory than this is available.
    pub min_free_memory: u64,
    /// The ssh hosts variants may be placed on.
    pub hosts: crate::hosts::Hosts,
}

/// Checks at once by default: half the cores, at least one.
pub fn default_max_checks() -> usize {
    (crate::machine::cores() / 2).max(1)
}

/// Memory a variant waits for by default: 2 GB.
pub const DEFAULT_MIN_FREE_MEMORY: u64 = 2_000_000_000;

impl Default for Environment {
    fn default() -> Self {
        Environment {
            executables: Executables::default(),
            env: Vec::new(),
            approvals: ApprovalSettings::default(),
            data_dir: PathBuf::new(),
            grace: Duration::from_secs(5),
            max_checks: default_max_checks(),
            min_free_memory: DEFAULT_MIN_FREE_MEMORY,
            hosts: crate::hosts::Hosts::default(),
        }
    }
}

/// One experiment's [`RunConfig`] on this machine's [`Environment`]: what a
/// variant's unit reads.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub run: RunConfig,
    pub environment: Environment,
}

impl Config {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.run.timeout_secs.max(1))
    }

    pub fn check_timeout(&self) -> Duration {
        Duration::from_secs(self.run.check_timeout_secs.max(1))
    }

    pub fn grace(&self) -> Duration {
        self.environment.grace
    }
}
