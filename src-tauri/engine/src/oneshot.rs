//! One-shot structured questions to a model: a prompt, the JSON shape the
//! answer must have, and a check of the answer. Asked through the model API
//! (a forced tool call, so the answer is the tool's input) or a CLI in print
//! mode (`claude -p --output-format json`, whose result text holds the JSON).
//! An unusable answer is sent back once with what was wrong with it; a second
//! unusable answer is an error that says why. Nothing a model writes is
//! trusted: it is parsed, checked, and shown as text.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::Value;

use crate::agent::{AgentKind, PermissionProfile, SessionSpec};
use crate::events::SessionEvent;
use crate::llm::{Block, ChatRequest, LlmClient, LlmError, Message, Role, ToolDef, Usage};
use crate::orchestrator::Executables;
use crate::process::{self, ProcessEnd, ProcessSpec};

#[derive(Debug, thiserror::Error)]
pub enum OneShotError {
    #[error("The model's {what} was not usable, even after being told what was wrong: {problem} Try again, or choose another model in the settings.")]
    Unusable { what: &'static str, problem: String },
    #[error("Could not ask the model for the {what}: {source}")]
    Llm {
        what: &'static str,
        source: LlmError,
    },
    #[error("Could not run {program} for the {what}: {detail}")]
    Cli {
        what: &'static str,
        program: String,
        detail: String,
    },
}

impl OneShotError {
    pub fn code(&self) -> &'static str {
        match self {
            OneShotError::Unusable { .. } => "oneshot.unusable",
            OneShotError::Llm { source, .. } => source.code(),
            OneShotError::Cli { .. } => "oneshot.cli",
        }
    }
}

/// Who answers.
#[derive(Debug, Clone)]
pub enum Asker {
    Api(LlmClient),
    /// An agent CLI asked once (`codex exec --json`, `gemini`), in an empty
    /// folder of its own: the question carries everything it needs.
    Agent {
        kind: AgentKind,
        executable: Option<PathBuf>,
        timeout: Duration,
        env: Vec<(String, String)>,
    },
    /// `claude -p … --output-format json` in `workdir`.
    ClaudeCli {
        executable: PathBuf,
        workdir: PathBuf,
        timeout: Duration,
        env: Vec<(String, String)>,
    },
}

/// Who the user wants to answer.
#[derive(
    Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize, ts_rs::TS,
)]
#[serde(rename_all = "snake_case")]
pub enum AskerChoice {
    /// The model API when a key for it is set, else Claude Code.
    #[default]
    Auto,
    Api,
    Claude,
    Codex,
    Gemini,
}

impl std::str::FromStr for AskerChoice {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim() {
            "auto" => Ok(AskerChoice::Auto),
            "api" => Ok(AskerChoice::Api),
            "claude" | "claude-code" => Ok(AskerChoice::Claude),
            "codex" => Ok(AskerChoice::Codex),
            "gemini" => Ok(AskerChoice::Gemini),
            other => Err(format!(
                "`{other}` is not a reviewer: use auto, api, claude, codex or gemini."
            )),
        }
    }
}

/// How long a CLI may take to answer one question.
pub const CLI_TIMEOUT: Duration = Duration::from_secs(600);

impl Asker {
    /// The asker `choice` names: the model API of `api` (its key from the
    /// keyring or the environment), `claude` one-shot in `workdir`, or the
    /// Codex or Gemini CLI. Blocking: it may ask the keyring.
    pub fn choose(
        choice: AskerChoice,
        executables: &Executables,
        workdir: PathBuf,
        api: &crate::llm::ApiEndpoint,
    ) -> Result<Asker, crate::Error> {
        let claude = executables
            .claude
            .clone()
            .unwrap_or_else(|| PathBuf::from("claude"));
        let cli = || Asker::ClaudeCli {
            executable: claude.clone(),
            workdir: workdir.clone(),
            timeout: CLI_TIMEOUT,
            env: Vec::new(),
        };
        let agent = |kind| Asker::Agent {
            kind,
            executable: executables.for_kind(kind),
            timeout: CLI_TIMEOUT,
            env: Vec::new(),
        };
        let client = |config| LlmClient::new(config).map(Asker::Api);
        match choice {
            AskerChoice::Claude => Ok(cli()),
            AskerChoice::Codex => Ok(agent(AgentKind::Codex)),
            AskerChoice::Gemini => Ok(agent(AgentKind::Gemini)),
            AskerChoice::Api => Ok(client(api.config()?)?),
            AskerChoice::Auto => match api.config() {
                Ok(config) => Ok(client(config)?),
                Err(_) => Ok(cli()),
            },
        }
    }

