//! The one front door of the engine, for both faces (the desktop shell and
//! the `fanout` command): experiments named by [`ExperimentId`], variants by
//! [`VariantIndex`], answers as domain types, errors as [`crate::Error`]
//! (whose [`crate::Error::code`] and sentence are the contract, see
//! [`crate::contract`]). A face parses its input, calls one function here and
//! shows the result; it checks nothing the engine checks.
//!
//! One [`Fanout`] per process: it owns the process's one store writer, the
//! engine that works on experiments (git, the store) and the dispatcher that
//! runs their variants. The engine's work blocks, so [`Fanout::blocking`]
//! runs it on the blocking pool for async callers.

use std::sync::Arc;

use tokio::sync::broadcast;

use crate::agent::AgentKind;
use crate::differ::{self, Difference};
use crate::experiment::{Engine, ExperimentView, NewExperiment};
use crate::ids::{ExperimentId, VariantIndex};
use crate::judge::{self, JudgeOptions, Ranking};
use crate::oneshot::{self, Asker};
use crate::orchestrator::{self, Dispatcher, Environment, Job, RunConfig, Steer, Ticket, Update};
use crate::paths::Paths;
use crate::pr::{PrDraft, PullRequest};
use crate::review::{self, Review};
use crate::store::{Store, StoreWriter};
use crate::Error;

#[derive(Clone)]
pub struct Fanout {
    engine: Arc<Engine>,
    dispatcher: Dispatcher,
}

