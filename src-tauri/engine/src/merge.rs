//! Placeholder until this module lands.

#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("not implemented yet")]
    Todo,
}

impl MergeError {
    pub fn code(&self) -> &'static str {
        "merge.todo"
    }
}
