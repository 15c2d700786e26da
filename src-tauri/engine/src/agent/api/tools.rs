//! The built-in agent's tools, every path confined to the worktree.

use std::fs;
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};

use crate::llm::ToolDef;
use crate::process::{self, Canceller, ProcessEnd, ProcessSpec};

/// What the tools may do.
#[derive(Debug, Clone)]
pub struct ToolPolicy {
    /// `run_command` is offered and runs; off, the model is told it is switched off.
    pub allow_commands: bool,
    pub command_timeout: Duration,
    /// Most bytes of a command's output, or of a file read, returned to the model.
    pub output_cap: usize,
}

impl Default for ToolPolicy {
    fn default() -> Self {
        ToolPolicy {
            allow_commands: true,
            command_timeout: Duration::from_secs(120),
            output_cap: 30_000,
        }
    }
}

/// A tool's answer to the model.
#[derive(Debug, Clone, PartialEq)]
pub struct ToolOutput {
    pub ok: bool,
    pub text: String,
}

fn fail(text: impl Into<String>) -> ToolOutput {
    ToolOutput {
        ok: false,
        text: text.into(),
    }
}

fn done(text: impl Into<String>) -> ToolOutput {
    ToolOutput {
        ok: true,
        text: text.into(),
    }
}

const MAX_SEARCH_MATCHES: usize = 200;

pub fn definitions(policy: &ToolPolicy) -> Vec<ToolDef> {
    let tool = |name: &str, description: &str, schema: Value| ToolDef {
        name: name.to_owned(),
        description: description.to_owned(),
        input_schema: schema,
    };
    let path = json!({"type": "string", "description": "Path relative to the working directory"});
    let mut tools = vec![
        tool(
            "read_file",
            "Read a text file.",
            json!({"type": "object", "properties": {"path": path}, "required": ["path"]}),
        ),
        tool(
            "write_file",
            "Create or overwrite a file with the given content.",
            json!({"type": "object", "properties": {"path": path, "content": {"type": "string"}}, "required": ["path", "content"]}),
        ),
        tool(
            "edit_file",
            "Replace one exact, unique occurrence of old_string with new_string.",
            json!({"type": "object", "properties": {"path": path, "old_string": {"type": "string"}, "new_string": {"type": "string"}}, "required": ["path", "old_string", "new_string"]}),
        ),
        tool(
            "list_dir",
            "List a directory (default: the working directory).",
            json!({"type": "object", "properties": {"path": path}}),
        ),
        tool(
            "search",
            "Search file contents with a regular expression; .gitignore is respected.",
            json!({"type": "object", "properties": {"pattern": {"type": "string"}, "path": path}, "required": ["pattern"]}),
        ),
    ];
    if policy.allow_commands {
        tools.push(tool("run_command", "Run a shell command in the working directory.", json!({"type": "object", "properties": {"command": {"type": "string"}}, "required": ["command"]})));
    }
    tools
}

/// `requested` as a path inside `root` (which must be canonical), or a refusal.
///
/// `..` is resolved lexically, then the deepest existing ancestor is
/// canonicalized so a symlink pointing outside is caught whether it is the file
/// itself or a directory on the way.
pub fn confine(root: &Path, requested: &str) -> Result<PathBuf, String> {
    if requested.trim().is_empty() {
        return Err("The path is empty. Give a path relative to the working directory.".into());
    }
    let joined = root.join(requested);
    let mut normal = PathBuf::new();
    for component in joined.components() {
        match component {
            Component::ParentDir => {
                normal.pop();
            }
            Component::CurDir => {}
            other => normal.push(other),
        }
    }
    let outside = || {
        format!("The path `{requested}` is outside the working directory; only paths inside it can be used.")
    };
    if !normal.starts_with(root) {
        return Err(outside());
    }
    let mut existing = normal.as_path();
    let mut rest = Vec::new();
    while fs::symlink_metadata(existing).is_err() {
        rest.push(existing.file_name().map(ToOwned::to_owned));
        existing = existing.parent().ok_or_else(outside)?;
    }
    let mut resolved = existing
        .canonicalize()
        .map_err(|e| format!("Could not resolve `{requested}`: {e}."))?;
    for part in rest.into_iter().rev().flatten() {
        resolved.push(part);
    }
    if !resolved.starts_with(root) {
        return Err(outside());
    }
    // Both spellings: the one asked for, and where its symlinks lead.
    for path in [&normal, &resolved] {
        let inside = path.strip_prefix(root).unwrap_or(path);
        if inside.components().any(|c| is_git_dir_name(c.as_os_str())) {
            return Err(format!(
                "The path `{requested}` is inside a `.git` folder, which holds git's own records; Fanout keeps those itself. Change the project's files only."
            ));
        }
    }
    Ok(resolved)
}

