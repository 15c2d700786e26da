//! `fanout run`, `follow-up`, `cancel` and `report`: running agents from the
//! command line, with a live display and a results table at the end.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::time::Duration;

use fanout_engine::agent::{AgentKind, PermissionProfile};
use fanout_engine::api::Fanout;
use fanout_engine::approaches::{self, PlanRequest, Planner};
use fanout_engine::experiment::{ApproachSpec, ExperimentView, NewExperiment};
use fanout_engine::orchestrator::{
    self, coalesce, Environment, Executables, Job, Progress, RunConfig, Ticket, Update,
    VariantResult,
};
use fanout_engine::paths::Paths;
use fanout_engine::report::format_duration;
use fanout_engine::settings::Settings;
use fanout_engine::store::VariantStatus;
use fanout_engine::Error;
use indicatif::{MultiProgress, ProgressBar, ProgressStyle};
use serde_json::json;
use tokio::sync::broadcast;

use crate::Failure;

/// How long Ctrl-C waits for every session to end.
const CANCEL_LIMIT: Duration = Duration::from_secs(60);

/// How often the live display redraws.
const DISPLAY_INTERVAL: Duration = Duration::from_millis(100);

/// Everything `fanout run` was given.
pub struct RunArgs {
    pub repo: PathBuf,
    pub task: String,
    pub n: Option<usize>,
    pub approaches: Option<PathBuf>,
    pub agent: String,
    pub agent_command: Option<String>,
    pub model: Option<String>,
    pub max_parallel: Option<usize>,
    pub check: Option<String>,
    pub timeout: u64,
    pub include_uncommitted: bool,
    pub worktree_root: Option<PathBuf>,
    pub permission: String,
    pub sandbox: bool,
    pub agent_env: Vec<String>,
    /// Where the variants run (`local` is here); none: here.
    pub hosts: Vec<String>,
}

/// The file `fanout plan --json` prints.
#[derive(serde::Deserialize)]
struct ApproachFile {
    approaches: Vec<ApproachSpec>,
}

pub fn run(args: RunArgs, json_out: bool) -> Result<(), Failure> {
    let kind: AgentKind = args.agent.parse().map_err(Error::from)?;
    let permission: PermissionProfile = args.permission.parse().map_err(Error::from)?;
    let mut approaches = match &args.approaches {
        Some(file) => read_approaches(file)?,
        None => generate(&args.repo, &args.task, args.n.unwrap_or(3), Vec::new())?,
    };
    if let Some(n) = args.n.filter(|n| *n != approaches.len()) {
        return Err(Failure::Message(format!(
            "-n {n} does not match the {} approaches in {}. Drop -n or edit the file.",
            approaches.len(),
            args.approaches
                .as_deref()
                .unwrap_or(Path::new(""))
                .display()
        )));
    }
    for approach in &mut approaches {
        approach.model = approach.model.take().or_else(|| args.model.clone());
    }
    let request = NewExperiment {
        repo: args.repo,
        task: args.task,
        approaches,
        include_uncommitted: args.include_uncommitted,
        worktree_root: args.worktree_root,
        default_agent: kind.as_str().to_owned(),
        run: RunConfig {
            max_parallel: args.max_parallel,
            timeout_secs: args.timeout.max(1),
            check: args.check,
            permission,
            agent_command: args.agent_command,
            sandbox: args.sandbox,
            agent_command_secrets: args.agent_env,
            ..RunConfig::default()
        },
    };
    let hosts = args.hosts;
    drive(json_out, |fanout| async move {
        // Nothing is created for a run that cannot start.
        let (view, ticket) = fanout.launch_on(request, &hosts).await?;
        if !json_out {
            println!(
                "Experiment {} ({} variants) on base {}",
                view.id().short(),
                view.variants.len(),
                &view.experiment.base_commit[..8]
            );
        }
        Ok((view, ticket))
    })
}

