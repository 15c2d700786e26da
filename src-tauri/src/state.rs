//! What the shell keeps for the app's lifetime: the engine, or why it could
//! not be opened (the window still opens and says so).

use std::sync::{Arc, Mutex};

use fanout_engine::experiment::Engine;
use fanout_engine::paths::Paths;

use crate::error::{CommandError, CommandResult};

pub struct AppState {
    engine: Result<Arc<Mutex<Engine>>, CommandError>,
    paths: Option<Paths>,
    /// A repository path given on the command line (`fanout-app /some/repo`).
    pub launch_repo: Option<String>,
}

impl AppState {
    pub fn new(launch_repo: Option<String>) -> AppState {
        let paths = Paths::from_env().ok();
        let engine = Paths::from_env()
            .map_err(fanout_engine::Error::from)
            .and_then(Engine::open)
            .map(|e| Arc::new(Mutex::new(e)))
            .map_err(|err| {
                tracing::error!(%err, "the engine could not be opened");
                CommandError::from(err)
            });
        AppState {
            engine,
            paths,
            launch_repo,
        }
    }

    pub fn engine(&self) -> CommandResult<Arc<Mutex<Engine>>> {
        self.engine.clone()
    }

    pub fn paths(&self) -> CommandResult<Paths> {
        self.paths.clone().ok_or_else(|| CommandError {
            code: "paths.no_home",
            message: "Fanout cannot tell where to keep its data: neither FANOUT_HOME nor HOME is set. Set FANOUT_HOME to a writable folder and restart Fanout.".into(),
        })
    }
}