/// Whether a path component names a git directory the way git itself
/// recognizes one on any filesystem: `.git` in any case, with trailing dots
/// or spaces (Windows drops them), with characters HFS+ ignores, or as the
/// NTFS short name `git~1`.
pub fn is_git_dir_name(name: &std::ffi::OsStr) -> bool {
    let name = name.to_string_lossy();
    let visible: String = name
        .chars()
        .filter(|c| !is_ignorable(*c))
        .collect::<String>()
        .trim_end_matches(['.', ' '])
        .to_lowercase();
    visible == ".git" || visible == "git~1"
}

/// Code points HFS+ leaves out when it compares names (the list git uses in
/// `is_hfs_dotgit`).
fn is_ignorable(c: char) -> bool {
    matches!(
        c,
        '\u{200c}'..='\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{206a}'..='\u{206f}' | '\u{feff}'
    )
}

fn string<'a>(input: &'a Value, key: &str) -> Result<&'a str, ToolOutput> {
    input[key]
        .as_str()
        .ok_or_else(|| fail(format!("The input needs a string `{key}`.")))
}

fn cap(text: String, max: usize) -> String {
    crate::events::bound(&text, max)
}

/// Runs a file tool (everything but `run_command`): blocking, call from `spawn_blocking`.
pub fn run_file_tool(root: &Path, policy: &ToolPolicy, name: &str, input: &Value) -> ToolOutput {
    let result = match name {
        "read_file" => read_file(root, policy, input),
        "write_file" => write_file(root, input),
        "edit_file" => edit_file(root, input),
        "list_dir" => list_dir(root, input),
        "search" => search(root, input),
        other => Err(fail(format!(
            "There is no tool `{other}`. Use one of: read_file, write_file, edit_file, list_dir, search, run_command."
        ))),
    };
    result.unwrap_or_else(|output| output)
}

fn path_arg(root: &Path, input: &Value, key: &str) -> Result<(String, PathBuf), ToolOutput> {
    let requested = string(input, key)?;
    let path = confine(root, requested).map_err(fail)?;
    Ok((requested.to_owned(), path))
}

fn read_file(root: &Path, policy: &ToolPolicy, input: &Value) -> Result<ToolOutput, ToolOutput> {
    let (shown, path) = path_arg(root, input, "path")?;
    let bytes = fs::read(&path).map_err(|e| fail(format!("Could not read `{shown}`: {e}.")))?;
    Ok(done(cap(
        String::from_utf8_lossy(&bytes).into_owned(),
        policy.output_cap,
    )))
}

fn write_file(root: &Path, input: &Value) -> Result<ToolOutput, ToolOutput> {
    let (shown, path) = path_arg(root, input, "path")?;
    let content = string(input, "content")?;
    if let Some(parent) = path.parent() {
        fs::create_dir_all(parent)
            .map_err(|e| fail(format!("Could not create the folder of `{shown}`: {e}.")))?;
    }
    fs::write(&path, content).map_err(|e| fail(format!("Could not write `{shown}`: {e}.")))?;
    Ok(done(format!("Wrote {} bytes to {shown}.", content.len())))
}

fn edit_file(root: &Path, input: &Value) -> Result<ToolOutput, ToolOutput> {
    let (shown, path) = path_arg(root, input, "path")?;
    let old = string(input, "old_string")?;
    let new = string(input, "new_string")?;
    if old.is_empty() {
        return Err(fail("old_string is empty. Give the exact text to replace."));
    }
    let text =
        fs::read_to_string(&path).map_err(|e| fail(format!("Could not read `{shown}`: {e}.")))?;
    match text.matches(old).count() {
        0 => Err(fail(format!("old_string was not found in {shown}. Read the file and copy the text exactly."))),
        1 => {
            fs::write(&path, text.replacen(old, new, 1)).map_err(|e| fail(format!("Could not write `{shown}`: {e}.")))?;
            Ok(done(format!("Edited {shown}.")))
        }
        n => Err(fail(format!("old_string occurs {n} times in {shown}. Include more surrounding text so it is unique."))),
    }
}

