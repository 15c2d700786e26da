//! The run dispatcher end to end: real repositories, real worktrees, the
//! fake Claude Code (a python script that prints recorded-format stream-json
//! and really writes a file), a real SQLite file.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{fake_claude, fake_config as config, group_members, Rig, TASK};
use fanout_engine::events::SessionEvent;
use fanout_engine::orchestrator::{self, coalesce, procfs, Update, UpdateKind};
use fanout_engine::store::{ProcessId, VariantStatus};
use tokio::sync::broadcast;

/// A wrapper around the fake that picks its mode per variant from the
/// worktree's folder name (`<n>-<slug>`), so one run can mix behaviours.
fn fake_with_modes(dir: &Path, modes: &[(&str, &str)]) -> PathBuf {
    let mut script = String::from("case \"$PWD\" in\n");
    for (slug, mode) in modes {
        script.push_str(&format!("  *-{slug}) export FANOUT_FAKE_MODE={mode} ;;\n"));
    }
    script.push_str(&format!("esac\nexec '{}' \"$@\"", fake_claude().display()));
    let name: Vec<String> = modes.iter().map(|(s, m)| format!("{s}_{m}")).collect();
    common::script(&dir.join(format!("fake-{}", name.join("-"))), &script)
}

fn setup(names: &[&str]) -> Rig {
    Rig::new(names, "claude-code")
}

async fn launches(s: &Rig, index: u32) -> Vec<serde_json::Value> {
    s.events(index)
        .await
        .into_iter()
        .filter(|e| e.kind == "launch")
        .map(|e| e.payload)
        .collect()
}

fn time_of(rfc3339: &Option<String>) -> time::OffsetDateTime {
    let text = rfc3339.as_deref().expect("the time is recorded");
    time::OffsetDateTime::parse(text, &time::format_description::well_known::Rfc3339)
        .expect("RFC 3339")
}

