//! What a variant's session is made of before it starts: its backend, its
//! spec (prompt, methodology, model, limits, environment, keys), the record
//! of how it was produced, and the sandboxes of its agent, setup and check.

use std::path::{Path, PathBuf};

use serde_json::json;

use super::config::Config;
use super::unit::Prompting;
use crate::agent::{self, Agent, AgentKind, PermissionProfile, SessionSpec};
use crate::methodology::{self, PromptParts};
use crate::sandbox::Sandbox;
use crate::store::{Experiment, Variant};
use crate::worktree::WorktreeError;
use crate::Error;

/// The backend, the session's spec and the record of how it was produced.
pub(crate) async fn prepare(
    config: &Config,
    experiment: &Experiment,
    variant: &Variant,
    prompting: &Prompting,
) -> Result<(Box<dyn Agent>, SessionSpec, serde_json::Value), Error> {
    let kind: AgentKind = variant.agent.parse()?;
    let (run, environment) = (&config.run, &config.environment);
    let executable = executable(config, variant, kind)?;
    let agent = agent::backend(
        kind,
        executable.clone(),
        run.agent_command.as_deref(),
        &run.api,
    )?;
    let (root, setting, task) = (
        experiment.repo_root.clone(),
        run.methodology_path.clone(),
        experiment.task.clone(),
    );
    let methodology =
        tokio::task::spawn_blocking(move || methodology::load(&root, setting.as_deref(), &task))
            .await
            .map_err(super::join_error)??;
    let (prompt, resume) = match prompting {
        // A check-only job never prepares a session; it is prompted as new.
        Prompting::First | Prompting::CheckOnly => (
            methodology::session_prompt(PromptParts {
                task: &experiment.task,
                approach: &variant.name,
                description: &variant.description,
                guidelines: &variant.guidelines,
            }),
            None,
        ),
        Prompting::FollowUp { text, session_id } => (
            methodology::follow_up_prompt(text),
            Some(session_id.clone()),
        ),
    };
    let mut spec = SessionSpec::new(&variant.worktree, prompt);
    spec.methodology = Some(methodology.text.clone());
    spec.model = variant.model.clone();
    spec.max_turns = run.max_turns;
    spec.permission = run.permission;
    spec.resume = resume;
    spec.timeout = Some(config.timeout());
    spec.grace = config.grace();
    spec.env = environment.env.clone();
    spec.secrets = match kind {
        AgentKind::Command => run.agent_command_secrets.clone(),
        other => other.secret_vars().iter().map(|v| v.to_string()).collect(),
    };
    let launch = json!({
        "host": variant.host.as_deref().unwrap_or(crate::hosts::LOCAL),
        "base_commit": experiment.base_commit,
        "agent": kind,
        "executable": executable,
        "command_line": agent.shown_command_line(&spec),
        "model": spec.model,
        "permission": spec.permission,
        "max_turns": spec.max_turns,
        "timeout_secs": config.timeout().as_secs(),
        "resume": spec.resume,
        "prompt": spec.prompt,
        "methodology": methodology.text,
        "methodology_source": methodology.source,
        "methodology_warning": methodology.warning,
    });
    Ok((agent, spec, launch))
}

/// The agent CLI for `variant`: on a host, the host's (its path there, or
/// found by name); here, the settings' or the name on the PATH (`None`).
pub(crate) fn executable(
    config: &Config,
    variant: &Variant,
    kind: AgentKind,
) -> Result<Option<PathBuf>, Error> {
    let environment = &config.environment;
    Ok(match &variant.host {
        Some(alias) => environment
            .hosts
            .get(alias)?
            .agent_path
            .as_ref()
            .filter(|_| kind != AgentKind::Command)
            .map(PathBuf::from),
        None => environment.executables.for_kind(kind),
    })
}

/// Writes the `.git` file a check sees at the checkout's path (see
/// [`crate::sandbox::Moved`]), in Fanout's data folder: no agent can write
/// there.
fn moved_git_file(data_dir: &Path, linked: &crate::linked::Linked) -> Result<PathBuf, Error> {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(linked.git_dir.as_os_str().as_encoded_bytes());
    let name: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    let dir = data_dir.join("checks");
    let file = dir.join(format!("{name}.git"));
    let text = crate::sandbox::moved_git_file(&linked.git_dir, &linked.common_dir);
    std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&file, text))
        .map_err(|source| WorktreeError::Io {
            action: "write the check's .git file in",
            path: dir.clone(),
            source,
        })?;
    Ok(file)
}

/// Whether the variant runs a session that asks the user: the "ask" profile
/// on Claude Code (two-way mode) or on the built-in agent; other agents
/// cannot ask and run one-shot.
pub(crate) fn two_way(config: &Config, variant: &Variant) -> bool {
    config.run.permission == PermissionProfile::Ask
        && matches!(
            variant.agent.parse::<AgentKind>().ok(),
            Some(AgentKind::ClaudeCode | AgentKind::Api)
        )
}

