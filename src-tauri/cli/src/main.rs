//! `fanout`: Fanout's engine from the command line.
//!
//! Human output by default; with `--json`, exactly one JSON document on
//! stdout. Exit 0 on success, 1 with a sentence on stderr when something
//! failed, 2 for usage errors (clap's own exit code).

mod ask;
mod hosts;
mod judging;
mod output;
mod run;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use fanout_engine::combine::Take;
use fanout_engine::diff::DiffOptions;
use fanout_engine::experiment::{
    select_variant, ApproachSpec, CleanOptions, Engine, ExperimentView, NewExperiment,
};
use fanout_engine::ids::{ExperimentId, VariantIndex};
use fanout_engine::merge::Strategy;
use fanout_engine::orchestrator::RunConfig;
use fanout_engine::paths::Paths;
use fanout_engine::repo_settings::RepoSettings;
use fanout_engine::{repo, Error};

use output::Out;

#[derive(Parser)]
#[command(
    name = "fanout",
    version,
    about = "Explore one coding task several ways at once, from the command line."
)]
struct Cli {
    /// Print one JSON document on stdout instead of text for humans.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Show a repository's branch, HEAD and uncommitted files.
    Repo {
        /// A folder inside the repository.
        path: PathBuf,
    },
    /// Create an experiment and its worktrees (no agents are started).
    New {
        #[arg(long)]
        repo: PathBuf,
        /// What the agents should do.
        #[arg(long)]
        task: String,
        /// An approach, as `name` or `name:description`; repeat for each variant.
        #[arg(long = "approach", required = true, value_name = "NAME[:DESCRIPTION]")]
        approaches: Vec<String>,
        /// Start from HEAD plus the uncommitted changes instead of HEAD.
        #[arg(long)]
        include_uncommitted: bool,
        /// Where to create the worktrees (default: Fanout's data folder).
        #[arg(long)]
        worktree_root: Option<PathBuf>,
    },
    /// List experiments, newest first.
    List,
    /// Show an experiment and its variants.
    Show { experiment: String },
    /// Commit what changed in the worktrees of an experiment (or one variant).
    Commit {
        experiment: String,
        variant: Option<String>,
    },
    /// Show what a variant changed against the base (or another variant).
    Diff {
        experiment: String,
        variant: String,
        /// Compare against this variant instead of the base.
        #[arg(long)]
        against: Option<String>,
        /// Only the list of changed files with their line counts.
        #[arg(long)]
        stat: bool,
        /// Only this file's diff.
        #[arg(long)]
        file: Option<String>,
        /// Lines of context around each change.
        #[arg(long, default_value_t = 3)]
        context: usize,
    },
    /// How alike the variants' changes are, as an N×N matrix from 0 to 1.
    Similarity { experiment: String },
    /// Merge a variant into the branch the experiment started from.
    Merge {
        experiment: String,
        variant: String,
        #[arg(long, default_value = "squash", value_parser = parse_strategy)]
        strategy: Strategy,
        /// The commit message (default: the task and the approach).
        #[arg(long)]
        message: Option<String>,
        /// The branch to merge into (default: the one the experiment started from).
        #[arg(long)]
        target: Option<String>,
        /// Show what would happen, change nothing.
        #[arg(long)]
        dry_run: bool,
    },
    /// Undo the experiment's last merge, while nothing was committed on top.
    UndoMerge { experiment: String },
    /// Ask an LLM for N distinct approaches to a task (edit them, then `run --approaches`).
    Plan {
        #[arg(long)]
        repo: PathBuf,
        /// What the agents should do.
        #[arg(long)]
        task: String,
        /// How many approaches (1 to 8).
        #[arg(short = 'n', default_value_t = 3)]
        n: usize,
        /// A wish for the approaches ("one functional", "no new crates"); repeat for more.
        #[arg(long = "hint")]
        hints: Vec<String>,
    },
    /// Create an experiment and run one agent per approach, live.
    Run {
        #[arg(long)]
        repo: PathBuf,
        /// What the agents should do.
        #[arg(long)]
        task: String,
        /// How many variants (with --approaches: must match the file).
        #[arg(short = 'n', required_unless_present = "approaches")]
        n: Option<usize>,
        /// The approaches, as `fanout plan --json` prints them.
        #[arg(long, value_name = "FILE.json")]
        approaches: Option<PathBuf>,
        /// claude-code, codex, gemini (the Gemini CLI: GEMINI_API_KEY), api (the built-in agent: ANTHROPIC_API_KEY or the keyring, ANTHROPIC_BASE_URL) or command.
        #[arg(long, default_value = "claude-code")]
        agent: String,
        /// The command agent's template, with {prompt}, {prompt_file}, {workdir}.
        #[arg(long, required_if_eq("agent", "command"))]
        agent_command: Option<String>,
        #[arg(long)]
        model: Option<String>,
        /// Sessions at once (default: all).
        #[arg(long)]
        max_parallel: Option<usize>,
        /// A command run in each worktree after its agent succeeded, e.g. `cargo test`.
        #[arg(long)]
        check: Option<String>,
        /// Per-session timeout in seconds.
        #[arg(long, default_value_t = 1800)]
        timeout: u64,
        #[arg(long)]
        include_uncommitted: bool,
        #[arg(long)]
        worktree_root: Option<PathBuf>,
        /// What agents may do unasked: edits, edits-and-commands, bypass, or ask
        /// (Claude Code and the built-in agent ask on this terminal; denied
        /// when stdin is not one).
        #[arg(long, default_value = "edits")]
        permission: String,
        /// Run agents, setup commands and checks in a bubblewrap sandbox (on
        /// where `bwrap` works; see SECURITY.md).
        #[arg(long, default_value = "on", value_parser = parse_switch, action = clap::ArgAction::Set)]
        sandbox: bool,
        /// A secret variable of this environment (say `MY_AGENT_TOKEN`) the
        /// command agent may inherit; no agent gets Fanout's keys otherwise.
        /// Repeat for more.
        #[arg(long = "agent-env", value_name = "NAME")]
        agent_env: Vec<String>,
        /// Where variants run: an ssh host set up with `fanout hosts add`,
        /// or `local` for this machine; repeat to spread the variants over
        /// several by their capacity (default: here).
        #[arg(long = "host", value_name = "ALIAS")]
        hosts: Vec<String>,
    },
    /// The ssh hosts variants can run on: list them, or add, remove or check one.
    Hosts {
        #[command(subcommand)]
        action: Option<hosts::HostsAction>,
    },
    /// Have a model review a variant (or every variant with changes): what it
    /// does, its risks, its tests, its scope, a score per rubric criterion.
    Review {
        experiment: String,
        variant: Option<String>,
        /// auto (the model API when a key is set, else Claude Code), api, claude, codex or gemini.
        #[arg(long, default_value = "auto")]
        reviewer: String,
        #[arg(long)]
        model: Option<String>,
        /// Tokens of diff the reviewer reads; larger files are named, not shown.
        #[arg(long, default_value_t = fanout_engine::review::DEFAULT_BUDGET_TOKENS)]
        budget: usize,
    },
    /// Have a model rank every variant with a rationale (the rubric is
    /// .fanout/judge.md in the repository, or Fanout's default).
    Judge {
        experiment: String,
        #[arg(long, default_value = "auto")]
        reviewer: String,
        #[arg(long)]
        model: Option<String>,
        /// Let a variant whose check failed rank above passing ones.
        #[arg(long)]
        failed_checks_compete: bool,
    },
    /// Have a model explain what differs between two variants, in words.
    Differ {
        experiment: String,
        a: String,
        b: String,
        #[arg(long, default_value = "auto")]
        reviewer: String,
        #[arg(long)]
        model: Option<String>,
    },
    /// Build a new variant from whole files or single hunks of other variants
    /// (hunks numbered as `fanout diff` shows them against the base).
    Combine {
        experiment: String,
        /// VARIANT:PATH for a whole file, VARIANT:PATH#HUNK for one hunk; repeat.
        #[arg(long = "take", required = true, value_name = "VARIANT:PATH[#HUNK]")]
        takes: Vec<String>,
    },
    /// Run one more agent that writes a result from the chosen variants'
    /// work, the judge's rationale and your note.
    Synthesize {
        experiment: String,
        /// A variant whose work the agent reads; repeat.
        #[arg(long = "from", required = true, value_name = "VARIANT")]
        from: Vec<String>,
        /// What to take from which, e.g. "1's API and 3's tests".
        #[arg(long, default_value = "")]
        note: String,
        /// The agent (default: the experiment's first).
        #[arg(long)]
        agent: Option<String>,
    },
    /// Run the experiment's check command in one variant's worktree as it is.
    Check { experiment: String, variant: String },
    /// Which agent wins: per agent and model, runs, merges, check pass rate,
    /// median time, cost, tokens, and the judge's first picks.
    Stats {
        /// Only this repository's experiments.
        #[arg(long)]
        repo: Option<PathBuf>,
    },
    /// Push a variant's branch to the remote and open a pull request on GitHub
    /// (token: GH_TOKEN or the keyring; API: GITHUB_API_URL or github.com).
    /// Prints the pull request's URL.
    Pr(run::PrArgs),
    /// Send a finished variant's agent a new instruction (resumes its session).
    FollowUp {
        experiment: String,
        variant: String,
        text: String,
    },
    /// Cancel a running experiment's variants (all, or one), from any terminal.
    Cancel {
        experiment: String,
        variant: Option<String>,
    },
    /// The experiment's Markdown report.
    Report {
        experiment: String,
        /// Write it to this file instead of stdout.
        #[arg(short = 'o', long)]
        output: Option<PathBuf>,
    },
    /// Remove the experiment's worktrees and branches; says what it freed.
    Clean {
        experiment: String,
        /// Keep this variant's branch.
        #[arg(long)]
        keep: Option<String>,
        /// Also remove worktrees with uncommitted changes and branches whose
        /// work is merged nowhere.
        #[arg(long)]
        force: bool,
        /// Keep this variant as the tag fanout/archive/<experiment>/<n>-<slug>
        /// instead of its branch; repeat for more.
        #[arg(long = "archive", value_name = "VARIANT")]
        archive: Vec<String>,
        /// Change nothing: show each worktree's size and unmerged commits.
        #[arg(long, conflicts_with_all = ["force", "archive", "keep"])]
        dry_run: bool,
    },
    /// Show or change how new worktrees of a repository are prepared. Stored
    /// by Fanout, not in the repository (unless --export).
    RepoSettings {
        /// A folder inside the repository.
        repo: PathBuf,
        /// A glob of ignored files to copy into each new worktree (`.env`,
        /// `config/*.local`); repeat for more. Replaces the list.
        #[arg(long = "copy", value_name = "GLOB")]
        copy: Vec<String>,
        /// Copy no ignored files into new worktrees.
        #[arg(long, conflicts_with = "copy")]
        no_copy: bool,
        /// A command run (through sh) in each worktree before its agent starts, e.g. `npm ci`.
        #[arg(long, value_name = "CMD")]
        setup: Option<String>,
        /// Remove the setup command.
        #[arg(long, conflicts_with = "setup")]
        no_setup: bool,
        /// The setup command's timeout in seconds.
        #[arg(long, value_name = "SECS")]
        setup_timeout: Option<u64>,
        /// Whether checks may reach the network (`off`: loopback only, in
        /// the sandbox).
        #[arg(long, value_name = "on|off", value_parser = parse_switch)]
        check_network: Option<bool>,
        /// A folder of built state (`target`, `node_modules`) copied into
        /// each new worktree so its first build is warm; repeat for more.
        /// Replaces the list Fanout detects.
        #[arg(long = "warm", value_name = "FOLDER")]
        warm: Vec<String>,
        /// Warm nothing: every new worktree starts cold.
        #[arg(long, conflicts_with = "warm")]
        no_warm: bool,
        /// Forget this repository's settings: back to the defaults.
        #[arg(long, conflicts_with_all = ["copy", "no_copy", "setup", "no_setup", "setup_timeout", "check_network", "warm", "no_warm"])]
        reset: bool,
        /// Also write the settings to .fanout.json at the repository's root.
        #[arg(long)]
        export: bool,
    },
}

