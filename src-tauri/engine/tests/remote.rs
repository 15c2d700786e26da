//! Variants on another machine: the tests start their own OpenSSH server on
//! 127.0.0.1 ([`Sshd`]) as a second host whose workspace is a folder of its
//! own, and run Fanout's fake agent there. Whatever ran there comes back as
//! the variant's local branch, so diffs, merge and cleanup stay local.

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use common::{
    claude_binary, claude_offline_env, fake_claude, fake_config, git, Fixture, Rig, Sshd,
};
use fanout_engine::agent::PermissionProfile;
use fanout_engine::api::Fanout;
use fanout_engine::experiment::{ApproachSpec, CleanOptions, NewExperiment};
use fanout_engine::ids::VariantIndex;
use fanout_engine::orchestrator::{Config, Environment, Job, RunConfig};
use fanout_engine::paths::Paths;
use fanout_engine::store::{Variant, VariantStatus};
use fanout_mock_llm::{MockServer, Script, WriteTool};

const HOST: &str = Sshd::ALIAS;

/// The fake agent in `mode`, on the test host with room for `capacity`.
fn remote_config(sshd: &Sshd, mode: &str, capacity: usize) -> Config {
    let mut config = fake_config(fake_claude(), mode);
    config.environment.hosts = sshd.hosts(sshd.host(capacity, Some(&fake_claude())));
    config
}

/// The variant's worktree on the host.
fn remote_worktree(sshd: &Sshd, experiment_id: &str, index: u32) -> PathBuf {
    let short = fanout_engine::experiment::short_id(experiment_id);
    sshd.workspace
        .join("worktrees")
        .join(format!("{short}-{index}"))
}

/// An experiment of one approach, placed on the test host, run by `agent`.
fn one_on_the_host(agent: &str) -> Rig {
    Rig::placed(
        Fixture::new(),
        &[("far", Some(HOST))],
        agent,
        Environment::default(),
    )
}

