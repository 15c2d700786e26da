//! The two APIs' wire formats: Anthropic Messages and OpenAI chat completions.

use std::io;

use axum::body::{Body, Bytes};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::script::{Reply, Turn};
use crate::streaming_body;

#[derive(Debug, Clone, Copy)]
pub(crate) enum Api {
    Anthropic,
    OpenAi,
}

/// The response for one request given its turn (`None`: the script ran out).
pub(crate) fn answer(
    api: Api,
    turn: Option<Turn>,
    stream: bool,
    model: &str,
    first_id: u64,
) -> Response {
    let turn = turn.unwrap_or_else(|| {
        eprintln!(
            "mock-llm: the script has no turn left for this request; answering a closing text"
        );
        Turn::text("The mock's script has no more turns.")
    });
    match turn {
        Turn::Reply(reply) => match (api, stream) {
            (Api::Anthropic, true) => {
                sse(anthropic_stream(&reply, model, first_id), reply.delay_ms)
            }
            (Api::Anthropic, false) => {
                axum::Json(anthropic_message(&reply, model, first_id)).into_response()
            }
            (Api::OpenAi, true) => sse(openai_stream(&reply, model, first_id), reply.delay_ms),
            (Api::OpenAi, false) => {
                axum::Json(openai_completion(&reply, model, first_id)).into_response()
            }
        },
        Turn::RateLimited { retry_after_secs } => {
            let mut response = error(
                api,
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limit_error",
                "Rate limited by the mock.",
            );
            response.headers_mut().insert(
                header::RETRY_AFTER,
                retry_after_secs
                    .to_string()
                    .parse()
                    .expect("digits are a valid header value"),
            );
            response
        }
        Turn::ServerError => error(
            api,
            StatusCode::INTERNAL_SERVER_ERROR,
            "api_error",
            "The mock failed.",
        ),
        Turn::BadRequest { message } => error(
            api,
            StatusCode::BAD_REQUEST,
            "invalid_request_error",
            &message,
        ),
        Turn::Unauthorized => error(
            api,
            StatusCode::UNAUTHORIZED,
            "authentication_error",
            "invalid x-api-key",
        ),
        Turn::Overloaded => error(
            api,
            StatusCode::from_u16(529).expect("529 is a valid status code"),
            "overloaded_error",
            "The mock is overloaded.",
        ),
        Turn::MalformedSse => {
            let start = match api {
                Api::Anthropic => event("message_start", &message_start(model, 1)),
                Api::OpenAi => data(&chunk(model, json!({"role": "assistant"}), None)),
            };
            sse(
                vec![
                    Ok(start),
                    Ok(Bytes::from_static(
                        b"event: content_block_delta\ndata: {not json\n\n",
                    )),
                ],
                0,
            )
        }
        Turn::DropMidStream => {
            let start = match api {
                Api::Anthropic => event("message_start", &message_start(model, 1)),
                Api::OpenAi => data(&chunk(
                    model,
                    json!({"role": "assistant", "content": "Partial"}),
                    None,
                )),
            };
            let cut = io::Error::new(
                io::ErrorKind::ConnectionReset,
                "the mock drops the connection",
            );
            sse(vec![Ok(start), Err(cut)], 0)
        }
    }
}

fn error(api: Api, status: StatusCode, kind: &str, message: &str) -> Response {
    let body = match api {
        Api::Anthropic => json!({"type": "error", "error": {"type": kind, "message": message}}),
        Api::OpenAi => json!({"error": {"type": kind, "message": message}}),
    };
    (status, axum::Json(body)).into_response()
}

pub(crate) fn sse(chunks: Vec<Result<Bytes, io::Error>>, delay_ms: u64) -> Response {
    Response::builder()
        .header(header::CONTENT_TYPE, "text/event-stream")
        .header(header::CACHE_CONTROL, "no-cache")
        .body(streaming_body(chunks, delay_ms))
        .unwrap_or_else(|_| Response::new(Body::empty()))
}

fn event(name: &str, payload: &Value) -> Bytes {
    Bytes::from(format!("event: {name}\ndata: {payload}\n\n"))
}

pub(crate) fn data(payload: &Value) -> Bytes {
    Bytes::from(format!("data: {payload}\n\n"))
}

fn tool_id(prefix: &str, first_id: u64, index: usize) -> String {
    format!("{prefix}_mock_{:04}", first_id + index as u64)
}

fn stop_reason(reply: &Reply) -> &'static str {
    if reply.tool_uses.is_empty() {
        "end_turn"
    } else {
        "tool_use"
    }
}

