//! Google's Gemini API as the Gemini CLI calls it with `GOOGLE_GEMINI_BASE_URL`:
//! `POST /v1beta/models/{model}:{method}`.
//!
//! `streamGenerateContent?alt=sse` and plain `generateContent` take the next
//! scripted [`Turn`]; text becomes `text` parts, tool calls `functionCall`
//! parts. A `generateContent` asking for JSON by schema is one of the CLI's
//! helper calls (its model router, for one): it is answered with an object
//! that fits the schema and uses no turn, so scripts hold only the
//! conversation. `countTokens` gets a rough count.

use std::io;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Map, Value};

use crate::script::{Reply, Turn};
use crate::wire::{data, sse};
use crate::{record, unknown, Shared};

pub(crate) async fn models(
    State(shared): State<Shared>,
    Path(rest): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((model, method)) = rest.split_once(':') else {
        return unknown(State(shared), Method::POST, uri, headers, body).await;
    };
    let model = model.to_owned();
    match method {
        "streamGenerateContent" | "generateContent" => {
            let (request, raw) = record(&Method::POST, &uri, &headers, &body);
            if let Some(schema) = json_schema(&request.body) {
                let text = from_schema(&schema).to_string();
                shared.lock().requests.push(request);
                let reply = Reply {
                    text: Some(text),
                    ..Reply::new()
                };
                return axum::Json(response(&model, parts(&reply), Some(&reply))).into_response();
            }
            let (turn, _) = shared.take_turn(request, &raw);
            answer(turn, method == "streamGenerateContent", &model)
        }
        "countTokens" => {
            let (request, raw) = record(&Method::POST, &uri, &headers, &body);
            shared.lock().requests.push(request);
            axum::Json(json!({ "totalTokens": raw.len() / 4 + 1 })).into_response()
        }
        _ => unknown(State(shared), Method::POST, uri, headers, body).await,
    }
}

/// The schema of a request that wants JSON back, if it is one.
fn json_schema(body: &Value) -> Option<Value> {
    let config = body.get("generationConfig")?;
    config
        .get("responseJsonSchema")
        .or_else(|| config.get("responseSchema"))
        .cloned()
}

/// The smallest value that fits `schema` (Gemini's or JSON Schema's type names).
fn from_schema(schema: &Value) -> Value {
    if let Some(first) = schema
        .get("enum")
        .and_then(Value::as_array)
        .and_then(|e| e.first())
    {
        return first.clone();
    }
    let kind = schema
        .get("type")
        .and_then(Value::as_str)
        .unwrap_or("object")
        .to_ascii_lowercase();
    match kind.as_str() {
        "string" => json!("mock"),
        "integer" | "number" => json!(1),
        "boolean" => json!(false),
        "array" => json!([]),
        _ => {
            let properties = schema.get("properties").and_then(Value::as_object);
            let object: Map<String, Value> = properties
                .into_iter()
                .flatten()
                .map(|(name, property)| (name.clone(), from_schema(property)))
                .collect();
            Value::Object(object)
        }
    }
}