impl Fanout {
    /// Opens Fanout's data folder and database, recovers what a dead Fanout
    /// process left behind, and starts the run dispatcher. `environment` is
    /// this machine's (its data folder is set here); `defaults` is how
    /// experiments created before Fanout stored their run configuration run.
    pub fn open(
        paths: Paths,
        mut environment: Environment,
        defaults: RunConfig,
    ) -> Result<Fanout, Error> {
        paths.ensure()?;
        let writer = StoreWriter::spawn(Store::open(&paths.database())?)?;
        environment.data_dir = paths.home().to_path_buf();
        let engine = Engine::with_writer(paths, writer.clone())?;
        engine.set_hosts(environment.hosts.clone());
        Ok(Fanout {
            engine: Arc::new(engine),
            dispatcher: Dispatcher::new(writer, environment, defaults),
        })
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn dispatcher(&self) -> &Dispatcher {
        &self.dispatcher
    }

    pub fn paths(&self) -> &Paths {
        self.engine.paths()
    }

    /// Runs engine work (git, the store) on the blocking pool.
    pub async fn blocking<T, F>(&self, work: F) -> Result<T, Error>
    where
        T: Send + 'static,
        F: FnOnce(&Engine) -> Result<T, Error> + Send + 'static,
    {
        let engine = self.engine.clone();
        tokio::task::spawn_blocking(move || work(&engine))
            .await
            .map_err(orchestrator::join_error)?
    }

    /// Creates an experiment and starts its variants. Before anything is
    /// created it checks that every agent can start (an unknown program, a
    /// template that does not parse, a missing API key is said at once).
    pub async fn launch(&self, request: NewExperiment) -> Result<(ExperimentView, Ticket), Error> {
        self.launch_on(request, &[]).await
    }

    /// [`Fanout::launch`], with the approaches that name no host placed on
    /// `hosts` by their capacity (`local` is this machine; none: every
    /// approach where it says, else here). Every host is reached before
    /// anything is created: an unreachable one, or one that refuses the
    /// login, is said at once.
    pub async fn launch_on(
        &self,
        mut request: NewExperiment,
        hosts: &[String],
    ) -> Result<(ExperimentView, Ticket), Error> {
        let config = orchestrator::Config {
            run: request.run.clone(),
            environment: self.dispatcher.environment(),
        };
        let wanted: Vec<Option<String>> =
            request.approaches.iter().map(|a| a.host.clone()).collect();
        let local_capacity = request.run.max_parallel.unwrap_or(wanted.len());
        let placed =
            crate::hosts::place(&wanted, hosts, &config.environment.hosts, local_capacity)?;
        for (approach, host) in request.approaches.iter_mut().zip(placed) {
            approach.host = host;
        }
        let agents = agents_of(&request)?;
        let view = self
            .blocking(move |engine| {
                orchestrator::preflight(&config, &agents)?;
                orchestrator::preflight_hosts(&config, &request)?;
                engine.create_experiment(request)
            })
            .await?;
        let ticket = self
            .dispatcher
            .submit(Job::Run {
                experiment: view.id(),
            })
            .await?;
        Ok((view, ticket))
    }

    /// Starts a job: a first run, a retry, a follow-up.
    pub async fn submit(&self, job: Job) -> Result<Ticket, Error> {
        self.dispatcher.submit(job).await
    }

    /// Cancels one running variant of the experiment, or all; how many.
    pub fn cancel(&self, experiment: &ExperimentId, variant: Option<VariantIndex>) -> usize {
        self.dispatcher.cancel(experiment, variant)
    }

    /// Answers a running variant's approval request, or steers its session.
    pub async fn steer(
        &self,
        experiment: &ExperimentId,
        variant: VariantIndex,
        steer: Steer,
    ) -> Result<(), Error> {
        self.dispatcher.steer(experiment, variant, steer).await
    }

    /// The settings changed: new runs use them (an experiment's stored run
    /// configuration stays its own).
    pub fn use_settings(&self, settings: &crate::settings::Settings) {
        let mut environment = settings.environment();
        environment.data_dir = self.paths().home().to_path_buf();
        self.engine.set_hosts(environment.hosts.clone());
        self.dispatcher.set_environment(environment);
        self.dispatcher.set_defaults(settings.run_config(None));
    }

    /// Has `asker` review variant `index`, and keeps the review.
    pub async fn review(
        &self,
        id: &ExperimentId,
        index: VariantIndex,
        asker: &Asker,
        budget_tokens: usize,
    ) -> Result<Review, Error> {
        let key = id.clone();
        let input = self
            .blocking(move |engine| engine.review_input(&key, index, budget_tokens))
            .await?;
        let name = asker.name();
        let answered = oneshot::ask(asker, &review::question(&input), |v| {
            review::parse(v, &input, &name)
        })
        .await?;
        let (key, review) = (id.clone(), answered.value);
        let saved = review.clone();
        self.blocking(move |engine| engine.save_review(&key, &saved))
            .await?;
        self.dispatcher.judged(id, review.variant);
        Ok(review)
    }

    /// Has `asker` rank every variant of the experiment, and keeps the ranking.
    pub async fn judge(
        &self,
        id: &ExperimentId,
        asker: &Asker,
        options: JudgeOptions,
    ) -> Result<Ranking, Error> {
        let key = id.clone();
        let input = self
            .blocking(move |engine| engine.judge_input(&key, options))
            .await?;
        let question = judge::question(&input);
        let tokens = judge::tokens(&question.prompt);
        let name = asker.name();
        let answered =
            oneshot::ask(asker, &question, |v| judge::parse(v, &input, &name, tokens)).await?;
        let (key, ranking) = (id.clone(), answered.value);
        let saved = ranking.clone();
        self.blocking(move |engine| engine.save_ranking(&key, &saved))
            .await?;
        self.dispatcher.judged(id, 0);
        Ok(ranking)
    }

    /// Has `asker` explain what differs between variants `a` and `b`, and
    /// keeps the explanation.
    pub async fn differ(
        &self,
        id: &ExperimentId,
        a: VariantIndex,
        b: VariantIndex,
        asker: &Asker,
    ) -> Result<Difference, Error> {
        let key = id.clone();
        let input = self
            .blocking(move |engine| engine.differ_input(&key, a, b))
            .await?;
        let name = asker.name();
        let answered = oneshot::ask(asker, &differ::question(&input), |v| {
            differ::parse(v, &input, &name)
        })
        .await?;
        let (key, difference) = (id.clone(), answered.value);
        let saved = difference.clone();
        self.blocking(move |engine| engine.save_difference(&key, &saved))
            .await?;
        Ok(difference)
    }

    /// Pushes variant `index`'s branch as `draft` says and opens the pull
    /// request on GitHub (`api`, the repository `draft.github`).
    pub async fn pull_request(
        &self,
        id: &ExperimentId,
        index: VariantIndex,
        draft: PrDraft,
        api: String,
    ) -> Result<PullRequest, Error> {
        let repo = draft.github.clone().filter(|r| r.contains('/'));
        let (key, pushed) = (id.clone(), draft.clone());
        let (repo, token) = self
            .blocking(move |engine| {
                let repo = match repo {
                    Some(repo) => repo,
                    None => {
                        return Err(crate::pr::PrError::NotGitHub {
                            url: engine.remote_url(&key, &pushed.remote)?,
                            remote: pushed.remote.clone(),
                        }
                        .into())
                    }
                };
                let token = crate::pr::github_token()?;
                engine.push_variant(&key, index, &pushed)?;
                Ok((repo, token))
            })
            .await?;
        crate::pr::open_pull_request(&api, &token, &repo, &draft).await
    }

    /// Every update from now on, of every experiment.
    pub fn subscribe(&self) -> broadcast::Receiver<Update> {
        self.dispatcher.subscribe()
    }
}

/// Runs blocking work that needs no engine (a settings file, the keyring, a
/// native dialog) on the blocking pool.
pub async fn blocking<T, F>(work: F) -> Result<T, Error>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, Error> + Send + 'static,
{
    tokio::task::spawn_blocking(work)
        .await
        .map_err(orchestrator::join_error)?
}

/// The agent each approach of a new experiment runs.
/// The agents that run on this machine (a host's are looked for there).
fn agents_of(request: &NewExperiment) -> Result<Vec<AgentKind>, Error> {
    request
        .approaches
        .iter()
        .filter(|a| a.host.is_none())
        .map(|a| {
            a.agent
                .as_deref()
                .unwrap_or(&request.default_agent)
                .parse::<AgentKind>()
                .map_err(Error::from)
        })
        .collect()
}
