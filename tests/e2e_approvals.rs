//! Approvals and steering in the real window, with the app's default "ask"
//! profile: the fake `claude` (tests/fixtures/agents/fake-claude, two-way
//! mode) asks to run a shell command; one variant is allowed and runs it, one
//! is allowed "always" (for the rest of the experiment) and runs it, one is
//! denied with a message the agent reads, and a third is interrupted and
//! steered with a message. Git and the worktrees say whether it happened.
//!
//! Run: `(cd ui && npm run build) && cargo test --features custom-protocol --test e2e_approvals`.
//! Screenshots land in target/e2e-screenshots/.

#[allow(dead_code)]
#[path = "e2e/git.rs"]
mod git;
#[allow(dead_code)]
#[path = "e2e/harness.rs"]
mod harness;

use std::path::Path;

use git::Repo;
use harness::{text_of, tid, App};
use serde_json::json;

const COMMAND: &str = "echo ran > ran.txt";
const DENIAL: &str = "Not on this machine, please.";

/// What each fake agent does, chosen by its approach name in the prompt.
fn agent_script() -> serde_json::Value {
    json!([
        {"match": "Allow me", "files": {"notes.txt": "allowed\n"}, "bash": COMMAND, "say": "Allowed run."},
        {"match": "Deny me", "files": {"notes.txt": "denied\n"}, "bash": COMMAND, "say": "Denied run."},
        {"match": "Steer me", "mode": "slow", "delay": 120, "files": {"steer.txt": "x\n"}, "say": "Steered."},
        {"match": "Always me", "files": {"always.txt": "x\n"}, "bash": COMMAND, "say": "Always run."},
    ])
}

fn card(index: u32) -> String {
    format!("{}[data-index=\"{index}\"]", tid("variant-card"))
}

async fn worktree_of(app: &App, index: u32) -> String {
    app.el(&format!("{} dd[title]", card(index)))
        .await
        .attr("title")
        .await
        .expect("read the worktree path")
        .expect("the worktree dd has a title")
}

