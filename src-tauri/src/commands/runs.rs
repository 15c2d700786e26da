//! The run screens: launching an experiment, its live stream, cancelling,
//! approvals and steering, retries and follow-ups, transcripts, and
//! proposing approaches. The engine's dispatcher checks every request.

use fanout_engine::approaches::{GenerationProgress, PlanRequest};
use fanout_engine::experiment::{ApproachSpec, ExperimentView};
use fanout_engine::ids::{ExperimentId, VariantIndex};
use fanout_engine::orchestrator::{Job, Steer, Tick};
use fanout_engine::settings::Settings;
use fanout_engine::store::StoredEvent;
use tauri::ipc::Channel;
use tauri::State;

use super::{blocking, engine};
use crate::state::{AppState, CommandResult};

/// Creates the experiment with today's settings (stored with it, so its
/// retries and follow-ups run the same) and starts its agents.
#[tauri::command]
pub async fn experiment_launch(
    state: State<'_, AppState>,
    repo: String,
    task: String,
    approaches: Vec<ApproachSpec>,
    include_uncommitted: bool,
    check: Option<String>,
    hosts: Option<Vec<String>>,
) -> CommandResult<ExperimentView> {
    let file = state.paths()?.settings();
    let settings = blocking(move || Ok(Settings::load(&file)?)).await?;
    let request = settings.new_experiment(
        repo.trim().into(),
        task,
        approaches,
        include_uncommitted,
        check,
    );
    let hosts = hosts.unwrap_or_default();
    let (view, ticket) = state.fanout()?.launch_on(request, &hosts).await?;
    state.live()?.after_job(ticket);
    Ok(view)
}

/// Runs a finished variant again from the base.
#[tauri::command]
pub async fn variant_retry(
    state: State<'_, AppState>,
    id: ExperimentId,
    variant: VariantIndex,
) -> CommandResult<()> {
    submit(
        &state,
        Job::Retry {
            experiment: id,
            variant,
        },
    )
    .await
}

/// Resumes a finished variant's session with a new instruction.
#[tauri::command]
pub async fn variant_follow_up(
    state: State<'_, AppState>,
    id: ExperimentId,
    variant: VariantIndex,
    text: String,
) -> CommandResult<()> {
    submit(
        &state,
        Job::FollowUp {
            experiment: id,
            variant,
            text,
        },
    )
    .await
}

async fn submit(state: &AppState, job: Job) -> CommandResult<()> {
    let ticket = state.fanout()?.submit(job).await?;
    state.live()?.after_job(ticket);
    Ok(())
}

/// Streams the experiment's coalesced updates until `run_stop`; returns the
/// watch id. Async so it runs on the runtime that carries the stream.
#[tauri::command]
pub async fn run_watch(
    state: State<'_, AppState>,
    id: ExperimentId,
    on_tick: Channel<Tick>,
) -> CommandResult<String> {
    Ok(state
        .live()?
        .watch(&id, move |tick| on_tick.send(tick).is_ok()))
}

/// Ends a watch or an approach generation by its id.
#[tauri::command]
pub fn run_stop(state: State<'_, AppState>, task: String) -> CommandResult<bool> {
    Ok(state.live()?.stop(&task))
}

/// Cancels the experiment's running variants (one, or all); how many.
#[tauri::command]
pub fn run_cancel(
    state: State<'_, AppState>,
    id: ExperimentId,
    variant: Option<VariantIndex>,
) -> CommandResult<usize> {
    Ok(state.fanout()?.dispatcher().cancel_running(&id, variant)?)
}

/// Answers a variant's approval request, or steers its running session.
#[tauri::command]
pub async fn variant_steer(
    state: State<'_, AppState>,
    id: ExperimentId,
    variant: VariantIndex,
    steer: Steer,
) -> CommandResult<()> {
    Ok(state.fanout()?.steer(&id, variant, steer).await?)
}

/// A page of a variant's stored transcript: events with `seq > after_seq`.
#[tauri::command]
pub async fn variant_events(
    state: State<'_, AppState>,
    id: ExperimentId,
    variant: VariantIndex,
    after_seq: i64,
    limit: usize,
) -> CommandResult<Vec<StoredEvent>> {
    engine(&state, move |e| e.events(&id, variant, after_seq, limit)).await
}

/// Proposes `n` approaches; `request` is the id `run_stop` cancels it by.
#[tauri::command]
pub async fn approaches_generate(
    state: State<'_, AppState>,
    request: String,
    repo: String,
    plan: PlanRequest,
    on_progress: Channel<GenerationProgress>,
) -> CommandResult<Vec<ApproachSpec>> {
    let progress = move |p| drop(on_progress.send(p));
    Ok(state
        .live()?
        .generate(request, repo.trim().into(), plan, progress)
        .await?)
}
