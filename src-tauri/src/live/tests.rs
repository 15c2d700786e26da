//! The window's runs over a real repository, a real store and fake agents
//! (real child processes): launched from the settings as the window does,
//! watched, steered and noticed through [`Live`], without the window.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fanout_engine::agent::ApprovalUpdate;
use fanout_engine::experiment::ApproachSpec;
use fanout_engine::ids::VariantIndex;
use fanout_engine::orchestrator::{Job, Steer};
use fanout_engine::paths::Paths;
use fanout_testsupport::Fixture as Repo;
use std::collections::HashMap;
use tokio::sync::mpsc;

use super::*;

/// The notices a test's notifier collected: (title, body).
type Notices = Arc<Mutex<Vec<(String, String)>>>;

struct Fixture {
    repo: Repo,
    paths: Paths,
    settings: Settings,
    fanout: Fanout,
    live: Live,
    id: ExperimentId,
    notices: Notices,
}

/// Settings whose `claude` is `claude`, saved in a new data folder.
fn settings(repo: &Repo, claude: &Path, tweak: impl FnOnce(&mut Settings)) -> (Paths, Settings) {
    let paths = Paths::at(repo.sibling("home"));
    let mut settings = Settings {
        claude_path: Some(claude.to_owned()),
        // The fake agents read their scripts from /tmp, which the sandbox's
        // private /tmp hides; the sandbox has tests of its own (engine: trust.rs).
        sandbox: false,
        ..Settings::default()
    };
    tweak(&mut settings);
    std::fs::create_dir_all(paths.home()).expect("home");
    settings.save(&paths.settings()).expect("save settings");
    (paths, settings)
}

/// Fanout opened as the app opens it, with notices collected.
fn open(paths: &Paths, settings: &Settings) -> (Fanout, Live, Notices) {
    let fanout = Fanout::open(
        paths.clone(),
        settings.environment(),
        settings.run_config(None),
    )
    .expect("Fanout opens");
    let live = Live::new(fanout.clone());
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = notices.clone();
    live.set_notifier(Box::new(move |t, b| {
        sink.lock()
            .expect("notices")
            .push((t.to_owned(), b.to_owned()))
    }));
    (fanout, live, notices)
}

/// A repository, the app's settings with `claude`, and an experiment of
/// `names` launched as the window launches it, with `check`.
async fn launched(
    claude: &Path,
    names: &[&str],
    check: Option<&str>,
) -> (Fixture, mpsc::UnboundedReceiver<Tick>) {
    launched_with(claude, names, check, |_| {}).await
}

/// [`launched`] with the settings changed by `tweak` first.
async fn launched_with(
    claude: &Path,
    names: &[&str],
    check: Option<&str>,
    tweak: impl FnOnce(&mut Settings),
) -> (Fixture, mpsc::UnboundedReceiver<Tick>) {
    let repo = Repo::new();
    let (paths, settings) = settings(&repo, claude, tweak);
    let (fanout, live, notices) = open(&paths, &settings);
    tokio::spawn(live.clone().notify_requests());
    let approaches = names
        .iter()
        .map(|n| ApproachSpec {
            name: (*n).into(),
            ..ApproachSpec::default()
        })
        .collect();
    let request = settings.new_experiment(
        repo.root.clone(),
        "Say hello".into(),
        approaches,
        false,
        check.map(str::to_owned),
    );
    // Watched from the start, as the window watches before it launches.
    let (tx, ticks) = mpsc::unbounded_channel();
    let updates = fanout.subscribe();
    let (view, ticket) = fanout.launch(request).await.expect("launch");
    let id = view.id();
    live.watch_updates(updates, &id, move |tick| tx.send(tick).is_ok());
    live.after_job(ticket);
    let f = Fixture {
        repo,
        paths,
        settings,
        fanout,
        live,
        id,
        notices,
    };
    (f, ticks)
}

fn fake_claude() -> PathBuf {
    fanout_testsupport::fake_claude()
}

impl Fixture {
    async fn events(&self, index: u32, after: i64) -> Vec<fanout_engine::store::StoredEvent> {
        let id = self.id.clone();
        self.fanout
            .blocking(move |e| e.events(&id, VariantIndex(index), after, 500))
            .await
            .expect("transcript")
    }

    async fn view(&self) -> ExperimentView {
        let id = self.id.clone();
        self.fanout
            .blocking(move |e| e.experiment(&id))
            .await
            .expect("view")
    }

    async fn steer(&self, index: u32, steer: Steer) -> Result<(), Error> {
        self.fanout
            .steer(&self.id, VariantIndex(index), steer)
            .await
    }

