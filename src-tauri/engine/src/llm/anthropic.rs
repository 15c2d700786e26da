//! The Anthropic Messages API, streamed (`POST /v1/messages`, `stream: true`).

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::sse;
use super::{
    status_error, transport_error, Block, ChatRequest, ChatResponse, LlmConfig, LlmError, Role,
    Usage,
};
use crate::secrets::Provider;

const VERSION: &str = "2023-06-01";
const PROVIDER: Provider = Provider::Anthropic;

pub(super) async fn send(
    http: &reqwest::Client,
    config: &LlmConfig,
    request: &ChatRequest,
) -> Result<ChatResponse, LlmError> {
    let url = format!("{}/v1/messages", config.base_url.trim_end_matches('/'));
    let response = http
        .post(&url)
        .header("x-api-key", config.api_key.expose())
        .header("anthropic-version", VERSION)
        .json(&body(config, request))
        .send()
        .await
        .map_err(|e| transport_error(PROVIDER, &url, e))?;
    if !response.status().is_success() {
        return Err(status_error(PROVIDER, response).await);
    }
    let mut answer = Answer::default();
    sse::read(response, PROVIDER, "message_stop", |event| {
        answer.apply(&event.data)?;
        Ok(answer.done)
    })
    .await?;
    Ok(answer.finish())
}

fn body(config: &LlmConfig, request: &ChatRequest) -> Value {
    let messages: Vec<Value> = request
        .messages
        .iter()
        .map(|m| {
            json!({
                "role": match m.role { Role::User => "user", Role::Assistant => "assistant" },
                "content": m.content.iter().map(block).collect::<Vec<_>>(),
            })
        })
        .collect();
    let mut body = json!({
        "model": config.model,
        "max_tokens": config.max_tokens,
        "stream": true,
        "messages": messages,
    });
    if let Some(system) = &request.system {
        body["system"] = json!(system);
    }
    if !request.tools.is_empty() {
        body["tools"] = json!(request.tools);
    }
    if let Some(tool) = &request.force_tool {
        body["tool_choice"] = json!({"type": "tool", "name": tool});
    }
    body
}

fn block(block: &Block) -> Value {
    match block {
        Block::Text { text } => json!({"type": "text", "text": text}),
        Block::ToolUse { id, name, input } => {
            json!({"type": "tool_use", "id": id, "name": name, "input": input})
        }
        Block::ToolResult {
            tool_use_id,
            content,
            is_error,
        } => {
            json!({"type": "tool_result", "tool_use_id": tool_use_id, "content": content, "is_error": is_error})
        }
    }
}

/// A content block while its deltas arrive.
enum Partial {
    Text(String),
    Tool {
        id: String,
        name: String,
        json: String,
    },
}

#[derive(Default)]
struct Answer {
    blocks: BTreeMap<u64, Partial>,
    stop_reason: Option<String>,
    usage: Usage,
    done: bool,
}

fn malformed(detail: impl Into<String>) -> LlmError {
    LlmError::Stream {
        provider: PROVIDER,
        detail: detail.into(),
    }
}

impl Answer {
    fn apply(&mut self, data: &str) -> Result<(), LlmError> {
        let event: Value = serde_json::from_str(data)
            .map_err(|e| malformed(format!("an event was not valid JSON ({e})")))?;
        let index = event["index"].as_u64().unwrap_or(0);
        match event["type"].as_str().unwrap_or_default() {
            "message_start" => self.read_usage(&event["message"]["usage"]),
            "content_block_start" => {
                let start = &event["content_block"];
                let partial = match start["type"].as_str() {
                    Some("tool_use") => Partial::Tool {
                        id: start["id"].as_str().unwrap_or_default().to_owned(),
                        name: start["name"].as_str().unwrap_or_default().to_owned(),
                        json: String::new(),
                    },
                    _ => Partial::Text(start["text"].as_str().unwrap_or_default().to_owned()),
                };
                self.blocks.insert(index, partial);
            }
            "content_block_delta" => {
                let delta = &event["delta"];
                match (self.blocks.get_mut(&index), delta["type"].as_str()) {
                    (Some(Partial::Text(text)), Some("text_delta")) => {
                        text.push_str(delta["text"].as_str().unwrap_or_default())
                    }
                    (Some(Partial::Tool { json, .. }), Some("input_json_delta")) => {
                        json.push_str(delta["partial_json"].as_str().unwrap_or_default())
                    }
                    // Thinking and signature deltas are not kept by this client.
                    _ => {}
                }
            }
            "message_delta" => {
                if let Some(reason) = event["delta"]["stop_reason"].as_str() {
                    self.stop_reason = Some(reason.to_owned());
                }
                if let Some(out) = event["usage"]["output_tokens"].as_u64() {
                    self.usage.output_tokens = out;
                }
            }
            "message_stop" => self.done = true,
            "error" => {
                let message = event["error"]["message"]
                    .as_str()
                    .unwrap_or("unknown error");
                return Err(malformed(format!(
                    "the server sent an error event: {message}"
                )));
            }
            _ => {}
        }
        Ok(())
    }

    fn read_usage(&mut self, usage: &Value) {
        let n = |k: &str| usage[k].as_u64().unwrap_or(0);
        self.usage.input_tokens = n("input_tokens");
        self.usage.output_tokens = n("output_tokens");
        self.usage.cache_read = n("cache_read_input_tokens");
        self.usage.cache_write = n("cache_creation_input_tokens");
    }

    fn finish(self) -> ChatResponse {
        let content = self
            .blocks
            .into_values()
            .map(|partial| match partial {
                Partial::Text(text) => Block::Text { text },
                Partial::Tool { id, name, json } => Block::ToolUse {
                    id,
                    name,
                    // An empty input arrives as no delta at all.
                    input: serde_json::from_str(&json).unwrap_or_else(|_| {
                        if json.trim().is_empty() {
                            json!({})
                        } else {
                            Value::String(json)
                        }
                    }),
                },
            })
            .collect();
        ChatResponse {
            content,
            stop_reason: self.stop_reason,
            usage: self.usage,
            retries: Vec::new(),
        }
    }
}