/// Where one variant's programs run.
#[derive(Default)]
pub(crate) struct Sandboxes {
    pub agent: Option<Sandbox>,
    /// The setup command's: like the agent's, without the agent's state.
    pub tools: Option<Sandbox>,
    pub check: Option<Sandbox>,
    /// The sandbox was wanted but this machine cannot provide it: why.
    pub unavailable: Option<String>,
}

impl Sandboxes {
    /// A variant on an ssh host runs in its worktree there, without the
    /// sandbox of this machine; the transcript says so.
    pub fn on_host(alias: Option<&str>) -> Sandboxes {
        Sandboxes::off(alias.map(|alias| {
            format!("This variant runs on the host `{alias}`, outside Fanout's sandbox: there it can reach what the account it logs in as can.")
        }))
    }

    fn off(unavailable: Option<String>) -> Sandboxes {
        Sandboxes {
            unavailable,
            ..Sandboxes::default()
        }
    }

    /// The sandboxes of this variant's agent, setup and check, built off the
    /// async runtime (it reads the registration and creates state folders).
    pub async fn for_variant(
        config: &Config,
        experiment: &Experiment,
        variant: &Variant,
        spec: &SessionSpec,
        check_network: bool,
    ) -> Result<Sandboxes, Error> {
        let kind: AgentKind = variant.agent.parse()?;
        Sandboxes::with_kind(config, experiment, variant, kind, &spec.env, check_network).await
    }

    /// The sandbox of a check run on its own (a combined variant has no
    /// agent): no agent state is mounted.
    pub async fn for_check(
        config: &Config,
        experiment: &Experiment,
        variant: &Variant,
        check_network: bool,
    ) -> Result<Sandboxes, Error> {
        Sandboxes::with_kind(
            config,
            experiment,
            variant,
            AgentKind::Command,
            &[],
            check_network,
        )
        .await
    }

    async fn with_kind(
        config: &Config,
        experiment: &Experiment,
        variant: &Variant,
        kind: AgentKind,
        env: &[(String, String)],
        check_network: bool,
    ) -> Result<Sandboxes, Error> {
        if !config.run.sandbox {
            return Ok(Sandboxes::off(None));
        }
        let available = crate::sandbox::availability();
        let Some(bwrap) = available.bwrap.clone().filter(|_| available.available) else {
            let reason = available.reason.clone().unwrap_or_default();
            return Ok(Sandboxes::off(Some(format!(
                "This agent runs without a sandbox: {reason}"
            ))));
        };
        let data_dir = config.environment.data_dir.clone();
        let (variant, root, env) = (variant.clone(), experiment.repo_root.clone(), env.to_vec());
        tokio::task::spawn_blocking(move || {
            Sandboxes::build(
                &bwrap,
                &root,
                &variant,
                kind,
                &env,
                &data_dir,
                check_network,
            )
        })
        .await
        .map_err(super::join_error)?
    }

    fn build(
        bwrap: &Path,
        repo_root: &Path,
        variant: &Variant,
        kind: AgentKind,
        env: &[(String, String)],
        data_dir: &Path,
        check_network: bool,
    ) -> Result<Sandboxes, Error> {
        use crate::sandbox::{agent_config, agent_state, for_worktree, prepare_state, Layout};
        let linked = variant.linked(repo_root)?;
        let state = agent_state(kind, env, data_dir);
        let config = agent_config(kind, env, data_dir);
        prepare_state(&state).map_err(|source| WorktreeError::Io {
            action: "create the agent's state folders for its sandbox in",
            path: data_dir.to_path_buf(),
            source,
        })?;
        let session_home = env
            .iter()
            .rev()
            .find(|(k, _)| k == "HOME")
            .map(|(_, v)| PathBuf::from(v));
        let layout =
            |agent_state: Vec<PathBuf>, agent_config: Vec<PathBuf>, network: bool| Layout {
                bwrap,
                repo_root: &linked.root,
                common_dir: &linked.common_dir,
                worktree: &linked.worktree,
                git_dir: &linked.git_dir,
                data_dir,
                worktrees_dir: variant.worktree.parent().and_then(Path::parent),
                agent_state,
                agent_config,
                session_home: session_home.clone(),
                network,
            };
        let check = for_worktree(layout(Vec::new(), Vec::new(), check_network));
        // The check sees its worktree where the checkout is (which it
        // cannot see anyway), so a warm build's state is found as built.
        let check = if check.hidden.contains(&linked.root) && !data_dir.as_os_str().is_empty() {
            let git_file = moved_git_file(data_dir, &linked)?;
            check.at_checkout(crate::sandbox::Moved {
                worktree: linked.worktree.clone(),
                checkout: linked.root.clone(),
                common_dir: linked.common_dir.clone(),
                git_dir: linked.git_dir.clone(),
                git_file,
            })
        } else {
            check
        };
        Ok(Sandboxes {
            agent: Some(for_worktree(layout(state, config, true))),
            tools: Some(for_worktree(layout(Vec::new(), Vec::new(), true))),
            check: Some(check),
            unavailable: None,
        })
    }

    /// For the run record.
    pub fn describe(&self) -> serde_json::Value {
        json!({
            "on": self.agent.is_some(),
            "unavailable": self.unavailable,
            "check_network": self.check.as_ref().map(|c| c.network),
        })
    }
}
