//! Approach generation: N genuinely different ways to do one task.
//!
//! Through a model API with a tool whose JSON schema is the list (structured
//! output), or, without a key, through a one-shot `claude -p <prompt>
//! --output-format json`, whose `result` text holds the JSON. The answer is
//! validated (exactly N, distinct non-empty names, the same rules as a
//! user-edited list); a malformed answer is retried once with the problem
//! fed back, then reported.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;
use serde_json::{json, Value};

use crate::experiment::{validate_approaches, ApproachSpec};
use crate::llm::{Block, ChatRequest, LlmClient, LlmError, Message, Role, ToolDef};
use crate::process::ProcessSpec;

const TOOL: &str = "propose_approaches";

#[derive(Debug, thiserror::Error)]
pub enum ApproachError {
    #[error("The model did not give {n} usable approaches, even after being told what was wrong: {problem} Try again, or write the approaches yourself.")]
    Invalid { n: usize, problem: String },
    #[error("Ask for between 1 and {max} approaches, not {n}.")]
    Count { n: usize, max: usize },
    #[error("Could not ask the model for approaches: {0}")]
    Llm(#[from] LlmError),
    #[error("Could not run Claude Code to plan approaches: {detail}")]
    Claude { detail: String },
    #[error("Describe the task first: the approaches are ways to carry it out.")]
    NoTask,
    #[error(
        "Generating approaches was cancelled. Generate again, or write the approaches yourself."
    )]
    Cancelled,
}

impl ApproachError {
    pub fn code(&self) -> &'static str {
        match self {
            ApproachError::Invalid { .. } => "approaches.invalid",
            ApproachError::Count { .. } => "approaches.count",
            ApproachError::Llm(e) => e.code(),
            ApproachError::Claude { .. } => "approaches.claude",
            ApproachError::NoTask => "approaches.no_task",
            ApproachError::Cancelled => "approaches.cancelled",
        }
    }
}

/// What to plan.
#[derive(Debug, Clone, serde::Deserialize, ts_rs::TS)]
pub struct PlanRequest {
    pub task: String,
    pub n: usize,
    /// The user's wishes ("one should use a crate", "try without unsafe").
    pub hints: Vec<String>,
}

/// Who answers.
#[derive(Debug, Clone)]
pub enum Planner {
    Api(LlmClient),
    /// `claude` one-shot in `workdir` (the repository, so it can look around).
    ClaudeCli {
        executable: PathBuf,
        workdir: PathBuf,
        timeout: Duration,
        env: Vec<(String, String)>,
    },
}

impl Planner {
    /// The API when a key for `api`'s provider is set (keyring or
    /// environment), else Claude Code one-shot. Blocking: it may ask the keyring.
    pub fn choose(claude: PathBuf, workdir: PathBuf, api: &crate::llm::ApiEndpoint) -> Planner {
        let api = api
            .config()
            .ok()
            .and_then(|config| LlmClient::new(config).ok());
        match api {
            Some(client) => Planner::Api(client),
            None => Planner::ClaudeCli {
                executable: claude,
                workdir,
                timeout: Duration::from_secs(300),
                env: Vec::new(),
            },
        }
    }

    /// Who is asked, as a sentence for a progress line.
    pub fn stage(&self) -> &'static str {
        match self {
            Planner::Api(_) => "Asking the model API for approaches…",
            Planner::ClaudeCli { .. } => "Asking Claude Code (claude -p) for approaches…",
        }
    }
}

/// What a generation reports while it works.
#[derive(Debug, Clone, serde::Serialize, ts_rs::TS)]
pub struct GenerationProgress {
    /// Who was asked, as a sentence.
    pub stage: String,
    pub elapsed_ms: u64,
}

/// How often a generation reports that it is still working.
const GENERATION_BEAT: Duration = Duration::from_millis(250);