/// The changes `fanout repo-settings` asks for.
struct SettingsChange {
    copy: Vec<String>,
    no_copy: bool,
    setup: Option<String>,
    no_setup: bool,
    setup_timeout: Option<u64>,
    check_network: Option<bool>,
    warm: Vec<String>,
    no_warm: bool,
}

impl SettingsChange {
    fn is_empty(&self) -> bool {
        self.copy.is_empty()
            && !self.no_copy
            && self.setup.is_none()
            && !self.no_setup
            && self.setup_timeout.is_none()
            && self.check_network.is_none()
            && self.warm.is_empty()
            && !self.no_warm
    }

    fn apply(self, settings: &mut RepoSettings) {
        if self.no_copy || !self.copy.is_empty() {
            settings.copy = self.copy;
        }
        if self.no_setup {
            settings.setup_command = None;
        }
        if let Some(command) = self.setup {
            settings.setup_command = Some(command);
        }
        if let Some(secs) = self.setup_timeout {
            settings.setup_timeout_secs = secs;
        }
        if let Some(on) = self.check_network {
            settings.check_network = on;
        }
        if self.no_warm || !self.warm.is_empty() {
            settings.warm = Some(self.warm);
        }
    }
}

fn parse_strategy(s: &str) -> Result<Strategy, String> {
    s.parse::<Strategy>()
        .map_err(|_| format!("unknown strategy {s:?}: use squash or merge"))
}

