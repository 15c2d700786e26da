//! Each experiment's run configuration, as JSON beside it.

use rusqlite::OptionalExtension;

use super::{Store, StoreError};

impl Store {
    /// Stores (or replaces) how the experiment's variants run. The value is
    /// any serializable configuration; the orchestrator owns its shape.
    pub fn set_run_config<T: serde::Serialize>(
        &mut self,
        experiment_id: &str,
        config: &T,
    ) -> Result<(), StoreError> {
        self.require_experiment(experiment_id)?;
        let json = serde_json::to_string(config).map_err(|e| StoreError::Invalid {
            reason: format!("The run configuration cannot be stored ({e})."),
        })?;
        let tx = self.write()?;
        tx.prepare_cached(
            "INSERT INTO run_configs (experiment_id, config) VALUES (?1, ?2)
             ON CONFLICT(experiment_id) DO UPDATE SET config = ?2",
        )?
        .execute([experiment_id, json.as_str()])?;
        tx.commit()?;
        Ok(())
    }

    /// How the experiment's variants run; `None` for an experiment created
    /// before Fanout stored it.
    pub fn run_config<T: serde::de::DeserializeOwned>(
        &self,
        experiment_id: &str,
    ) -> Result<Option<T>, StoreError> {
        self.require_experiment(experiment_id)?;
        let json: Option<String> = self
            .conn
            .prepare_cached("SELECT config FROM run_configs WHERE experiment_id = ?1")?
            .query_row([experiment_id], |row| row.get(0))
            .optional()?;
        json.map(|text| {
            serde_json::from_str(&text).map_err(|e| StoreError::BadValue {
                detail: format!("the run configuration of experiment {experiment_id}: {e}"),
            })
        })
        .transpose()
    }
}