    /// The model or program that answers, for the record.
    pub fn name(&self) -> String {
        match self {
            Asker::Api(client) => format!(
                "{} via the {} API",
                client.config().model,
                client.config().provider
            ),
            Asker::ClaudeCli { executable, .. } => {
                format!("{} -p", executable.display())
            }
            Asker::Agent {
                kind, executable, ..
            } => match executable {
                Some(path) => path.display().to_string(),
                None => kind.as_str().to_owned(),
            },
        }
    }
}

/// What is asked.
#[derive(Debug, Clone)]
pub struct Question {
    /// What the answer is, for sentences: "review", "ranking".
    pub what: &'static str,
    pub system: Option<String>,
    pub prompt: String,
    /// The tool the API answer calls, and the JSON schema of its input.
    pub tool: &'static str,
    pub schema: Value,
}

/// The checked answer, and what asking cost.
#[derive(Debug, Clone)]
pub struct Answered<T> {
    pub value: T,
    pub usage: Usage,
    pub attempts: u32,
}

/// Asks, checks the answer with `check` (which says what is wrong in a
/// sentence the model reads), and asks once more when it is unusable.
pub async fn ask<T>(
    asker: &Asker,
    question: &Question,
    check: impl Fn(&Value) -> Result<T, String>,
) -> Result<Answered<T>, OneShotError> {
    let mut problem: Option<(String, String)> = None;
    let mut usage = Usage::default();
    for attempt in 1..=2 {
        let (answer, used) = match asker {
            Asker::Api(client) => ask_api(client, question, problem.as_ref()).await?,
            Asker::ClaudeCli { .. } => ask_cli(asker, question, problem.as_ref()).await?,
            Asker::Agent { .. } => ask_agent(asker, question, problem.as_ref()).await?,
        };
        usage.add(used);
        let checked = answer
            .value()
            .ok_or_else(|| "The answer held no JSON object.".to_owned())
            .and_then(|value| check(&value));
        match checked {
            Ok(value) => {
                return Ok(Answered {
                    value,
                    usage,
                    attempts: attempt,
                })
            }
            Err(why) => problem = Some((answer.text(), why)),
        }
    }
    let (_, why) = problem.unwrap_or_default();
    Err(OneShotError::Unusable {
        what: question.what,
        problem: why,
    })
}

/// The raw answer: a tool input (API) or a text (CLI, or a model that wrote JSON).
#[derive(Debug, Clone)]
enum Answer {
    Tool(Value),
    Text(String),
}

impl Answer {
    fn value(&self) -> Option<Value> {
        match self {
            Answer::Tool(input) => Some(input.clone()),
            Answer::Text(text) => json_in(text),
        }
    }

    fn text(&self) -> String {
        match self {
            Answer::Tool(input) => input.to_string(),
            Answer::Text(text) => text.clone(),
        }
    }
}

/// The first JSON object in `text`, which may wrap it in prose or a code fence.
pub fn json_in(text: &str) -> Option<Value> {
    let start = text.find('{')?;
    let mut values = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
    values.next()?.ok()
}