fn list_dir(root: &Path, input: &Value) -> Result<ToolOutput, ToolOutput> {
    let requested = input["path"].as_str().unwrap_or(".");
    let path = confine(root, requested).map_err(fail)?;
    let entries =
        fs::read_dir(&path).map_err(|e| fail(format!("Could not list `{requested}`: {e}.")))?;
    let mut names: Vec<String> = entries
        .filter_map(Result::ok)
        .filter(|e| e.file_name() != ".git")
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            if e.file_type().is_ok_and(|t| t.is_dir()) {
                format!("{name}/")
            } else {
                name
            }
        })
        .collect();
    names.sort();
    Ok(done(names.join("\n")))
}

fn search(root: &Path, input: &Value) -> Result<ToolOutput, ToolOutput> {
    let pattern = string(input, "pattern")?;
    let regex = regex::Regex::new(pattern).map_err(|e| {
        fail(format!(
            "The pattern is not a valid regular expression: {e}"
        ))
    })?;
    let start = confine(root, input["path"].as_str().unwrap_or(".")).map_err(fail)?;
    let mut matches = Vec::new();
    let walker = ignore::WalkBuilder::new(&start).require_git(false).build();
    'files: for entry in walker.filter_map(Result::ok) {
        if !entry.file_type().is_some_and(|t| t.is_file()) {
            continue;
        }
        let Ok(text) = fs::read_to_string(entry.path()) else {
            continue;
        };
        let shown = entry
            .path()
            .strip_prefix(root)
            .unwrap_or(entry.path())
            .display()
            .to_string();
        for (number, line) in text.lines().enumerate() {
            if regex.is_match(line) {
                matches.push(format!(
                    "{shown}:{}: {}",
                    number + 1,
                    crate::events::bound(line, 300)
                ));
                if matches.len() == MAX_SEARCH_MATCHES {
                    matches.push(format!(
                        "(stopped at {MAX_SEARCH_MATCHES} matches; narrow the pattern)"
                    ));
                    break 'files;
                }
            }
        }
    }
    Ok(done(if matches.is_empty() {
        "No matches.".to_owned()
    } else {
        matches.join("\n")
    }))
}

/// Runs `command` with `sh -c` in its own process group; cancelling the
/// session stops it (SIGTERM, then SIGKILL).
pub async fn run_command(
    root: &Path,
    policy: &ToolPolicy,
    input: &Value,
    cancel: &Canceller,
    sandbox: Option<&crate::sandbox::Sandbox>,
) -> Result<ToolOutput, Cancelled> {
    if !policy.allow_commands {
        return Ok(fail("run_command is switched off for this session. Change files with the file tools instead."));
    }
    let command = match string(input, "command") {
        Ok(command) => command,
        Err(output) => return Ok(output),
    };
    let spec = ProcessSpec::new("sh", root)
        .args(["-c", command])
        .timeout(Some(policy.command_timeout))
        .grace(Duration::from_secs(2))
        .leak_grace(Duration::from_secs(2))
        .sandbox(sandbox.cloned());
    let mut running = match process::spawn(spec) {
        Ok(running) => running,
        Err(e) => return Ok(fail(e.to_string())),
    };
    let stop = running.canceller();
    let mut output = String::new();
    let mut cancelled = false;
    loop {
        tokio::select! {
            line = running.next_line() => match line {
                Some(line) if output.len() <= policy.output_cap => {
                    output.push_str(&line.text);
                    output.push('\n');
                }
                Some(_) => {}
                None => break,
            },
            _ = cancel.cancelled(), if !cancelled => {
                cancelled = true;
                stop.cancel();
            }
        }
    }
    let outcome = running.finish().await;
    if cancelled {
        return Err(Cancelled);
    }
    let output = cap(output, policy.output_cap);
    Ok(match (outcome.end, outcome.code) {
        (ProcessEnd::TimedOut, _) => fail(format!(
            "The command ran longer than {} s and was stopped.\n{output}",
            policy.command_timeout.as_secs()
        )),
        (_, Some(0)) => done(format!("exit code 0\n{output}")),
        (_, Some(code)) => fail(format!("exit code {code}\n{output}")),
        (_, None) => fail(format!("The command was killed by a signal.\n{output}")),
    })
}

/// The session was cancelled while a tool ran.
#[derive(Debug)]
pub struct Cancelled;
