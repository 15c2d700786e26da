//! The app killed with SIGKILL mid-run, in the real window: its agents had
//! put processes in sessions of their own and double-forked. Within 5 s of
//! the kill nothing they started runs any more, and the app started again
//! shows the variants as interrupted, never as running.
//!
//! Run: `(cd ui && npm run build) && cargo test --features custom-protocol --test e2e_crash`.

#[allow(dead_code)]
#[path = "e2e/git.rs"]
mod git;
#[allow(dead_code)]
#[path = "e2e/harness.rs"]
mod harness;

use std::path::Path;
use std::time::{Duration, Instant};

use fanout_testsupport::{marked, script};
use git::Repo;
use harness::{tid, App};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(feature = "custom-protocol"),
    ignore = "the app must serve ui/dist: run with --features custom-protocol (make test does)"
)]
async fn after_kill_9_of_the_app_nothing_is_left_and_the_variants_are_interrupted() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/dist/index.html");
    assert!(
        dist.is_file(),
        "ui/dist is not built, so the app would show nothing: run `cd ui && npm ci && npm run build`"
    );
    let marker = format!("7{}3", std::process::id());
    // Outside /tmp: the agents run in the sandbox, whose /tmp is their own.
    let bin = tempfile::tempdir_in(harness::sandbox_visible_dir()).expect("a folder for the agent");
    let agent = bin.path().join("claude");
    // Copied beside it: the checkout may be under /tmp too.
    let fake = bin.path().join("fake-claude");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agents/fake-claude"),
        &fake,
    )
    .expect("copy the fake agent");
    script(
        &agent,
        &format!(
            "setsid sleep {marker}1 >/dev/null 2>&1 &\n\
             (sleep {marker}2 >/dev/null 2>&1 &)\n\
             FANOUT_FAKE_MODE=hang exec python3 '{}' \"$@\"",
            fake.display()
        ),
    );
    let agent = agent.display().to_string();
    let mut app = App::start_with_env(
        env!("CARGO_BIN_EXE_fanout-app"),
        &[("FANOUT_CLAUDE_BIN", &agent)],
    )
    .await;

    let repo = Repo::new("crashing").await;
    let path = repo.root.display().to_string();
    app.type_into(&tid("repo-path-input"), &path).await;
    app.click(&tid("repo-open")).await;
    app.text_contains(&tid("repo-root"), &path).await;
    app.click(&tid("nav-new")).await;
    app.type_into(&tid("task-input"), "Leave things behind")
        .await;
    let names = app.count(&tid("approach-name"), 3).await;
    for (el, name) in names.iter().zip(["One", "Two", "Three"]) {
        el.send_keys(name).await.expect("type an approach name");
    }
    app.click(&tid("launch")).await;
    app.count(
        &format!("{}[data-status=\"running\"]", tid("variant-card")),
        3,
    )
    .await;
    let deadline = Instant::now() + Duration::from_secs(20);
    while marked(&marker).len() < 6 {
        assert!(Instant::now() < deadline, "the agents' six processes start");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    app.shot("running-before-the-kill").await;

    let killed = Instant::now();
    app.kill_app();
    while !marked(&marker).is_empty() {
        assert!(
            killed.elapsed() < Duration::from_secs(5),
            "every process the agents started is gone within 5 s: {:?}",
            marked(&marker)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    app.reconnect().await;
    app.click(&tid("nav-history")).await;
    app.click(&tid("history-item")).await;
    app.count(
        &format!("{}[data-status=\"interrupted\"]", tid("variant-card")),
        3,
    )
    .await;
    app.shot("interrupted-after-restart").await;
    app.close().await;
}