/// Resumes a finished variant's session with `text`, as its experiment was
/// configured when it was created.
pub fn follow_up(
    experiment: &str,
    variant: &str,
    text: &str,
    json_out: bool,
) -> Result<(), Failure> {
    let (experiment, variant, text) = (experiment.to_owned(), variant.to_owned(), text.to_owned());
    drive(json_out, |fanout| async move {
        let (id, index) = fanout
            .blocking(move |engine| crate::variant(engine, &experiment, &variant))
            .await?;
        let ticket = fanout
            .submit(Job::FollowUp {
                experiment: id.clone(),
                variant: index,
                text,
            })
            .await?;
        let view = fanout
            .blocking(move |engine| engine.experiment(&id))
            .await?;
        Ok((view, ticket))
    })
}

/// What `fanout pr` was given.
#[derive(clap::Args)]
pub struct PrArgs {
    pub experiment: String,
    pub variant: String,
    /// The branch to create on the remote (default: the variant's own).
    #[arg(long)]
    pub branch: Option<String>,
    #[arg(long)]
    pub title: Option<String>,
    /// The body, instead of the variant's section of the report.
    #[arg(long, value_name = "FILE")]
    pub body_file: Option<PathBuf>,
    #[arg(long)]
    pub draft: bool,
    #[arg(long, default_value = "origin")]
    pub remote: String,
    /// The GitHub repository as owner/name, when the remote's URL does not say.
    #[arg(long)]
    pub github: Option<String>,
}

/// Pushes the variant's branch and opens its pull request; prints its URL.
pub fn pull_request(args: PrArgs, json_out: bool) -> Result<(), Failure> {
    let body = match &args.body_file {
        Some(file) => Some(std::fs::read_to_string(file).map_err(|e| {
            Failure::Message(format!(
                "Could not read the body file {}: {e}. Check the path.",
                file.display()
            ))
        })?),
        None => None,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::Message(format!("Could not start Fanout's runtime: {e}. Try again."))
        })?;
    let pr = runtime.block_on(async move {
        let fanout = Fanout::open(
            Paths::from_env()?,
            Environment::default(),
            RunConfig::default(),
        )?;
        let (experiment, variant, remote) = (args.experiment, args.variant, args.remote.clone());
        let (id, index, mut draft) = fanout
            .blocking(move |engine| {
                let (id, index) = crate::variant(engine, &experiment, &variant)?;
                let draft = engine.pr_draft(&id, index, &remote)?;
                Ok((id, index, draft))
            })
            .await?;
        draft.branch = args.branch.unwrap_or(draft.branch);
        draft.title = args.title.unwrap_or(draft.title);
        draft.body = body.unwrap_or(draft.body);
        draft.draft = args.draft;
        draft.github = args.github.or(draft.github);
        let api = fanout_engine::pr::github_api(None);
        fanout.pull_request(&id, index, draft, api).await
    })?;
    if json_out {
        println!("{}", json!(pr));
    } else {
        println!("{}", pr.url);
    }
    Ok(())
}

/// Adds a synthesis of the chosen variants and runs its agent live.
pub fn synthesize(
    experiment: &str,
    from: &[String],
    note: &str,
    agent: Option<String>,
    json_out: bool,
) -> Result<(), Failure> {
    let (experiment, from, note) = (experiment.to_owned(), from.to_vec(), note.to_owned());
    drive(json_out, |fanout| async move {
        let id = fanout
            .blocking(move |engine| {
                let id = engine.resolve(&experiment)?;
                let view = engine.experiment(&id)?;
                let from = crate::variants(&view, &from)?;
                engine.add_synthesis(&id, &from, &note, agent)?;
                Ok(id)
            })
            .await?;
        let ticket = fanout
            .submit(Job::Run {
                experiment: id.clone(),
            })
            .await?;
        let view = fanout
            .blocking(move |engine| engine.experiment(&id))
            .await?;
        Ok((view, ticket))
    })
}