    async fn again(&self, job: Job) -> Result<(), Error> {
        let ticket = self.fanout.submit(job).await?;
        self.live.after_job(ticket);
        Ok(())
    }
}

/// Statuses per variant as the watcher saw them, until every variant in
/// `want` has one of the statuses (bounded so a broken run fails, not hangs).
async fn until_statuses(
    ticks: &mut mpsc::UnboundedReceiver<Tick>,
    n: u32,
    done: impl Fn(VariantStatus) -> bool,
) -> HashMap<u32, VariantStatus> {
    let mut seen = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while (1..=n).any(|i| !seen.get(&i).copied().is_some_and(&done)) {
        let tick = tokio::time::timeout_at(deadline, ticks.recv())
            .await
            .unwrap_or_else(|_| panic!("the variants did not get there; last seen {seen:?}"))
            .expect("the watch goes on");
        for batch in tick.batches {
            if let Some(p) = batch.progress {
                seen.insert(batch.variant, p.status);
            }
        }
    }
    seen
}

/// Waits (bounded) for the notices to reach `n`; they come a moment after
/// the last tick, once the job's task sees its variants end.
async fn until_notices(f: &Fixture, n: usize) -> Vec<(String, String)> {
    for _ in 0..200 {
        if f.notices.lock().expect("notices").len() >= n {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    f.notices.lock().expect("notices").clone()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launch_runs_every_variant_streams_ticks_and_notifies() {
    let (f, mut ticks) = launched(&fake_claude(), &["One", "Two"], None).await;
    let seen = until_statuses(&mut ticks, 2, |s| s == VariantStatus::Succeeded).await;
    assert_eq!(seen.len(), 2, "both variants reported through the watch");

    let events = f.events(1, 0).await;
    assert!(
        events.iter().any(|e| e.kind == "tool_use") && events.iter().any(|e| e.kind == "result"),
        "the stored transcript has the agent's tool call and result: {:?}",
        events.iter().map(|e| &e.kind).collect::<Vec<_>>()
    );
    let after = f.events(1, events[0].seq).await;
    assert_eq!(after.len(), events.len() - 1, "paging skips what was read");

    let notices = until_notices(&f, 1).await;
    assert_eq!(notices.len(), 1, "one notification per run: {notices:?}");
    assert!(
        notices[0].1.contains("2 of 2 succeeded"),
        "the notification says how it went: {notices:?}"
    );

    let again = f
        .again(Job::Run {
            experiment: f.id.clone(),
        })
        .await;
    assert_eq!(
        again.expect_err("every variant ran already").code(),
        "orchestrator.nothing_to_run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_watch_sees_only_its_own_experiment() {
    let (f, mut ticks) = launched(&fake_claude(), &["One"], None).await;
    until_statuses(&mut ticks, 1, |s| s == VariantStatus::Succeeded).await;
    // A second experiment in the same repository runs while the first is watched.
    let request = f.settings.new_experiment(
        f.repo.root.clone(),
        "Say goodbye".into(),
        vec![ApproachSpec {
            name: "Other".into(),
            ..ApproachSpec::default()
        }],
        false,
        None,
    );
    let (_, ticket) = f.fanout.launch(request).await.expect("second launch");
    ticket.finished().await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    while let Ok(tick) = ticks.try_recv() {
        assert!(
            tick.batches.is_empty(),
            "the first experiment's watch got another's updates: {tick:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_hanging_agents_and_retry_runs_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hang = dir.path().join("hanging-claude");
    std::fs::write(&hang, "#!/bin/sh\nexec sleep 300\n").expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let (f, mut ticks) = launched(&hang, &["Slow", "Slower"], None).await;
    until_statuses(&mut ticks, 2, |s| s == VariantStatus::Running).await;
    let dispatcher = f.fanout.dispatcher();
    assert_eq!(
        dispatcher.cancel_running(&f.id, None).expect("cancel"),
        2,
        "both asked to stop"
    );
    until_statuses(&mut ticks, 2, |s| s == VariantStatus::Cancelled).await;
    assert_eq!(
        dispatcher
            .cancel_running(&f.id, None)
            .expect_err("nothing runs any more")
            .code(),
        "orchestrator.nothing_to_cancel"
    );

    let empty = f
        .again(Job::FollowUp {
            experiment: f.id.clone(),
            variant: VariantIndex(1),
            text: "  ".into(),
        })
        .await;
    assert_eq!(
        empty.expect_err("empty text").code(),
        "orchestrator.empty_follow_up"
    );
    let retry = Job::Retry {
        experiment: f.id.clone(),
        variant: VariantIndex(1),
    };
    f.again(retry.clone()).await.expect("retry");
    let seen = until_statuses(&mut ticks, 1, |s| s == VariantStatus::Running).await;
    assert_eq!(
        seen.get(&1),
        Some(&VariantStatus::Running),
        "the retry runs variant 1 again"
    );
    let refused = f.again(retry).await;
    assert_eq!(
        refused.expect_err("it runs").code(),
        "orchestrator.variant_busy"
    );
    assert_eq!(
        dispatcher
            .cancel_running(&f.id, Some(VariantIndex(1)))
            .expect("cancel one"),
        1
    );
    until_statuses(&mut ticks, 1, |s| s == VariantStatus::Cancelled).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_notice_counts_outcomes_and_waits_for_active_variants() {
    let (f, mut ticks) = launched(&fake_claude(), &["A", "B", "C"], None).await;
    until_statuses(&mut ticks, 3, |s| s == VariantStatus::Succeeded).await;
    let mut view = f.view().await;
    let statuses = [
        VariantStatus::Succeeded,
        VariantStatus::Failed,
        VariantStatus::Running,
    ];
    for (v, s) in view.variants.iter_mut().zip(statuses) {
        v.status = s;
    }
    assert_eq!(outcome_notice(&view), None, "a variant still runs");
    view.variants[2].status = VariantStatus::Cancelled;
    let (title, body) = outcome_notice(&view).expect("all ended");
    assert!(title.contains("failures"), "{title}");
    assert_eq!(body, "Say hello: 1 of 3 succeeded, 1 failed, 1 cancelled.");
    for v in &mut view.variants {
        v.status = VariantStatus::Cancelled;
    }
    assert!(outcome_notice(&view)
        .expect("ended")
        .0
        .contains("cancelled"));
}

/// The check the window launched with is stored with the experiment: a retry
/// after the app restarted runs it again (it once lived only in the app's
/// memory, and a retry after a restart ran with no check).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_after_a_restart_runs_the_launchs_check() {
    let check = "echo checked >> check-ran.txt";
    let (f, mut ticks) = launched(&fake_claude(), &["One"], Some(check)).await;
    until_statuses(&mut ticks, 1, |s| s == VariantStatus::Succeeded).await;
    let worktree = f.view().await.variants[0].worktree.clone();
    assert_eq!(
        std::fs::read_to_string(worktree.join("check-ran.txt")).expect("the check ran"),
        "checked\n"
    );

    // The app quits, the settings change, the app starts again.
    // The app quits: its Fanout goes; the repository and data folder stay.
    let Fixture {
        repo: _repo,
        paths,
        settings,
        fanout,
        live,
        id,
        ..
    } = f;
    drop((fanout, live));
    let restarted = Settings {
        max_parallel: Some(1),
        timeout_minutes: 1,
        ..settings
    };
    let (fanout, _live, _) = open(&paths, &restarted);
    let ticket = fanout
        .submit(Job::Retry {
            experiment: id.clone(),
            variant: VariantIndex(1),
        })
        .await
        .expect("retry");
    ticket.finished().await;
    let view = fanout
        .blocking(move |e| e.experiment(&id))
        .await
        .expect("view");
    let v = &view.variants[0];
    assert_eq!(v.status, VariantStatus::Succeeded, "{:?}", v.error);
    assert!(
        v.check
            .as_ref()
            .is_some_and(|c| c.command == check && c.exit_code == Some(0)),
        "the retry ran the check it was launched with: {:?}",
        v.check
    );
    assert_eq!(
        std::fs::read_to_string(worktree.join("check-ran.txt")).expect("the check ran"),
        "checked\n",
        "once more, in the worktree the retry reset"
    );
}

/// Every variant asks to run `echo ran > ran.txt`.
const ASK_BASH: &str = r#"[{"match": "", "files": {"notes.txt": "inside the worktree\n"}, "bash": "echo ran > ran.txt", "say": "Finished."}]"#;

/// `fake-claude` following `script` (see its FANOUT_FAKE_SCRIPT).
fn scripted_claude(dir: &Path, script: &str) -> PathBuf {
    let script_path = dir.join("script.json");
    std::fs::write(&script_path, script).expect("write the script");
    let script = script_path;
    let path = dir.join("asking-claude");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nFANOUT_FAKE_SCRIPT='{}' exec python3 '{}' \"$@\"\n",
            script.display(),
            fake_claude().display()
        ),
    )
    .expect("write the wrapper");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    path
}

/// The waiting request of each variant, once every variant of `1..=n` has one.
async fn until_requests(
    ticks: &mut mpsc::UnboundedReceiver<Tick>,
    n: u32,
) -> HashMap<u32, fanout_engine::agent::ApprovalRequest> {
    let mut seen = HashMap::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    while (seen.len() as u32) < n {
        let tick = tokio::time::timeout_at(deadline, ticks.recv())
            .await
            .unwrap_or_else(|_| panic!("no approval request came; seen {seen:?}"))
            .expect("the watch goes on");
        for batch in tick.batches {
            for update in batch.approvals {
                if let ApprovalUpdate::Requested { request } = update {
                    seen.insert(batch.variant, request);
                }
            }
        }
    }
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_ask_profile_waits_for_the_user_who_allows_or_denies() {
    let bin = tempfile::tempdir().expect("temp dir");
    let (f, mut ticks) = launched(
        &scripted_claude(bin.path(), ASK_BASH),
        &["Allowed", "Denied"],
        None,
    )
    .await;
    let requests = until_requests(&mut ticks, 2).await;
    for (variant, request) in &requests {
        assert_eq!(
            request.tool, "Bash",
            "variant {variant}: the edit inside the worktree was allowed by the rules; the command is asked"
        );
    }
    let notices = until_notices(&f, 2).await;
    assert!(
        notices
            .iter()
            .filter(|(_, body)| body.contains("needs your approval")
                && body.contains("Say hello")
                && body.contains("echo ran"))
            .count()
            == 2,
        "one notification per waiting variant, naming the task and the command: {notices:?}"
    );

    let unknown = f
        .steer(
            1,
            Steer::Allow {
                request: "no-such-request".into(),
            },
        )
        .await;
    assert_eq!(
        unknown.expect_err("not waiting").code(),
        "agent.unknown_request"
    );
    f.steer(
        1,
        Steer::Allow {
            request: requests[&1].id.clone(),
        },
    )
    .await
    .expect("allow");
    f.steer(
        2,
        Steer::Deny {
            request: requests[&2].id.clone(),
            message: "Not on this machine.".into(),
        },
    )
    .await
    .expect("deny");
    until_statuses(&mut ticks, 2, |s| s == VariantStatus::Succeeded).await;

    let view = f.view().await;
    let worktree = |i: usize| view.variants[i].worktree.clone();
    assert!(
        worktree(0).join("ran.txt").is_file(),
        "the allowed command ran in variant 1's worktree"
    );
    assert!(
        !worktree(1).join("ran.txt").exists(),
        "the denied command did not run in variant 2's worktree"
    );
    let events = f.events(2, 0).await;
    assert!(
        events
            .iter()
            .any(|e| e.kind == "tool_result"
                && e.payload.to_string().contains("Not on this machine.")),
        "the denial's message reached the agent, as its transcript shows"
    );
    let over = f.steer(1, Steer::Interrupt).await;
    assert_eq!(
        over.expect_err("the session ended").code(),
        "orchestrator.not_interactive",
        "a finished variant takes no steering"
    );
}

/// "Allow always" holds for the rest of the experiment, as the window says:
/// a retry after a restart runs the same command unasked (the rule once
/// lived in one run's memory and was gone by the retry).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_always_holds_for_a_retry_after_a_restart() {
    let bin = tempfile::tempdir().expect("temp dir");
    let (f, mut ticks) = launched(&scripted_claude(bin.path(), ASK_BASH), &["Always"], None).await;
    let requests = until_requests(&mut ticks, 1).await;
    f.steer(
        1,
        Steer::AllowAlways {
            tool: requests[&1].tool.clone(),
        },
    )
    .await
    .expect("allow always");
    until_statuses(&mut ticks, 1, |s| s == VariantStatus::Succeeded).await;

    // The app quits: its Fanout goes; the repository and data folder stay.
    let Fixture {
        repo: _repo,
        paths,
        settings,
        fanout,
        live,
        id,
        ..
    } = f;
    drop((fanout, live, ticks));
    let (fanout, live, _) = open(&paths, &settings);
    let (tx, mut ticks) = mpsc::unbounded_channel();
    live.watch(&id, move |tick| tx.send(tick).is_ok());
    let ticket = fanout
        .submit(Job::Retry {
            experiment: id.clone(),
            variant: VariantIndex(1),
        })
        .await
        .expect("retry");
    ticket.finished().await;
    let view = fanout
        .blocking(move |e| e.experiment(&id))
        .await
        .expect("view");
    let v = &view.variants[0];
    assert_eq!(v.status, VariantStatus::Succeeded, "{:?}", v.error);
    assert!(
        v.worktree.join("ran.txt").is_file(),
        "the command ran again in the retry"
    );
    while let Ok(tick) = ticks.try_recv() {
        for batch in tick.batches {
            assert!(
                !batch
                    .approvals
                    .iter()
                    .any(|a| matches!(a, ApprovalUpdate::Requested { .. })),
                "the retry asked again: {:?}",
                batch.approvals
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_agent_waits_for_the_next_message_and_answers_it() {
    let bin = tempfile::tempdir().expect("temp dir");
    let slow = r#"[{"match": "", "files": {"a.txt": "a\n"}, "mode": "slow", "delay": 120}]"#;
    let (f, mut ticks) = launched(&scripted_claude(bin.path(), slow), &["Slow"], None).await;
    until_statuses(&mut ticks, 1, |s| s == VariantStatus::Running).await;
    f.steer(1, Steer::Interrupt).await.expect("interrupt");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    'waiting: loop {
        let tick = tokio::time::timeout_at(deadline, ticks.recv())
            .await
            .expect("the interrupted session says it waits for a message")
            .expect("the watch goes on");
        for batch in tick.batches {
            if batch.approvals.contains(&ApprovalUpdate::AwaitingMessage) {
                break 'waiting;
            }
        }
    }
    f.steer(
        1,
        Steer::Send {
            text: "use tabs".into(),
        },
    )
    .await
    .expect("send");
    until_statuses(&mut ticks, 1, |s| s == VariantStatus::Succeeded).await;
    let events = f.events(1, 0).await;
    assert!(
        events.iter().any(
            |e| e.kind == "assistant_text" && e.payload.to_string().contains("Noted: use tabs")
        ),
        "the message sent after the interrupt was answered in the same session: {:?}",
        events.iter().map(|e| &e.kind).collect::<Vec<_>>()
    );
    let empty = f.steer(1, Steer::Send { text: " ".into() }).await;
    assert!(empty.is_err(), "an empty message is refused");
}

/// With "review automatically" on, each variant that succeeded with changes
/// is reviewed as its job ends, and the watch says a review was kept. The
/// reviewer is the Codex CLI (the fake, replaying a recording whose last
/// message is the review), so no key is needed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn succeeded_variants_are_reviewed_automatically_when_the_settings_say_so() {
    let dir = tempfile::tempdir().expect("temp dir");
    let recording = dir.path().join("review.jsonl");
    let review = serde_json::json!({
        "changes": [{"what": "writes the greeting", "files": ["fake-output.txt"]}],
        "risks": [], "tests": {"covered": false, "note": "none"}, "scope_creep": [],
        "scores": {"correctness": 7, "tests": 3, "scope": 9, "simplicity": 8, "maintainability": 7}
    });
    let lines = [
        serde_json::json!({"type": "thread.started", "thread_id": "t"}),
        serde_json::json!({"type": "turn.started"}),
        serde_json::json!({"type": "item.completed", "item": {"id": "i", "type": "agent_message", "text": review.to_string()}}),
        serde_json::json!({"type": "turn.completed", "usage": {"input_tokens": 1, "cached_input_tokens": 0, "output_tokens": 1}}),
    ];
    std::fs::write(
        &recording,
        lines.iter().map(|l| format!("{l}\n")).collect::<String>(),
    )
    .expect("write the recording");
    // A wrapper names the recording: the fake Codex reads it from its environment.
    let codex = fanout_testsupport::script(
        &dir.path().join("codex"),
        &format!(
            "FANOUT_FAKE_RECORDING='{}' exec python3 '{}' \"$@\"",
            recording.display(),
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures/agents/fake-codex")
                .display()
        ),
    );
    let (f, mut ticks) = launched_with(&fake_claude(), &["One"], None, |s| {
        s.codex_path = Some(codex.clone());
        s.reviewer.choice = fanout_engine::oneshot::AskerChoice::Codex;
        s.reviewer.automatic = true;
    })
    .await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let tick = tokio::time::timeout_at(deadline, ticks.recv())
            .await
            .expect("a review was kept within a minute")
            .expect("the watch goes on");
        if tick.batches.iter().any(|b| b.judged) {
            break;
        }
    }
    let id = f.id.clone();
    let reviews = f
        .fanout
        .blocking(move |e| e.reviews(&id))
        .await
        .expect("reviews read");
    assert_eq!(reviews.len(), 1, "the one variant was reviewed unasked");
    assert_eq!(reviews[0].changes[0].what, "writes the greeting");
}
