//! Fanout's engine: everything that is not GUI.
//!
//! The desktop shell (`fanout-app`) and the command line (`fanout`) are two thin
//! faces over this crate; nothing here knows about Tauri. Each module owns one
//! concern and its own typed error; [`Error`] gathers them for the edges, where
//! every error becomes a stable `code` and a sentence saying what to do.

pub mod agent;
pub mod api;
pub mod approaches;
pub mod combine;
pub mod contract;
pub mod desktop;
pub mod detect;
pub mod diff;
pub mod differ;
pub mod error;
pub mod events;
pub mod executor;
pub mod experiment;
pub mod gitcli;
pub mod hosts;
pub mod ids;
pub mod ignored_files;
pub mod ipc;
pub mod judge;
pub mod lease;
pub mod linked;
pub mod llm;
pub mod machine;
pub mod merge;
pub mod methodology;
pub mod oneshot;
pub mod orchestrator;
pub mod paths;
pub mod pr;
pub mod process;
pub mod recent;
pub mod recovery;
pub mod repo;
pub mod repo_files;
pub mod repo_settings;
pub mod report;
pub mod review;
pub mod rubric;
pub mod sandbox;
pub mod secrets;
pub mod settings;
pub mod slug;
pub mod stats;
pub mod store;
pub mod supervisor;
pub mod warm;
pub mod worktree;

pub use error::Error;

/// The engine's version, shown by the app and the CLI.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
