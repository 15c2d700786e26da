//! A mock of the one GitHub REST call Fanout makes (`POST
//! /repos/{owner}/{repo}/pulls`), on 127.0.0.1: it records every request
//! and answers with the scripted status and JSON body, in order (the last
//! answer repeats).

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use axum::{Json, Router};
use serde_json::Value;
use tokio::net::TcpListener;

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct GitHubRequest {
    pub repo: String,
    pub authorization: Option<String>,
    pub body: Value,
}

#[derive(Default)]
struct Recorded {
    requests: Vec<GitHubRequest>,
    answers: Vec<(u16, Value)>,
}

type Shared = Arc<Mutex<Recorded>>;

pub struct MockGitHub {
    addr: SocketAddr,
    shared: Shared,
    task: tokio::task::JoinHandle<()>,
}

impl MockGitHub {
    /// Serves until dropped, answering with `answers` in turn.
    pub async fn start(answers: Vec<(u16, Value)>) -> std::io::Result<MockGitHub> {
        let shared: Shared = Arc::new(Mutex::new(Recorded {
            requests: Vec::new(),
            answers,
        }));
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let app = Router::new()
            .route("/repos/{owner}/{repo}/pulls", post(pulls))
            .with_state(shared.clone());
        let task = tokio::spawn(async move {
            if let Err(error) = axum::serve(listener, app).await {
                eprintln!("mock github: the server stopped: {error}");
            }
        });
        Ok(MockGitHub { addr, shared, task })
    }

    /// The API base URL to give a client (as `GITHUB_API_URL`).
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn requests(&self) -> Vec<GitHubRequest> {
        self.shared
            .lock()
            .map(|r| r.requests.clone())
            .unwrap_or_default()
    }
}

impl Drop for MockGitHub {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn pulls(
    State(shared): State<Shared>,
    Path((owner, repo)): Path<(String, String)>,
    headers: HeaderMap,
    Json(body): Json<Value>,
) -> (StatusCode, Json<Value>) {
    let mut recorded = shared.lock().unwrap_or_else(|e| e.into_inner());
    recorded.requests.push(GitHubRequest {
        repo: format!("{owner}/{repo}"),
        authorization: headers
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned),
        body,
    });
    let at = recorded.requests.len() - 1;
    let (status, answer) = recorded
        .answers
        .get(at)
        .or(recorded.answers.last())
        .cloned()
        .unwrap_or((500, Value::Null));
    (
        StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
        Json(answer),
    )
}