fn answer(turn: Option<Turn>, stream: bool, model: &str) -> Response {
    let turn = turn.unwrap_or_else(|| {
        eprintln!(
            "mock-llm: the script has no turn left for this request; answering a closing text"
        );
        Turn::text("The mock's script has no more turns.")
    });
    match turn {
        Turn::Reply(reply) if stream => sse(stream_chunks(&reply, model), reply.delay_ms),
        Turn::Reply(reply) => {
            axum::Json(response(model, parts(&reply), Some(&reply))).into_response()
        }
        Turn::RateLimited { retry_after_secs } => {
            let mut response = error(
                StatusCode::TOO_MANY_REQUESTS,
                "RESOURCE_EXHAUSTED",
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
            StatusCode::INTERNAL_SERVER_ERROR,
            "INTERNAL",
            "The mock failed.",
        ),
        // Google answers a bad key with 400, not 401.
        Turn::Unauthorized => error(
            StatusCode::BAD_REQUEST,
            "INVALID_ARGUMENT",
            "API key not valid. Please pass a valid API key.",
        ),
        Turn::Overloaded => error(
            StatusCode::SERVICE_UNAVAILABLE,
            "UNAVAILABLE",
            "The mock is overloaded.",
        ),
        Turn::BadRequest { message } => {
            error(StatusCode::BAD_REQUEST, "INVALID_ARGUMENT", &message)
        }
        Turn::MalformedSse => {
            let start = response(model, vec![json!({"text": "Partial"})], None);
            sse(
                vec![
                    Ok(data(&start)),
                    Ok(Bytes::from_static(b"data: {not json\n\n")),
                ],
                0,
            )
        }
        Turn::DropMidStream => {
            let start = response(model, vec![json!({"text": "Partial"})], None);
            let cut = io::Error::new(
                io::ErrorKind::ConnectionReset,
                "the mock drops the connection",
            );
            sse(vec![Ok(data(&start)), Err(cut)], 0)
        }
    }
}

/// Google's error body: `{"error": {"code", "message", "status"}}`.
fn error(status: StatusCode, name: &str, message: &str) -> Response {
    let body = json!({"error": {"code": status.as_u16(), "message": message, "status": name}});
    (status, axum::Json(body)).into_response()
}

/// The reply's parts: its text, then one `functionCall` per tool call.
fn parts(reply: &Reply) -> Vec<Value> {
    let mut parts: Vec<Value> = reply.text.iter().map(|t| json!({ "text": t })).collect();
    parts.extend(
        reply
            .tool_uses
            .iter()
            .map(|call| json!({"functionCall": {"name": call.name, "args": call.input}})),
    );
    parts
}

/// One `GenerateContentResponse`; `last` adds the finish reason and the usage.
fn response(model: &str, parts: Vec<Value>, last: Option<&Reply>) -> Value {
    let mut candidate = json!({"content": {"role": "model", "parts": parts}, "index": 0});
    let mut value = json!({"modelVersion": model, "responseId": "mock-response"});
    if let Some(reply) = last {
        candidate["finishReason"] = json!("STOP");
        value["usageMetadata"] = json!({
            "promptTokenCount": reply.input_tokens,
            "candidatesTokenCount": reply.output_tokens,
            "totalTokenCount": reply.input_tokens + reply.output_tokens,
        });
    }
    value["candidates"] = json!([candidate]);
    value
}

/// The text in two chunks (so a client that keeps only the last one is
/// caught), the tool calls in the last chunk, which also ends the turn.
fn stream_chunks(reply: &Reply, model: &str) -> Vec<Result<Bytes, io::Error>> {
    let mut chunks = Vec::new();
    let mut rest = reply.clone();
    if let Some(text) = &reply.text {
        let split = text
            .char_indices()
            .nth(text.chars().count() / 2)
            .map_or(text.len(), |(i, _)| i);
        if split > 0 {
            chunks.push(response(model, vec![json!({"text": &text[..split]})], None));
        }
        rest.text = Some(text[split..].to_owned()).filter(|t| !t.is_empty());
    }
    let mut last = parts(&rest);
    if last.is_empty() {
        last.push(json!({"text": ""}));
    }
    chunks.push(response(model, last, Some(reply)));
    chunks.iter().map(|c| Ok(data(c))).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_schema_gets_an_object_with_every_property() {
        let schema = json!({"type": "OBJECT", "properties": {
            "complexity_reasoning": {"type": "STRING"},
            "complexity_score": {"type": "INTEGER"},
            "choice": {"type": "string", "enum": ["flash", "pro"]}
        }});
        assert_eq!(
            from_schema(&schema),
            json!({"complexity_reasoning": "mock", "complexity_score": 1, "choice": "flash"}),
            "the CLI's router validates these fields"
        );
    }
}
