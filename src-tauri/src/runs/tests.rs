//! Runs over a real repository, a real store and fake agents (real child
//! processes): what the window's commands rely on, without the window.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use fanout_engine::experiment::{ApproachSpec, Engine, NewExperiment};
use fanout_engine::paths::Paths;
use fanout_engine::store::VariantStatus;
use tokio::sync::mpsc;

use super::*;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
}

struct Fixture {
    _dir: tempfile::TempDir,
    runs: Runs,
    id: String,
    notices: Arc<Mutex<Vec<(String, String)>>>,
}

/// A repository with one commit, an experiment of `names`, and settings whose
/// `claude` is `claude`.
fn fixture(claude: &Path, names: &[&str]) -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).expect("repo dir");
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README.md"), "hello\n").expect("write");
    git(&repo, &["add", "."]);
    git(
        &repo,
        &[
            "-c",
            "user.name=t",
            "-c",
            "user.email=t@t",
            "commit",
            "-qm",
            "init",
        ],
    );
    let paths = Paths::at(dir.path().join("home"));
    let settings = Settings {
        claude_path: Some(claude.to_owned()),
        // The fake agents read their scripts from /tmp, which the sandbox's
        // private /tmp hides; the sandbox has tests of its own (engine: trust.rs).
        sandbox: false,
        ..Settings::default()
    };
    settings.save(&paths.settings()).expect("save settings");
    let mut engine = Engine::open(paths.clone()).expect("engine");
    let view = engine
        .create_experiment(NewExperiment {
            repo,
            task: "Say hello".into(),
            approaches: names
                .iter()
                .map(|n| ApproachSpec {
                    name: (*n).into(),
                    description: String::new(),
                    guidelines: String::new(),
                    agent: None,
                    model: None,
                })
                .collect(),
            include_uncommitted: false,
            worktree_root: None,
            default_agent: "claude-code".into(),
        })
        .expect("create the experiment");
    let runs = Runs::new(Arc::new(Mutex::new(engine)), paths);
    let notices = Arc::new(Mutex::new(Vec::new()));
    let sink = notices.clone();
    runs.set_notifier(Box::new(move |t, b| {
        sink.lock()
            .expect("notices")
            .push((t.to_owned(), b.to_owned()))
    }));
    Fixture {
        _dir: dir,
        runs,
        id: view.experiment.id,
        notices,
    }
}

fn fake_claude() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agents/fake-claude")
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

