//! Approach generation, through the mock Messages API and through a fake `claude`.

use std::path::PathBuf;
use std::time::Duration;

use fanout_engine::approaches::{generate, ApproachError, PlanRequest, Planner};
use fanout_engine::llm::{LlmClient, LlmConfig, RetryPolicy};
use fanout_engine::secrets::{ApiKey, Provider};
use fanout_mock_llm::{sample_approaches, MockServer, Script, Turn};
use fanout_testsupport::alive;
use serde_json::json;

fn planner(server: &MockServer) -> Planner {
    let mut config = LlmConfig::new(Provider::Anthropic, ApiKey::new("sk-test"));
    config.base_url = server.url();
    config.retry = RetryPolicy {
        max_attempts: 1,
        ..RetryPolicy::default()
    };
    Planner::Api(LlmClient::new(config).expect("client builds"))
}

fn request(n: usize) -> PlanRequest {
    PlanRequest {
        task: "Add caching to the parser".into(),
        n,
        hints: vec!["one approach should use moka".into()],
    }
}

fn proposal(approaches: serde_json::Value) -> Turn {
    Turn::tool("propose_approaches", json!({ "approaches": approaches }))
}

#[tokio::test]
async fn a_valid_tool_answer_gives_the_approaches() {
    let server = MockServer::start(Script::approaches_tool(3))
        .await
        .expect("mock starts");
    let approaches = generate(&planner(&server), &request(3))
        .await
        .expect("three valid approaches");
    assert_eq!(approaches.len(), 3);
    assert_eq!(
        approaches[0].name, "Minimal change",
        "names come from the tool input"
    );
    assert!(!approaches[0].guidelines.is_empty(), "guidelines are kept");
    let body = &server.model_requests()[0].body;
    assert_eq!(
        body["tool_choice"]["name"], "propose_approaches",
        "the tool is forced"
    );
    assert!(
        body["tools"][0]["input_schema"]["properties"]["approaches"].is_object(),
        "the schema is sent"
    );
    assert!(
        body.to_string().contains("one approach should use moka"),
        "the user's hint is in the prompt"
    );
}

#[tokio::test]
async fn a_malformed_answer_is_retried_with_the_problem() {
    let script = Script::sequential(vec![
        Turn::text("I think you should just try harder."),
        proposal(json!(sample_approaches(2))),
    ]);
    let server = MockServer::start(script).await.expect("mock starts");
    let approaches = generate(&planner(&server), &request(2))
        .await
        .expect("the second answer is used");
    assert_eq!(approaches.len(), 2);
    let retry = server.model_requests()[1].body.to_string();
    assert!(
        retry.contains("not usable") && retry.contains("no JSON"),
        "the parse error is fed back: {retry}"
    );
}

#[tokio::test]
async fn two_bad_answers_give_a_clear_error() {
    let cases = [
        ("malformed twice", Turn::text("no json here"), "no JSON"),
        (
            "wrong count",
            proposal(json!(sample_approaches(2))),
            "Exactly 3 approaches were asked for, 2 were given",
        ),
        (
            "duplicate names",
            proposal(json!([{"name": "Same"}, {"name": "same"}, {"name": "Other"}])),
            "both called",
        ),
        (
            "empty name",
            proposal(json!([{"name": "A"}, {"name": " "}, {"name": "C"}])),
            "has no name",
        ),
    ];
    for (case, turn, expected) in cases {
        let server = MockServer::start(Script::sequential(vec![turn.clone(), turn]))
            .await
            .expect("mock starts");
        let error = generate(&planner(&server), &request(3))
            .await
            .expect_err(case);
        assert!(
            matches!(error, ApproachError::Invalid { n: 3, .. }),
            "{case}: {error}"
        );
        assert!(
            error.to_string().contains(expected),
            "{case}: the reason is given: {error}"
        );
        assert_eq!(
            server.model_requests().len(),
            2,
            "{case}: exactly one retry"
        );
    }
}

fn fake_claude() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/agents/fake-claude-plan")
}

fn claude_planner(dir: &tempfile::TempDir, answers: &[&str]) -> Planner {
    let files: Vec<String> = answers
        .iter()
        .enumerate()
        .map(|(i, text)| {
            let path = dir.path().join(format!("answer{i}.txt"));
            std::fs::write(&path, text).expect("write answer");
            path.display().to_string()
        })
        .collect();
    Planner::ClaudeCli {
        executable: fake_claude(),
        workdir: dir.path().to_path_buf(),
        timeout: Duration::from_secs(60),
        env: vec![
            ("FANOUT_FAKE_PLAN_ANSWERS".into(), files.join(":")),
            (
                "FANOUT_FAKE_PLAN_LOG".into(),
                dir.path().join("prompts.log").display().to_string(),
            ),
        ],
    }
}

#[tokio::test]
async fn claude_one_shot_json_is_read_from_its_result() {
    let dir = tempfile::tempdir().expect("temp dir");
    let answer = format!(
        "Here are the approaches:\n```json\n{}\n```",
        json!({"approaches": sample_approaches(2)})
    );
    let approaches = generate(&claude_planner(&dir, &[&answer]), &request(2))
        .await
        .expect("the result text holds the JSON");
    assert_eq!(approaches[1].name, "Test first");
    let prompts = std::fs::read_to_string(dir.path().join("prompts.log"))
        .expect("the fake logged its prompt");
    assert!(
        prompts.contains("moka") && prompts.contains("exactly 2"),
        "the prompt has the hints and the count: {prompts}"
    );
}

#[tokio::test]
async fn claude_gets_one_retry_with_the_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let good = json!({"approaches": sample_approaches(2)}).to_string();
    let approaches = generate(
        &claude_planner(&dir, &["[{\"name\": \"only one\"}]", &good]),
        &request(2),
    )
    .await
    .expect("the retry succeeds");
    assert_eq!(approaches.len(), 2);
    let prompts = std::fs::read_to_string(dir.path().join("prompts.log")).expect("log");
    let second = prompts.lines().nth(1).expect("a second call was made");
    assert!(
        second.contains("1 were given"),
        "the second prompt says what was wrong: {second}"
    );
}

#[tokio::test]
async fn a_missing_claude_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let planner = Planner::ClaudeCli {
        executable: dir.path().join("no-claude"),
        workdir: dir.path().to_path_buf(),
        timeout: Duration::from_secs(5),
        env: vec![],
    };
    let error = generate(&planner, &request(2))
        .await
        .expect_err("no program");
    assert!(error.to_string().contains("not found"), "{error}");
}

#[tokio::test]
async fn aborting_generation_ends_the_claude_child() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pid_file = dir.path().join("pid");
    // A `claude` that never answers: the user gives up and cancels.
    let script = fanout_testsupport::script(
        &dir.path().join("slow-claude"),
        &format!("echo $$ > {}\nsleep 300", pid_file.display()),
    );
    let planner = Planner::ClaudeCli {
        executable: script,
        workdir: dir.path().to_path_buf(),
        timeout: Duration::from_secs(300),
        env: vec![],
    };
    let task = tokio::spawn(async move { generate(&planner, &request(2)).await });
    let pid = loop {
        match std::fs::read_to_string(&pid_file).map(|t| t.trim().parse::<u32>()) {
            Ok(Ok(pid)) => break pid,
            _ => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    };
    assert!(alive(pid), "the fake claude runs until cancelled");
    task.abort();
    assert!(
        task.await.is_err_and(|e| e.is_cancelled()),
        "the task was aborted"
    );
    for _ in 0..100 {
        if !alive(pid) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("claude ({pid}) outlived the aborted generation");
}