async fn ask_api(
    client: &LlmClient,
    question: &Question,
    problem: Option<&(String, String)>,
) -> Result<(Answer, Usage), OneShotError> {
    let mut messages = vec![Message::user_text(&question.prompt)];
    if let Some((previous, why)) = problem {
        // Fed back as plain text: the earlier tool call's id is not needed to correct it.
        messages.push(Message {
            role: Role::Assistant,
            content: vec![Block::Text {
                text: previous.clone(),
            }],
        });
        messages.push(Message::user_text(format!(
            "That answer was not usable: {why} Call {} again with a corrected answer.",
            question.tool
        )));
    }
    let request = ChatRequest {
        system: question.system.clone(),
        messages,
        tools: vec![ToolDef {
            name: question.tool.to_owned(),
            description: format!("Give the {}.", question.what),
            input_schema: question.schema.clone(),
        }],
        force_tool: Some(question.tool.to_owned()),
    };
    let response = client
        .complete(&request)
        .await
        .map_err(|source| OneShotError::Llm {
            what: question.what,
            source,
        })?;
    let input = response
        .tool_uses()
        .find(|(_, name, _)| *name == question.tool)
        .map(|(_, _, input)| input.clone());
    let answer = match input {
        Some(input) => Answer::Tool(input),
        None => Answer::Text(response.text()),
    };
    Ok((answer, response.usage))
}

async fn ask_cli(
    asker: &Asker,
    question: &Question,
    problem: Option<&(String, String)>,
) -> Result<(Answer, Usage), OneShotError> {
    let Asker::ClaudeCli {
        executable,
        workdir,
        timeout,
        env,
    } = asker
    else {
        return Ok((Answer::Text(String::new()), Usage::default()));
    };
    let full = as_text(question, problem);
    let mut spec = ProcessSpec::new(executable, workdir)
        .args(["-p", full.as_str(), "--output-format", "json"])
        .timeout(Some(*timeout));
    for (key, value) in env {
        spec = spec.env(key, value);
    }
    let value = claude_json(spec, *timeout)
        .await
        .map_err(|detail| OneShotError::Cli {
            what: question.what,
            program: executable.display().to_string(),
            detail,
        })?;
    let usage = Usage {
        input_tokens: value["usage"]["input_tokens"].as_u64().unwrap_or(0),
        output_tokens: value["usage"]["output_tokens"].as_u64().unwrap_or(0),
        ..Usage::default()
    };
    let text = value["result"].as_str().unwrap_or_default().to_owned();
    Ok((Answer::Text(text), usage))
}

/// Runs `claude -p … --output-format json` as `spec` says and returns its
/// JSON result; or why not, as the end of a sentence ("it did not answer
/// within 120 s.") for the caller's error to carry.
pub(crate) async fn claude_json(spec: ProcessSpec, timeout: Duration) -> Result<Value, String> {
    let mut running = process::spawn(spec).map_err(|e| e.to_string())?;
    let mut stdout = String::new();
    let mut last_stderr = String::new();
    while let Some(line) = running.next_line().await {
        match line.stream {
            process::Stream::Stdout => {
                stdout.push_str(&line.text);
                stdout.push('\n');
            }
            process::Stream::Stderr if !line.text.trim().is_empty() => last_stderr = line.text,
            process::Stream::Stderr => {}
        }
    }
    let outcome = running.finish().await;
    if outcome.end == ProcessEnd::TimedOut {
        return Err(format!("it did not answer within {} s.", timeout.as_secs()));
    }
    let value: Value = serde_json::from_str(stdout.trim()).map_err(|_| {
        format!(
            "it exited with code {} without printing its JSON result ({}).",
            outcome.code.map_or("none".to_owned(), |c| c.to_string()),
            crate::events::bound(last_stderr.trim(), 300)
        )
    })?;
    if value["is_error"].as_bool() == Some(true) {
        let reason = value["result"].as_str().unwrap_or("no reason given");
        return Err(format!("it reported an error: {reason}."));
    }
    Ok(value)
}

/// The whole question as one text, for a CLI that reads a prompt: what it
/// must answer with, and what was wrong with an earlier answer.
fn as_text(question: &Question, problem: Option<&(String, String)>) -> String {
    let mut full = String::new();
    if let Some(system) = &question.system {
        full.push_str(system);
        full.push_str("\n\n");
    }
    full.push_str(&question.prompt);
    full.push_str(&format!(
        "\n\nAnswer with only a JSON object with this JSON schema: {}",
        question.schema
    ));
    if let Some((previous, why)) = problem {
        full.push_str(&format!(
            "\n\nAn earlier answer was not usable: {why}\nIt was:\n{}\n",
            crate::events::bound(previous, 4000)
        ));
    }
    full
}

