//! Choosing the winner: reviews on the cards, the judge's ranking, what
//! differs between two variants, combining variants by hand or by an agent,
//! and which agent wins across experiments.

use std::path::PathBuf;

use fanout_engine::combine::Take;
use fanout_engine::desktop::TokenStatus;
use fanout_engine::differ::Difference;
use fanout_engine::ids::{ExperimentId, VariantIndex};
use fanout_engine::judge::{JudgeOptions, Ranking};
use fanout_engine::oneshot::Asker;
use fanout_engine::orchestrator::Job;
use fanout_engine::pr::{PrDraft, PullRequest};
use fanout_engine::review::Review;
use fanout_engine::settings::Settings;
use fanout_engine::stats::Stats;
use fanout_engine::store::Variant;
use tauri::State;

use super::{blocking, engine};
use crate::state::{AppState, CommandResult};

/// The settings' reviewer, working in the experiment's repository.
async fn reviewer(state: &AppState, id: &ExperimentId) -> CommandResult<(Asker, Settings)> {
    let file = state.paths()?.settings();
    let key = id.clone();
    let workdir = engine(state, move |e| Ok(e.experiment(&key)?.experiment.repo_root)).await?;
    blocking(move || {
        let settings = Settings::load(&file)?;
        Ok((settings.reviewer_asker(workdir)?, settings))
    })
    .await
}

#[tauri::command]
pub async fn reviews_get(
    state: State<'_, AppState>,
    id: ExperimentId,
) -> CommandResult<Vec<Review>> {
    engine(&state, move |e| e.reviews(&id)).await
}

/// Has the settings' reviewer review one variant now.
#[tauri::command]
pub async fn variant_review(
    state: State<'_, AppState>,
    id: ExperimentId,
    variant: VariantIndex,
) -> CommandResult<Review> {
    let (asker, settings) = reviewer(&state, &id).await?;
    let budget = settings.reviewer.budget_tokens;
    Ok(state.fanout()?.review(&id, variant, &asker, budget).await?)
}

#[tauri::command]
pub async fn ranking_get(
    state: State<'_, AppState>,
    id: ExperimentId,
) -> CommandResult<Option<Ranking>> {
    engine(&state, move |e| e.ranking(&id)).await
}

/// Has the settings' reviewer rank every variant.
#[tauri::command]
pub async fn experiment_judge(
    state: State<'_, AppState>,
    id: ExperimentId,
    options: JudgeOptions,
) -> CommandResult<Ranking> {
    let (asker, _) = reviewer(&state, &id).await?;
    Ok(state.fanout()?.judge(&id, &asker, options).await?)
}

/// What differs between `a` and `b`, when it was explained before.
#[tauri::command]
pub async fn difference_get(
    state: State<'_, AppState>,
    id: ExperimentId,
    a: VariantIndex,
    b: VariantIndex,
) -> CommandResult<Option<Difference>> {
    engine(&state, move |e| e.difference(&id, a, b)).await
}

/// Has the settings' reviewer explain what differs between `a` and `b`.
#[tauri::command]
pub async fn difference_explain(
    state: State<'_, AppState>,
    id: ExperimentId,
    a: VariantIndex,
    b: VariantIndex,
) -> CommandResult<Difference> {
    let (asker, _) = reviewer(&state, &id).await?;
    Ok(state.fanout()?.differ(&id, a, b, &asker).await?)
}

/// A new variant from the picked files and hunks.
#[tauri::command]
pub async fn variant_combine(
    state: State<'_, AppState>,
    id: ExperimentId,
    takes: Vec<Take>,
) -> CommandResult<Variant> {
    engine(&state, move |e| e.combine(&id, &takes)).await
}

/// A new variant written by an agent from the chosen variants' work, started now.
#[tauri::command]
pub async fn variant_synthesize(
    state: State<'_, AppState>,
    id: ExperimentId,
    from: Vec<VariantIndex>,
    note: String,
) -> CommandResult<Variant> {
    let key = id.clone();
    let variant = engine(&state, move |e| e.add_synthesis(&key, &from, &note, None)).await?;
    let ticket = state.fanout()?.submit(Job::Run { experiment: id }).await?;
    state.live()?.after_job(ticket);
    Ok(variant)
}

/// The experiment's check alone, in one variant's worktree as it is.
#[tauri::command]
pub async fn variant_check(
    state: State<'_, AppState>,
    id: ExperimentId,
    variant: VariantIndex,
) -> CommandResult<()> {
    let ticket = state
        .fanout()?
        .submit(Job::Check {
            experiment: id,
            variant,
        })
        .await?;
    state.live()?.after_job(ticket);
    Ok(())
}

/// The pull request Fanout would open for the variant, to edit first.
#[tauri::command]
pub async fn pr_draft(
    state: State<'_, AppState>,
    id: ExperimentId,
    variant: VariantIndex,
    remote: String,
) -> CommandResult<PrDraft> {
    engine(&state, move |e| e.pr_draft(&id, variant, &remote)).await
}

/// Pushes the variant's branch and opens the pull request as edited.
#[tauri::command]
pub async fn pr_open(
    state: State<'_, AppState>,
    id: ExperimentId,
    variant: VariantIndex,
    draft: PrDraft,
) -> CommandResult<PullRequest> {
    let file = state.paths()?.settings();
    let api = blocking(move || {
        Ok(fanout_engine::pr::github_api(
            Settings::load(&file)?.github_api.as_deref(),
        ))
    })
    .await?;
    Ok(state
        .fanout()?
        .pull_request(&id, variant, draft, api)
        .await?)
}

#[tauri::command]
pub async fn github_token_status() -> CommandResult<TokenStatus> {
    blocking(|| Ok(fanout_engine::pr::github_token_status())).await
}

#[tauri::command]
pub async fn github_token_save(token: String) -> CommandResult<TokenStatus> {
    blocking(move || {
        fanout_engine::pr::save_github_token(&token)?;
        Ok(fanout_engine::pr::github_token_status())
    })
    .await
}

/// Which agent wins, across every experiment or one repository's.
#[tauri::command]
pub async fn stats_get(state: State<'_, AppState>, repo: Option<PathBuf>) -> CommandResult<Stats> {
    engine(&state, move |e| e.stats(repo.as_deref())).await
}