async fn recorded_groups(s: &Rig) -> Vec<u32> {
    let mut groups = Vec::new();
    for i in 1..=s.view.variants.len() as u32 {
        if let Some(group) = s.session(i).await.group {
            groups.push(group.pid);
        }
    }
    groups
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_variants_succeed_with_commits_events_and_results() {
    let s = setup(&["alpha", "beta", "gamma"]);
    let view = s.run(config(fake_claude(), "success")).await;

    for v in &view.variants {
        assert_eq!(
            v.status,
            VariantStatus::Succeeded,
            "variant {} succeeded: {:?}",
            v.index,
            v.error
        );
        assert_ne!(
            v.head_commit.as_deref(),
            Some(view.experiment.base_commit.as_str()),
            "the agent's edit was committed on the branch"
        );
        let committed =
            s.fx.git(&["show", &format!("{}:fake-output.txt", v.branch)]);
        assert!(
            committed.contains(TASK),
            "the file the agent wrote is in the commit: {committed}"
        );
        assert_eq!(
            v.summary.as_deref(),
            Some("Done: wrote fake-output.txt"),
            "the agent's final result is the summary"
        );
        assert_eq!(v.turns, Some(2), "turns come from the result line");
        assert!(v.cost_usd.is_some() && v.started_at.is_some() && v.finished_at.is_some());
    }
    assert_eq!(view.experiment.status.as_str(), "finished");

    let stored = s.events(2).await;
    let seqs: Vec<i64> = stored.iter().map(|e| e.seq).collect();
    assert_eq!(
        seqs,
        (1..=stored.len() as i64).collect::<Vec<_>>(),
        "events are numbered without gaps"
    );
    // stdout and stderr are read side by side, so stderr lines (`log`) may
    // land anywhere; the stream-json events keep their order.
    let kinds: Vec<&str> = stored
        .iter()
        .map(|e| e.kind.as_str())
        .filter(|k| *k != "log")
        .collect();
    assert_eq!(
        kinds,
        [
            "launch",
            "init",
            "tool_use",
            "tool_result",
            "assistant_text",
            "usage",
            "result"
        ],
        "the launch record first, then the agent's events in order"
    );
    let launch = &stored[0].payload;
    assert_eq!(launch["base_commit"], view.experiment.base_commit.as_str());
    assert!(
        launch["prompt"].as_str().unwrap().contains("the beta way"),
        "the approach is in the prompt"
    );
    assert!(
        launch["methodology"]
            .as_str()
            .unwrap()
            .contains("Analyse deeply"),
        "no file: the built-in methodology"
    );
    assert!(
        launch["command_line"]
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a == "--append-system-prompt"),
        "the flags are recorded"
    );

    let results = orchestrator::results(&view);
    assert!(
        results.iter().all(|r| r.files_changed == Some(1)
            && r.lines_added > Some(0)
            && r.lines_removed == Some(0)),
        "results count the diff against the base: {results:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn max_parallel_one_runs_the_variants_one_after_another() {
    let s = setup(&["one", "two", "three"]);
    let mut slow = config(fake_claude(), "slow");
    slow.run.max_parallel = Some(1);
    let mut variants = s.run(slow).await.variants;
    variants.sort_by_key(|v| time_of(&v.started_at));
    for pair in variants.windows(2) {
        assert!(
            time_of(&pair[0].finished_at) <= time_of(&pair[1].started_at),
            "variant {} started before variant {} finished: only one session may run at once",
            pair[1].index,
            pair[0].index
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_variant_does_not_stop_the_others() {
    let s = setup(&["good", "broken", "fine"]);
    let agent = fake_with_modes(&s.fx.sibling("bin"), &[("broken", "exit")]);
    let view = s.run(config(agent, "success")).await;
    let status: Vec<_> = view.variants.iter().map(|v| v.status).collect();
    assert_eq!(
        status,
        [
            VariantStatus::Succeeded,
            VariantStatus::Failed,
            VariantStatus::Succeeded
        ]
    );
    let error = view.variants[1].error.as_deref().unwrap();
    assert!(
        error.contains("exited with code 3"),
        "the failure says why: {error}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_all_leaves_no_process_and_marks_them_cancelled() {
    let s = setup(&["a", "b", "c"]);
    s.configure(&config(fake_claude(), "hang")).await;
    let run = s.start_run().await;
    let mut groups = Vec::new();
    for _ in 0..500 {
        groups = recorded_groups(&s).await;
        if groups.len() == 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(
        groups.len(),
        3,
        "all three agents started and their groups were recorded"
    );
    assert!(
        groups.iter().all(|g| !group_members(*g).is_empty()),
        "the agents run until cancelled"
    );
    assert_eq!(s.fanout.cancel(&s.id, None), 3);
    run.finished().await;
    let view = s.load().await;
    assert!(
        view.variants
            .iter()
            .all(|v| v.status == VariantStatus::Cancelled),
        "{:?}",
        view.variants.iter().map(|v| v.status).collect::<Vec<_>>()
    );
    assert_eq!(view.experiment.status.as_str(), "cancelled");
    for g in groups {
        assert!(
            group_members(g).is_empty(),
            "group {g} is gone after cancel: {:?}",
            group_members(g)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_agent_is_ended_by_the_timeout() {
    let s = setup(&["stuck"]);
    let mut hang = config(fake_claude(), "hang");
    hang.run.timeout_secs = 1;
    let view = s.run(hang).await;
    let v = &view.variants[0];
    assert_eq!(
        v.status,
        VariantStatus::Failed,
        "a timeout is a failure, not a cancel"
    );
    assert!(
        v.error.as_deref().unwrap().contains("timeout"),
        "{:?}",
        v.error
    );
    for g in recorded_groups(&s).await {
        assert!(group_members(g).is_empty(), "the hung agent is gone");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grandchildren_are_gone_when_the_variant_ends() {
    let s = setup(&["forky"]);
    let view = s.run(config(fake_claude(), "grandchildren")).await;
    assert!(view.variants[0].status != VariantStatus::Queued);
    let groups = recorded_groups(&s).await;
    assert_eq!(groups.len(), 1);
    assert!(
        group_members(groups[0]).is_empty(),
        "the background sleeps were killed with the group"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_check_command_result_is_stored_and_decides() {
    let s = setup(&["checked"]);
    let mut checked = config(fake_claude(), "success");
    checked.run.check = Some("test -f fake-output.txt && echo found it".into());
    let v = &s.run(checked).await.variants[0];
    let check = v.check.as_ref().expect("the check ran");
    assert_eq!(
        (v.status, check.exit_code),
        (VariantStatus::Succeeded, Some(0))
    );
    assert!(
        check.output_tail.contains("found it"),
        "the output tail is kept"
    );

    let s = setup(&["failing-check"]);
    let mut failing = config(fake_claude(), "success");
    failing.run.check = Some("echo two tests failed; exit 4".into());
    let v = &s.run(failing).await.variants[0];
    let check = v.check.as_ref().expect("the check ran");
    assert_eq!(
        v.status,
        VariantStatus::Failed,
        "a failed check fails the variant"
    );
    assert_eq!(check.exit_code, Some(4));
    assert!(check.output_tail.contains("two tests failed"));
    assert!(
        v.error.as_deref().unwrap().contains("exit code 4"),
        "{:?}",
        v.error
    );
    assert!(
        v.head_commit.is_some(),
        "the agent's work was committed before the check"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retry_resets_the_worktree_and_runs_again() {
    let s = setup(&["flaky"]);
    let v = s
        .run(config(fake_claude(), "exit"))
        .await
        .variants
        .remove(0);
    assert_eq!(v.status, VariantStatus::Failed);
    std::fs::write(v.worktree.join("leftover.txt"), "junk").unwrap();
    assert!(
        v.worktree.join("fake-output.txt").exists(),
        "the failed attempt left its edit"
    );

    s.configure(&config(fake_claude(), "success")).await;
    let v = s.retry(1).await.expect("the retry runs").variants.remove(0);
    assert_eq!(v.status, VariantStatus::Succeeded, "{:?}", v.error);
    assert!(
        !v.worktree.join("leftover.txt").exists(),
        "untracked files of the failed attempt are gone"
    );
    let content = std::fs::read_to_string(v.worktree.join("fake-output.txt")).unwrap();
    assert_eq!(
        content.matches("# Task").count(),
        1,
        "the worktree started from the base, not from the failed attempt: {content}"
    );
    assert_eq!(
        launches(&s, 1).await.len(),
        2,
        "both launches are on record"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follow_up_resumes_the_session() {
    let s = setup(&["resumable"]);
    s.run(config(fake_claude(), "success")).await;
    let first_session = s
        .events(1)
        .await
        .into_iter()
        .find(|e| e.kind == "init")
        .map(|e| e.payload["session_id"].as_str().unwrap().to_owned())
        .expect("the agent reported its session id");

    let v = s
        .follow_up(1, "now add a farewell")
        .await
        .unwrap()
        .variants
        .remove(0);
    assert_eq!(v.status, VariantStatus::Succeeded, "{:?}", v.error);
    let launch = launches(&s, 1).await.pop().unwrap();
    assert_eq!(
        launch["resume"],
        first_session.as_str(),
        "the follow-up resumes the recorded session"
    );
    let inits: Vec<_> = s
        .events(1)
        .await
        .into_iter()
        .filter(|e| e.kind == "init")
        .collect();
    assert_eq!(
        inits.last().unwrap().payload["session_id"],
        first_session.as_str()
    );
    let committed =
        s.fx.git(&["show", &format!("{}:fake-output.txt", v.branch)]);
    assert!(
        committed.contains("follow-up: now add a farewell"),
        "the follow-up's edit is committed: {committed}"
    );

    let err = s.follow_up(1, "  ").await.unwrap_err();
    assert_eq!(err.code(), "orchestrator.empty_follow_up");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn recovery_interrupts_only_variants_whose_fanout_is_gone() {
    let s = setup(&["orphaned", "owned-elsewhere", "never-claimed"]);
    let id = s.view.experiment.id.clone();
    let me = procfs::this_process();
    let init = ProcessId {
        pid: 1,
        start: procfs::start_ticks(1).expect("pid 1 is visible"),
    };
    let dead = ProcessId {
        pid: me.pid,
        start: me.start + 1,
    };
    let key = id.clone();
    s.fanout
        .dispatcher()
        .writer()
        .call(move |store| {
            for (i, owner) in [(1, Some(dead)), (2, Some(init)), (3, None)] {
                let mut v = store.variants(&key).unwrap().remove(i - 1);
                v.status = VariantStatus::Running;
                store.update_variant(&v).unwrap();
                if let Some(owner) = owner {
                    store.claim_variant(&key, i as u32, owner).unwrap();
                }
            }
        })
        .await
        .unwrap();
    s.configure(&config(fake_claude(), "success")).await;
    let marked = s.fanout.dispatcher().recover().await.unwrap();
    assert_eq!(
        marked,
        [(id.clone(), 1), (id.clone(), 3)],
        "a live owner's variant is left alone"
    );
    let variants = s.load().await.variants;
    assert_eq!(variants[0].status, VariantStatus::Interrupted);
    assert_eq!(variants[1].status, VariantStatus::Running);
    assert!(
        variants[0].finished_at.is_some()
            && variants[0].error.as_deref().unwrap().contains("retry")
    );
    assert!(
        variants[0].worktree.is_dir(),
        "the worktree stays for a retry"
    );
    let v = s
        .retry(1)
        .await
        .expect("an interrupted variant can be retried")
        .variants
        .remove(0);
    assert_eq!(v.status, VariantStatus::Succeeded);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_methodology_file_is_read_at_each_launch() {
    let s = setup(&["method"]);
    s.fx.write(
        ".claude/commands/ultrathink-task.md",
        "---\ndescription: test\n---\nMethod A for $ARGUMENTS\n",
    );
    s.run(config(fake_claude(), "success")).await;
    s.fx.write(
        ".claude/commands/ultrathink-task.md",
        "Method B for $ARGUMENTS\n",
    );
    s.retry(1).await.unwrap();
    let methods: Vec<_> = launches(&s, 1)
        .await
        .iter()
        .map(|l| l["methodology"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        methods,
        [
            format!("Method A for {TASK}"),
            format!("Method B for {TASK}")
        ],
        "front matter stripped, task substituted, edit seen"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_huge_output_session_reaches_subscribers_in_batches_and_the_store_whole() {
    let s = setup(&["loud"]);
    let mut ticks = coalesce(s.fanout.subscribe(), orchestrator::UI_INTERVAL);
    let reader = tokio::spawn(async move {
        let (mut batches, mut received, mut missed) = (0, 0, 0);
        while let Some(tick) = ticks.recv().await {
            missed += tick.missed;
            for b in tick.batches {
                batches += 1;
                received += b.events.len();
            }
        }
        (batches, received, missed)
    });
    let view = s.run(config(fake_claude(), "huge")).await;
    assert_eq!(
        view.variants[0].status,
        VariantStatus::Succeeded,
        "{:?}",
        view.variants[0].error
    );
    let stored = s.events(1).await.len();
    // The dispatcher goes with the rig, and with it the broadcast.
    drop(s);
    let (batches, received, missed) = reader.await.unwrap();
    assert!(
        stored > 30_000,
        "the store keeps every line of the huge output: {stored}"
    );
    assert_eq!(missed, 0, "the coalescer kept up");
    assert_eq!(
        received,
        stored - 1,
        "subscribers got every event but the launch record, batched"
    );
    assert!(
        batches < received / 100,
        "{received} events came in only {batches} batches"
    );
}

/// Deterministic pacing with tokio's paused clock: 3,000 events spread over
/// 300 ms of simulated time give at most one batch per interval per variant.
#[tokio::test(start_paused = true)]
async fn the_coalescer_sends_at_most_one_batch_per_interval_per_variant() {
    let (tx, rx) = broadcast::channel(100_000);
    let interval = Duration::from_millis(33);
    let mut ticks = coalesce(rx, interval);
    let id: std::sync::Arc<str> = "exp".into();
    let producer = tokio::spawn(async move {
        for i in 0..3000u32 {
            for variant in [1, 2] {
                let _ = tx.send(Update {
                    experiment_id: id.clone(),
                    variant,
                    kind: UpdateKind::Event {
                        event: SessionEvent::raw(&i.to_string()),
                    },
                });
            }
            if i % 10 == 9 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
    });
    let start = tokio::time::Instant::now();
    let mut per_variant = [Vec::new(), Vec::new()];
    let mut last_tick: Option<tokio::time::Instant> = None;
    while let Some(tick) = ticks.recv().await {
        let now = tokio::time::Instant::now();
        if let Some(previous) = last_tick {
            assert!(now - previous >= interval, "ticks keep the interval apart");
        }
        last_tick = Some(now);
        for b in tick.batches {
            per_variant[b.variant as usize - 1].push(b.events.len());
        }
    }
    producer.await.unwrap();
    let elapsed = start.elapsed();
    let max = (elapsed.as_millis() / interval.as_millis()) as usize + 2;
    for counts in &per_variant {
        assert!(
            counts.len() <= max,
            "{} batches in {elapsed:?}: at most {max}",
            counts.len()
        );
        assert_eq!(counts.iter().sum::<usize>(), 3000, "batched, not dropped");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_report_has_the_table_the_approaches_and_the_summaries() {
    let s = setup(&["first way", "second way"]);
    s.run(config(fake_claude(), "success")).await;
    let report = s.fanout.engine().report(&s.id).unwrap();
    for needle in [
        "| # | Approach | Status",
        "| 1 | first way | succeeded",
        "## 2. second way",
        "the second way",
        "keep second way simple",
        "> Done: wrote fake-output.txt",
        "## Similarity",
    ] {
        assert!(
            report.contains(needle),
            "the report has {needle:?}:\n{report}"
        );
    }
}
