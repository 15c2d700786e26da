//! Before anything is created: can the agents of a launch start at all?

use super::config::Config;
use crate::agent::{self, AgentKind};
use crate::executor::ExecutorError;
use crate::experiment::NewExperiment;
use crate::Error;

/// Reaches every host the launch places an approach on (opening the shared
/// connection the run will use), and refuses the built-in agent there: it
/// runs inside Fanout. Blocking.
pub fn preflight_hosts(config: &Config, request: &NewExperiment) -> Result<(), Error> {
    let mut seen = std::collections::HashSet::new();
    for approach in &request.approaches {
        let Some(alias) = approach.host.as_deref() else {
            continue;
        };
        let agent = approach.agent.as_deref().unwrap_or(&request.default_agent);
        if agent.parse::<AgentKind>()? == AgentKind::Api {
            return Err(ExecutorError::BuiltInRemote {
                alias: alias.to_owned(),
            }
            .into());
        }
        if seen.insert(alias) {
            config.environment.hosts.ssh(alias)?.check()?;
        }
    }
    Ok(())
}

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
