//! OpenAI-compatible chat completions, streamed (`POST {base}/chat/completions`):
//! OpenAI itself and local model servers that speak its dialect.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use super::sse;
use super::{
    status_error, transport_error, Block, ChatRequest, ChatResponse, LlmConfig, LlmError, Role,
    Usage,
};
use crate::secrets::Provider;

const PROVIDER: Provider = Provider::OpenAi;

pub(super) async fn send(
    http: &reqwest::Client,
    config: &LlmConfig,
    request: &ChatRequest,
) -> Result<ChatResponse, LlmError> {
    let url = format!("{}/chat/completions", config.base_url.trim_end_matches('/'));
    let mut builder = http.post(&url).json(&body(config, request));
    // Local servers often take no key at all.
    if !config.api_key.expose().is_empty() {
        builder = builder.bearer_auth(config.api_key.expose());
    }
    let response = builder
        .send()
        .await
        .map_err(|e| transport_error(PROVIDER, &url, e))?;
    if !response.status().is_success() {
        return Err(status_error(PROVIDER, response).await);
    }
    let mut answer = Answer::default();
    sse::read(response, PROVIDER, "[DONE]", |event| {
        if event.data.trim() == "[DONE]" {
            return Ok(true);
        }
        answer.apply(&event.data)?;
        Ok(false)
    })
    .await?;
    Ok(answer.finish())
}

fn malformed(detail: impl Into<String>) -> LlmError {
    LlmError::Stream {
        provider: PROVIDER,
        detail: detail.into(),
    }
}

fn body(config: &LlmConfig, request: &ChatRequest) -> Value {
    let mut messages = Vec::new();
    if let Some(system) = &request.system {
        messages.push(json!({"role": "system", "content": system}));
    }
    for message in &request.messages {
        match message.role {
            Role::Assistant => messages.push(assistant(&message.content)),
            Role::User => {
                // Tool results are messages of their own in this dialect.
                let mut text = Vec::new();
                for block in &message.content {
                    match block {
                        Block::ToolResult {
                            tool_use_id,
                            content,
                            is_error,
                        } => messages.push(json!({
                            "role": "tool",
                            "tool_call_id": tool_use_id,
                            "content": if *is_error { format!("Error: {content}") } else { content.clone() },
                        })),
                        Block::Text { text: t } => text.push(t.as_str()),
                        Block::ToolUse { .. } => {}
                    }
                }
                if !text.is_empty() {
                    messages.push(json!({"role": "user", "content": text.join("\n")}));
                }
            }
        }
    }
    let mut body = json!({
        "model": config.model,
        "max_tokens": config.max_tokens,
        "stream": true,
        "stream_options": {"include_usage": true},
        "messages": messages,
    });
    if !request.tools.is_empty() {
        let tools: Vec<Value> = request
            .tools
            .iter()
            .map(|t| json!({"type": "function", "function": {"name": t.name, "description": t.description, "parameters": t.input_schema}}))
            .collect();
        body["tools"] = Value::Array(tools);
    }
    if let Some(tool) = &request.force_tool {
        body["tool_choice"] = json!({"type": "function", "function": {"name": tool}});
    }
    body
}

fn assistant(content: &[Block]) -> Value {
    let text: Vec<&str> = content
        .iter()
        .filter_map(|b| match b {
            Block::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect();
    let calls: Vec<Value> = content
        .iter()
        .filter_map(|b| match b {
            Block::ToolUse { id, name, input } => Some(json!({
                "id": id, "type": "function",
                "function": {"name": name, "arguments": input.to_string()},
            })),
            _ => None,
        })
        .collect();
    let mut message = json!({"role": "assistant", "content": if text.is_empty() { Value::Null } else { json!(text.join("\n")) }});
    if !calls.is_empty() {
        message["tool_calls"] = Value::Array(calls);
    }
    message
}

#[derive(Default)]
struct Call {
    id: String,
    name: String,
    arguments: String,
}

#[derive(Default)]
struct Answer {
    text: String,
    calls: BTreeMap<u64, Call>,
    finish: Option<String>,
    usage: Usage,
}

impl Answer {
    fn apply(&mut self, data: &str) -> Result<(), LlmError> {
        let chunk: Value = serde_json::from_str(data)
            .map_err(|e| malformed(format!("a chunk was not valid JSON ({e})")))?;
        if let Some(message) = chunk["error"]["message"].as_str() {
            return Err(malformed(format!("the server sent an error: {message}")));
        }
        if let Some(usage) = chunk.get("usage").filter(|u| u.is_object()) {
            self.usage.input_tokens = usage["prompt_tokens"].as_u64().unwrap_or(0);
            self.usage.output_tokens = usage["completion_tokens"].as_u64().unwrap_or(0);
        }
        let Some(choice) = chunk["choices"].get(0) else {
            return Ok(());
        };
        let delta = &choice["delta"];
        if let Some(text) = delta["content"].as_str() {
            self.text.push_str(text);
        }
        for call in delta["tool_calls"].as_array().into_iter().flatten() {
            let entry = self
                .calls
                .entry(call["index"].as_u64().unwrap_or(0))
                .or_default();
            if let Some(id) = call["id"].as_str() {
                entry.id = id.to_owned();
            }
            if let Some(name) = call["function"]["name"].as_str() {
                entry.name.push_str(name);
            }
            if let Some(arguments) = call["function"]["arguments"].as_str() {
                entry.arguments.push_str(arguments);
            }
        }
        if let Some(reason) = choice["finish_reason"].as_str() {
            self.finish = Some(reason.to_owned());
        }
        Ok(())
    }

    fn finish(self) -> ChatResponse {
        let mut content = Vec::new();
        if !self.text.is_empty() {
            content.push(Block::Text { text: self.text });
        }
        for (index, call) in self.calls {
            let input = serde_json::from_str(&call.arguments).unwrap_or_else(|_| {
                if call.arguments.trim().is_empty() {
                    json!({})
                } else {
                    Value::String(call.arguments)
                }
            });
            let id = if call.id.is_empty() {
                format!("call_{index}")
            } else {
                call.id
            };
            content.push(Block::ToolUse {
                id,
                name: call.name,
                input,
            });
        }
        let stop_reason = self.finish.map(|r| {
            match r.as_str() {
                "tool_calls" | "function_call" => "tool_use",
                "stop" => "end_turn",
                "length" => "max_tokens",
                other => other,
            }
            .to_owned()
        });
        ChatResponse {
            content,
            stop_reason,
            usage: self.usage,
            retries: Vec::new(),
        }
    }
}
