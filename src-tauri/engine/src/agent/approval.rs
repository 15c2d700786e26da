//! Approval rules for two-way sessions: which tool uses are allowed or denied
//! without asking, and what the user sees when asked.
//!
//! Rules decide first, the user second. By default: edits (`Write`, `Edit`,
//! `MultiEdit`, `NotebookEdit`) whose paths resolve inside the worktree are
//! allowed; a tool input naming a path outside the worktree is denied with a
//! message the model reads; everything else (`Bash`, `WebFetch`, …) is asked.
//! The rules are plain data ([`ApprovalSettings`], with per-repository
//! overrides) so a settings screen can edit them.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::events::{bound, MAX_SUMMARY_BYTES, MAX_TEXT_BYTES};

/// Input fields that name a file or folder, in the tools Claude Code has.
const PATH_KEYS: [&str; 3] = ["file_path", "path", "notebook_path"];

/// One set of rules.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct ApprovalRules {
    /// Tools that count as edits.
    pub edit_tools: Vec<String>,
    /// Allow edits whose paths resolve inside the worktree without asking.
    pub allow_edits_in_worktree: bool,
    /// Deny any tool use whose input names a path outside the worktree.
    pub deny_paths_outside_worktree: bool,
    /// Tools always allowed (after the outside-path check).
    pub allow_tools: Vec<String>,
    /// Tools always denied.
    pub deny_tools: Vec<String>,
    /// A request waiting longer than this, in seconds, fails its variant.
    pub timeout_secs: u64,
}

impl Default for ApprovalRules {
    fn default() -> Self {
        ApprovalRules {
            edit_tools: ["Write", "Edit", "MultiEdit", "NotebookEdit"]
                .map(String::from)
                .into(),
            allow_edits_in_worktree: true,
            deny_paths_outside_worktree: true,
            allow_tools: Vec::new(),
            deny_tools: Vec::new(),
            timeout_secs: 30 * 60,
        }
    }
}

/// The defaults and per-repository overrides (keyed by the repository root).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ts_rs::TS)]
#[serde(default)]
pub struct ApprovalSettings {
    pub defaults: ApprovalRules,
    pub repositories: BTreeMap<PathBuf, ApprovalRules>,
}

impl ApprovalSettings {
    /// The rules for the repository at `root`: its override, else the defaults.
    pub fn for_repository(&self, root: &Path) -> &ApprovalRules {
        self.repositories.get(root).unwrap_or(&self.defaults)
    }
}

/// What the rules say about one request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(tag = "decision", rename_all = "snake_case")]
pub enum Decision {
    Allow,
    /// Denied; the message goes to the model.
    Deny {
        message: String,
    },
    /// The user decides.
    Ask,
}

impl ApprovalRules {
    pub fn timeout(&self) -> Duration {
        Duration::from_secs(self.timeout_secs.max(1))
    }

    /// Decides `tool` with `input` for a session in `worktree` (canonical).
    pub fn decide(&self, tool: &str, input: &Value, worktree: &Path) -> Decision {
        if self.deny_tools.iter().any(|t| t == tool) {
            return Decision::Deny {
                message: format!("The tool {tool} is not allowed in this repository."),
            };
        }
        let paths = named_paths(input);
        if self.deny_paths_outside_worktree {
            if let Some(outside) = paths.iter().find(|p| !is_inside(p, worktree)) {
                return Decision::Deny {
                    message: format!(
                        "{outside} is outside the worktree {}; work only on files inside it.",
                        worktree.display()
                    ),
                };
            }
        }
        let is_edit = self.edit_tools.iter().any(|t| t == tool);
        if (is_edit && self.allow_edits_in_worktree && !paths.is_empty())
            || self.allow_tools.iter().any(|t| t == tool)
        {
            return Decision::Allow;
        }
        Decision::Ask
    }
}

/// Every path the input names in a path field, including those of a
/// `MultiEdit`-style list of edits.
fn named_paths(input: &Value) -> Vec<String> {
    let mut paths: Vec<String> = PATH_KEYS
        .iter()
        .filter_map(|key| input.get(*key).and_then(Value::as_str))
        .map(str::to_owned)
        .collect();
    if let Some(edits) = input.get("edits").and_then(Value::as_array) {
        paths.extend(edits.iter().flat_map(named_paths));
    }
    paths
}

/// Whether `path` (relative ones against the worktree) stays inside
/// `worktree` after `..` is resolved and symlinks of its existing part are followed.
fn is_inside(path: &str, worktree: &Path) -> bool {
    let joined = worktree.join(expand_home(path));
    let normal = normalize(&joined);
    let resolved = resolve_existing(&normal);
    resolved.starts_with(worktree)
}