/// Why a command failed: the engine's error, or the command line's own sentence.
pub enum Failure {
    Engine(Error),
    Message(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Failure {
        Failure::Engine(e)
    }
}

impl Failure {
    /// What to type next, for the engine's refusals whose way out is a
    /// command: the engine's sentence is true in any face, the command is ours.
    fn hint(&self) -> Option<String> {
        use fanout_engine::experiment::ExperimentError;
        let Failure::Engine(Error::Experiment(error)) = self else {
            return None;
        };
        match error {
            ExperimentError::VariantDirty {
                experiment, index, ..
            } => Some(format!("`fanout commit {experiment} {index}` commits them.")),
            ExperimentError::Unmerged { experiment, .. } => Some(format!(
                "keep its branch (`fanout clean {experiment} --keep N`), keep it as a tag (`--archive N`), or let its work go (`--force`)."
            )),
            _ => None,
        }
    }
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Engine(e) => e.fmt(f),
            Failure::Message(m) => f.write_str(m),
        }
    }
}

fn main() -> ExitCode {
    // Agents run under this very binary as their supervisor.
    fanout_engine::supervisor::serve_if_asked();
    let cli = Cli::parse();
    let out = Out::new(cli.json);
    let json_out = cli.json;
    let result = match cli.command {
        Command::Plan {
            repo,
            task,
            n,
            hints,
        } => run::generate(&repo, &task, n, hints)
            .and_then(|approaches| out.plan(&approaches).map_err(Failure::from)),
        Command::Run {
            repo,
            task,
            n,
            approaches,
            agent,
            agent_command,
            model,
            max_parallel,
            check,
            timeout,
            include_uncommitted,
            worktree_root,
            permission,
            sandbox,
            agent_env,
            hosts,
        } => run::run(
            run::RunArgs {
                repo,
                task,
                n,
                approaches,
                agent,
                agent_command,
                model,
                max_parallel,
                check,
                timeout,
                include_uncommitted,
                worktree_root,
                permission,
                sandbox,
                agent_env,
                hosts,
            },
            json_out,
        ),
        Command::FollowUp {
            experiment,
            variant,
            text,
        } => run::follow_up(&experiment, &variant, &text, json_out),
        Command::Cancel {
            experiment,
            variant,
        } => run::cancel(&experiment, variant.as_deref(), json_out),
        Command::Review {
            experiment,
            variant,
            reviewer,
            model,
            budget,
        } => judging::ask(
            judging::Ask::Review {
                experiment,
                variant,
                budget,
            },
            judging::Reviewer {
                choice: reviewer,
                model,
            },
            json_out,
        ),
        Command::Judge {
            experiment,
            reviewer,
            model,
            failed_checks_compete,
        } => judging::ask(
            judging::Ask::Judge {
                experiment,
                options: fanout_engine::judge::JudgeOptions {
                    failed_checks_compete,
                },
            },
            judging::Reviewer {
                choice: reviewer,
                model,
            },
            json_out,
        ),
        Command::Differ {
            experiment,
            a,
            b,
            reviewer,
            model,
        } => judging::ask(
            judging::Ask::Differ { experiment, a, b },
            judging::Reviewer {
                choice: reviewer,
                model,
            },
            json_out,
        ),
        Command::Pr(args) => run::pull_request(args, json_out),
        Command::Synthesize {
            experiment,
            from,
            note,
            agent,
        } => run::synthesize(&experiment, &from, &note, agent, json_out),
        Command::Check {
            experiment,
            variant,
        } => run::check(&experiment, &variant, json_out),
        Command::Hosts { action } => hosts::hosts(action, json_out),
        Command::Report { experiment, output } => {
            run::report(&experiment, output.as_deref(), json_out)
        }
        command => run(command, &out).map_err(Failure::from),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            if let Some(hint) = err.hint() {
                eprintln!("hint: {hint}");
            }
            ExitCode::from(1)
        }
    }
}

