//! What reviews score and the judge ranks by: a built-in rubric, or the
//! repository's own `.fanout/judge.md`, read fresh each time (like the
//! methodology) and never through a link out of the repository.
//!
//! The rubric is Markdown for the model to read; its criteria are the list
//! items of the form `- name: what it means`, and every review scores each
//! of them from 1 to 10.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::repo_files::{self, Resolved};

/// The JSON schema of one score per criterion, each 1 to 10: what a review
/// and the judge's ranking both return for a variant.
pub fn scores_schema(criteria: &[String]) -> serde_json::Value {
    let scores: serde_json::Map<String, serde_json::Value> = criteria
        .iter()
        .map(|c| {
            (
                c.clone(),
                serde_json::json!({"type": "integer", "minimum": 1, "maximum": 10}),
            )
        })
        .collect();
    serde_json::json!({"type": "object", "properties": scores, "required": criteria})
}

/// Where a repository keeps its rubric.
pub const RUBRIC_PATH: &str = ".fanout/judge.md";

/// The rubric when the repository has none.
pub const BUILT_IN_RUBRIC: &str = "\
# How to judge the variants

Each variant is one agent's attempt at the same task. Prefer the variant a
careful reviewer would merge as it is: one that does what the task asks,
proves it with tests, changes nothing the task did not ask for, and stays
simple. A variant whose check failed, or that changed nothing, is not a
candidate.

## Criteria

- correctness: it does what the task asks, and breaks nothing that worked
- tests: its behaviour is covered by tests, new or existing, that would fail without it
- scope: it changes only what the task needs
- simplicity: the change is as small and as clear as the task allows
- maintainability: the code reads well and fits the code around it
";

#[derive(Debug, thiserror::Error)]
pub enum RubricError {
    #[error("The rubric {path} could not be read ({source}). Fix its permissions, or remove it to use Fanout's default rubric.")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("The rubric {path} names no criteria. List each as `- name: what it means`, as Fanout's default rubric does.")]
    NoCriteria { path: PathBuf },
}

impl RubricError {
    pub fn code(&self) -> &'static str {
        match self {
            RubricError::Read { .. } => "rubric.read",
            RubricError::NoCriteria { .. } => "rubric.no_criteria",
        }
    }
}

/// A rubric as read now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
pub struct Rubric {
    pub text: String,
    pub criteria: Vec<String>,
    /// The repository's file, or `None` for the built-in rubric.
    pub source: Option<PathBuf>,
    /// Why the repository's file was not used (it leads out of the repository).
    pub warning: Option<String>,
}

/// The repository's rubric, or the built-in one when it has none.
pub fn load(repo_root: &Path) -> Result<Rubric, RubricError> {
    let shown = repo_root.join(RUBRIC_PATH);
    let built_in = |warning| Rubric {
        text: BUILT_IN_RUBRIC.to_owned(),
        criteria: criteria(BUILT_IN_RUBRIC),
        source: None,
        warning,
    };
    let path = match repo_files::resolve(repo_root, Path::new(RUBRIC_PATH)) {
        Resolved::Inside(path) => path,
        Resolved::Missing => return Ok(built_in(None)),
        Resolved::Outside { target } => {
            let warning = repo_files::refused("rubric", &shown, &target);
            return Ok(built_in(Some(format!(
                "{warning} Fanout's default rubric was used."
            ))));
        }
    };
    let text = std::fs::read_to_string(&path).map_err(|source| RubricError::Read {
        path: shown.clone(),
        source,
    })?;
    let named = criteria(&text);
    if named.is_empty() {
        return Err(RubricError::NoCriteria { path: shown });
    }
    Ok(Rubric {
        text,
        criteria: named,
        source: Some(shown),
        warning: None,
    })
}

/// The criteria a rubric lists: `- name: meaning` items, names lower-cased.
pub fn criteria(text: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for line in text.lines() {
        let Some(item) = line.trim_start().strip_prefix("- ") else {
            continue;
        };
        let Some((name, meaning)) = item.split_once(':') else {
            continue;
        };
        let name = name.trim().trim_matches('*').trim().to_lowercase();
        let is_name = !name.is_empty()
            && name.len() <= 40
            && name
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '-' || c == ' ');
        if is_name && !meaning.trim().is_empty() && !names.contains(&name) {
            names.push(name);
        }
    }
    names
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_built_in_rubric_names_its_criteria() {
        assert_eq!(
            criteria(BUILT_IN_RUBRIC),
            [
                "correctness",
                "tests",
                "scope",
                "simplicity",
                "maintainability"
            ]
        );
    }

    #[test]
    fn criteria_are_list_items_with_a_meaning() {
        let text = "# Ours\n- **Security**: no secrets in logs\n- speed: fast\n- not a criterion\n  - speed: again\n- : nameless\n";
        assert_eq!(criteria(text), ["security", "speed"]);
    }
}
