//! Typed names of what the faces address: an experiment by its full id, a
//! variant by its index. Prefixes and approach slugs are the command line's
//! to resolve at its edge ([`crate::experiment::Engine::resolve`],
//! [`crate::experiment::select_variant`]); everything past it takes these.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An experiment's full id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ts_rs::TS)]
#[serde(transparent)]
pub struct ExperimentId(String);

impl ExperimentId {
    /// The id as stored; callers that hold only a prefix resolve it first.
    pub fn new(full: impl Into<String>) -> ExperimentId {
        ExperimentId(full.into())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first 8 characters, as shown to users.
    pub fn short(&self) -> &str {
        crate::experiment::short_id(&self.0)
    }
}

impl fmt::Display for ExperimentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl AsRef<str> for ExperimentId {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// A variant's index within its experiment, 1 to N.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, ts_rs::TS,
)]
#[serde(transparent)]
pub struct VariantIndex(pub u32);

impl VariantIndex {
    pub fn get(self) -> u32 {
        self.0
    }
}

impl fmt::Display for VariantIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}