/// `on`/`off` (also `true`/`false`, `yes`/`no`).
fn parse_switch(text: &str) -> Result<bool, String> {
    match text.trim().to_ascii_lowercase().as_str() {
        "on" | "true" | "yes" | "1" => Ok(true),
        "off" | "false" | "no" | "0" => Ok(false),
        other => Err(format!("`{other}` is neither on nor off")),
    }
}

/// The engine, for a command that runs no agent.
fn engine() -> Result<Engine, Error> {
    Engine::open(Paths::from_env()?)
}

/// The experiment and the variant the command line names: an id prefix,
/// and a number or an approach slug.
fn variant(
    engine: &Engine,
    experiment: &str,
    selector: &str,
) -> Result<(ExperimentId, VariantIndex), Error> {
    let id = engine.resolve(experiment)?;
    let view = engine.experiment(&id)?;
    let index = VariantIndex(select_variant(&view, selector)?.index);
    Ok((id, index))
}

/// Each of `selectors` as a variant of `view`.
fn variants(view: &ExperimentView, selectors: &[String]) -> Result<Vec<VariantIndex>, Error> {
    selectors
        .iter()
        .map(|s| select_variant(view, s).map(|v| VariantIndex(v.index)))
        .collect()
}

fn run(command: Command, out: &Out) -> Result<(), Error> {
    match command {
        Command::Repo { path } => out.repo(&repo::inspect(&path)?),
        Command::New {
            repo,
            task,
            approaches,
            include_uncommitted,
            worktree_root,
        } => {
            let view = engine()?.create_experiment(NewExperiment {
                repo,
                task,
                approaches: approaches.iter().map(|a| parse_approach(a)).collect(),
                include_uncommitted,
                worktree_root,
                default_agent: "claude-code".to_string(),
                run: RunConfig::default(),
            })?;
            out.created(&view)
        }
        Command::List => out.list(&engine()?.experiments()?),
        Command::Show { experiment } => {
            let engine = engine()?;
            out.show(&engine.experiment(&engine.resolve(&experiment)?)?)
        }
        Command::Commit {
            experiment,
            variant: None,
        } => {
            let engine = engine()?;
            out.commits(&engine.commit(&engine.resolve(&experiment)?, None)?)
        }
        Command::Commit {
            experiment,
            variant: Some(selector),
        } => {
            let engine = engine()?;
            let (id, index) = variant(&engine, &experiment, &selector)?;
            out.commits(&engine.commit(&id, Some(index))?)
        }
        Command::Diff {
            experiment,
            variant,
            against,
            stat,
            file,
            context,
        } => {
            let engine = engine()?;
            let (id, index) = self::variant(&engine, &experiment, &variant)?;
            let against = match against {
                Some(selector) => Some(self::variant(&engine, &experiment, &selector)?.1),
                None => None,
            };
            let opts = DiffOptions {
                context,
                ..DiffOptions::default()
            };
            if let Some(path) = file {
                let diff = engine.file_diff(&id, index, against, &path, &opts)?;
                return out.file_diff(&path, &diff);
            }
            if stat {
                return out.stat(&engine.changed_files(&id, index, against)?);
            }
            out.full_diff(&engine.render_all(&id, index, against, &opts)?)
        }
        Command::Similarity { experiment } => {
            let engine = engine()?;
            let id = engine.resolve(&experiment)?;
            out.similarity(&engine.experiment(&id)?, &engine.similarity(&id)?)
        }
        Command::Merge {
            experiment,
            variant,
            strategy,
            message,
            target,
            dry_run,
        } => {
            let engine = engine()?;
            let (id, index) = self::variant(&engine, &experiment, &variant)?;
            if dry_run {
                let preview = engine.merge_preview(&id, index, target.as_deref())?;
                return out.merge_preview(&preview);
            }
            let outcome =
                engine.merge(&id, index, target.as_deref(), strategy, message.as_deref())?;
            out.merged(&outcome)
        }
        Command::Combine { experiment, takes } => {
            let engine = engine()?;
            let id = engine.resolve(&experiment)?;
            let takes = takes
                .iter()
                .map(|t| t.parse::<Take>())
                .collect::<Result<Vec<_>, _>>()?;
            out.combined(&engine.combine(&id, &takes)?)
        }
        Command::Stats { repo } => out.stats(&engine()?.stats(repo.as_deref())?),
        Command::UndoMerge { experiment } => {
            let engine = engine()?;
            out.undone(&engine.undo_merge(&engine.resolve(&experiment)?)?)
        }
        Command::Clean {
            experiment,
            dry_run: true,
            ..
        } => {
            let engine = engine()?;
            out.disk(&engine.disk_usage(&engine.resolve(&experiment)?)?)
        }
        Command::Clean {
            experiment,
            keep,
            force,
            archive,
            dry_run: false,
        } => {
            let engine = engine()?;
            let id = engine.resolve(&experiment)?;
            let view = engine.experiment(&id)?;
            let opts = CleanOptions {
                keep: variants(&view, keep.as_slice())?.pop(),
                force,
                confirmed: force,
                archive: variants(&view, &archive)?,
                ..CleanOptions::default()
            };
            out.cleaned(&engine.clean(&id, &opts)?)
        }
        Command::RepoSettings {
            repo,
            copy,
            no_copy,
            setup,
            no_setup,
            setup_timeout,
            check_network,
            warm,
            no_warm,
            reset,
            export,
        } => {
            let engine = engine()?;
            let change = SettingsChange {
                copy,
                no_copy,
                setup,
                no_setup,
                setup_timeout,
                check_network,
                warm,
                no_warm,
            };
            let view = if reset {
                engine.reset_repo_settings(&repo)?
            } else if change.is_empty() {
                engine.repo_settings(&repo)?
            } else {
                let mut settings = engine.repo_settings(&repo)?.settings;
                change.apply(&mut settings);
                engine.save_repo_settings(&repo, settings)?
            };
            let exported = match export {
                true => Some(engine.export_repo_settings(&repo)?),
                false => None,
            };
            out.repo_settings(&view, exported.as_deref())
        }
        Command::Plan { .. }
        | Command::Run { .. }
        | Command::FollowUp { .. }
        | Command::Cancel { .. }
        | Command::Pr(_)
        | Command::Synthesize { .. }
        | Command::Check { .. }
        | Command::Hosts { .. }
        | Command::Review { .. }
        | Command::Judge { .. }
        | Command::Differ { .. }
        | Command::Report { .. } => unreachable!("dispatched in main"),
    }
}

/// `name` or `name:description`. Only the first colon splits, so descriptions
/// may contain colons.
fn parse_approach(text: &str) -> ApproachSpec {
    let (name, description) = match text.split_once(':') {
        Some((name, description)) => (name, description),
        None => (text, ""),
    };
    ApproachSpec {
        name: name.trim().to_string(),
        description: description.trim().to_string(),
        ..ApproachSpec::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn approach_descriptions_may_hold_colons() {
        let a = parse_approach("token-bucket: refill at 10/s: burst 5");
        assert_eq!(a.name, "token-bucket");
        assert_eq!(a.description, "refill at 10/s: burst 5");
        assert_eq!(parse_approach("plain").description, "");
    }

    #[test]
    fn the_cli_definition_is_consistent() {
        use clap::CommandFactory;
        Cli::command().debug_assert();
    }
}
