//! `fanout review`, `judge` and `differ` through the real binary: a run of
//! two variants by the fake Claude Code, then the mock model API as the
//! reviewer (its key and address in the environment, as a user sets them).

use std::path::Path;
use std::process::{Command, Output};

use fanout_mock_llm::{MockServer, Script, Turn};
use fanout_testsupport::{fake_claude, Fixture};
use serde_json::{json, Value};

const KEY: &str = "sk-ant-api03-judging-0123456789abcdef";

struct Scene {
    fx: Fixture,
    home: std::path::PathBuf,
    id: String,
    server: MockServer,
    _runtime: tokio::runtime::Runtime,
}

impl Scene {
    fn fanout(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_fanout"))
            .args(args)
            .env("FANOUT_HOME", &self.home)
            .env("FANOUT_CLAUDE_BIN", fake_claude())
            .env("ANTHROPIC_BASE_URL", self.server.url())
            .env("ANTHROPIC_API_KEY", KEY)
            .output()
            .expect("run fanout")
    }

    fn json(&self, args: &[&str]) -> Value {
        let out = self.fanout(args);
        assert!(
            out.status.success(),
            "fanout {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).expect("stdout is one JSON document")
    }
}

fn scores() -> Value {
    json!({"correctness": 7, "tests": 6, "scope": 8, "simplicity": 7, "maintainability": 7})
}

/// Two variants that each wrote `fake-output.txt` (the fake's default).
fn scene() -> Scene {
    let runtime = tokio::runtime::Runtime::new().expect("a runtime for the mock");
    let review = |what: &str| {
        Turn::tool(
            "submit_review",
            json!({
                "changes": [{"what": what, "files": ["fake-output.txt"]}],
                "risks": [], "tests": {"covered": false, "note": "none"},
                "scope_creep": [], "scores": scores()
            }),
        )
    };
    let ranking = json!({
        "ranking": [
            {"variant": 2, "scores": scores(), "paragraph": "Second is better."},
            {"variant": 1, "scores": scores(), "paragraph": "First is fine."}
        ],
        "disagreements": ["the wording of the greeting"],
        "rationale": "Both work; 2 reads better."
    });
    let script = Script::sequential(vec![
        review("writes the greeting (1)"),
        review("writes the greeting (2)"),
        Turn::tool("submit_ranking", ranking),
        Turn::tool(
            "explain_difference",
            json!({"summary": "Only the text differs.", "design": "no difference", "behaviour": "no difference", "tests": "no difference"}),
        ),
    ]);
    let server = runtime
        .block_on(MockServer::start(script))
        .expect("the mock binds 127.0.0.1");
    let fx = Fixture::new();
    let home = fx.sibling("home");
    let plan = fx.sibling("plan").join("approaches.json");
    std::fs::write(
        &plan,
        r#"{"approaches": [{"name": "one"}, {"name": "two"}]}"#,
    )
    .expect("plan");
    let mut scene = Scene {
        fx,
        home,
        id: String::new(),
        server,
        _runtime: runtime,
    };
    let (root, plan) = (
        scene.fx.root.display().to_string(),
        plan.display().to_string(),
    );
    let run = scene.json(&[
        "--json",
        "run",
        "--repo",
        &root,
        "--task",
        "greet",
        "--approaches",
        &plan,
    ]);
    scene.id = run["id"].as_str().expect("the id").to_owned();
    scene
}

#[test]
fn review_judge_and_differ_answer_in_json_and_in_the_report() {
    let s = scene();
    let short = &s.id[..8];
    let reviews = s.json(&["--json", "review", short, "--reviewer", "api"]);
    let reviews = reviews["reviews"].as_array().expect("a list");
    assert_eq!(reviews.len(), 2, "every variant with changes is reviewed");
    assert_eq!(reviews[1]["changes"][0]["what"], "writes the greeting (2)");
    assert!(
        reviews[0]["reviewer"]
            .as_str()
            .is_some_and(|r| r.contains("API")),
        "the review says who wrote it: {}",
        reviews[0]
    );

    let ranking = s.json(&["--json", "judge", short, "--reviewer", "api"]);
    assert_eq!(ranking["ranked"][0]["variant"], 2);
    assert_eq!(ranking["disagreements"][0], "the wording of the greeting");

    let human = s.fanout(&["differ", short, "1", "2", "--reviewer", "api"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        human.status.success() && text.contains("Only the text differs."),
        "{text}{}",
        String::from_utf8_lossy(&human.stderr)
    );

    let report = s.fanout(&["report", short]);
    let report = String::from_utf8_lossy(&report.stdout);
    assert!(
        report.contains("## Ranking") && report.contains("writes the greeting (1)"),
        "the report carries the ranking and the reviews:\n{report}"
    );
    let requests = s.server.model_requests();
    assert!(
        requests.iter().all(|r| !r.body_text().contains(KEY)),
        "the key never reaches a prompt"
    );
}

#[test]
fn an_unknown_reviewer_is_a_sentence() {
    let s = scene();
    let out = s.fanout(&["review", &s.id[..8], "--reviewer", "gpt"]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("`gpt` is not a reviewer"), "{err}");
    assert!(Path::new(&s.home).is_dir());
}