fn message_start(model: &str, input_tokens: u64) -> Value {
    json!({
        "type": "message_start",
        "message": {
            "id": "msg_mock", "type": "message", "role": "assistant", "model": model,
            "content": [], "stop_reason": null, "stop_sequence": null,
            "usage": {"input_tokens": input_tokens, "output_tokens": 1,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        }
    })
}

fn anthropic_stream(reply: &Reply, model: &str, first_id: u64) -> Vec<Result<Bytes, io::Error>> {
    let mut out = vec![
        event("message_start", &message_start(model, reply.input_tokens)),
        event("ping", &json!({"type": "ping"})),
    ];
    let mut index = 0;
    if let Some(text) = &reply.text {
        out.push(event("content_block_start", &json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}})));
        // Two deltas, so a client that keeps only the last one is caught.
        let split = text
            .char_indices()
            .nth(text.chars().count() / 2)
            .map_or(text.len(), |(i, _)| i);
        for part in [&text[..split], &text[split..]] {
            out.push(event("content_block_delta", &json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": part}})));
        }
        out.push(event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    for (i, call) in reply.tool_uses.iter().enumerate() {
        let id = tool_id("toolu", first_id, i);
        out.push(event("content_block_start", &json!({"type": "content_block_start", "index": index, "content_block": {"type": "tool_use", "id": id, "name": call.name, "input": {}}})));
        let input = call.input.to_string();
        let split = input.len() / 2;
        let split = (0..=split)
            .rev()
            .find(|&i| input.is_char_boundary(i))
            .unwrap_or(0);
        for part in [&input[..split], &input[split..]] {
            out.push(event("content_block_delta", &json!({"type": "content_block_delta", "index": index, "delta": {"type": "input_json_delta", "partial_json": part}})));
        }
        out.push(event(
            "content_block_stop",
            &json!({"type": "content_block_stop", "index": index}),
        ));
        index += 1;
    }
    out.push(event("message_delta", &json!({"type": "message_delta", "delta": {"stop_reason": stop_reason(reply), "stop_sequence": null}, "usage": {"output_tokens": reply.output_tokens}})));
    out.push(event("message_stop", &json!({"type": "message_stop"})));
    out.into_iter().map(Ok).collect()
}

fn anthropic_message(reply: &Reply, model: &str, first_id: u64) -> Value {
    let mut content: Vec<Value> = reply
        .text
        .iter()
        .map(|t| json!({"type": "text", "text": t}))
        .collect();
    content.extend(reply.tool_uses.iter().enumerate().map(|(i, call)| {
        json!({"type": "tool_use", "id": tool_id("toolu", first_id, i), "name": call.name, "input": call.input})
    }));
    json!({
        "id": "msg_mock", "type": "message", "role": "assistant", "model": model,
        "content": content, "stop_reason": stop_reason(reply), "stop_sequence": null,
        "usage": {"input_tokens": reply.input_tokens, "output_tokens": reply.output_tokens}
    })
}

fn chunk(model: &str, delta: Value, finish: Option<&str>) -> Value {
    json!({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "model": model,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]
    })
}

fn finish_reason(reply: &Reply) -> &'static str {
    if reply.tool_uses.is_empty() {
        "stop"
    } else {
        "tool_calls"
    }
}

fn openai_stream(reply: &Reply, model: &str, first_id: u64) -> Vec<Result<Bytes, io::Error>> {
    let mut out = vec![data(&chunk(
        model,
        json!({"role": "assistant", "content": ""}),
        None,
    ))];
    if let Some(text) = &reply.text {
        let split = text
            .char_indices()
            .nth(text.chars().count() / 2)
            .map_or(text.len(), |(i, _)| i);
        for part in [&text[..split], &text[split..]] {
            out.push(data(&chunk(model, json!({"content": part}), None)));
        }
    }
    for (i, call) in reply.tool_uses.iter().enumerate() {
        let head = json!({"tool_calls": [{"index": i, "id": tool_id("call", first_id, i), "type": "function",
                                          "function": {"name": call.name, "arguments": ""}}]});
        out.push(data(&chunk(model, head, None)));
        let arguments = call.input.to_string();
        let split = (0..=arguments.len() / 2)
            .rev()
            .find(|&k| arguments.is_char_boundary(k))
            .unwrap_or(0);
        for part in [&arguments[..split], &arguments[split..]] {
            out.push(data(&chunk(
                model,
                json!({"tool_calls": [{"index": i, "function": {"arguments": part}}]}),
                None,
            )));
        }
    }
    out.push(data(&chunk(model, json!({}), Some(finish_reason(reply)))));
    out.push(data(&json!({
        "id": "chatcmpl-mock", "object": "chat.completion.chunk", "model": model, "choices": [],
        "usage": {"prompt_tokens": reply.input_tokens, "completion_tokens": reply.output_tokens,
                  "total_tokens": reply.input_tokens + reply.output_tokens}
    })));
    out.push(Bytes::from_static(b"data: [DONE]\n\n"));
    out.into_iter().map(Ok).collect()
}

fn openai_completion(reply: &Reply, model: &str, first_id: u64) -> Value {
    let tool_calls: Vec<Value> = reply
        .tool_uses
        .iter()
        .enumerate()
        .map(|(i, call)| {
            json!({"id": tool_id("call", first_id, i), "type": "function",
                   "function": {"name": call.name, "arguments": call.input.to_string()}})
        })
        .collect();
    let mut message = json!({"role": "assistant", "content": reply.text});
    if !tool_calls.is_empty() {
        message["tool_calls"] = Value::Array(tool_calls);
    }
    json!({
        "id": "chatcmpl-mock", "object": "chat.completion", "model": model,
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason(reply)}],
        "usage": {"prompt_tokens": reply.input_tokens, "completion_tokens": reply.output_tokens,
                  "total_tokens": reply.input_tokens + reply.output_tokens}
    })
}
