//! What models said about an experiment's variants, as JSON documents: each
//! variant's latest review, the experiment's latest ranking, and what
//! differs between two variants. The modules that make them own their shape.

use rusqlite::OptionalExtension;
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Store, StoreError};

fn to_json<T: Serialize>(what: &str, value: &T) -> Result<String, StoreError> {
    serde_json::to_string(value).map_err(|e| StoreError::Invalid {
        reason: format!("The {what} cannot be stored ({e})."),
    })
}

fn from_json<T: DeserializeOwned>(what: &str, text: &str) -> Result<T, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::BadValue {
        detail: format!("a stored {what}: {e}"),
    })
}

impl Store {
    /// Keeps `review` as the variant's latest.
    pub fn set_review<T: Serialize>(
        &mut self,
        experiment_id: &str,
        variant: u32,
        created_at: &str,
        review: &T,
    ) -> Result<(), StoreError> {
        self.require_experiment(experiment_id)?;
        let body = to_json("review", review)?;
        let tx = self.write()?;
        tx.prepare_cached(
            "INSERT INTO reviews (experiment_id, variant, created_at, body) VALUES (?1, ?2, ?3, ?4)
             ON CONFLICT(experiment_id, variant) DO UPDATE SET created_at = ?3, body = ?4",
        )?
        .execute(rusqlite::params![experiment_id, variant, created_at, body])?;
        tx.commit()?;
        Ok(())
    }

    /// Every variant's latest review, by variant.
    pub fn reviews<T: DeserializeOwned>(
        &self,
        experiment_id: &str,
    ) -> Result<Vec<(u32, T)>, StoreError> {
        self.require_experiment(experiment_id)?;
        let mut statement = self.conn.prepare_cached(
            "SELECT variant, body FROM reviews WHERE experiment_id = ?1 ORDER BY variant",
        )?;
        let rows = statement.query_map([experiment_id], |row| {
            Ok((row.get::<_, u32>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut reviews = Vec::new();
        for row in rows {
            let (variant, body) = row?;
            reviews.push((variant, from_json("review", &body)?));
        }
        Ok(reviews)
    }

    /// Keeps `ranking` as the experiment's latest.
    pub fn set_ranking<T: Serialize>(
        &mut self,
        experiment_id: &str,
        created_at: &str,
        ranking: &T,
    ) -> Result<(), StoreError> {
        self.require_experiment(experiment_id)?;
        let body = to_json("ranking", ranking)?;
        let tx = self.write()?;
        tx.prepare_cached(
            "INSERT INTO rankings (experiment_id, created_at, body) VALUES (?1, ?2, ?3)
             ON CONFLICT(experiment_id) DO UPDATE SET created_at = ?2, body = ?3",
        )?
        .execute([experiment_id, created_at, body.as_str()])?;
        tx.commit()?;
        Ok(())
    }

    /// The experiment's latest ranking.
    pub fn ranking<T: DeserializeOwned>(
        &self,
        experiment_id: &str,
    ) -> Result<Option<T>, StoreError> {
        self.require_experiment(experiment_id)?;
        let body: Option<String> = self
            .conn
            .prepare_cached("SELECT body FROM rankings WHERE experiment_id = ?1")?
            .query_row([experiment_id], |row| row.get(0))
            .optional()?;
        body.map(|text| from_json("ranking", &text)).transpose()
    }

    /// Every experiment's latest ranking, for statistics across experiments.
    pub fn all_rankings<T: DeserializeOwned>(&self) -> Result<Vec<(String, T)>, StoreError> {
        let mut statement = self
            .conn
            .prepare_cached("SELECT experiment_id, body FROM rankings")?;
        let rows = statement.query_map([], |row| {
            Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
        })?;
        let mut rankings = Vec::new();
        for row in rows {
            let (id, body) = row?;
            rankings.push((id, from_json("ranking", &body)?));
        }
        Ok(rankings)
    }

    /// Keeps what differs between variants `a` and `b` (in that order).
    pub fn set_difference<T: Serialize>(
        &mut self,
        experiment_id: &str,
        (a, b): (u32, u32),
        created_at: &str,
        difference: &T,
    ) -> Result<(), StoreError> {
        self.require_experiment(experiment_id)?;
        let body = to_json("difference", difference)?;
        let tx = self.write()?;
        tx.prepare_cached(
            "INSERT INTO differences (experiment_id, a, b, created_at, body) VALUES (?1, ?2, ?3, ?4, ?5)
             ON CONFLICT(experiment_id, a, b) DO UPDATE SET created_at = ?4, body = ?5",
        )?
        .execute(rusqlite::params![experiment_id, a, b, created_at, body])?;
        tx.commit()?;
        Ok(())
    }

    /// What differs between variants `a` and `b`, when it was asked before.
    pub fn difference<T: DeserializeOwned>(
        &self,
        experiment_id: &str,
        (a, b): (u32, u32),
    ) -> Result<Option<T>, StoreError> {
        self.require_experiment(experiment_id)?;
        let body: Option<String> = self
            .conn
            .prepare_cached(
                "SELECT body FROM differences WHERE experiment_id = ?1 AND a = ?2 AND b = ?3",
            )?
            .query_row(rusqlite::params![experiment_id, a, b], |row| row.get(0))
            .optional()?;
        body.map(|text| from_json("difference", &text)).transpose()
    }

    /// Every explanation of what differs kept for the experiment, by pair.
    pub fn differences<T: DeserializeOwned>(
        &self,
        experiment_id: &str,
    ) -> Result<Vec<T>, StoreError> {
        self.require_experiment(experiment_id)?;
        let mut statement = self.conn.prepare_cached(
            "SELECT body FROM differences WHERE experiment_id = ?1 ORDER BY a, b",
        )?;
        let rows = statement.query_map([experiment_id], |row| row.get::<_, String>(0))?;
        let mut differences = Vec::new();
        for row in rows {
            differences.push(from_json("difference", &row?)?);
        }
        Ok(differences)
    }
}
