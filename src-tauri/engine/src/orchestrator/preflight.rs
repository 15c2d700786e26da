//! Before anything is created: can the agents of a launch start at all?

use super::config::Config;
use crate::agent::{self, AgentKind};
use crate::Error;

/// Checks, before anything is created, that each of `agents` can start with
/// `config`: its CLI is found, the command template parses and names a
/// program that exists, the built-in agent has an API key. A launch that
/// cannot start must not leave worktrees and branches behind. Blocking (the
/// keyring may be asked): call it off async code.
pub fn preflight(config: &Config, agents: &[AgentKind]) -> Result<(), Error> {
    let path_var = config
        .environment
        .env
        .iter()
        .rev()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| std::ffi::OsString::from(v));
    let executables = &config.environment.executables;
    let here = std::env::temp_dir();
    let mut seen = std::collections::HashSet::new();
    for kind in agents.iter().copied().filter(|k| seen.insert(*k)) {
        let program = match kind {
            AgentKind::ClaudeCode => executables.claude.clone().unwrap_or("claude".into()),
            AgentKind::Codex => executables.codex.clone().unwrap_or("codex".into()),
            AgentKind::Gemini => executables.gemini.clone().unwrap_or("gemini".into()),
            AgentKind::Command => {
                let template = config.run.agent_command.as_deref().unwrap_or_default();
                let agent = agent::CommandAgent::new(template)?;
                agent.program().into()
            }
            AgentKind::Api => {
                config.run.api.config().map_err(agent::AgentError::from)?;
                continue;
            }
        };
        crate::process::find_program(&program, &here, path_var.as_deref())?;
    }
    Ok(())
}
