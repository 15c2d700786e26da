//! A scripted mock of the Anthropic Messages API and of OpenAI-compatible chat
//! completions, and of Google's Gemini API (see [`gemini`]), served on
//! 127.0.0.1 for Fanout's tests.
//!
//! `POST /v1/messages` (with or without `?beta=true`) answers Anthropic's SSE
//! stream when the request says `stream: true`, plain JSON otherwise;
//! `POST /v1/chat/completions` does the same in OpenAI's shape. Each request
//! takes the next [`Turn`] of its [`Conversation`] (see [`Script`]): a reply
//! (text and tool calls) or a fault. Every request is recorded for assertions.
//! Paths the mock does not know are recorded, logged on stderr and get a 404.
//! With `FANOUT_MOCK_LOG` set, every request is printed on stderr.
//!
//! Built on axum: a small, well-kept server on the tokio runtime the engine
//! already uses, whose streaming bodies make slow streams and dropped
//! connections easy to script.

mod gemini;
pub mod github;
mod script;
mod wire;

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{Body, Bytes};
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde::Serialize;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use github::{GitHubRequest, MockGitHub};
pub use script::{sample_approaches, Conversation, Reply, Script, ToolCall, Turn, WriteTool};

/// One request the mock received.
#[derive(Debug, Clone, Serialize)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub query: Option<String>,
    /// The body as JSON, or as a JSON string when it was not JSON.
    pub body: Value,
    /// Which conversation answered (its index in the script), if any.
    pub conversation: Option<usize>,
    /// The key the client sent (`x-api-key`, Gemini's `x-goog-api-key`, or a
    /// bearer token), so a test can tell that the key it set really reached
    /// the API.
    pub api_key: Option<String>,
}

impl RecordedRequest {
    /// The request's body as text, for "does it contain" assertions.
    pub fn body_text(&self) -> String {
        self.body.to_string()
    }
}

#[derive(Default)]
struct Inner {
    script: Script,
    cursors: Vec<usize>,
    requests: Vec<RecordedRequest>,
    next_tool_id: u64,
}

#[derive(Clone, Default)]
struct Shared(Arc<Mutex<Inner>>);

impl Shared {
    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panicking handler cannot leave the state half-updated in a way
        // that matters to a test double; keep serving.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Records the request and picks its turn.
    fn take_turn(&self, mut request: RecordedRequest, raw: &str) -> (Option<Turn>, u64) {
        let mut inner = self.lock();
        let chosen = pick_conversation(&inner.script, raw);
        request.conversation = chosen;
        let request_body = request.body.clone();
        inner.requests.push(request);
        let Some(index) = chosen else {
            return (None, 0);
        };
        let conversation = &inner.script.conversations[index];
        let position = if conversation.by_depth {
            assistant_messages(&request_body)
        } else {
            inner.cursors[index]
        };
        let turn = conversation.turns.get(position).cloned().map(|turn| {
            match (turn, working_directory(raw)) {
                (Turn::Reply(reply), Some(cwd)) => Turn::Reply(reply.with_cwd(&cwd)),
                (turn, _) => turn,
            }
        });
        inner.cursors[index] += 1;
        let first_id = inner.next_tool_id;
        inner.next_tool_id += 16;
        (turn, first_id)
    }
}

/// Earlier model turns in the request: Anthropic's and OpenAI's `messages`
/// with role `assistant`, Gemini's `contents` with role `model`.
fn assistant_messages(body: &Value) -> usize {
    let count = |key: &str, role: &str| {
        body[key]
            .as_array()
            .map_or(0, |m| m.iter().filter(|m| m["role"] == role).count())
    };
    count("messages", "assistant") + count("contents", "model")
}

/// The working directory Claude Code names in its system prompt, or the
/// first workspace directory in the Gemini CLI's session context.
fn working_directory(raw: &str) -> Option<String> {
    const MARKERS: [&str; 3] = [
        "Primary working directory: ",
        "Working directory: ",
        "Workspace Directories:**\\n  - ",
    ];
    let start = MARKERS
        .iter()
        .find_map(|m| raw.find(m).map(|i| i + m.len()))?;
    let rest = &raw[start..];
    // The body is JSON: the path ends at an escaped newline or a quote.
    let end = rest.find(['\\', '"', '\n']).unwrap_or(rest.len());
    Some(rest[..end].trim().to_owned()).filter(|p| !p.is_empty())
}

fn pick_conversation(script: &Script, body: &str) -> Option<usize> {
    let conversations = &script.conversations;
    conversations
        .iter()
        .position(|c| c.marker.as_deref().is_some_and(|m| body.contains(m)))
        .or_else(|| conversations.iter().position(|c| c.marker.is_none()))
}

/// A running mock; stops when dropped.
pub struct MockServer {
    addr: SocketAddr,
    shared: Shared,
    task: JoinHandle<()>,
}

