//! An experiment ready to run: a fixture repository, Fanout opened over a
//! throwaway data folder, one experiment of named approaches, and the
//! dispatcher to run it with whatever configuration a test gives.

use std::path::PathBuf;
use std::time::Duration;

use fanout_engine::api::Fanout;
use fanout_engine::experiment::{ApproachSpec, Engine, ExperimentView, NewExperiment};
use fanout_engine::ids::{ExperimentId, VariantIndex};
use fanout_engine::orchestrator::{Config, Environment, Executables, Job, RunConfig, Ticket};
use fanout_engine::paths::Paths;
use fanout_engine::store::{SessionRow, StoredEvent};
use fanout_engine::Error;

use crate::repo::Fixture;

/// The task every rig's experiment has.
pub const TASK: &str = "add a greeting";

/// The fake Claude Code of `tests/fixtures/agents` (see its header).
pub fn fake_claude() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/agents/fake-claude")
}

/// A configuration running `claude` (the fake, or a wrapper around it) in
/// `mode` (`FANOUT_FAKE_MODE`), quickly: short grace, short pauses.
pub fn fake_config(claude: PathBuf, mode: &str) -> Config {
    Config {
        run: RunConfig::default(),
        environment: Environment {
            grace: Duration::from_millis(300),
            executables: Executables {
                claude: Some(claude),
                ..Executables::default()
            },
            env: vec![
                ("FANOUT_FAKE_MODE".into(), mode.into()),
                ("FANOUT_FAKE_DELAY".into(), "0.2".into()),
            ],
            ..Environment::default()
        },
    }
}

pub struct Rig {
    pub fx: Fixture,
    pub paths: Paths,
    pub fanout: Fanout,
    pub view: ExperimentView,
    pub id: ExperimentId,
}

impl Rig {
    /// A new repository and an experiment of `names`, run by `agent`.
    pub fn new(names: &[&str], agent: &str) -> Rig {
        Rig::with(Fixture::new(), names, agent)
    }

    /// An experiment of `names` in `fx`'s repository.
    pub fn with(fx: Fixture, names: &[&str], agent: &str) -> Rig {
        Rig::opened_with(fx, names, agent, Environment::default())
    }

    /// [`Rig::with`], Fanout opened with `environment` (what only opening
    /// sets, such as the machine's limit on checks at once).
    pub fn opened_with(fx: Fixture, names: &[&str], agent: &str, environment: Environment) -> Rig {
        let placed: Vec<(&str, Option<&str>)> = names.iter().map(|n| (*n, None)).collect();
        Rig::placed(fx, &placed, agent, environment)
    }

    /// [`Rig::opened_with`], each approach on the host named beside it
    /// (`None`: this machine).
    pub fn placed(
        fx: Fixture,
        names: &[(&str, Option<&str>)],
        agent: &str,
        environment: Environment,
    ) -> Rig {
        let paths = Paths::at(fx.sibling("home"));
        let fanout =
            Fanout::open(paths.clone(), environment, RunConfig::default()).expect("Fanout opens");
        let view = fanout
            .engine()
            .create_experiment(NewExperiment {
                repo: fx.root.clone(),
                task: TASK.into(),
                approaches: names
                    .iter()
                    .map(|(n, host)| ApproachSpec {
                        name: n.to_string(),
                        description: format!("the {n} way"),
                        guidelines: format!("keep {n} simple"),
                        host: host.map(str::to_owned),
                        ..ApproachSpec::default()
                    })
                    .collect(),
                include_uncommitted: false,
                worktree_root: Some(fx.sibling("worktrees")),
                default_agent: agent.into(),
                run: RunConfig::default(),
            })
            .expect("experiment created");
        let id = view.id();
        Rig {
            fx,
            paths,
            fanout,
            view,
            id,
        }
    }

    pub fn engine(&self) -> &Engine {
        self.fanout.engine()
    }

    /// Stores `config.run` as the experiment's run configuration and gives
    /// the dispatcher `config.environment` (its data folder stays Fanout's).
    pub async fn configure(&self, config: &Config) {
        let (id, run) = (self.id.to_string(), config.run.clone());
        self.fanout
            .dispatcher()
            .writer()
            .call(move |store| store.set_run_config(&id, &run))
            .await
            .expect("the writer runs")
            .expect("the run configuration is stored");
        let mut environment = config.environment.clone();
        environment.data_dir = self.paths.home().to_path_buf();
        self.fanout.engine().set_hosts(environment.hosts.clone());
        self.fanout.dispatcher().set_environment(environment);
    }

    /// Runs every variant that has not run yet with `config`, to the end.
    pub async fn run(&self, config: Config) -> ExperimentView {
        self.configure(&config).await;
        self.start_run().await.finished().await;
        self.load().await
    }

    /// Starts every variant that has not run yet, as configured last.
    pub async fn start_run(&self) -> Ticket {
        self.submit(Job::Run {
            experiment: self.id.clone(),
        })
        .await
        .expect("the run starts")
    }

    pub async fn submit(&self, job: Job) -> Result<Ticket, Error> {
        self.fanout.submit(job).await
    }

    /// Retries variant `index` to its end.
    pub async fn retry(&self, index: u32) -> Result<ExperimentView, Error> {
        let job = Job::Retry {
            experiment: self.id.clone(),
            variant: VariantIndex(index),
        };
        self.submit(job).await?.finished().await;
        Ok(self.load().await)
    }

    /// Follows up variant `index` with `text`, to the end.
    pub async fn follow_up(&self, index: u32, text: &str) -> Result<ExperimentView, Error> {
        let job = Job::FollowUp {
            experiment: self.id.clone(),
            variant: VariantIndex(index),
            text: text.to_owned(),
        };
        self.submit(job).await?.finished().await;
        Ok(self.load().await)
    }

    /// The experiment as stored now.
    pub async fn load(&self) -> ExperimentView {
        let id = self.id.clone();
        self.fanout
            .blocking(move |engine| engine.experiment(&id))
            .await
            .expect("the experiment loads")
    }

    /// Every stored event of variant `index`, in order.
    pub async fn events(&self, index: u32) -> Vec<StoredEvent> {
        let id = self.id.clone();
        self.fanout
            .blocking(move |engine| {
                let mut all: Vec<StoredEvent> = Vec::new();
                loop {
                    let after = all.last().map_or(0, |e| e.seq);
                    let page = engine.events(&id, VariantIndex(index), after, usize::MAX)?;
                    if page.is_empty() {
                        return Ok(all);
                    }
                    all.extend(page);
                }
            })
            .await
            .expect("events read")
    }

    /// Variant `index`'s session record.
    pub async fn session(&self, index: u32) -> SessionRow {
        let id = self.id.to_string();
        self.fanout
            .dispatcher()
            .writer()
            .call(move |store| store.session(&id, index))
            .await
            .expect("the writer runs")
            .expect("the session record")
    }
}
