//! Choosing the winner in the real window: two variants each fix half of a
//! task (each fails the check alone); the reviewer model (the mock model API
//! on 127.0.0.1, answering with scripted JSON) reviews them on their cards
//! and the judge ranks them; a hunk picked from each in the diff viewer
//! makes a combined variant, whose check passes, and which is merged.
//!
//! Run: `(cd ui && npm run build) && cargo test --features custom-protocol --test e2e_winner`.
//! Screenshots land in target/e2e-screenshots/.

#[allow(dead_code)]
#[path = "e2e/git.rs"]
mod git;
#[allow(dead_code)]
#[path = "e2e/harness.rs"]
mod harness;

use std::path::Path;

use fanout_mock_llm::{MockGitHub, MockServer, Script, Turn};
use git::Repo;
use harness::{card, tid, App};
use serde_json::{json, Value};

/// 40 numbered lines: far enough apart for a change at the top and one at the bottom.
fn numbered() -> String {
    (1..=40).map(|i| format!("line {i}\n")).collect()
}

fn with_line(n: usize, to: &str) -> String {
    numbered()
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i + 1 == n {
                format!("{to}\n")
            } else {
                format!("{l}\n")
            }
        })
        .collect()
}

const CHECK: &str =
    "grep -q 'fixed at the top' notes.txt && grep -q 'fixed at the bottom' notes.txt";

fn scores(n: u64) -> Value {
    json!({"correctness": n, "tests": n, "scope": n, "simplicity": n, "maintainability": n})
}