/// `~` is the user's home for the agent's shell too; keep it outside.
fn expand_home(path: &str) -> PathBuf {
    match path.strip_prefix('~') {
        Some(rest) => std::env::var_os("HOME")
            .map(PathBuf::from)
            .unwrap_or_else(|| PathBuf::from("/"))
            .join(rest.trim_start_matches('/')),
        None => PathBuf::from(path),
    }
}

/// Removes `.` and resolves `..` without touching the disk.
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    out
}

/// The longest existing ancestor canonicalized (a symlink in the worktree
/// may point outside it), with the rest appended.
fn resolve_existing(path: &Path) -> PathBuf {
    let mut existing = path.to_path_buf();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (
            existing.file_name().map(|n| n.to_owned()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => return path.to_path_buf(),
        }
    }
    let mut resolved = existing.canonicalize().unwrap_or(existing);
    resolved.extend(rest.iter().rev());
    resolved
}

/// A tool use waiting for a decision.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
pub struct ApprovalRequest {
    /// The CLI's request id; answer with it.
    pub id: String,
    pub tool: String,
    pub input: Value,
    /// The tool use this request is about, as in the transcript.
    pub tool_use_id: Option<String>,
    pub display: ApprovalDisplay,
}

/// A small form of the request for a card or a terminal.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ApprovalDisplay {
    /// A shell command, as text.
    Command { command: String },
    /// A file edit, as a unified diff.
    Diff { path: String, diff: String },
    /// Anything else: the input as JSON text.
    Input { text: String },
}

impl ApprovalDisplay {
    /// Builds the display of `tool` with `input`; `worktree` resolves relative paths.
    pub fn of(tool: &str, input: &Value, worktree: &Path) -> ApprovalDisplay {
        let text = |key: &str| input.get(key).and_then(Value::as_str);
        if let Some(command) = text("command") {
            return ApprovalDisplay::Command {
                command: bound(command, MAX_SUMMARY_BYTES),
            };
        }
        if let Some(path) = text("file_path") {
            let (old, new) = match tool {
                "Write" => (
                    read_inside(path, worktree),
                    text("content").map(str::to_owned),
                ),
                "Edit" => (
                    text("old_string").map(str::to_owned),
                    text("new_string").map(str::to_owned),
                ),
                _ => (None, None),
            };
            if let Some(new) = new {
                return ApprovalDisplay::Diff {
                    path: path.to_owned(),
                    diff: bound(
                        &unified(path, &old.unwrap_or_default(), &new),
                        MAX_TEXT_BYTES,
                    ),
                };
            }
        }
        ApprovalDisplay::Input {
            text: bound(
                &serde_json::to_string_pretty(input).unwrap_or_default(),
                MAX_SUMMARY_BYTES,
            ),
        }
    }

    /// One line for a terminal prompt.
    pub fn summary(&self) -> String {
        match self {
            ApprovalDisplay::Command { command } => command.clone(),
            ApprovalDisplay::Diff { path, diff } => format!("{path}\n{diff}"),
            ApprovalDisplay::Input { text } => text.clone(),
        }
    }
}

/// The current content of a file the request would overwrite, when it is inside the worktree.
fn read_inside(path: &str, worktree: &Path) -> Option<String> {
    is_inside(path, worktree)
        .then(|| std::fs::read_to_string(worktree.join(path)).ok())
        .flatten()
}

