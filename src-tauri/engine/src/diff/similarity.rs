//! How alike two variants' changes are.
//!
//! A variant's change set, relative to the base, is a multiset of tokens:
//! each removed line keyed by (old path, content), each added line keyed by
//! (new path, content), and one token per changed file keyed by (path, status,
//! resulting blob id), so binary, empty-file and mode-only changes count too.
//! Similarity is the multiset Jaccard index |A ∩ B| / |A ∪ B|: 1.0 when the
//! changes are identical (and when neither variant changed anything), 0.0 when
//! they share no token. Line order and position are ignored on purpose: two
//! agents that wrote the same lines in a different place did similar work.

use std::collections::hash_map::DefaultHasher;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

use git2::Repository;

use super::{git_err, parallel, tree_diff, DiffError};

type ChangeSet = HashMap<u64, u32>;

/// How alike two variants' changes relative to base are, 0.0 (nothing in
/// common) to 1.0 (identical changes); see the module documentation.
pub fn similarity(repo: &Repository, base: &str, a: &str, b: &str) -> Result<f64, DiffError> {
    let a = change_set(repo, base, a)?;
    let b = change_set(repo, base, b)?;
    Ok(jaccard(&a, &b))
}

/// Symmetric N×N matrix with 1.0 on the diagonal; each variant's change set is
/// computed once.
pub fn similarity_matrix(
    repo: &Repository,
    base: &str,
    variants: &[String],
) -> Result<Vec<Vec<f64>>, DiffError> {
    let sets = parallel(repo, variants, |repo, v| change_set(repo, base, v))?;
    let n = sets.len();
    let mut matrix = vec![vec![1.0; n]; n];
    for i in 0..n {
        for j in i + 1..n {
            let s = jaccard(&sets[i], &sets[j]);
            (matrix[i][j], matrix[j][i]) = (s, s);
        }
    }
    Ok(matrix)
}

fn change_set(repo: &Repository, base: &str, variant: &str) -> Result<ChangeSet, DiffError> {
    let diff = tree_diff(repo, base, variant)?;
    let mut set = ChangeSet::new();
    let mut add = |token: u64| *set.entry(token).or_insert(0) += 1;
    let mut file_token = |delta: git2::DiffDelta<'_>, _progress: f32| {
        add(token(&(
            delta.new_file().path(),
            delta.old_file().path(),
            delta.status() as u32,
            delta.new_file().id().as_bytes(),
        )));
        true
    };
    let mut line_tokens = Vec::new();
    let mut line_token =
        |delta: git2::DiffDelta<'_>, _: Option<git2::DiffHunk<'_>>, line: git2::DiffLine<'_>| {
            let path = match line.origin() {
                '+' => delta.new_file().path(),
                '-' => delta.old_file().path(),
                _ => return true,
            };
            line_tokens.push(token(&(path, line.origin(), line.content())));
            true
        };
    diff.foreach(&mut file_token, None, None, Some(&mut line_token))
        .map_err(git_err("reading a variant's changes"))?;
    line_tokens.into_iter().for_each(&mut add);
    Ok(set)
}

fn token(value: &impl Hash) -> u64 {
    let mut h = DefaultHasher::new();
    value.hash(&mut h);
    h.finish()
}

fn jaccard(a: &ChangeSet, b: &ChangeSet) -> f64 {
    let mut common = 0u64;
    let mut union = 0u64;
    for (k, &x) in a {
        let y = b.get(k).copied().unwrap_or(0);
        common += u64::from(x.min(y));
        union += u64::from(x.max(y));
    }
    union += b
        .iter()
        .filter(|(k, _)| !a.contains_key(*k))
        .map(|(_, &y)| u64::from(y))
        .sum::<u64>();
    if union == 0 {
        1.0
    } else {
        common as f64 / union as f64
    }
}
