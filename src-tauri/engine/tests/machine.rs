//! A machine that does not drown: checks run at most `max_checks` at once
//! across variants, and a variant waits, queued and saying why, while less
//! memory is available than the settings ask for.

mod common;

use std::time::Duration;

use common::{fake_claude, fake_config, Fixture, Rig};
use fanout_engine::orchestrator::{Config, Environment, RunConfig, UpdateKind};
use fanout_engine::store::VariantStatus;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn checks_never_run_more_at_once_than_the_machine_allows() {
    let environment = Environment {
        max_checks: 1,
        ..Environment::default()
    };
    let rig = Rig::opened_with(
        Fixture::new(),
        &["one", "two", "three"],
        "claude-code",
        environment,
    );
    let log = rig.fx.sibling("checks").join("log");
    let check = format!(
        "echo start >> '{log}'; sleep 0.4; echo end >> '{log}'",
        log = log.display()
    );
    let mut config = fake_config(fake_claude(), "success");
    config.environment.max_checks = 1;
    let done = rig
        .run(Config {
            run: RunConfig {
                check: Some(check),
                // The log is outside every worktree, which the sandbox would keep the checks from.
                sandbox: false,
                ..RunConfig::default()
            },
            ..config
        })
        .await;
    assert!(done
        .variants
        .iter()
        .all(|v| v.status == VariantStatus::Succeeded));
    let lines: Vec<String> = std::fs::read_to_string(&log)
        .expect("the checks logged")
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(
        lines,
        ["start", "end", "start", "end", "start", "end"],
        "one check at a time: each ended before the next started"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_variant_waits_for_memory_then_starts_when_the_setting_allows() {
    let rig = Rig::new(&["patient"], "claude-code");
    let mut config = fake_config(fake_claude(), "success");
    // More memory than any machine has: the variant must wait.
    config.environment.min_free_memory = u64::MAX;
    rig.configure(&config).await;
    let mut updates = rig.fanout.subscribe();
    let ticket = rig.start_run().await;
    let waiting = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let update = updates.recv().await.expect("updates flow");
            if let UpdateKind::Progress(p) = update.kind {
                if p.activity
                    .as_deref()
                    .is_some_and(|a| a.starts_with("waiting for memory"))
                {
                    return p;
                }
            }
        }
    })
    .await
    .expect("the variant says it waits for memory");
    assert_eq!(waiting.status, VariantStatus::Queued, "it waits queued");
    assert!(
        waiting
            .activity
            .as_deref()
            .is_some_and(|a| a.contains("GB available")),
        "with the figure: {:?}",
        waiting.activity
    );

    // The user lowers the setting: the waiting variant goes ahead.
    let mut environment = config.environment.clone();
    environment.min_free_memory = 0;
    environment.data_dir = rig.paths.home().to_path_buf();
    rig.fanout.dispatcher().set_environment(environment);
    tokio::time::timeout(Duration::from_secs(60), ticket.finished())
        .await
        .expect("it ran once memory was enough");
    let view = rig.load().await;
    assert_eq!(
        view.variants[0].status,
        VariantStatus::Succeeded,
        "{:?}",
        view.variants[0].error
    );
}