fn succeeded(v: &Variant) {
    assert_eq!(
        v.status,
        VariantStatus::Succeeded,
        "variant {} should succeed; its error: {:?}",
        v.index,
        v.error
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_variants_run_on_the_host_and_come_back_as_local_branches() {
    let sshd = Sshd::start();
    let names = [
        ("one", Some(HOST)),
        ("two", Some(HOST)),
        ("three", Some(HOST)),
    ];
    let rig = Rig::placed(
        Fixture::new(),
        &names,
        "claude-code",
        Environment::default(),
    );
    let mut config = remote_config(&sshd, "success", 3);
    // The check runs where the agent ran: in the host's workspace.
    let workspace = sshd.workspace.display().to_string();
    config.run.check = Some(format!("pwd | grep -q '^{workspace}/worktrees/'"));
    let done = rig.run(config).await;

    for v in &done.variants {
        succeeded(v);
        assert_eq!(
            v.host.as_deref(),
            Some(HOST),
            "the record says where it ran"
        );
        let there = remote_worktree(&sshd, rig.id.as_str(), v.index);
        assert!(
            there.join("fake-output.txt").is_file(),
            "the agent wrote its file in the worktree on the host, {}",
            there.display()
        );
        let committed = git(
            &rig.fx.root,
            &["show", &format!("{}:fake-output.txt", v.branch)],
        );
        assert!(
            !committed.is_empty(),
            "the host's commit came back as the local branch {}",
            v.branch
        );
        assert!(
            v.worktree.join("fake-output.txt").is_file(),
            "the local worktree follows the branch, so diffs and merges read it"
        );
        assert_eq!(
            v.check.as_ref().and_then(|c| c.exit_code),
            Some(0),
            "the check ran on the host"
        );
    }
    let launch = rig
        .events(1)
        .await
        .into_iter()
        .find(|e| e.kind == "launch")
        .expect("a launch record");
    assert_eq!(
        launch.payload["host"], HOST,
        "the run record names the host"
    );

    // Cleanup removes the worktrees on the host too.
    let id = rig.id.clone();
    let report = rig
        .fanout
        .blocking(move |engine| {
            engine.clean(
                &id,
                &CleanOptions {
                    confirmed: true,
                    ..CleanOptions::default()
                },
            )
        })
        .await
        .expect("cleanup");
    assert!(
        report.left_on_hosts.is_empty(),
        "{:?}",
        report.left_on_hosts
    );
    for index in 1..=3 {
        assert!(
            !remote_worktree(&sshd, rig.id.as_str(), index).exists(),
            "cleanup removed variant {index}'s worktree on the host"
        );
    }
}

/// Fanout opened over `fx` with `config`'s environment, for launches.
fn fanout_for(fx: &Fixture, config: &Config) -> Fanout {
    let paths = Paths::at(fx.sibling("home"));
    let mut environment = config.environment.clone();
    environment.data_dir = paths.home().to_path_buf();
    Fanout::open(paths, environment, RunConfig::default()).expect("Fanout opens")
}

fn request(fx: &Fixture, names: &[&str]) -> NewExperiment {
    NewExperiment {
        repo: fx.root.clone(),
        task: "add a greeting".into(),
        approaches: names
            .iter()
            .map(|n| ApproachSpec {
                name: n.to_string(),
                ..ApproachSpec::default()
            })
            .collect(),
        include_uncommitted: false,
        worktree_root: Some(fx.sibling("worktrees")),
        default_agent: "claude-code".into(),
        run: RunConfig {
            // The local variant's agent lives in this checkout; the sandbox
            // is another test's subject.
            sandbox: false,
            ..RunConfig::default()
        },
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_launch_mixes_this_machine_and_a_host_by_capacity() {
    let sshd = Sshd::start();
    let fx = Fixture::new();
    let config = remote_config(&sshd, "success", 1);
    let fanout = fanout_for(&fx, &config);
    let hosts = ["local".to_owned(), HOST.to_owned()];
    let (view, ticket) = fanout
        .launch_on(request(&fx, &["here", "there"]), &hosts)
        .await
        .expect("the launch starts");
    ticket.finished().await;
    let id = view.id();
    let done = fanout
        .blocking(move |engine| engine.experiment(&id))
        .await
        .expect("the experiment");
    let placed: Vec<Option<&str>> = done.variants.iter().map(|v| v.host.as_deref()).collect();
    assert_eq!(
        placed,
        [None, Some(HOST)],
        "one variant here, one on the host (capacity 1 each)"
    );
    done.variants.iter().for_each(succeeded);
    assert!(
        remote_worktree(&sshd, done.experiment.id.as_str(), 2).is_dir(),
        "the second variant's worktree is on the host"
    );
    assert!(
        !remote_worktree(&sshd, done.experiment.id.as_str(), 1).exists(),
        "the first never left this machine"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unreachable_host_or_a_refused_login_is_said_before_anything_is_created() {
    let sshd = Sshd::start();
    let fx = Fixture::new();
    let config = remote_config(&sshd, "success", 1);
    let fanout = fanout_for(&fx, &config);
    for (alias, code, words) in [
        (Sshd::DEAD, "host.unreachable", "Could not reach the host"),
        (Sshd::STRANGER, "host.auth_refused", "refused the login"),
    ] {
        let err = fanout
            .launch_on(request(&fx, &["one"]), &[alias.to_owned()])
            .await
            .expect_err("the launch is refused");
        assert_eq!(err.code(), code, "{err}");
        assert!(err.to_string().contains(words), "{err}");
    }
    let experiments = fanout
        .blocking(|engine| engine.experiments())
        .await
        .expect("the experiments");
    assert!(experiments.is_empty(), "nothing was recorded");
    let created = std::fs::read_dir(fx.sibling("worktrees"))
        .expect("the worktree folder")
        .count();
    assert_eq!(
        created, 0,
        "no worktree was created for a launch that could not start"
    );
}

/// Waits until `path` exists; fails the test after a minute.
async fn appears(path: &Path) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "{} never appeared",
            path.display()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_connection_interrupts_the_variant_and_a_retry_reconnects() {
    let sshd = Sshd::start();
    let rig = one_on_the_host("command");
    let mut config = remote_config(&sshd, "success", 1);
    config.run.agent_command = Some("sh -c 'echo begun > begun.txt; sleep 600'".into());
    rig.configure(&config).await;
    let ticket = rig.start_run().await;
    appears(&remote_worktree(&sshd, rig.id.as_str(), 1).join("begun.txt")).await;
    sshd.drop_connections();
    ticket.finished().await;
    let view = rig.load().await;
    let v = &view.variants[0];
    assert_eq!(v.status, VariantStatus::Interrupted, "{:?}", v.error);
    assert!(
        v.error.as_deref().unwrap_or_default().contains("dropped"),
        "the sentence says the connection dropped: {:?}",
        v.error
    );
    assert!(
        remote_worktree(&sshd, rig.id.as_str(), 1)
            .join("begun.txt")
            .is_file(),
        "the work on the host is kept"
    );

    // The retry runs the experiment's stored configuration; its agent now
    // ends at once (the template is the experiment's, changed here as a
    // user would re-launch).
    config.run.agent_command = Some("sh -c 'echo again > again.txt'".into());
    rig.configure(&config).await;
    let view = rig.retry(1).await.expect("the retry starts");
    succeeded(&view.variants[0]);
    let committed = git(
        &rig.fx.root,
        &["show", &format!("{}:again.txt", view.variants[0].branch)],
    );
    assert_eq!(
        committed.trim(),
        "again",
        "the retry reconnected and its work came back"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_worktree_deleted_on_the_host_is_a_clear_error_and_the_branch_stays() {
    let sshd = Sshd::start();
    let rig = one_on_the_host("claude-code");
    let mut config = remote_config(&sshd, "success", 1);
    config.run.check = Some("true".into());
    let done = rig.run(config).await;
    succeeded(&done.variants[0]);
    let tip = git(&rig.fx.root, &["rev-parse", &done.variants[0].branch]);

    std::fs::remove_dir_all(remote_worktree(&sshd, rig.id.as_str(), 1))
        .expect("the worktree is deleted by hand");
    rig.submit(Job::Check {
        experiment: rig.id.clone(),
        variant: VariantIndex(1),
    })
    .await
    .expect("the check starts")
    .finished()
    .await;
    let v = rig.load().await.variants.remove(0);
    assert_eq!(v.status, VariantStatus::Failed);
    let error = v.error.unwrap_or_default();
    assert!(
        error.contains("is gone") && error.contains("branch here is intact"),
        "the sentence says what happened and that nothing local was lost: {error}"
    );
    assert_eq!(
        git(&rig.fx.root, &["rev-parse", &v.branch]),
        tip,
        "the local branch did not move"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_agent_that_double_forks_is_still_stopped_on_cancel() {
    let sshd = Sshd::start();
    let rig = one_on_the_host("command");
    // The agent starts a daemon (a child of a child that exits at once, in
    // a session of its own), notes its pid, and waits.
    let template =
        "sh -c 'setsid sh -c \"sleep 600 & echo \\$! > {workdir}/daemon.pid\" & sleep 600'";
    let mut config = remote_config(&sshd, "success", 1);
    config.run.agent_command = Some(template.into());
    rig.configure(&config).await;
    let ticket = rig.start_run().await;
    let pid_file = remote_worktree(&sshd, rig.id.as_str(), 1).join("daemon.pid");
    appears(&pid_file).await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let pid: u32 = std::fs::read_to_string(&pid_file)
        .expect("the pid")
        .trim()
        .parse()
        .expect("a pid");
    assert!(
        Path::new(&format!("/proc/{pid}")).exists(),
        "the daemon runs"
    );
    rig.fanout.cancel(&rig.id, None);
    ticket.finished().await;
    let deadline = Instant::now() + Duration::from_secs(30);
    while Path::new(&format!("/proc/{pid}")).exists() {
        assert!(
            Instant::now() < deadline,
            "the double-forked daemon {pid} on the host outlived the cancel"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let v = rig.load().await.variants.remove(0);
    assert_eq!(v.status, VariantStatus::Cancelled, "{:?}", v.error);
}

#[test]
fn checking_a_host_reports_its_platform_git_and_agents() {
    let sshd = Sshd::start();
    let hosts = sshd.hosts(sshd.host(1, Some(&fake_claude())));
    let report = hosts
        .ssh(HOST)
        .expect("the host")
        .check()
        .expect("it answers");
    assert!(report.platform.starts_with("Linux"), "{}", report.platform);
    assert!(
        report
            .git
            .as_deref()
            .is_some_and(|g| g.starts_with("git version")),
        "{:?}",
        report.git
    );
    let err = hosts
        .ssh(Sshd::DEAD)
        .expect("the host")
        .check()
        .unwrap_err();
    assert_eq!(err.code(), "host.unreachable");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_real_claude_code_runs_on_the_host_against_the_mock_api() {
    let sshd = Sshd::start();
    let rig = one_on_the_host("claude-code");
    let target = remote_worktree(&sshd, rig.id.as_str(), 1).join("hello.txt");
    let content = "Hello from Claude Code on another host.\n";
    let script = Script::sequential(Script::write_file(
        WriteTool::ClaudeCode,
        &target.display().to_string(),
        content,
    ));
    let server = MockServer::start(script).await.expect("the mock starts");
    let home = tempfile::tempdir().expect("a throwaway HOME for the CLI");
    let mut config = Config::default();
    config.environment.hosts = sshd.hosts(sshd.host(1, Some(&claude_binary())));
    // Sent to the host on the session's stdin: the mock's address, its key,
    // the CLI's own HOME.
    config.environment.env = claude_offline_env(&server.url(), home.path());
    config.run.permission = PermissionProfile::Edits;
    let done = rig.run(config).await;
    let v = &done.variants[0];
    succeeded(v);
    assert!(
        !server.requests().is_empty(),
        "the CLI on the host talked to the mock"
    );
    assert_eq!(
        git(&rig.fx.root, &["show", &format!("{}:hello.txt", v.branch)]),
        content.trim_end(),
        "what the CLI wrote there is committed on the branch here"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_workspace_relative_to_the_home_directory_works_as_the_default_does() {
    let sshd = Sshd::start();
    // The default workspace is relative (`.fanout`): commands that change
    // folder first must still find it. A folder of its own in the home
    // directory, removed at the end.
    // The home directory as ssh logs in (the passwd entry's, which need
    // not be this process's $HOME).
    let hosts = sshd.hosts(sshd.host(1, None));
    let home = hosts
        .ssh(HOST)
        .expect("the host")
        .run("finding the home directory", "cd && pwd -P")
        .expect("it answers");
    let home = PathBuf::from(home.lines().last().expect("a path").trim());
    let here = tempfile::Builder::new()
        .prefix(".fanout-test-")
        .tempdir_in(&home)
        .expect("a folder in the home directory");
    let relative = here
        .path()
        .strip_prefix(&home)
        .expect("inside home")
        .display()
        .to_string();
    let rig = one_on_the_host("claude-code");
    let mut config = remote_config(&sshd, "success", 1);
    let mut host = sshd.host(1, Some(&fake_claude()));
    host.workspace = relative;
    config.environment.hosts = sshd.hosts(host);
    config.run.check = Some("test -f fake-output.txt".into());
    let done = rig.run(config).await;
    succeeded(&done.variants[0]);
    let short = fanout_engine::experiment::short_id(rig.id.as_str());
    assert!(
        here.path()
            .join("worktrees")
            .join(format!("{short}-1"))
            .join("fake-output.txt")
            .is_file(),
        "the worktree is in the workspace, at the path every later command uses"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn work_committed_here_meanwhile_is_never_overwritten_by_the_hosts() {
    let sshd = Sshd::start();
    let rig = one_on_the_host("claude-code");
    rig.configure(&remote_config(&sshd, "success", 1)).await;
    rig.start_run().await.finished().await;
    let v = rig.load().await.variants.remove(0);
    succeeded(&v);
    // The user commits in the variant's worktree here...
    std::fs::write(v.worktree.join("mine.txt"), "mine\n").expect("write");
    git(&v.worktree, &["add", "mine.txt"]);
    git(&v.worktree, &["commit", "-q", "-m", "mine"]);
    let mine = git(&v.worktree, &["rev-parse", "HEAD"]);
    // ...and the agent on the host goes on without it.
    let view = rig
        .follow_up(1, "write one more file")
        .await
        .expect("the follow-up starts");
    let v = &view.variants[0];
    assert_eq!(v.status, VariantStatus::Failed, "{:?}", v.error);
    assert!(
        v.error
            .as_deref()
            .unwrap_or_default()
            .contains("changed while it ran"),
        "{:?}",
        v.error
    );
    assert_eq!(
        git(&rig.fx.root, &["rev-parse", &v.branch]),
        mine,
        "the commit made here is still the branch's tip"
    );
}
