//! Placeholder until this module lands.

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("not implemented yet")]
    Todo,
}

impl DiffError {
    pub fn code(&self) -> &'static str {
        "diff.todo"
    }
}