/// Runs the experiment's check alone in one variant's worktree.
pub fn check(experiment: &str, variant: &str, json_out: bool) -> Result<(), Failure> {
    let (experiment, variant) = (experiment.to_owned(), variant.to_owned());
    drive(json_out, |fanout| async move {
        let (id, index) = fanout
            .blocking(move |engine| crate::variant(engine, &experiment, &variant))
            .await?;
        let ticket = fanout
            .submit(Job::Check {
                experiment: id.clone(),
                variant: index,
            })
            .await?;
        let view = fanout
            .blocking(move |engine| engine.experiment(&id))
            .await?;
        Ok((view, ticket))
    })
}

pub fn cancel(experiment: &str, variant: Option<&str>, json_out: bool) -> Result<(), Failure> {
    let engine = crate::engine()?;
    let (id, index) = match variant {
        Some(v) => {
            let (id, index) = crate::variant(&engine, experiment, v)?;
            (id, Some(index))
        }
        None => (engine.resolve(experiment)?, None),
    };
    let grace = Environment::default().grace;
    let done = engine.cancel_elsewhere(&id, index, grace)?;
    if json_out {
        let cancelled: Vec<u32> = done.stopped.iter().chain(&done.dequeued).copied().collect();
        println!(
            "{}",
            json!({
                "experiment": id,
                "cancelled": cancelled,
                "stopped": done.stopped,
                "dequeued": done.dequeued,
                "interrupted": done.interrupted,
            })
        );
        return Ok(());
    }
    let short = id.short();
    let list = |v: &[u32]| v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
    if !done.stopped.is_empty() {
        println!(
            "Stopped variant(s) {} of experiment {short}: their agents and everything they started have ended.",
            list(&done.stopped)
        );
    }
    if !done.dequeued.is_empty() {
        println!(
            "Variant(s) {} of experiment {short} had not started; their run will not start them.",
            list(&done.dequeued)
        );
    }
    if !done.interrupted.is_empty() {
        println!(
            "The Fanout process running variant(s) {} of experiment {short} had died; they are marked interrupted and what they left running was stopped. Retry them to run them again.",
            list(&done.interrupted)
        );
    }
    Ok(())
}

pub fn report(experiment: &str, output: Option<&Path>, json_out: bool) -> Result<(), Failure> {
    let engine = crate::engine()?;
    let markdown = engine.report(&engine.resolve(experiment)?)?;
    match output {
        Some(path) => {
            std::fs::write(path, &markdown).map_err(|e| {
                Failure::Message(format!("Could not write the report to {}: {e}. Check that the folder exists and is writable.", path.display()))
            })?;
            if json_out {
                println!("{}", json!({ "path": path }));
            } else {
                println!("Report written to {}.", path.display());
            }
        }
        None if json_out => println!("{}", json!({ "markdown": markdown })),
        None => print!("{markdown}"),
    }
    Ok(())
}

/// Asks an LLM for `n` distinct approaches to the task: the API when an
/// Anthropic key is set, otherwise a one-shot `claude -p` in the repository.
pub fn generate(
    repo: &Path,
    task: &str,
    n: usize,
    hints: Vec<String>,
) -> Result<Vec<ApproachSpec>, Failure> {
    let root = fanout_engine::repo::inspect(repo)
        .map_err(fanout_engine::Error::from)?
        .root;
    let claude = Executables::from_env()
        .claude
        .unwrap_or_else(|| PathBuf::from("claude"));
    let planner = Planner::choose(claude, root, &Default::default());
    let request = PlanRequest {
        task: task.to_string(),
        n,
        hints,
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::Message(format!("Could not start the async runtime: {e}.")))?;
    Ok(runtime
        .block_on(approaches::generate(&planner, &request))
        .map_err(fanout_engine::Error::from)?)
}

fn read_approaches(file: &Path) -> Result<Vec<ApproachSpec>, Failure> {
    let text = std::fs::read_to_string(file).map_err(|e| {
        Failure::Message(format!(
            "Could not read the approaches file {}: {e}. Check the path.",
            file.display()
        ))
    })?;
    let parsed: ApproachFile = serde_json::from_str(&text).map_err(|e| {
        Failure::Message(format!(
            "The approaches file {} is not in the expected format ({e}). It must be {{\"approaches\": [{{\"name\": …, \"description\": …, \"guidelines\": …}}]}}, as `fanout plan --json` prints.",
            file.display()
        ))
    })?;
    Ok(parsed.approaches)
}

