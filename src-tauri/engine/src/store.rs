//! Placeholder until this module lands.

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not implemented yet")]
    Todo,
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        "store.todo"
    }
}
