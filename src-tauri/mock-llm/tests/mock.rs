//! The mock itself: keyed conversations, probes, unknown paths, the binary.
//! (Its SSE and faults are exercised through the engine's clients in
//! src-tauri/engine/tests/api_agent.rs.)

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use fanout_mock_llm::{MockServer, Script, Turn};
use serde_json::{json, Value};

async fn post(url: &str, body: Value) -> (u16, String) {
    let response = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .expect("the mock answers");
    let status = response.status().as_u16();
    (status, response.text().await.expect("a body"))
}

#[tokio::test]
async fn keyed_conversations_answer_their_own_sessions() {
    let script = Script::default()
        .keyed("approach 1", vec![Turn::text("one-a"), Turn::text("one-b")])
        .keyed("approach 2", vec![Turn::text("two-a")]);
    let server = MockServer::start(script).await.expect("mock starts");
    let url = format!("{}/v1/messages", server.url());
    let ask = |marker: &str| json!({"model": "m", "messages": [{"role": "user", "content": format!("Do it, {marker}.")}]});
    let (_, first) = post(&url, ask("approach 2")).await;
    let (_, second) = post(&url, ask("approach 1")).await;
    let (_, third) = post(&url, ask("approach 1")).await;
    assert!(
        first.contains("two-a"),
        "approach 2 gets its own first turn: {first}"
    );
    assert!(
        second.contains("one-a"),
        "approach 1 starts at its own first turn: {second}"
    );
    assert!(third.contains("one-b"), "and goes on in order: {third}");
    let conversations: Vec<_> = server.requests().iter().map(|r| r.conversation).collect();
    assert_eq!(
        conversations,
        [Some(1), Some(0), Some(0)],
        "the recording says which conversation answered"
    );
}

#[tokio::test]
async fn probes_answer_and_unknown_paths_are_recorded() {
    let server = MockServer::start(Script::default())
        .await
        .expect("mock starts");
    let client = reqwest::Client::new();
    for path in ["/", "/api/hello"] {
        let status = client
            .head(format!("{}{path}", server.url()))
            .send()
            .await
            .expect("answers")
            .status();
        assert_eq!(status, 200, "HEAD {path} is what the CLI probes");
    }
    let (status, body) = post(&format!("{}/v1/other?x=1", server.url()), json!({})).await;
    assert_eq!(status, 404, "an unknown path is not silently accepted");
    assert!(
        body.contains("/v1/other"),
        "the answer names the path: {body}"
    );
    let unknown = server
        .requests()
        .into_iter()
        .find(|r| r.path == "/v1/other")
        .expect("it was recorded");
    assert_eq!(unknown.query.as_deref(), Some("x=1"));
}

#[tokio::test]
async fn a_plain_json_request_gets_a_message_and_an_exhausted_script_says_so() {
    let server = MockServer::start(Script::sequential(vec![Turn::tool(
        "Write",
        json!({"file_path": "/x", "content": "y"}),
    )]))
    .await
    .expect("mock starts");
    let url = format!("{}/v1/messages?beta=true", server.url());
    let (status, body) = post(&url, json!({"model": "claude-x", "messages": []})).await;
    assert_eq!(status, 200);
    let message: Value = serde_json::from_str(&body).expect("JSON, since stream was not asked for");
    assert_eq!(message["content"][0]["type"], "tool_use");
    assert_eq!(message["content"][0]["input"]["content"], "y");
    assert_eq!(message["stop_reason"], "tool_use");
    assert_eq!(
        message["model"], "claude-x",
        "the requested model is echoed"
    );
    let (_, body) = post(&url, json!({"model": "claude-x", "messages": []})).await;
    assert!(
        body.contains("no more turns"),
        "running out of script is visible: {body}"
    );
}

#[test]
fn the_binary_prints_its_address_and_serves_a_builtin_script() {
    let mut child = Command::new(env!("CARGO_BIN_EXE_fanout-mock-llm"))
        .args(["--approaches", "3"])
        .stdout(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut line = String::new();
    BufReader::new(child.stdout.take().expect("stdout"))
        .read_line(&mut line)
        .expect("a first line");
    let url = line.trim().strip_prefix("LISTENING ").map(str::to_owned);
    let runtime = tokio::runtime::Runtime::new().expect("a runtime");
    let answer = url.as_ref().map(|url| {
        runtime.block_on(post(
            &format!("{url}/v1/messages"),
            json!({"model": "m", "messages": []}),
        ))
    });
    child.kill().expect("the mock runs until killed");
    let _ = child.wait();
    let url = url.unwrap_or_else(|| panic!("the first line is LISTENING <url>: {line:?}"));
    assert!(
        url.starts_with("http://127.0.0.1:"),
        "it binds loopback only: {url}"
    );
    let (_, body) = answer.expect("asked");
    let message: Value = serde_json::from_str(&body).expect("JSON");
    assert_eq!(message["content"][0]["name"], "propose_approaches");
    assert_eq!(
        message["content"][0]["input"]["approaches"]
            .as_array()
            .map(Vec::len),
        Some(3),
        "three approaches"
    );
}

#[test]
fn a_bad_script_file_is_explained() {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("bad.json");
    std::fs::write(&path, "{\"conversations\": 3}").expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_fanout-mock-llm"))
        .arg("--script")
        .arg(&path)
        .output()
        .expect("runs");
    assert_eq!(out.status.code(), Some(2), "bad input exits 2");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("not a valid mock script"), "{stderr}");
}