/// Opens Fanout (its dispatcher, the one store writer), starts a job with
/// `start` and shows it live until its variants have ended, answering
/// approval requests on the terminal; Ctrl-C cancels every session and waits
/// until they are gone. Then prints the results.
fn drive<F, Fut>(json_out: bool, start: F) -> Result<(), Failure>
where
    F: FnOnce(Fanout) -> Fut,
    Fut: std::future::Future<Output = Result<(ExperimentView, Ticket), Error>>,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::Message(format!("Could not start Fanout's runtime: {e}. Try again."))
        })?;
    let result = runtime.block_on(async {
        let paths = Paths::from_env()?;
        let environment = Environment {
            executables: Executables::from_env(),
            // The hosts are the settings' (the app's Settings → Hosts).
            hosts: Settings::load(&paths.settings())?.hosts(),
            ..Environment::default()
        };
        let fanout = Fanout::open(paths, environment, RunConfig::default())?;
        let multi = MultiProgress::new();
        // Subscribed before the job starts, so the display misses nothing.
        let updates = fanout.subscribe();
        let ask = crate::ask::spawn(&fanout, multi.clone());
        let started = start(fanout.clone()).await;
        let display = started
            .as_ref()
            .ok()
            .map(|(view, _)| Display::start(view, updates, json_out, multi));
        let ended = match started {
            Ok((view, ticket)) => {
                tokio::select! {
                    () = ticket.finished() => {}
                    signal = stop_signal() => {
                        eprintln!("{signal}: cancelling, stopping every agent…");
                        fanout.dispatcher().shutdown(CANCEL_LIMIT).await;
                    }
                }
                let id = view.id();
                fanout.blocking(move |engine| engine.experiment(&id)).await
            }
            Err(error) => Err(error),
        };
        ask.abort();
        let _ = ask.await;
        // The last handle gone, the updates end and so does the display.
        drop(fanout);
        if let Some(display) = display {
            let _ = display.await;
        }
        ended
    });
    // A prompt still reading the terminal must not keep the command alive.
    runtime.shutdown_background();
    finish(&result?, json_out)
}

/// Ctrl-C, SIGTERM (a `kill`, a service manager) and SIGHUP (the terminal
/// closed) all cancel the run the same way: every agent is stopped and
/// waited for, and the variants end cancelled. Resolves with the signal's name.
async fn stop_signal() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut term), Ok(mut hup)) = (
        signal(SignalKind::terminate()),
        signal(SignalKind::hangup()),
    ) else {
        let _ = tokio::signal::ctrl_c().await;
        return "Interrupted";
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => "Interrupted",
        _ = term.recv() => "Terminated",
        _ = hup.recv() => "Hung up",
    }
}

/// The live display: indicatif lines on a terminal, plain status lines otherwise.
struct Display;

impl Display {
    fn start(
        view: &ExperimentView,
        updates: broadcast::Receiver<Update>,
        json_out: bool,
        multi: MultiProgress,
    ) -> tokio::task::JoinHandle<()> {
        let mut ticks = coalesce(updates, DISPLAY_INTERVAL);
        let names: HashMap<u32, String> = view
            .variants
            .iter()
            .map(|v| match &v.host {
                Some(host) => (v.index, format!("{} (on {host})", v.name)),
                None => (v.index, v.name.clone()),
            })
            .collect();
        let live = !json_out && std::io::stdout().is_terminal();
        tokio::spawn(async move {
            let mut bars: HashMap<u32, ProgressBar> = HashMap::new();
            let mut last: HashMap<u32, VariantStatus> = HashMap::new();
            while let Some(tick) = ticks.recv().await {
                for batch in tick.batches {
                    let Some(progress) = batch.progress else {
                        continue;
                    };
                    let name = names.get(&batch.variant).cloned().unwrap_or_default();
                    if live {
                        let bar = bars
                            .entry(batch.variant)
                            .or_insert_with(|| new_bar(&multi, batch.variant, &name));
                        show(bar, &progress);
                    } else if last.insert(batch.variant, progress.status) != Some(progress.status) {
                        let line = format!(
                            "variant {} {name}: {}{}",
                            batch.variant,
                            progress.status,
                            progress
                                .error
                                .as_deref()
                                .map(|e| format!(" — {e}"))
                                .unwrap_or_default()
                        );
                        if json_out {
                            eprintln!("{line}")
                        } else {
                            println!("{line}")
                        }
                    }
                }
            }
            for bar in bars.values() {
                if !bar.is_finished() {
                    bar.abandon();
                }
            }
        })
    }
}