fn review(what: &str, n: u64) -> Turn {
    Turn::tool(
        "submit_review",
        json!({
            "changes": [{"what": what, "files": ["notes.txt"]}],
            "risks": ["<b>only half</b> of the task"],
            "tests": {"covered": false, "note": "The check fails alone."},
            "scope_creep": [],
            "scores": scores(n)
        }),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(feature = "custom-protocol"),
    ignore = "the app must serve ui/dist: run with --features custom-protocol (make test does)"
)]
async fn reviews_a_ranking_and_a_combined_variant_that_is_merged() {
    harness::assert_ui_built();
    let api = MockServer::start(Script::sequential(vec![
        review("fixes the top line", 7),
        review("fixes the bottom line", 8),
        Turn::tool(
            "submit_ranking",
            json!({
                "ranking": [
                    {"variant": 2, "scores": scores(8), "paragraph": "Bottom is the tidier half."},
                    {"variant": 1, "scores": scores(7), "paragraph": "Top is fine too."}
                ],
                "disagreements": ["1 fixes the top, 2 the bottom: each only half"],
                "rationale": "Neither is whole; combine them."
            }),
        ),
    ]))
    .await
    .expect("the mock model API starts");
    // Outside /tmp: the agents run in the sandbox, whose /tmp is their own.
    let scripts = tempfile::tempdir_in(harness::sandbox_visible_dir())
        .expect("a folder for the agents' script");
    let script = scripts.path().join("agents.json");
    std::fs::write(
        &script,
        json!([
            {"match": "Top half", "files": {"notes.txt": with_line(3, "fixed at the top")}, "say": "Fixed the top."},
            {"match": "Bottom half", "files": {"notes.txt": with_line(37, "fixed at the bottom")}, "say": "Fixed the bottom."}
        ])
        .to_string(),
    )
    .expect("write the agents' script");
    let claude = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agents/fake-claude");
    let (claude, script, url) = (
        claude.display().to_string(),
        script.display().to_string(),
        api.url(),
    );
    let github = MockGitHub::start(vec![(
        201,
        json!({"html_url": "https://github.example/acme/halves/pull/3", "number": 3}),
    )])
    .await
    .expect("the mock GitHub API starts");
    let github_url = github.url();
    let mut app = App::start_with_env(
        env!("CARGO_BIN_EXE_fanout-app"),
        &[
            ("FANOUT_CLAUDE_BIN", &claude),
            ("FANOUT_FAKE_SCRIPT", &script),
            ("ANTHROPIC_BASE_URL", &url),
            ("ANTHROPIC_API_KEY", "sk-ant-e2e-winner-0123456789"),
            ("GITHUB_API_URL", &github_url),
            ("GH_TOKEN", "ghp_e2e0123456789abcdef"),
        ],
    )
    .await;

    let repo = Repo::new("halves").await;
    std::fs::write(repo.root.join("notes.txt"), numbered()).expect("write notes.txt");
    repo.git(&["add", "-A"]).await;
    repo.git(&["commit", "-q", "-m", "notes"]).await;
    let path = repo.root.display().to_string();
    app.open_repo(&path).await;

    app.click(&tid("nav-new")).await;
    app.type_into(&tid("task-input"), "Fix both ends of the notes")
        .await;
    app.type_into(&tid("check-input"), CHECK).await;
    // The form starts with three approaches; this task has two.
    app.two_approaches(["Top half", "Bottom half"]).await;
    app.click(&tid("launch")).await;
    for index in [1, 2] {
        // Each variant fixes half: its check fails alone.
        app.el(&format!("{}[data-status=\"failed\"]", card(index)))
            .await;
    }

    // Reviews on the cards, asked for one by one.
    for (index, what) in [(1, "fixes the top line"), (2, "fixes the bottom line")] {
        app.click(&format!("{} {}", card(index), tid("review-variant")))
            .await;
        let block = format!("{} {}", card(index), tid("variant-review"));
        app.el(&block).await;
        app.js(&format!(
            "document.querySelector('{} {}').open = true",
            card(index).replace('\'', "\\'"),
            tid("variant-review").replace('\'', "\\'")
        ))
        .await;
        app.text_contains(&format!("{block} {}", tid("review-point")), what)
            .await;
    }
    let risk = app
        .text_contains(&format!("{} {}", card(1), tid("review-risk")), "only half")
        .await;
    assert!(
        risk.contains("<b>only half</b>"),
        "the reviewer's markup is shown as text, not rendered: {risk}"
    );
    app.shot("reviews").await;

    // The judge ranks them: its order stands (both failed their checks).
    app.click(&tid("tab-judge")).await;
    app.click(&tid("judge-run")).await;
    app.el(&format!(
        "{}[data-place=\"1\"][data-variant=\"2\"]",
        tid("ranked")
    ))
    .await;
    app.text_contains(&tid("disagreements"), "each only half")
        .await;
    app.text_contains(&tid("ranking-rationale"), "combine them")
        .await;
    app.shot("ranking").await;

    // One hunk of each, picked in the diff viewer, make a combined variant.
    app.click(&tid("tab-compare")).await;
    for index in [1, 2] {
        app.select(&tid("compare-variant"), &index.to_string())
            .await;
        app.el(&format!("{}[data-path=\"notes.txt\"]", tid("file-diff")))
            .await;
        app.click(&format!("{}[data-hunk=\"1\"]", tid("pick-hunk")))
            .await;
    }
    app.text_contains(&tid("picks"), "1: notes.txt#1, 2: notes.txt#1")
        .await;
    app.shot("picks").await;
    app.click(&tid("combine")).await;
    app.el(&format!("{}[data-status=\"succeeded\"]", card(3)))
        .await;
    app.text_contains(&card(3), "combined from 1: notes.txt#1, 2: notes.txt#1")
        .await;

    // Its check runs alone, and passes.
    assert!(
        app.all(&format!("{} {}", card(3), tid("variant-check")))
            .await
            .is_empty(),
        "a combined variant has no check result before its check runs"
    );
    app.click(&format!("{} {}", card(3), tid("check-variant")))
        .await;
    app.el(&format!(
        "{} {}[data-passed=\"true\"]",
        card(3),
        tid("variant-check")
    ))
    .await;
    app.el(&format!("{}[data-status=\"succeeded\"]", card(3)))
        .await;
    app.shot("combined").await;

    // And it is merged like any other.
    app.js(
        "document.querySelector('[data-testid=\"tab-merge\"]').scrollIntoView({block: 'center'})",
    )
    .await;
    app.click(&tid("tab-merge")).await;

    // Handed to the team first, as a pull request under a name the user
    // chose, with the variant's section of the report as its body.
    let remote = scripts.path().join("halves-remote.git");
    let remote = remote.display().to_string();
    repo.git(&["init", "-q", "--bare", &remote]).await;
    repo.git(&["remote", "add", "origin", &remote]).await;
    app.click(&format!("{}[data-index=\"3\"]", tid("pr-open")))
        .await;
    let body = app.el(&tid("pr-body")).await;
    app.until("the draft's body to name the combined variant", || {
        let body = body.clone();
        async move {
            let text = body.prop("value").await?.unwrap_or_default();
            Ok(text.contains("combined from").then_some(()))
        }
    })
    .await;
    app.type_into(&tid("pr-github"), "acme/halves").await;
    app.type_into(&tid("pr-branch"), "combined-halves").await;
    app.shot("pull-request").await;
    app.click(&tid("pr-send")).await;
    app.text_contains(&tid("pr-url"), "github.example/acme/halves/pull/3")
        .await;
    let pushed = git::git(
        Path::new(&remote),
        &["rev-parse", "refs/heads/combined-halves"],
    )
    .await;
    let branches = repo.fanout_branches().await;
    let branch = branches
        .iter()
        .find(|b| b.contains("combined"))
        .unwrap_or_else(|| panic!("a combined variant's branch among {branches:?}"));
    let combined = repo.git(&["rev-parse", branch]).await;
    assert_eq!(
        pushed.trim(),
        combined.trim(),
        "the remote got the combined variant's branch"
    );
    let asked = github.requests();
    assert_eq!(asked.len(), 1, "one pull request was opened");
    assert_eq!(asked[0].repo, "acme/halves");
    assert_eq!(asked[0].body["head"], "combined-halves");
    app.click(&format!("{} button.close", tid("pr-dialog")))
        .await;

    app.click(&format!("{}[data-index=\"3\"]", tid("merge-open")))
        .await;
    app.click(&tid("merge-confirm")).await;
    app.testid("merge-result").await;
    let notes = repo
        .read("notes.txt")
        .expect("notes.txt on the user's branch");
    assert!(
        notes.contains("fixed at the top") && notes.contains("fixed at the bottom"),
        "both halves reached the user's branch:\n{notes}"
    );
    assert_eq!(
        api.model_requests().len(),
        3,
        "two reviews and one ranking were asked"
    );
    app.close().await;
}
