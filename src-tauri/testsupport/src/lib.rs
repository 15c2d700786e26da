//! What Fanout's tests share, so each says only what it checks: fixture
//! repositories ([`repo`]), process checks ([`procs`]), an experiment with
//! its dispatcher ([`rig`]), store records ([`records`]), and the real agent
//! CLIs ([`agents`]).

pub mod agents;
pub mod procs;
pub mod records;
pub mod repo;
pub mod rig;
pub mod sshd;

pub use agents::{claude_binary, claude_offline_env, gemini_binary};
pub use procs::{
    alive, assert_group_gone, executable, group_members, marked, processes_in, script,
};
pub use records::variant;
pub use repo::{git, git_command, git_stdout, Fixture};
pub use rig::{fake_claude, fake_config, Rig, TASK};
pub use sshd::Sshd;