fn new_bar(multi: &MultiProgress, index: u32, name: &str) -> ProgressBar {
    let bar = multi.add(ProgressBar::new_spinner());
    bar.set_style(
        ProgressStyle::with_template("{prefix} {spinner} {elapsed:>5} {wide_msg}")
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    bar.set_prefix(format!("{index} {:<20}", truncate(name, 20)));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

fn show(bar: &ProgressBar, p: &Progress) {
    if p.status == VariantStatus::Running && p.tool_calls == 0 && p.activity.is_none() {
        bar.reset_elapsed();
    }
    let message = format!(
        "{:<11} {:>8} {:>9}  {}",
        p.status.as_str(),
        p.turns
            .map_or(format!("{} tools", p.tool_calls), |t| format!("{t} turns")),
        p.cost_usd.map_or("–".to_owned(), |c| format!("${c:.4}")),
        p.error.as_deref().or(p.activity.as_deref()).unwrap_or("")
    );
    if matches!(
        p.status,
        VariantStatus::Succeeded
            | VariantStatus::Failed
            | VariantStatus::Cancelled
            | VariantStatus::Interrupted
    ) {
        bar.finish_with_message(message);
    } else {
        bar.set_message(message);
    }
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        format!("{}…", text.chars().take(max - 1).collect::<String>())
    }
}

/// Prints the results (a table, or the experiment with variants and results
/// as one JSON document); fails when no variant succeeded.
fn finish(view: &ExperimentView, json_out: bool) -> Result<(), Failure> {
    let results = orchestrator::results(view);
    if json_out {
        let mut doc = json!(view.experiment);
        doc["variants"] = json!(view.variants);
        doc["results"] = json!(results);
        println!(
            "{}",
            serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "null".into())
        );
    } else {
        print_table(&results);
    }
    if results.iter().any(|r| r.status == VariantStatus::Succeeded) {
        Ok(())
    } else {
        Err(Failure::Message(format!(
            "No variant of experiment {} succeeded. See each variant's error above, then retry or follow up.",
            view.id().short()
        )))
    }
}

fn print_table(results: &[VariantResult]) {
    println!(
        "\n  # {:<20} {:<14} {:<11} {:>10} {:>6} {:>9} {:>6} {:>11} {:<8}",
        "approach", "host", "status", "time", "turns", "cost", "files", "+/-", "check"
    );
    for r in results {
        println!(
            "  {} {:<20} {:<14} {:<11} {:>10} {:>6} {:>9} {:>6} {:>11} {:<8}",
            r.index,
            truncate(&r.name, 20),
            truncate(&r.host, 14),
            r.status.as_str(),
            r.duration_ms.map_or("–".into(), format_duration),
            r.turns.map_or("–".into(), |t| t.to_string()),
            r.cost_usd.map_or("–".into(), |c| format!("${c:.4}")),
            r.files_changed.map_or("–".into(), |f| f.to_string()),
            match (r.lines_added, r.lines_removed) {
                (Some(a), Some(d)) => format!("+{a}/-{d}"),
                _ => "–".into(),
            },
            match r.check_passed {
                None => "–",
                Some(true) => "passed",
                Some(false) => "failed",
            }
        );
    }
    for r in results {
        if let Some(error) = &r.error {
            println!("\n  {}: {error}", r.index);
        } else if let Some(summary) = &r.summary {
            println!("\n  {}: {}", r.index, summary.lines().next().unwrap_or(""));
        }
    }
}