fn watch(f: &Fixture) -> mpsc::UnboundedReceiver<Tick> {
    let (tx, rx) = mpsc::unbounded_channel();
    f.runs.watch(&f.id, move |tick| tx.send(tick).is_ok());
    rx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launch_runs_every_variant_streams_ticks_and_notifies() {
    let f = fixture(&fake_claude(), &["One", "Two"]);
    let mut ticks = watch(&f);
    f.runs.launch(&f.id, None).await.expect("launch");
    let seen = until_statuses(&mut ticks, 2, |s| s == VariantStatus::Succeeded).await;
    assert_eq!(seen.len(), 2, "both variants reported through the watch");

    let events = f.runs.events(&f.id, 1, 0, 500).await.expect("transcript");
    assert!(
        events.iter().any(|e| e.kind == "tool_use") && events.iter().any(|e| e.kind == "result"),
        "the stored transcript has the agent's tool call and result: {:?}",
        events.iter().map(|e| &e.kind).collect::<Vec<_>>()
    );
    let after = f
        .runs
        .events(&f.id, 1, events[0].seq, 500)
        .await
        .expect("page");
    assert_eq!(after.len(), events.len() - 1, "paging skips what was read");

    // The notice is sent after the run's task ends, a moment after the last tick.
    for _ in 0..100 {
        if !f.notices.lock().expect("notices").is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let notices = f.notices.lock().expect("notices").clone();
    assert_eq!(notices.len(), 1, "one notification per run: {notices:?}");
    assert!(
        notices[0].1.contains("2 of 2 succeeded"),
        "the notification says how it went: {notices:?}"
    );

    let again = f.runs.launch(&f.id, None).await;
    assert_eq!(
        again.expect_err("every variant ran already").code,
        "orchestrator.nothing_to_run"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_all_stops_hanging_agents_and_retry_runs_again() {
    let dir = tempfile::tempdir().expect("temp dir");
    let hang = dir.path().join("hanging-claude");
    std::fs::write(&hang, "#!/bin/sh\nexec sleep 300\n").expect("write");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&hang, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let f = fixture(&hang, &["Slow", "Slower"]);
    let mut ticks = watch(&f);
    assert_eq!(
        f.runs
            .cancel(&f.id, None)
            .expect_err("nothing runs yet")
            .code,
        "orchestrator.nothing_to_cancel"
    );
    f.runs.launch(&f.id, None).await.expect("launch");
    until_statuses(&mut ticks, 2, |s| s == VariantStatus::Running).await;
    assert_eq!(
        f.runs.cancel(&f.id, None).expect("cancel"),
        2,
        "both asked to stop"
    );
    until_statuses(&mut ticks, 2, |s| s == VariantStatus::Cancelled).await;

    let busy = f.runs.again(&f.id, 1, Again::FollowUp("  ".into())).await;
    assert_eq!(
        busy.expect_err("empty text").code,
        "orchestrator.empty_follow_up"
    );
    f.runs.again(&f.id, 1, Again::Retry).await.expect("retry");
    let seen = until_statuses(&mut ticks, 1, |s| s == VariantStatus::Running).await;
    assert_eq!(
        seen.get(&1),
        Some(&VariantStatus::Running),
        "the retry runs variant 1 again"
    );
    let refused = f.runs.again(&f.id, 1, Again::Retry).await;
    assert_eq!(
        refused.expect_err("it runs").code,
        "orchestrator.variant_busy"
    );
    assert_eq!(f.runs.cancel(&f.id, Some(1)).expect("cancel one"), 1);
    until_statuses(&mut ticks, 1, |s| s == VariantStatus::Cancelled).await;
}

#[test]
fn the_notice_counts_outcomes_and_waits_for_active_variants() {
    let f = fixture(&fake_claude(), &["A", "B", "C"]);
    let mut view = f
        .runs
        .shared
        .engine
        .lock()
        .expect("engine")
        .experiment(&f.id)
        .expect("view");
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
    let f = fixture(
        &scripted_claude(bin.path(), ASK_BASH),
        &["Allowed", "Denied"],
    );
    let mut ticks = watch(&f);
    f.runs.launch(&f.id, None).await.expect("launch");
    let requests = until_requests(&mut ticks, 2).await;
    for (variant, request) in &requests {
        assert_eq!(
            request.tool, "Bash",
            "variant {variant}: the edit inside the worktree was allowed by the rules; the command is asked"
        );
    }
    let notices = f.notices.lock().expect("notices").clone();
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

    let unknown = f.runs.steer(
        &f.id,
        1,
        Steer::Allow {
            request: "no-such-request".into(),
        },
    );
    assert_eq!(
        unknown.expect_err("not waiting").code,
        "agent.unknown_request"
    );
    f.runs
        .steer(
            &f.id,
            1,
            Steer::Allow {
                request: requests[&1].id.clone(),
            },
        )
        .expect("allow");
    f.runs
        .steer(
            &f.id,
            2,
            Steer::Deny {
                request: requests[&2].id.clone(),
                message: "Not on this machine.".into(),
            },
        )
        .expect("deny");
    until_statuses(&mut ticks, 2, |s| s == VariantStatus::Succeeded).await;

    let view = f.runs.view(&f.id).await.expect("view");
    let worktree = |i: usize| view.variants[i].worktree.clone();
    assert!(
        worktree(0).join("ran.txt").is_file(),
        "the allowed command ran in variant 1's worktree"
    );
    assert!(
        !worktree(1).join("ran.txt").exists(),
        "the denied command did not run in variant 2's worktree"
    );
    let events = f.runs.events(&f.id, 2, 0, 500).await.expect("transcript");
    assert!(
        events
            .iter()
            .any(|e| e.kind == "tool_result"
                && e.payload.to_string().contains("Not on this machine.")),
        "the denial's message reached the agent, as its transcript shows"
    );
    let over = f.runs.steer(&f.id, 1, Steer::Interrupt);
    assert_eq!(
        over.expect_err("the session ended").code,
        "run.not_interactive",
        "a finished variant takes no steering"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_agent_waits_for_the_next_message_and_answers_it() {
    let bin = tempfile::tempdir().expect("temp dir");
    let slow = r#"[{"match": "", "files": {"a.txt": "a\n"}, "mode": "slow", "delay": 120}]"#;
    let f = fixture(&scripted_claude(bin.path(), slow), &["Slow"]);
    let mut ticks = watch(&f);
    f.runs.launch(&f.id, None).await.expect("launch");
    until_statuses(&mut ticks, 1, |s| s == VariantStatus::Running).await;
    f.runs.steer(&f.id, 1, Steer::Interrupt).expect("interrupt");
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
    f.runs
        .steer(
            &f.id,
            1,
            Steer::Send {
                text: "use tabs".into(),
            },
        )
        .expect("send");
    until_statuses(&mut ticks, 1, |s| s == VariantStatus::Succeeded).await;
    let events = f.runs.events(&f.id, 1, 0, 500).await.expect("transcript");
    assert!(
        events.iter().any(
            |e| e.kind == "assistant_text" && e.payload.to_string().contains("Noted: use tabs")
        ),
        "the message sent after the interrupt was answered in the same session: {:?}",
        events.iter().map(|e| &e.kind).collect::<Vec<_>>()
    );
    let empty = f.runs.steer(&f.id, 1, Steer::Send { text: " ".into() });
    assert!(empty.is_err(), "an empty message is refused");
}