fn unified(path: &str, old: &str, new: &str) -> String {
    similar::TextDiff::from_lines(old, new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// Who decided a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum Decider {
    Rule,
    User,
    /// A tool the user allowed for the rest of the session or experiment.
    AllowedTool,
}

/// What a two-way session reports about approvals.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ApprovalUpdate {
    /// A request waits for the user.
    Requested { request: ApprovalRequest },
    /// A request was answered.
    Resolved {
        id: String,
        tool: String,
        allowed: bool,
        message: Option<String>,
        by: Decider,
    },
    /// The request's turn ended (an interrupt) before anyone answered it.
    Withdrawn { id: String },
    /// The interrupted session waits for the next message.
    AwaitingMessage,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn worktree() -> tempfile::TempDir {
        tempfile::tempdir().expect("a temporary worktree")
    }

    #[test]
    fn edits_inside_the_worktree_are_allowed_without_asking() {
        let dir = worktree();
        let root = dir.path().canonicalize().expect("canonical");
        let rules = ApprovalRules::default();
        let inside = root.join("src/new.rs").display().to_string();
        for (tool, input) in [
            ("Write", json!({"file_path": inside, "content": "x"})),
            (
                "Edit",
                json!({"file_path": "README.md", "old_string": "a", "new_string": "b"}),
            ),
            ("MultiEdit", json!({"file_path": "a/../b.txt", "edits": []})),
        ] {
            assert_eq!(
                rules.decide(tool, &input, &root),
                Decision::Allow,
                "{tool} inside the worktree needs no question"
            );
        }
    }

    #[test]
    fn paths_outside_the_worktree_are_denied_with_a_message() {
        let dir = worktree();
        let root = dir.path().canonicalize().expect("canonical");
        let rules = ApprovalRules::default();
        for (tool, input) in [
            ("Write", json!({"file_path": "/etc/passwd", "content": "x"})),
            ("Write", json!({"file_path": "../x", "content": "x"})),
            ("Read", json!({"file_path": "/etc/hostname"})),
            (
                "Edit",
                json!({"file_path": "a/../../x", "old_string": "", "new_string": "y"}),
            ),
        ] {
            let Decision::Deny { message } = rules.decide(tool, &input, &root) else {
                panic!("{tool} {input} must be denied: it leaves the worktree");
            };
            assert!(
                message.contains("outside the worktree"),
                "the model is told why: {message}"
            );
        }
    }

    #[test]
    fn a_symlink_pointing_outside_is_outside() {
        let dir = worktree();
        let outside = worktree();
        let root = dir.path().canonicalize().expect("canonical");
        std::os::unix::fs::symlink(outside.path(), root.join("link")).expect("symlink");
        let rules = ApprovalRules::default();
        let input = json!({"file_path": "link/x.txt", "content": "x"});
        assert!(
            matches!(rules.decide("Write", &input, &root), Decision::Deny { .. }),
            "a write through a symlink lands outside the worktree"
        );
    }

    #[test]
    fn shell_commands_and_web_fetches_are_asked() {
        let dir = worktree();
        let root = dir.path().canonicalize().expect("canonical");
        let rules = ApprovalRules::default();
        assert_eq!(
            rules.decide("Bash", &json!({"command": "ls"}), &root),
            Decision::Ask,
            "a command goes to the user"
        );
        assert_eq!(
            rules.decide("WebFetch", &json!({"url": "https://example.com"}), &root),
            Decision::Ask,
            "a fetch goes to the user"
        );
    }

    #[test]
    fn overrides_apply_per_repository() {
        let mut settings = ApprovalSettings::default();
        let strict = ApprovalRules {
            allow_edits_in_worktree: false,
            allow_tools: vec!["Bash".into()],
            ..ApprovalRules::default()
        };
        settings
            .repositories
            .insert(PathBuf::from("/repos/strict"), strict.clone());
        assert_eq!(settings.for_repository(Path::new("/repos/strict")), &strict);
        assert_eq!(
            settings.for_repository(Path::new("/repos/other")),
            &ApprovalRules::default(),
            "other repositories get the defaults"
        );
        let dir = worktree();
        let root = dir.path().canonicalize().expect("canonical");
        assert_eq!(
            strict.decide(
                "Write",
                &json!({"file_path": "a.txt", "content": ""}),
                &root
            ),
            Decision::Ask,
            "with edits not pre-allowed, the user decides"
        );
        assert_eq!(
            strict.decide("Bash", &json!({"command": "ls"}), &root),
            Decision::Allow,
            "an allowed tool needs no question"
        );
        let json = serde_json::to_string(&settings).expect("serializes");
        let back: ApprovalSettings = serde_json::from_str(&json).expect("round-trips");
        assert_eq!(back, settings, "the settings screen can store them");
    }

    #[test]
    fn displays_show_a_command_or_a_diff() {
        let dir = worktree();
        let root = dir.path().canonicalize().expect("canonical");
        std::fs::write(root.join("a.txt"), "one\ntwo\n").expect("write");
        assert_eq!(
            ApprovalDisplay::of("Bash", &json!({"command": "cargo test"}), &root),
            ApprovalDisplay::Command {
                command: "cargo test".into()
            }
        );
        let ApprovalDisplay::Diff { diff, .. } = ApprovalDisplay::of(
            "Write",
            &json!({"file_path": root.join("a.txt"), "content": "one\nthree\n"}),
            &root,
        ) else {
            panic!("a write shows a diff")
        };
        assert!(
            diff.contains("-two") && diff.contains("+three"),
            "against the file's current content: {diff}"
        );
    }
}
