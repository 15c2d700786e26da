//! Commands of the Run flow: launch, watch, cancel, retry, follow-up,
//! transcripts and approach generation; each a few lines over [`Runs`].

use fanout_engine::approaches::PlanRequest;
use fanout_engine::experiment::{ApproachSpec, ExperimentView, NewExperiment};
use fanout_engine::orchestrator::Tick;
use fanout_engine::settings::Settings;
use fanout_engine::store::StoredEvent;
use fanout_engine::Error;
use tauri::ipc::Channel;
use tauri::{AppHandle, Manager, State};

use crate::error::{CommandError, CommandResult};
use crate::runs::{Again, GenerationProgress, Runs, Steer};
use crate::state::AppState;

/// The live runs, or why the engine could not be opened.
fn runs(app: &AppHandle, state: &AppState) -> CommandResult<Runs> {
    state.engine()?;
    app.try_state::<Runs>()
        .map(|runs| runs.inner().clone())
        .ok_or_else(|| CommandError::internal("starting the live runs"))
}

/// Creates the experiment with today's settings and starts its agents.
#[tauri::command]
pub async fn experiment_launch(
    app: AppHandle,
    state: State<'_, AppState>,
    repo: String,
    task: String,
    approaches: Vec<ApproachSpec>,
    include_uncommitted: bool,
    check: Option<String>,
) -> CommandResult<ExperimentView> {
    let runs = runs(&app, &state)?;
    let (engine, settings_file) = (state.engine()?, state.paths()?.settings());
    let view = tauri::async_runtime::spawn_blocking(move || {
        let settings = Settings::load(&settings_file).map_err(Error::from)?;
        let approaches: Vec<ApproachSpec> = approaches
            .into_iter()
            .map(|a| ApproachSpec {
                model: a.model.or_else(|| settings.default_model.clone()),
                ..a
            })
            .collect();
        let agents = approaches_agents(&approaches, &settings)?;
        // Nothing is created for a run that cannot start.
        fanout_engine::orchestrator::preflight(&settings.orchestrator_config(None), &agents)?;
        let mut engine = engine
            .lock()
            .map_err(|_| CommandError::internal("creating the experiment"))?;
        engine
            .create_experiment(NewExperiment {
                repo: repo.trim().into(),
                task,
                approaches,
                include_uncommitted,
                worktree_root: settings.worktree_root.clone(),
                default_agent: settings.default_agent.as_str().into(),
            })
            .map_err(CommandError::from)
    })
    .await
    .map_err(|_| CommandError::internal("creating the experiment"))??;
    runs.launch(&view.experiment.id, check).await?;
    Ok(view)
}

/// The agent each approach runs: its own, or the settings' default.
fn approaches_agents(
    approaches: &[ApproachSpec],
    settings: &Settings,
) -> Result<Vec<fanout_engine::agent::AgentKind>, Error> {
    approaches
        .iter()
        .map(|a| match a.agent.as_deref() {
            Some(name) => name.parse().map_err(Error::from),
            None => Ok(settings.default_agent),
        })
        .collect()
}

/// Streams the experiment's coalesced updates until `run_stop`; returns the
/// watch id. Async so it runs on the runtime that carries the stream.
#[tauri::command]
pub async fn run_watch(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
    on_tick: Channel<Tick>,
) -> CommandResult<String> {
    Ok(runs(&app, &state)?.watch(&id, move |tick| on_tick.send(tick).is_ok()))
}

/// Ends a watch or an approach generation by its id.
#[tauri::command]
pub fn run_stop(app: AppHandle, state: State<'_, AppState>, task: String) -> CommandResult<bool> {
    Ok(runs(&app, &state)?.stop(&task))
}

#[tauri::command]
pub fn run_cancel(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
    variant: Option<u32>,
) -> CommandResult<usize> {
    runs(&app, &state)?.cancel(&id, variant)
}

#[tauri::command]
pub async fn variant_retry(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
    variant: u32,
) -> CommandResult<()> {
    runs(&app, &state)?.again(&id, variant, Again::Retry).await
}

#[tauri::command]
pub async fn variant_follow_up(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
    variant: u32,
    text: String,
) -> CommandResult<()> {
    runs(&app, &state)?
        .again(&id, variant, Again::FollowUp(text))
        .await
}

/// Allows one waiting tool use of a variant's session.
#[tauri::command]
pub fn approval_allow(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
    variant: u32,
    request: String,
) -> CommandResult<()> {
    runs(&app, &state)?.steer(&id, variant, Steer::Allow { request })
}

/// Allows `tool` for the rest of the experiment, and its waiting requests.
#[tauri::command]
pub fn approval_allow_always(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
    variant: u32,
    tool: String,
) -> CommandResult<()> {
    runs(&app, &state)?.steer(&id, variant, Steer::AllowAlways { tool })
}

/// Denies a waiting tool use; `message` goes to the agent.
#[tauri::command]
pub fn approval_deny(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
    variant: u32,
    request: String,
    message: String,
) -> CommandResult<()> {
    runs(&app, &state)?.steer(&id, variant, Steer::Deny { request, message })
}

/// Sends a running variant's agent its next user message.
#[tauri::command]
pub fn steer_send(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
    variant: u32,
    text: String,
) -> CommandResult<()> {
    runs(&app, &state)?.steer(&id, variant, Steer::Send { text })
}

/// Stops the agent's running turn; its session waits for the next message.
#[tauri::command]
pub fn steer_interrupt(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
    variant: u32,
) -> CommandResult<()> {
    runs(&app, &state)?.steer(&id, variant, Steer::Interrupt)
}

/// A page of a variant's stored transcript: events with `seq > after_seq`.
#[tauri::command]
pub async fn variant_events(
    app: AppHandle,
    state: State<'_, AppState>,
    id: String,
    variant: u32,
    after_seq: i64,
    limit: usize,
) -> CommandResult<Vec<StoredEvent>> {
    runs(&app, &state)?
        .events(&id, variant, after_seq, limit)
        .await
}

/// Proposes `n` approaches; `request` is the id `run_stop` cancels it by.
#[allow(clippy::too_many_arguments)]
#[tauri::command]
pub async fn approaches_generate(
    app: AppHandle,
    state: State<'_, AppState>,
    request: String,
    repo: String,
    task: String,
    n: usize,
    hints: Vec<String>,
    on_progress: Channel<GenerationProgress>,
) -> CommandResult<Vec<ApproachSpec>> {
    if task.trim().is_empty() {
        return Err(CommandError {
            code: "approaches.no_task",
            message: "Describe the task first: the approaches are ways to carry it out.".into(),
        });
    }
    let plan = PlanRequest { task, n, hints };
    runs(&app, &state)?
        .generate(request, repo.trim().into(), plan, move |p| {
            let _ = on_progress.send(p);
        })
        .await
}
