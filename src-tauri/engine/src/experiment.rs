//! Placeholder until this module lands.

#[derive(Debug, thiserror::Error)]
pub enum ExperimentError {
    #[error("not implemented yet")]
    Todo,
}

impl ExperimentError {
    pub fn code(&self) -> &'static str {
        "experiment.todo"
    }
}
