//! What the shell keeps for the app's lifetime: Fanout (the engine and its
//! run dispatcher), or why it could not be opened (the window still opens
//! and says so), and the app's live glue ([`Live`]).

use fanout_engine::api::Fanout;
use fanout_engine::contract::Failure;
use fanout_engine::paths::Paths;
use fanout_engine::settings::Settings;

use crate::live::Live;

/// What every command returns: the engine's answer, or `{ code, message }`.
pub type CommandResult<T> = Result<T, Failure>;

pub struct AppState {
    opened: Result<Opened, Failure>,
    /// A repository path given on the command line (`fanout-app /some/repo`).
    pub launch_repo: Option<String>,
}

struct Opened {
    fanout: Fanout,
    live: Live,
}

impl AppState {
    /// Opens Fanout with this machine's settings.
    pub fn open(launch_repo: Option<String>) -> AppState {
        let opened = open().map_err(|err| {
            tracing::error!(%err, "Fanout could not be opened");
            Failure::from(err)
        });
        AppState {
            opened,
            launch_repo,
        }
    }

    pub fn fanout(&self) -> CommandResult<&Fanout> {
        self.opened
            .as_ref()
            .map(|o| &o.fanout)
            .map_err(Clone::clone)
    }

    pub fn live(&self) -> CommandResult<&Live> {
        self.opened.as_ref().map(|o| &o.live).map_err(Clone::clone)
    }

    pub fn paths(&self) -> CommandResult<&Paths> {
        Ok(self.fanout()?.paths())
    }
}

fn open() -> Result<Opened, fanout_engine::Error> {
    let paths = Paths::from_env()?;
    // A settings file that does not parse is the settings screen's to show;
    // the defaults run meanwhile.
    let settings = Settings::load(&paths.settings()).unwrap_or_else(|err| {
        tracing::warn!(%err, "the settings could not be read; using the defaults");
        Settings::default()
    });
    let fanout = Fanout::open(paths, settings.environment(), settings.run_config(None))?;
    let live = Live::new(fanout.clone());
    Ok(Opened { fanout, live })
}
