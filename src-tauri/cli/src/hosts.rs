//! `fanout hosts`: the ssh hosts variants can run on, kept in the settings
//! the app edits too (Settings → Hosts).

use fanout_engine::hosts::{HostConfig, HostReport, DEFAULT_WORKSPACE};
use fanout_engine::paths::Paths;
use fanout_engine::settings::Settings;
use fanout_engine::Error;
use serde_json::json;

use crate::Failure;

/// What `fanout hosts` was asked to do.
#[derive(clap::Subcommand)]
pub enum HostsAction {
    /// Add a host: an alias of your ssh configuration.
    Add {
        alias: String,
        /// Agents at once on it.
        #[arg(long, default_value_t = 2)]
        capacity: usize,
        /// The agent CLI there (default: found by name on its PATH).
        #[arg(long, value_name = "PATH")]
        agent_path: Option<String>,
        /// The folder there for Fanout's worktrees (relative: from the home directory).
        #[arg(long, default_value = DEFAULT_WORKSPACE)]
        workspace: String,
    },
    /// Forget a host (what variants left there stays until they are cleaned).
    Remove { alias: String },
    /// Connect, and report the platform, git and the agent CLIs found there.
    Check { alias: String },
}

pub fn hosts(action: Option<HostsAction>, json_out: bool) -> Result<(), Failure> {
    let path = Paths::from_env().map_err(Error::from)?.settings();
    let mut settings = Settings::load(&path).map_err(Error::from)?;
    match action {
        None => list(&settings, json_out),
        Some(HostsAction::Add {
            alias,
            capacity,
            agent_path,
            workspace,
        }) => {
            let host = HostConfig {
                alias,
                capacity,
                agent_path: agent_path.filter(|p| !p.trim().is_empty()),
                workspace,
            };
            host.validate().map_err(Error::from)?;
            if settings.hosts.iter().any(|h| h.alias == host.alias) {
                return Err(Failure::Message(format!(
                    "The host `{}` is set up already. Remove it first to change it.",
                    host.alias
                )));
            }
            settings.hosts.push(host.clone());
            settings.save(&path).map_err(Error::from)?;
            if json_out {
                println!("{}", json!(host));
            } else {
                println!(
                    "Added {} ({} at once). `fanout hosts check {}` connects to it.",
                    host.alias, host.capacity, host.alias
                );
            }
            Ok(())
        }
        Some(HostsAction::Remove { alias }) => {
            let before = settings.hosts.len();
            settings.hosts.retain(|h| h.alias != alias);
            if settings.hosts.len() == before {
                return Err(Failure::Message(format!(
                    "No host `{alias}` is set up. `fanout hosts` lists them."
                )));
            }
            settings.save(&path).map_err(Error::from)?;
            if json_out {
                println!("{}", json!({ "removed": alias }));
            } else {
                println!("Removed {alias}.");
            }
            Ok(())
        }
        Some(HostsAction::Check { alias }) => {
            let ssh = settings.hosts().ssh(&alias).map_err(Error::from)?;
            let report = ssh.check().map_err(Error::from)?;
            print_report(&report, json_out);
            Ok(())
        }
    }
}

fn list(settings: &Settings, json_out: bool) -> Result<(), Failure> {
    if json_out {
        println!("{}", json!(settings.hosts));
        return Ok(());
    }
    if settings.hosts.is_empty() {
        println!("No hosts yet: every variant runs here. `fanout hosts add <alias>` adds one.");
        return Ok(());
    }
    println!(
        "{:<24} {:>8}  {:<28} workspace",
        "alias", "capacity", "agent"
    );
    for h in &settings.hosts {
        println!(
            "{:<24} {:>8}  {:<28} {}",
            h.alias,
            h.capacity,
            h.agent_path.as_deref().unwrap_or("(on its PATH)"),
            h.workspace
        );
    }
    Ok(())
}

fn print_report(report: &HostReport, json_out: bool) {
    if json_out {
        println!("{}", json!(report));
        return;
    }
    println!("{}: {}", report.alias, report.platform);
    println!(
        "  git: {}",
        report
            .git
            .as_deref()
            .unwrap_or("not found — install git there")
    );
    if report.agents.is_empty() {
        println!("  agents: none found (claude, codex, gemini); set --agent-path");
    }
    for agent in &report.agents {
        println!("  agent: {agent}");
    }
    println!("  workspace: {}", report.workspace);
}