/// Asks an agent CLI through its backend, in an empty folder: its answer is
/// its last message.
async fn ask_agent(
    asker: &Asker,
    question: &Question,
    problem: Option<&(String, String)>,
) -> Result<(Answer, Usage), OneShotError> {
    let Asker::Agent {
        kind,
        executable,
        timeout,
        env,
    } = asker
    else {
        return Ok((Answer::Text(String::new()), Usage::default()));
    };
    let failed = |detail: String| OneShotError::Cli {
        what: question.what,
        program: kind.as_str().to_owned(),
        detail,
    };
    let folder =
        tempfile::tempdir().map_err(|e| failed(format!("no folder to run it in ({e})")))?;
    let backend = crate::agent::backend(*kind, executable.clone(), None, &Default::default())
        .map_err(|e| failed(e.to_string()))?;
    let mut spec = SessionSpec::new(folder.path(), as_text(question, problem));
    spec.permission = PermissionProfile::Edits;
    spec.timeout = Some(*timeout);
    spec.env = env.clone();
    spec.secrets = kind.secret_vars().iter().map(|v| v.to_string()).collect();
    let (tx, mut rx) = tokio::sync::mpsc::channel(256);
    let session = backend
        .start(&spec, tx)
        .map_err(|e| failed(e.to_string()))?;
    let (mut answer, mut usage) = (String::new(), Usage::default());
    while let Some(event) = rx.recv().await {
        match event {
            SessionEvent::AssistantText { text } => answer = text,
            SessionEvent::Result {
                summary,
                input_tokens,
                output_tokens,
                ..
            } => {
                answer = summary.unwrap_or(answer);
                usage.input_tokens = input_tokens;
                usage.output_tokens = output_tokens;
            }
            _ => {}
        }
    }
    let outcome = session.wait().await;
    if !outcome.succeeded() {
        return Err(failed(
            outcome
                .reason
                .unwrap_or_else(|| "it failed without saying why.".into()),
        ));
    }
    Ok((Answer::Text(answer), usage))
}

/// Reads a list of strings from `value[key]`, each trimmed, empty ones
/// dropped; `Err` names the key when it is not a list of strings.
pub fn strings_at(value: &Value, key: &str) -> Result<Vec<String>, String> {
    match value.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| {
                item.as_str()
                    .map(|s| s.trim().to_owned())
                    .ok_or_else(|| format!("Every item of \"{key}\" must be a string."))
            })
            .filter(|s| s.as_ref().map_or(true, |s| !s.is_empty()))
            .collect(),
        Some(_) => Err(format!("\"{key}\" must be a list of strings.")),
    }
}

/// The text at `value[key]`, trimmed; `Err` names the key when it is missing.
pub fn text_at(value: &Value, key: &str) -> Result<String, String> {
    value
        .get(key)
        .and_then(Value::as_str)
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("\"{key}\" must be a non-empty string."))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_inside_prose_and_fences() {
        let text = "Here you go:\n```json\n{\"a\": [1, 2]}\n```\nGood luck.";
        assert_eq!(json_in(text).expect("found")["a"][1], 2);
        assert!(json_in("no braces here").is_none());
    }

    #[test]
    fn lists_and_texts_say_what_is_wrong() {
        let v = serde_json::json!({"risks": ["a", " ", "b "], "bad": [1], "name": "  x "});
        assert_eq!(strings_at(&v, "risks").expect("strings"), ["a", "b"]);
        assert!(strings_at(&v, "bad")
            .expect_err("numbers")
            .contains("\"bad\""));
        assert_eq!(
            strings_at(&v, "missing").expect("none"),
            Vec::<String>::new()
        );
        assert_eq!(text_at(&v, "name").expect("text"), "x");
        assert!(text_at(&v, "risks").is_err());
    }
}
