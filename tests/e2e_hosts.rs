//! Variants on another machine, in the real window: a host added in
//! Settings → Hosts and checked, an experiment of two variants launched
//! there, each card saying where it ran, their work compared and one merged
//! into the user's branch here. The host is an OpenSSH server the test
//! starts on 127.0.0.1; the app reaches it through FANOUT_SSH_CONFIG.
//!
//! Run: `(cd ui && npm run build) && cargo test --features custom-protocol --test e2e_hosts`.

#[allow(dead_code)]
#[path = "e2e/git.rs"]
mod git;
#[allow(dead_code)]
#[path = "e2e/harness.rs"]
mod harness;

use std::path::Path;

use fanout_testsupport::Sshd;
use git::Repo;
use harness::{card, tid, App};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(feature = "custom-protocol"),
    ignore = "the app must serve ui/dist: run with --features custom-protocol (make test does)"
)]
async fn two_variants_run_on_a_host_added_in_settings_and_one_is_merged_here() {
    harness::assert_ui_built();
    let sshd = Sshd::start();
    let claude = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agents/fake-claude");
    let claude = claude.display().to_string();
    let config = sshd.config.display().to_string();
    let mut app = App::start_with_env(
        env!("CARGO_BIN_EXE_fanout-app"),
        &[("FANOUT_SSH_CONFIG", &config)],
    )
    .await;

    let repo = Repo::new("faraway").await;
    let path = repo.root.display().to_string();
    app.open_repo(&path).await;

    // Settings → Hosts: the host, its agent there, its folder; checked.
    app.open_settings().await;
    app.type_into(&tid("host-alias"), Sshd::ALIAS).await;
    app.type_into(&tid("host-capacity"), "2").await;
    app.type_into(&tid("host-agent-path"), &claude).await;
    app.type_into(
        &tid("host-workspace"),
        &sshd.workspace.display().to_string(),
    )
    .await;
    app.click(&tid("host-add")).await;
    app.el(&format!(
        "{}[data-alias=\"{}\"]",
        tid("host-row"),
        Sshd::ALIAS
    ))
    .await;
    app.click(&tid("host-check")).await;
    app.text_contains(&tid("host-report"), "git version").await;
    app.shot("hosts").await;
    app.click(&tid("settings-save")).await;
    app.testid("settings-saved").await;

    // Two variants, both on the host.
    app.click(&tid("nav-new")).await;
    app.type_into(&tid("task-input"), "Say hello from afar")
        .await;
    app.two_approaches(["Left", "Right"]).await;
    app.select(&tid("launch-host"), Sshd::ALIAS).await;
    app.click(&tid("launch")).await;
    for index in [1, 2] {
        app.el(&format!("{}[data-status=\"succeeded\"]", card(index)))
            .await;
        app.text_contains(
            &format!("{} {}", card(index), tid("variant-host")),
            Sshd::ALIAS,
        )
        .await;
    }
    app.shot("variants-on-host").await;
    let worktrees = std::fs::read_dir(sshd.workspace.join("worktrees"))
        .expect("the host's worktrees")
        .count();
    assert_eq!(worktrees, 2, "each variant's worktree is on the host");

    // Compared here: the second variant's diff against the base.
    app.click(&tid("tab-compare")).await;
    app.select(&tid("compare-variant"), "2").await;
    app.el(&format!(
        "{}[data-path=\"fake-output.txt\"]",
        tid("file-diff")
    ))
    .await;
    app.shot("compare").await;

    // And merged here, into the user's branch.
    app.js(
        "document.querySelector('[data-testid=\"tab-merge\"]').scrollIntoView({block: 'center'})",
    )
    .await;
    app.click(&tid("tab-merge")).await;
    app.click(&format!("{}[data-index=\"2\"]", tid("merge-open")))
        .await;
    app.click(&tid("merge-confirm")).await;
    app.testid("merge-result").await;
    assert!(
        repo.read("fake-output.txt").is_some(),
        "the host's work reached the user's branch"
    );
    assert_eq!(repo.status().await, "", "the user's checkout is clean");
    app.close().await;
}
