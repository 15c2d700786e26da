//! The methodology prompt and each session's prompt.
//!
//! The methodology is read from the repository at every launch (so an edit
//! between two launches takes effect), by default from
//! `.claude/commands/ultrathink-task.md`: YAML front matter is stripped and
//! `$ARGUMENTS` becomes the task, as Claude Code itself does with slash
//! commands. Without the file, Fanout's own default applies.

use std::io;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::repo_files;

/// Where the methodology lives, relative to the repository root.
pub const DEFAULT_METHODOLOGY_PATH: &str = ".claude/commands/ultrathink-task.md";

/// Fanout's own working method, for repositories without a methodology file.
pub const BUILT_IN_METHODOLOGY: &str = "\
Work on the task below with care, in this order.

1. Analyse deeply. Read the code the task touches and the code that calls it; \
find the project's conventions, its tests and how they run. State the \
constraints and the risks before changing anything.
2. Plan. Decide which files change and how, the smallest change that fully \
solves the task within the approach you were given, and how you will show it works.
3. Implement. Make the change in the style of the surrounding code. Keep it \
focused: no unrelated refactoring, no dead code.
4. Verify. Build and run the relevant tests; add tests for new behaviour. \
Fix what fails; never weaken a test to make it pass.
5. Summarize. End with what you changed and why, how to verify it, and \
anything left undone or uncertain.

Task: $ARGUMENTS
";

#[derive(Debug, thiserror::Error)]
pub enum MethodologyError {
    #[error("The methodology file {} cannot be read: {source}. Fix its permissions, or remove it to use Fanout's default methodology.", path.display())]
    Read { path: PathBuf, source: io::Error },
    #[error("The methodology file {} is not UTF-8 text. Save it as UTF-8, or remove it to use Fanout's default methodology.", path.display())]
    NotText { path: PathBuf },
}

impl MethodologyError {
    pub fn code(&self) -> &'static str {
        match self {
            MethodologyError::Read { .. } => "methodology.read",
            MethodologyError::NotText { .. } => "methodology.not_text",
        }
    }
}

/// The methodology of one launch, and where it came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Methodology {
    pub text: String,
    /// The file it was read from; `None` for the built-in default.
    pub source: Option<PathBuf>,
    /// Why the repository's file was not used, for the run record.
    pub warning: Option<String>,
}

/// Reads the methodology for `task` now. `setting` is the file's path relative
/// to `repo_root` (the default when `None`); an absent file gives the built-in
/// default, an unreadable one an error (silently ignoring the user's file would
/// run every agent with a method they did not choose).
pub fn load(
    repo_root: &Path,
    setting: Option<&Path>,
    task: &str,
) -> Result<Methodology, MethodologyError> {
    let relative = setting.unwrap_or(Path::new(DEFAULT_METHODOLOGY_PATH));
    let shown = repo_root.join(relative);
    let built_in = |warning| Methodology {
        text: expand(BUILT_IN_METHODOLOGY, task),
        source: None,
        warning,
    };
    let path = match repo_files::resolve(repo_root, relative) {
        repo_files::Resolved::Inside(path) => path,
        repo_files::Resolved::Missing => return Ok(built_in(None)),
        repo_files::Resolved::Outside { target } => {
            let warning = repo_files::refused("methodology file", &shown, &target);
            return Ok(built_in(Some(format!(
                "{warning} The agents got Fanout's default methodology."
            ))));
        }
    };
    match std::fs::read(&path) {
        Ok(bytes) => {
            let text = String::from_utf8(bytes).map_err(|_| MethodologyError::NotText {
                path: shown.clone(),
            })?;
            Ok(Methodology {
                text: expand(&text, task),
                source: Some(shown),
                warning: None,
            })
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(built_in(None)),
        Err(source) => Err(MethodologyError::Read {
            path: shown,
            source,
        }),
    }
}

/// The file's text without front matter, with `$ARGUMENTS` replaced by the task.
pub fn expand(text: &str, task: &str) -> String {
    strip_front_matter(text)
        .replace("$ARGUMENTS", task.trim())
        .trim()
        .to_owned()
}

/// `text` without a leading YAML front matter block (`---` lines around it).
/// An unclosed block is not front matter: the text is kept whole.
pub fn strip_front_matter(text: &str) -> &str {
    let body = text.strip_prefix('\u{feff}').unwrap_or(text);
    let Some(rest) = body
        .strip_prefix("---\n")
        .or_else(|| body.strip_prefix("---\r\n"))
    else {
        return text;
    };
    let mut offset = 0;
    for line in rest.split_inclusive('\n') {
        offset += line.len();
        if line.trim_end() == "---" {
            return &rest[offset..];
        }
    }
    text
}

/// What one session is asked to do: the task under one approach.
#[derive(Debug, Clone, Copy)]
pub struct PromptParts<'a> {
    pub task: &'a str,
    pub approach: &'a str,
    pub description: &'a str,
    pub guidelines: &'a str,
}

/// The prompt of a first session.
pub fn session_prompt(parts: PromptParts<'_>) -> String {
    let mut prompt = format!(
        "# Task\n\n{}\n\n# Your approach: {}\n",
        parts.task.trim(),
        parts.approach.trim()
    );
    if !parts.description.trim().is_empty() {
        prompt.push_str(&format!("\n{}\n", parts.description.trim()));
    }
    if !parts.guidelines.trim().is_empty() {
        prompt.push_str(&format!("\n## Guidelines\n\n{}\n", parts.guidelines.trim()));
    }
    prompt.push_str(RULES);
    prompt
}

/// The prompt of a follow-up in a resumed session.
pub fn follow_up_prompt(text: &str) -> String {
    format!("{}\n{RULES}", text.trim())
}

/// Several variants of the same task run side by side; each must stay in its
/// own worktree, and Fanout owns the commits so every branch is comparable.
const RULES: &str = "
# Rules

- Work only in the current directory (your own git worktree). Do not read or change files outside it.
- Do not commit, branch, stash or push: Fanout commits your changes when you finish.
- End with a summary: what you did, and how to verify it.
";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn front_matter_is_stripped_only_when_closed() {
        assert_eq!(
            strip_front_matter("---\ndescription: x\n---\nBody\n"),
            "Body\n",
            "a closed block goes"
        );
        assert_eq!(
            strip_front_matter("---\r\na: 1\r\n---\r\nBody"),
            "Body",
            "CRLF files too"
        );
        assert_eq!(
            strip_front_matter("---\nnot closed\n"),
            "---\nnot closed\n",
            "an unclosed block is text, kept whole"
        );
        assert_eq!(
            strip_front_matter("Body\n---\n"),
            "Body\n---\n",
            "a rule later in the text is not front matter"
        );
    }

    #[test]
    fn arguments_become_the_task() {
        assert_eq!(
            expand(
                "---\nx: y\n---\nDo $ARGUMENTS now; $ARGUMENTS!",
                " fix it \n"
            ),
            "Do fix it now; fix it!"
        );
    }

    #[test]
    fn the_prompt_holds_task_approach_and_rules() {
        let prompt = session_prompt(PromptParts {
            task: "Add a cache",
            approach: "LRU",
            description: "Least recently used",
            guidelines: "Keep it small",
        });
        for needle in [
            "Add a cache",
            "LRU",
            "Least recently used",
            "Keep it small",
            "Do not commit",
            "Work only in the current directory",
            "summary",
        ] {
            assert!(
                prompt.contains(needle),
                "the prompt mentions {needle:?}: {prompt}"
            );
        }
    }
}
