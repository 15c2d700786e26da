//! What Fanout's tests share, so each says only what it checks: fixture
//! repositories ([`repo`]), process checks ([`procs`]), and an experiment
//! with its dispatcher ([`rig`]).

pub mod procs;
pub mod repo;
pub mod rig;

pub use procs::{alive, assert_group_gone, group_members, marked, script};
pub use repo::{git, git_command, Fixture};
pub use rig::{fake_claude, fake_config, Rig, TASK};