/// [`generate`], telling `progress` every quarter second that it still works.
pub async fn generate_reporting(
    planner: &Planner,
    request: &PlanRequest,
    mut progress: impl FnMut(GenerationProgress),
) -> Result<Vec<ApproachSpec>, ApproachError> {
    let started = std::time::Instant::now();
    let work = generate(planner, request);
    tokio::pin!(work);
    let mut beat = tokio::time::interval(GENERATION_BEAT);
    loop {
        tokio::select! {
            result = &mut work => return result,
            _ = beat.tick() => progress(GenerationProgress {
                stage: planner.stage().to_owned(),
                elapsed_ms: u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX),
            }),
        }
    }
}

pub async fn generate(
    planner: &Planner,
    request: &PlanRequest,
) -> Result<Vec<ApproachSpec>, ApproachError> {
    if request.task.trim().is_empty() {
        return Err(ApproachError::NoTask);
    }
    let max = crate::experiment::MAX_VARIANTS;
    if request.n == 0 || request.n > max {
        return Err(ApproachError::Count { n: request.n, max });
    }
    let prompt = prompt(request);
    let mut problem: Option<(String, String)> = None;
    for _ in 0..2 {
        let answer = match planner {
            Planner::Api(client) => ask_api(client, &prompt, problem.as_ref()).await?,
            Planner::ClaudeCli { .. } => ask_claude(planner, &prompt, problem.as_ref()).await?,
        };
        match parse(&answer, request.n) {
            Ok(approaches) => return Ok(approaches),
            Err(why) => problem = Some((answer_text(&answer), why)),
        }
    }
    let (_, why) = problem.unwrap_or_default();
    Err(ApproachError::Invalid {
        n: request.n,
        problem: why,
    })
}

/// The raw answer: a tool input (API) or a text (CLI, or a model that wrote JSON).
#[derive(Debug, Clone)]
enum Answer {
    Tool(Value),
    Text(String),
}

fn answer_text(answer: &Answer) -> String {
    match answer {
        Answer::Tool(input) => input.to_string(),
        Answer::Text(text) => text.clone(),
    }
}

pub fn prompt(request: &PlanRequest) -> String {
    let mut text = format!(
        "Propose exactly {n} genuinely different approaches to the coding task below. They will be \
         tried in parallel by separate agents, so make them differ in strategy (design, order of work, \
         libraries, trade-offs), not only in wording. For each give a short distinct name, a one-paragraph \
         description and concrete guidelines for the agent.\n\nTask:\n{task}\n",
        n = request.n,
        task = request.task.trim()
    );
    let hints: Vec<&str> = request
        .hints
        .iter()
        .map(|h| h.trim())
        .filter(|h| !h.is_empty())
        .collect();
    if !hints.is_empty() {
        text.push_str("\nThe user's wishes for the approaches:\n");
        for hint in hints {
            text.push_str(&format!("- {hint}\n"));
        }
    }
    text
}

fn schema() -> Value {
    json!({
        "type": "object",
        "properties": {"approaches": {"type": "array", "items": {
            "type": "object",
            "properties": {"name": {"type": "string"}, "description": {"type": "string"}, "guidelines": {"type": "string"}},
            "required": ["name", "description", "guidelines"]
        }}},
        "required": ["approaches"]
    })
}

const JSON_SHAPE: &str = "Answer with only a JSON object: {\"approaches\": [{\"name\": \"...\", \"description\": \"...\", \"guidelines\": \"...\"}]}.";

async fn ask_api(
    client: &LlmClient,
    prompt: &str,
    problem: Option<&(String, String)>,
) -> Result<Answer, ApproachError> {
    let mut messages = vec![Message::user_text(prompt)];
    if let Some((previous, why)) = problem {
        // Fed back as plain text: the earlier tool call's id is not needed to correct it.
        messages.push(Message {
            role: Role::Assistant,
            content: vec![Block::Text {
                text: previous.clone(),
            }],
        });
        messages.push(Message::user_text(format!(
            "That answer was not usable: {why} Call {TOOL} again with a corrected list."
        )));
    }
    let request = ChatRequest {
        system: None,
        messages,
        tools: vec![ToolDef {
            name: TOOL.to_owned(),
            description: "Give the list of approaches.".to_owned(),
            input_schema: schema(),
        }],
        force_tool: Some(TOOL.to_owned()),
    };
    let response = client.complete(&request).await?;
    let input = response
        .tool_uses()
        .find(|(_, name, _)| *name == TOOL)
        .map(|(_, _, input)| input.clone());
    Ok(match input {
        Some(input) => Answer::Tool(input),
        None => Answer::Text(response.text()),
    })
}

