//! Placeholder until this module lands.

#[derive(Debug, thiserror::Error)]
pub enum WorktreeError {
    #[error("not implemented yet")]
    Todo,
}

impl WorktreeError {
    pub fn code(&self) -> &'static str {
        "worktree.todo"
    }
}
