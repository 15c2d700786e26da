//! The Tauri commands, one file per area of the window, named for it
//! (`experiments`, `diff`, `merge`, `runs`, `judging`, `settings`, `keys`,
//! `desktop`, `app`). Each command is a few lines over `fanout_engine`: it parses
//! nothing the engine parses and checks nothing the engine checks. Git and
//! SQLite work runs on the blocking pool, never on the async runtime.

pub mod app;
pub mod desktop;
pub mod diff;
pub mod experiments;
pub mod judging;
pub mod keys;
pub mod merge;
pub mod runs;
pub mod settings;

use fanout_engine::experiment::Engine;
use fanout_engine::Error;

use crate::state::{AppState, CommandResult};

/// Runs `work` with the engine on the blocking pool.
async fn engine<T, F>(state: &AppState, work: F) -> CommandResult<T>
where
    T: Send + 'static,
    F: FnOnce(&Engine) -> Result<T, Error> + Send + 'static,
{
    Ok(state.fanout()?.blocking(work).await?)
}

/// Runs blocking work that needs no engine (files, the keyring, a dialog).
async fn blocking<T, F>(work: F) -> CommandResult<T>
where
    T: Send + 'static,
    F: FnOnce() -> Result<T, Error> + Send + 'static,
{
    Ok(fanout_engine::api::blocking(work).await?)
}

#[cfg(test)]
mod tests;
