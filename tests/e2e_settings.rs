//! The settings screen in the real window: the detected agent CLI, the theme
//! applied at once and kept across a restart, max parallel sessions saved, and
//! the app in dark at 1920×1080.
//!
//! Run: `(cd ui && npm run build) && cargo test --features custom-protocol --test e2e_settings`.
//! Screenshots land in target/e2e-screenshots/.

#[allow(dead_code)]
#[path = "e2e/git.rs"]
mod git;
#[allow(dead_code)]
#[path = "e2e/harness.rs"]
mod harness;

use std::path::Path;

use fanout_testsupport::script;
use git::Repo;
use harness::{text_of, tid, App};

const FAKE_VERSION: &str = "2.1.197 (Claude Code, fake)";
/// app.css's `--bg`, as the page computes it.
const LIGHT_BG: &str = "rgb(246, 247, 249)";
const DARK_BG: &str = "rgb(21, 23, 27)";

/// A `claude` that answers `--version` and otherwise is the fake agent, so a
/// launch in this test runs like the real one would.
fn fake_claude(dir: &Path) -> String {
    let agent = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agents/fake-claude");
    let body = format!(
        "if [ \"$1\" = --version ]; then echo '{FAKE_VERSION}'; exit 0; fi\nexec python3 '{}' \"$@\"",
        agent.display()
    );
    script(&dir.join("claude"), &body).display().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(feature = "custom-protocol"),
    ignore = "the app must serve ui/dist: run with --features custom-protocol (make test does)"
)]
async fn settings_are_detected_applied_saved_and_kept() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/dist/index.html");
    assert!(
        dist.is_file(),
        "ui/dist is not built, so the app would show nothing: run `cd ui && npm ci && npm run build`"
    );
    let bin_dir = tempfile::tempdir().expect("temp dir for the fake claude");
    let claude = fake_claude(bin_dir.path());
    let mut app = App::start_with_env(
        env!("CARGO_BIN_EXE_fanout-app"),
        &[("FANOUT_CLAUDE_BIN", &claude)],
    )
    .await;

    app.testid("repo-browse").await;
    app.open_settings().await;
    let claude_row = format!("{}[data-program=\"claude\"]", tid("settings-agent"));
    app.text_contains(&claude_row, FAKE_VERSION).await;
    let codex_row = format!("{}[data-program=\"codex\"]", tid("settings-agent"));
    let codex = app.el(&codex_row).await;
    let codex_text = text_of(&codex).await.expect("codex row text");
    if codex.attr("data-found").await.expect("attr").as_deref() == Some("no") {
        assert!(
            codex_text.contains("npm install -g @openai/codex"),
            "a missing codex says how to install it: {codex_text}"
        );
    }
    assert_eq!(
        background(&app).await,
        LIGHT_BG,
        "the window starts in the light theme (the display has no dark preference)"
    );
    // Inline validation: an out-of-range value blocks saving with a sentence.
    app.type_into(&tid("settings-max-parallel"), "9").await;
    app.text_contains(".field-error", "between 1 and 8").await;
    assert!(
        !app.testid("settings-save")
            .await
            .is_enabled()
            .await
            .expect("read enabled"),
        "an invalid form cannot be saved"
    );
    app.type_into(&tid("settings-max-parallel"), "3").await;
    app.testid("settings-save").await;
    app.shot("settings-light").await;

    // The theme applies at once, before saving.
    app.click(&tid("settings-theme-dark")).await;
    app.until("the dark theme", || async {
        Ok((background(&app).await == DARK_BG).then_some(()))
    })
    .await;
    app.click(&tid("settings-save")).await;
    app.testid("settings-saved").await;
    app.shot("settings-dark").await;

    // Forget the page's own memory of the theme: after the restart it must
    // come from the saved settings.
    app.js("localStorage.clear(); return true").await;
    app.relaunch(&[]).await;
    app.testid("repo-path-input").await;
    app.until("the saved dark theme at start", || async {
        Ok((background(&app).await == DARK_BG).then_some(()))
    })
    .await;
    app.open_settings().await;
    let parallel = app.testid("settings-max-parallel").await;
    app.until("the saved max parallel", || {
        let parallel = parallel.clone();
        async move { Ok((parallel.prop("value").await?.as_deref() == Some("3")).then_some(())) }
    })
    .await;
    let dark = app.testid("settings-theme-dark").await;
    assert_eq!(
        dark.prop("checked").await.expect("read checked").as_deref(),
        Some("true"),
        "the saved theme is the chosen one"
    );

    app.client
        .set_window_size(1920, 1080)
        .await
        .expect("resize the window to 1920×1080");
    // The window manager applies the size when it gets to it: the page is
    // 1920 wide once it has (a single read raced it under load).
    app.until("the page to be 1920 wide", || {
        let client = app.client.clone();
        async move {
            let width = client.execute("return window.innerWidth", vec![]).await?;
            Ok((width.as_u64() == Some(1920)).then_some(()))
        }
    })
    .await;
    app.shot("settings-dark-1920").await;

    app.click(&tid("nav-home")).await;
    let repo = Repo::new("themed").await;
    let path = repo.root.display().to_string();
    app.type_into(&tid("repo-path-input"), &path).await;
    app.click(&tid("repo-open")).await;
    app.text_contains(&tid("repo-root"), &path).await;
    app.shot("home-dark-1920").await;

    app.click(&tid("start-experiment")).await;
    app.type_into(&tid("task-input"), "Greet the user by name")
        .await;
    let names = app.count(&tid("approach-name"), 3).await;
    for (el, name) in names.iter().zip(["Plain function", "Builder", "Macro"]) {
        el.send_keys(name).await.expect("type an approach name");
    }
    app.click(&tid("launch")).await;
    app.count(&tid("variant-card"), 3).await;
    app.shot("experiment-dark-1920").await;
    app.click(&tid("tab-compare")).await;
    app.testid("results-table").await;
    app.count(&tid("open-folder"), 3).await;
    app.testid("export-report").await;
    app.shot("compare-dark-1920").await;

    app.close().await;
}

/// The page's computed background colour.
async fn background(app: &App) -> String {
    app.js("return getComputedStyle(document.body).backgroundColor")
        .await
        .as_str()
        .unwrap_or_default()
        .to_string()
}