async fn ask_claude(
    planner: &Planner,
    prompt: &str,
    problem: Option<&(String, String)>,
) -> Result<Answer, ApproachError> {
    let Planner::ClaudeCli {
        executable,
        workdir,
        timeout,
        env,
    } = planner
    else {
        unreachable!("ask_claude is only called for the CLI planner")
    };
    let mut full = format!("{prompt}\n{JSON_SHAPE}");
    if let Some((previous, why)) = problem {
        full.push_str(&format!(
            "\n\nAn earlier answer was not usable: {why}\nIt was:\n{}\n",
            crate::events::bound(previous, 4000)
        ));
    }
    let mut spec = ProcessSpec::new(executable, workdir)
        .args(["-p", full.as_str(), "--output-format", "json"])
        .timeout(Some(*timeout));
    for (key, value) in env {
        spec = spec.env(key, value);
    }
    let value = crate::oneshot::claude_json(spec, *timeout)
        .await
        .map_err(|detail| ApproachError::Claude { detail })?;
    Ok(Answer::Text(
        value["result"].as_str().unwrap_or_default().to_owned(),
    ))
}

#[derive(Deserialize)]
struct Listed {
    approaches: Vec<ApproachSpec>,
}

/// The approaches in `answer`, or why they are unusable (a sentence the model reads).
fn parse(answer: &Answer, n: usize) -> Result<Vec<ApproachSpec>, String> {
    let value = match answer {
        Answer::Tool(input) => input.clone(),
        Answer::Text(text) => {
            json_in(text).ok_or("The answer contained no JSON object or array.")?
        }
    };
    let value = if value.is_array() {
        json!({ "approaches": value })
    } else {
        value
    };
    let listed: Listed = serde_json::from_value(value)
        .map_err(|e| format!("The JSON did not have the shape {{\"approaches\": [{{\"name\", \"description\", \"guidelines\"}}]}} ({e})."))?;
    let approaches: Vec<ApproachSpec> = listed
        .approaches
        .into_iter()
        .map(|a| ApproachSpec {
            name: a.name.trim().to_owned(),
            agent: None,
            model: None,
            ..a
        })
        .collect();
    if approaches.len() != n {
        return Err(format!(
            "Exactly {n} approaches were asked for, {} were given.",
            approaches.len()
        ));
    }
    validate_approaches(&approaches).map_err(|e| e.to_string())?;
    Ok(approaches)
}

/// The first JSON value in `text`, which may wrap it in prose or a code fence.
fn json_in(text: &str) -> Option<Value> {
    let start = text.find(['{', '['])?;
    let mut values = serde_json::Deserializer::from_str(&text[start..]).into_iter::<Value>();
    values.next()?.ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_is_found_inside_prose_and_fences() {
        let text = "Here you go:\n```json\n{\"approaches\": [{\"name\": \"A\"}]}\n```\nGood luck.";
        let found = json_in(text).expect("the object inside the fence is found");
        assert_eq!(
            found["approaches"][0]["name"], "A",
            "the whole object is read, not the prose"
        );
    }

    #[test]
    fn a_bare_array_is_accepted() {
        let answer = Answer::Text(r#"[{"name": "One"}, {"name": "Two"}]"#.into());
        let approaches = parse(&answer, 2).expect("a bare list is a valid answer");
        assert_eq!(approaches[1].name, "Two");
    }

    #[test]
    fn the_prompt_carries_hints_and_count() {
        let text = prompt(&PlanRequest {
            task: "Add a cache".into(),
            n: 3,
            hints: vec!["use moka".into(), " ".into()],
        });
        assert!(text.contains("exactly 3"), "the count is asked for: {text}");
        assert!(text.contains("- use moka"), "hints are listed: {text}");
        assert!(!text.contains("- \n"), "blank hints are dropped: {text}");
    }
}