#[tokio::test]
async fn per_session_scripts_follow_each_conversation_and_fill_in_cwd() {
    let script = Script::per_session(vec![
        Turn::tool("Write", json!({"file_path": "{cwd}/a.txt", "content": "x"})),
        Turn::text("done in {cwd}"),
    ]);
    let server = MockServer::start(script).await.expect("mock starts");
    let url = format!("{}/v1/messages", server.url());
    let first = |dir: &str| {
        json!({"model": "m", "system": [{"type": "text", "text": format!("Env:\nPrimary working directory: {dir}\nPlatform: linux")}],
                                    "messages": [{"role": "user", "content": "go"}]})
    };
    let (_, a) = post(&url, first("/w/one")).await;
    let (_, b) = post(&url, first("/w/two")).await;
    assert!(
        a.contains("/w/one/a.txt"),
        "{{cwd}} is this session's directory: {a}"
    );
    assert!(
        b.contains("/w/two/a.txt"),
        "a second session starts at the first turn too: {b}"
    );
    let mut second = first("/w/one");
    second["messages"] = json!([{"role": "user", "content": "go"}, {"role": "assistant", "content": "called"}, {"role": "user", "content": "result"}]);
    let (_, c) = post(&url, second).await;
    assert!(
        c.contains("done in /w/one"),
        "one assistant message so far: the second turn: {c}"
    );
}

#[tokio::test]
async fn gemini_streams_function_calls_and_answers_helper_calls_without_a_turn() {
    let script = Script::sequential(vec![
        Turn::tool(
            "write_file",
            json!({"file_path": "/w/a.txt", "content": "a"}),
        ),
        Turn::BadRequest {
            message: "no".into(),
        },
    ]);
    let server = MockServer::start(script).await.expect("mock starts");
    let base = format!("{}/v1beta/models", server.url());
    let router = json!({"contents": [], "generationConfig": {"responseJsonSchema": {
        "type": "OBJECT", "properties": {"complexity_score": {"type": "INTEGER"}}}}});
    let (status, body) = post(&format!("{base}/flash:generateContent"), router).await;
    assert_eq!(status, 200, "a helper call is answered: {body}");
    assert!(
        body.contains(r#"{\"complexity_score\":1}"#),
        "with JSON fitting its schema: {body}"
    );

    let ask = json!({"contents": [{"role": "user", "parts": [{"text": "go"}]}]});
    let (status, body) = post(
        &format!("{base}/pro:streamGenerateContent?alt=sse"),
        ask.clone(),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let chunk: Value = body
        .lines()
        .filter_map(|l| l.strip_prefix("data: "))
        .next_back()
        .and_then(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("an SSE data line: {body}"));
    assert_eq!(
        chunk["candidates"][0]["content"]["parts"][0]["functionCall"]["name"], "write_file",
        "the helper call did not use the first turn: {body}"
    );
    assert_eq!(chunk["candidates"][0]["finishReason"], "STOP", "{body}");

    let (status, body) = post(&format!("{base}/pro:streamGenerateContent?alt=sse"), ask).await;
    assert_eq!(status, 400, "the scripted fault: {body}");
    assert!(
        body.contains("INVALID_ARGUMENT"),
        "in Google's error shape: {body}"
    );
    assert_eq!(
        server.model_requests().len(),
        3,
        "Gemini's paths count as model requests"
    );
}

#[tokio::test]
async fn a_wrong_key_gets_401_and_the_sent_key_is_recorded() {
    let server = MockServer::start(Script::sequential(vec![Turn::Unauthorized]))
        .await
        .expect("mock starts");
    let response = reqwest::Client::new()
        .post(format!("{}/v1/messages", server.url()))
        .header("x-api-key", "sk-ant-recorded")
        .json(&json!({"model": "m", "messages": []}))
        .send()
        .await
        .expect("the mock answers");
    assert_eq!(response.status().as_u16(), 401, "the scripted fault");
    let body = response.text().await.expect("a body");
    assert!(
        body.contains("authentication_error"),
        "Anthropic's error type for a bad key: {body}"
    );
    assert_eq!(
        server.requests()[0].api_key.as_deref(),
        Some("sk-ant-recorded"),
        "the key the client sent is recorded for the test to check"
    );
}