impl MockServer {
    /// Binds 127.0.0.1 on an ephemeral port and serves `script`.
    pub async fn start(script: Script) -> io::Result<MockServer> {
        let shared = Shared::default();
        shared.lock().cursors = vec![0; script.conversations.len()];
        shared.lock().script = script;
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = router(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("mock-llm: the server stopped: {error}");
            }
        });
        Ok(MockServer { addr, shared, task })
    }

    /// `http://127.0.0.1:PORT`, the base URL to give a client.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, in arrival order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Requests to the model endpoints only (not HEAD probes or unknown paths).
    pub fn model_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| {
                r.path == "/v1/messages"
                    || r.path == "/v1/chat/completions"
                    || r.path.ends_with(":streamGenerateContent")
                    || r.path.ends_with(":generateContent")
            })
            .collect()
    }

    /// Waits until the server task ends (never, unless it fails): for the binary.
    pub async fn serve_forever(mut self) {
        let task = std::mem::replace(&mut self.task, tokio::spawn(async {}));
        let _ = task.await;
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn router(shared: Shared) -> Router {
    Router::new()
        .route("/", get(ok))
        .route("/api/hello", get(ok))
        .route("/v1/messages", post(messages))
        .route("/v1/messages/count_tokens", post(count_tokens))
        .route("/v1/chat/completions", post(chat_completions))
        .route("/v1beta/models/{*rest}", post(gemini::models))
        .fallback(unknown)
        .with_state(shared)
}

async fn ok() -> StatusCode {
    StatusCode::OK
}

fn record(
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &Bytes,
) -> (RecordedRequest, String) {
    let raw = String::from_utf8_lossy(body).into_owned();
    let parsed = serde_json::from_str(&raw).unwrap_or_else(|_| Value::String(raw.clone()));
    if std::env::var_os("FANOUT_MOCK_LOG").is_some() {
        eprintln!("mock-llm: {method} {uri} {raw}");
    }
    let request = RecordedRequest {
        method: method.to_string(),
        path: uri.path().to_owned(),
        query: uri.query().map(str::to_owned),
        body: parsed,
        conversation: None,
        api_key: api_key(headers),
    };
    (request, raw)
}

fn api_key(headers: &HeaderMap) -> Option<String> {
    let text = |name: &str| headers.get(name)?.to_str().ok().map(str::to_owned);
    text("x-api-key")
        .or_else(|| text("x-goog-api-key"))
        .or_else(|| text("authorization").map(|v| v.trim_start_matches("Bearer ").to_owned()))
}

async fn messages(
    State(shared): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (request, raw) = record(&Method::POST, &uri, &headers, &body);
    let (stream, model) = stream_and_model(&request.body);
    let (turn, first_id) = shared.take_turn(request, &raw);
    wire::answer(wire::Api::Anthropic, turn, stream, &model, first_id)
}

async fn chat_completions(
    State(shared): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (request, raw) = record(&Method::POST, &uri, &headers, &body);
    let (stream, model) = stream_and_model(&request.body);
    let (turn, first_id) = shared.take_turn(request, &raw);
    wire::answer(wire::Api::OpenAi, turn, stream, &model, first_id)
}

fn stream_and_model(body: &Value) -> (bool, String) {
    let stream = body.get("stream").and_then(Value::as_bool).unwrap_or(false);
    let model = body
        .get("model")
        .and_then(Value::as_str)
        .unwrap_or("mock-model")
        .to_owned();
    (stream, model)
}

/// A rough count, enough for a CLI that only wants a number.
async fn count_tokens(
    State(shared): State<Shared>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (request, raw) = record(&Method::POST, &uri, &headers, &body);
    shared.lock().requests.push(request);
    axum::Json(json!({ "input_tokens": raw.len() / 4 + 1 })).into_response()
}

pub(crate) async fn unknown(
    State(shared): State<Shared>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    eprintln!("mock-llm: unknown path {method} {uri}; answering 404");
    let (request, _) = record(&method, &uri, &headers, &body);
    shared.lock().requests.push(request);
    let error = json!({"type": "error", "error": {"type": "not_found_error", "message": format!("The mock does not serve {}.", uri.path())}});
    (StatusCode::NOT_FOUND, axum::Json(error)).into_response()
}

/// Builds a streaming body from chunks, each after `delay_ms`; an `Err` chunk
/// cuts the connection there.
pub(crate) fn streaming_body(chunks: Vec<Result<Bytes, io::Error>>, delay_ms: u64) -> Body {
    use futures_util::StreamExt;
    let stream = futures_util::stream::iter(chunks).then(move |chunk| async move {
        if delay_ms > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(delay_ms)).await;
        }
        chunk
    });
    Body::from_stream(stream)
}