async fn transcript_shows(app: &App, index: u32, needle: &str) -> String {
    app.click(&format!("{} {}", card(index), tid("transcript-toggle")))
        .await;
    app.text_contains(&format!("{} {}", card(index), tid("transcript")), needle)
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(feature = "custom-protocol"),
    ignore = "the app must serve ui/dist: run with --features custom-protocol (make test does)"
)]
async fn a_variant_waits_for_approval_and_is_allowed_denied_or_steered() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/dist/index.html");
    assert!(
        dist.is_file(),
        "ui/dist is not built, so the app would show nothing: run `cd ui && npm ci && npm run build`"
    );
    // Outside /tmp: the agents run in the sandbox, whose /tmp is their own.
    let scripts = tempfile::tempdir_in(harness::sandbox_visible_dir())
        .expect("a folder for the agents' script");
    let script = scripts.path().join("agents.json");
    std::fs::write(&script, agent_script().to_string()).expect("write the agents' script");
    let claude = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agents/fake-claude");
    let (claude, script) = (claude.display().to_string(), script.display().to_string());
    let mut app = App::start_with_env(
        env!("CARGO_BIN_EXE_fanout-app"),
        &[
            ("FANOUT_CLAUDE_BIN", &claude),
            ("FANOUT_FAKE_SCRIPT", &script),
        ],
    )
    .await;

    let repo = Repo::new("careful-greeter").await;
    let path = repo.root.display().to_string();
    app.type_into(&tid("repo-path-input"), &path).await;
    app.click(&tid("repo-open")).await;
    app.text_contains(&tid("repo-root"), &path).await;

    // Nothing was saved: "ask" is the app's default, and the open repository's rules are editable.
    app.open_settings().await;
    let ask = app.el("input[type=\"radio\"][value=\"ask\"]").await;
    assert_eq!(
        ask.prop("checked")
            .await
            .expect("read the radio")
            .as_deref(),
        Some("true"),
        "a fresh install asks before agents run commands"
    );
    // Rules of the open repository's own (WebSearch denied; Bash is still asked), kept when saved.
    app.click(&tid("rules-own")).await;
    app.text_contains(&tid("rules-scope"), "this repository")
        .await;
    app.type_into(&tid("rules-deny-tools"), "WebSearch").await;
    app.shot("settings-ask").await;
    app.click(&tid("settings-save")).await;
    app.until("the settings to be saved", || {
        let c = app.client.clone();
        async move {
            let save = c
                .find(fantoccini::Locator::Css(&tid("settings-save")))
                .await?;
            Ok((!save.is_enabled().await?).then_some(()))
        }
    })
    .await;
    app.click(&tid("nav-home")).await;
    app.open_settings().await;
    let deny = app.testid("rules-deny-tools").await;
    assert_eq!(
        deny.prop("value").await.expect("read the field").as_deref(),
        Some("WebSearch"),
        "the repository's own rules were saved and load back"
    );

    app.click(&tid("nav-new")).await;
    app.type_into(&tid("task-input"), "Greet carefully").await;
    app.click(&tid("add-approach")).await;
    let names = app.count(&tid("approach-name"), 4).await;
    for (el, name) in names
        .iter()
        .zip(["Allow me", "Deny me", "Steer me", "Always me"])
    {
        el.send_keys(name).await.expect("type an approach name");
    }
    app.click(&tid("launch")).await;

    app.count(
        &format!("{}[data-status=\"needs-input\"]", tid("variant-card")),
        3,
    )
    .await;
    for index in [1, 2, 4] {
        let request = app
            .text_contains(
                &format!("{} {}", card(index), tid("approval-request")),
                COMMAND,
            )
            .await;
        assert!(
            request.contains("Bash"),
            "variant {index}'s card names the tool and shows the command: {request}"
        );
    }
    app.el(&format!("{}[data-status=\"running\"]", card(3)))
        .await;
    app.shot("needs-input").await;

    // "Allow always" answers variant 4's request and allows Bash for the
    // rest of the experiment; the requests already waiting elsewhere stay
    // for their own answers.
    app.click(&format!("{} {}", card(4), tid("approval-allow-always")))
        .await;
    app.el(&format!("{}[data-status=\"succeeded\"]", card(4)))
        .await;
    let wt4 = worktree_of(&app, 4).await;
    assert_eq!(
        std::fs::read_to_string(Path::new(&wt4).join("ran.txt"))
            .ok()
            .as_deref(),
        Some("ran\n"),
        "the command allowed always ran in variant 4's worktree"
    );
    assert_eq!(
        app.all(&format!(
            "{}[data-status=\"needs-input\"]",
            tid("variant-card")
        ))
        .await
        .len(),
        2,
        "variants 1 and 2 still wait for their own answers"
    );

    app.click(&format!("{} {}", card(1), tid("approval-allow")))
        .await;
    app.el(&format!("{}[data-status=\"succeeded\"]", card(1)))
        .await;
    let wt1 = worktree_of(&app, 1).await;
    assert_eq!(
        std::fs::read_to_string(Path::new(&wt1).join("ran.txt"))
            .ok()
            .as_deref(),
        Some("ran\n"),
        "the allowed command ran in variant 1's worktree"
    );
    assert_eq!(
        app.all(&format!("{}[data-status=\"needs-input\"]", card(2)))
            .await
            .len(),
        1,
        "answering variant 1 left variant 2's request waiting"
    );

    app.click(&format!("{} {}", card(2), tid("approval-deny")))
        .await;
    app.type_into(
        &format!("{} {}", card(2), tid("approval-deny-message")),
        DENIAL,
    )
    .await;
    app.shot("deny-message").await;
    app.click(&format!("{} {}", card(2), tid("approval-deny-send")))
        .await;
    app.el(&format!("{}[data-status=\"succeeded\"]", card(2)))
        .await;
    let wt2 = worktree_of(&app, 2).await;
    assert!(
        !Path::new(&wt2).join("ran.txt").exists(),
        "the denied command did not run in variant 2's worktree"
    );
    let text = transcript_shows(&app, 2, DENIAL).await;
    assert!(
        text.contains("The command was denied"),
        "the agent read the denial and said so: {text}"
    );
    app.js("document.querySelector('[data-index=\"2\"] [data-testid=\"transcript\"]').scrollIntoView()")
        .await;
    app.shot("denied-transcript").await;

    app.click(&format!("{} {}", card(3), tid("interrupt")))
        .await;
    app.testid("awaiting-message").await;
    app.type_into(&format!("{} {}", card(3), tid("steer-input")), "use tabs")
        .await;
    app.click(&format!("{} {}", card(3), tid("steer-send")))
        .await;
    app.el(&format!("{}[data-status=\"succeeded\"]", card(3)))
        .await;
    transcript_shows(&app, 3, "Noted: use tabs").await;
    let steered = text_of(&app.el(&card(3)).await).await.expect("card text");
    assert!(
        !steered.contains("needs input"),
        "the steered variant never waited for an approval: {steered}"
    );
    app.shot("steered").await;
    app.close().await;
}
