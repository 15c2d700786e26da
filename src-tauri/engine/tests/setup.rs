//! Worktree setup on real repositories: per-repository settings, ignored
//! files copied into each worktree, the setup command before the agent, and
//! cleanup that measures what it frees and guards unmerged work.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::Fixture;
use fanout_engine::experiment::{ApproachSpec, Engine, ExperimentView, NewExperiment};
use fanout_engine::orchestrator::{Config, Executables, Orchestrator, UpdateKind};
use fanout_engine::paths::Paths;
use fanout_engine::repo_settings::{RepoSettings, EXPORT_FILE};
use fanout_engine::store::{StoredEvent, VariantStatus};

struct Setup {
    fx: Fixture,
    paths: Paths,
    engine: Engine,
}

fn setup() -> Setup {
    let fx = Fixture::new();
    let paths = Paths::at(fx.sibling("home"));
    let engine = Engine::open(paths.clone()).expect("engine opens");
    Setup { fx, paths, engine }
}

impl Setup {
    fn create(&mut self, names: &[&str]) -> ExperimentView {
        self.engine
            .create_experiment(NewExperiment {
                repo: self.fx.root.clone(),
                task: "prepare the worktrees".into(),
                approaches: names
                    .iter()
                    .map(|n| ApproachSpec {
                        name: n.to_string(),
                        ..ApproachSpec::default()
                    })
                    .collect(),
                include_uncommitted: false,
                worktree_root: Some(self.fx.sibling("worktrees")),
                default_agent: "claude-code".into(),
            })
            .expect("experiment created")
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path)
        .expect("file exists")
        .permissions()
        .mode()
        & 0o777
}

/// A checkout with ignored env files at several depths, a tracked
/// `.env.example` edited but not committed, an ignored symlink and an env
/// file inside an ignored dependency folder.
fn env_files(fx: &Fixture) {
    fx.write(
        ".gitignore",
        ".env\n.env.local\nconfig/.env.test\nnode_modules/\n.env.link\n",
    );
    fx.write(".env.example", "TRACKED=1\n");
    fx.commit_all("env example and ignores");
    fx.write(".env", "SECRET=root\n");
    fx.write(".env.local", "SECRET=local\n");
    std::fs::set_permissions(
        fx.root.join(".env.local"),
        std::fs::Permissions::from_mode(0o600),
    )
    .unwrap();
    fx.write("config/.env.test", "SECRET=test\n");
    fx.write("node_modules/pkg/.env", "SECRET=dependency\n");
    fx.write(".env.example", "TRACKED=edited-not-committed\n");
    std::os::unix::fs::symlink("/etc/hostname", fx.root.join(".env.link")).unwrap();
}

#[test]
fn ignored_env_files_are_copied_into_every_worktree() {
    let mut s = setup();
    env_files(&s.fx);
    let view = s.create(&["one", "two", "three"]);
    for v in &view.variants {
        let wt = &v.worktree;
        let read = |rel: &str| std::fs::read_to_string(wt.join(rel)).ok();
        assert_eq!(
            read(".env").as_deref(),
            Some("SECRET=root\n"),
            "{rel} copied into {wt:?}",
            rel = ".env"
        );
        assert_eq!(
            read(".env.local").as_deref(),
            Some("SECRET=local\n"),
            ".env.local matches `.env.*`"
        );
        assert_eq!(
            read("config/.env.test").as_deref(),
            Some("SECRET=test\n"),
            "a nested ignored file keeps its relative path"
        );
        assert_eq!(
            mode(&wt.join(".env.local")),
            0o600,
            "the file's mode is kept"
        );
        assert_eq!(
            read(".env.example").as_deref(),
            Some("TRACKED=1\n"),
            "a tracked file comes from the checkout, not from the user's uncommitted edit"
        );
        assert!(
            !wt.join("node_modules").exists(),
            "ignored dependency folders are not searched for name globs"
        );
        assert!(
            wt.join(".env.link").symlink_metadata().is_err(),
            "a symlink is neither followed nor copied"
        );
        assert_eq!(
            common::git(wt, &["status", "--porcelain"]),
            "",
            "copied files are ignored in the worktree too, so the variant starts clean"
        );
        let events = s
            .engine
            .store()
            .events(&view.experiment.id, v.index, 0, 10)
            .expect("read the transcript");
        let note = events
            .iter()
            .find(|e| e.kind == "copied_files")
            .unwrap_or_else(|| panic!("the transcript notes the copied files: {events:?}"));
        let copied: Vec<&str> = note.payload["copied"]
            .as_array()
            .expect("a list of copied files")
            .iter()
            .filter_map(|p| p.as_str())
            .collect();
        assert_eq!(
            copied,
            [".env", ".env.local", "config/.env.test"],
            "the note names what the worktree received, for the GUI's transcript"
        );
        let skipped = note.payload["skipped"].to_string();
        assert!(
            skipped.contains(".env.link") && skipped.contains("symbolic link"),
            "the skipped symlink is explained: {skipped}"
        );
    }
}

#[test]
fn settings_are_stored_by_fanout_validated_and_exported_on_request() {
    let mut s = setup();
    let first = s.engine.repo_settings(&s.fx.root).expect("settings read");
    assert!(!first.stored, "a new repository uses the defaults");
    assert_eq!(first.settings, RepoSettings::default());

    let wanted = RepoSettings {
        copy: vec!["secrets/*.pem".into()],
        setup_command: Some("npm ci".into()),
        setup_timeout_secs: 90,
        check_network: false,
    };
    s.engine
        .save_repo_settings(&s.fx.root, wanted.clone())
        .expect("valid settings save");
    let reopened = Engine::open(s.paths.clone()).expect("engine reopens");
    let back = reopened.repo_settings(&s.fx.root).expect("settings read");
    assert!(
        back.stored && back.settings == wanted,
        "the settings survive a restart: {back:?}"
    );
    assert_eq!(
        s.fx.status(),
        "",
        "saving writes nothing into the repository"
    );

    let bad = RepoSettings {
        copy: vec!["../elsewhere/.env".into()],
        ..RepoSettings::default()
    };
    let err = s
        .engine
        .save_repo_settings(&s.fx.root, bad)
        .expect_err("a glob leaving the checkout is refused");
    assert!(err.to_string().contains("outside the checkout"), "{err}");
    assert_eq!(err.code(), "repo_settings.invalid");
    assert_eq!(
        s.engine.repo_settings(&s.fx.root).unwrap().settings,
        wanted,
        "a refused save changes nothing"
    );

    let file = s.engine.export_repo_settings(&s.fx.root).expect("export");
    assert_eq!(file, s.fx.root.join(EXPORT_FILE));
    let exported: RepoSettings =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).expect("export is JSON");
    assert_eq!(exported, wanted, "the export holds the stored settings");

    let reset = s.engine.reset_repo_settings(&s.fx.root).expect("reset");
    assert!(!reset.stored && reset.settings == RepoSettings::default());
}

#[test]
fn a_path_glob_reaches_into_an_ignored_folder() {
    let mut s = setup();
    s.fx.write(".gitignore", "secrets/\n");
    s.fx.commit_all("ignore secrets");
    s.fx.write("secrets/dev.pem", "KEY\n");
    s.fx.write("secrets/notes.txt", "not a key\n");
    s.engine
        .save_repo_settings(
            &s.fx.root,
            RepoSettings {
                copy: vec!["secrets/*.pem".into()],
                ..RepoSettings::default()
            },
        )
        .expect("settings saved");
    let view = s.create(&["only"]);
    let wt: &PathBuf = &view.variants[0].worktree;
    assert_eq!(
        std::fs::read_to_string(wt.join("secrets/dev.pem")).unwrap(),
        "KEY\n"
    );
    assert!(
        !wt.join("secrets/notes.txt").exists(),
        "only files the glob names are copied"
    );
}

// ---- the setup command, run by the orchestrator --------------------------

fn fake_claude() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/agents/fake-claude")
}

fn agent_config() -> Config {
    Config {
        grace: Duration::from_millis(300),
        executables: Executables {
            claude: Some(fake_claude()),
            ..Executables::default()
        },
        env: vec![
            ("FANOUT_FAKE_MODE".into(), "success".into()),
            ("FANOUT_FAKE_DELAY".into(), "0.05".into()),
        ],
        ..Config::default()
    }
}

impl Setup {
    fn set_setup_command(&mut self, command: &str, timeout_secs: u64) {
        self.engine
            .save_repo_settings(
                &self.fx.root,
                RepoSettings {
                    setup_command: Some(command.into()),
                    setup_timeout_secs: timeout_secs,
                    ..RepoSettings::default()
                },
            )
            .expect("settings saved");
    }

    async fn orchestrator(&self) -> Orchestrator {
        Orchestrator::open(&self.paths.database(), agent_config())
            .await
            .expect("orchestrator opens")
    }

    fn events(&mut self, id: &str, index: u32) -> Vec<StoredEvent> {
        self.engine
            .store()
            .events(id, index, 0, 100_000)
            .expect("events read")
    }
}

fn setup_lines(events: &[StoredEvent]) -> Vec<String> {
    events
        .iter()
        .filter(|e| e.kind == "setup")
        .map(|e| e.payload["line"].as_str().unwrap_or_default().to_owned())
        .collect()
}

fn position(events: &[StoredEvent], kind: &str) -> Option<usize> {
    events.iter().position(|e| e.kind == kind)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_setup_command_runs_in_each_worktree_before_the_agent() {
    let mut s = setup();
    s.set_setup_command("echo \"setup in $PWD\"; echo warming up >&2", 60);
    let view = s.create(&["one", "two"]);
    let orch = s.orchestrator().await;
    let mut updates = orch.subscribe();
    let done = orch.run(&view.experiment.id).await.expect("run finishes");
    let mut preparing = std::collections::HashSet::new();
    while let Ok(update) = updates.try_recv() {
        if let UpdateKind::Progress(p) = update.kind {
            if p.status == VariantStatus::Preparing {
                preparing.insert(update.variant);
            }
        }
    }
    assert_eq!(preparing.len(), 2, "both variants showed preparing");
    for v in &done.variants {
        assert_eq!(v.status, VariantStatus::Succeeded, "{:?}", v.error);
        let events = s.events(&view.experiment.id, v.index);
        let lines = setup_lines(&events);
        assert!(
            lines.contains(&format!("setup in {}", v.worktree.display())),
            "the setup ran in the variant's own worktree: {lines:?}"
        );
        assert!(
            lines.contains(&"warming up".to_string()),
            "stderr is kept too: {lines:?}"
        );
        let (setup, launch) = (position(&events, "setup"), position(&events, "launch"));
        assert!(
            setup.is_some() && launch.is_some() && setup < launch,
            "the setup's output comes before the agent's launch"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_setup_fails_only_its_variant_with_its_code_and_tail() {
    let mut s = setup();
    s.set_setup_command(
        "echo first line; case \"$PWD\" in *-bad) echo last words >&2; exit 3;; esac",
        60,
    );
    let view = s.create(&["good", "bad"]);
    let done = s
        .orchestrator()
        .await
        .run(&view.experiment.id)
        .await
        .expect("run finishes");
    let (good, bad) = (&done.variants[0], &done.variants[1]);
    assert_eq!(good.status, VariantStatus::Succeeded, "{:?}", good.error);
    assert_eq!(bad.status, VariantStatus::Failed);
    let error = bad.error.clone().unwrap_or_default();
    assert!(
        error.contains("exit code 3"),
        "the message has the exit code: {error}"
    );
    assert!(
        error.contains("last words"),
        "and the tail of the output: {error}"
    );
    assert_eq!(
        bad.exit_code,
        Some(3),
        "the variant records the setup's exit code"
    );
    let events = s.events(&view.experiment.id, bad.index);
    assert_eq!(
        position(&events, "launch"),
        None,
        "the agent was never started"
    );
    assert!(
        !bad.worktree.join("fake-output.txt").exists(),
        "no agent wrote in the failed variant"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setup_running_past_its_timeout_is_stopped() {
    let mut s = setup();
    s.set_setup_command("echo about to hang; exec sleep 30", 1);
    let view = s.create(&["slow"]);
    let done = s
        .orchestrator()
        .await
        .run(&view.experiment.id)
        .await
        .expect("run finishes");
    let v = &done.variants[0];
    assert_eq!(v.status, VariantStatus::Failed);
    let error = v.error.clone().unwrap_or_default();
    assert!(error.contains("longer than 1 s"), "{error}");
    assert!(
        error.contains("about to hang"),
        "the tail is part of the message: {error}"
    );
    let events = s.events(&view.experiment.id, v.index);
    assert_eq!(
        position(&events, "launch"),
        None,
        "the agent was never started"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_reaches_a_running_setup() {
    let mut s = setup();
    s.set_setup_command("echo started; exec sleep 30", 600);
    let view = s.create(&["waiting"]);
    let orch = s.orchestrator().await;
    let mut updates = orch.subscribe();
    let run = tokio::spawn({
        let (orch, id) = (orch.clone(), view.experiment.id.clone());
        async move { orch.run(&id).await }
    });
    loop {
        let update = updates.recv().await.expect("updates flow");
        if let UpdateKind::Event { event } = update.kind {
            if event.kind() == "setup" {
                break;
            }
        }
    }
    assert_eq!(
        orch.cancel(&view.experiment.id, None),
        1,
        "the preparing variant is cancellable"
    );
    let done = run.await.unwrap().expect("run finishes");
    let v = &done.variants[0];
    assert_eq!(v.status, VariantStatus::Cancelled, "{:?}", v.error);
    let events = s.events(&view.experiment.id, v.index);
    assert_eq!(
        position(&events, "launch"),
        None,
        "the agent was never started"
    );
}

// ---- cleanup: disk and unmerged work --------------------------------------

use fanout_engine::experiment::CleanOptions;
use fanout_engine::merge::Strategy;

/// An experiment whose variants `alpha` and `beta` committed a change and
/// `gamma` did nothing.
fn experiment_with_work(s: &mut Setup) -> ExperimentView {
    let view = s.create(&["alpha", "beta", "gamma"]);
    for v in &view.variants[..2] {
        std::fs::write(v.worktree.join(format!("{}.txt", v.slug)), "work\n").unwrap();
    }
    s.engine
        .commit(&view.experiment.id, None)
        .expect("committed");
    s.engine.experiment(&view.experiment.id).unwrap()
}

fn tip(fx: &Fixture, branch: &str) -> String {
    fx.git(&["rev-parse", &format!("refs/heads/{branch}")])
}

#[test]
fn cleanup_refuses_unmerged_work_and_names_the_variants() {
    let mut s = setup();
    let view = experiment_with_work(&mut s);
    let id = view.experiment.id.clone();

    let disk = s.engine.disk_usage(&id).expect("sizes");
    let unmerged: Vec<usize> = disk.iter().map(|d| d.unmerged_commits).collect();
    assert_eq!(unmerged, [1, 1, 0], "alpha and beta each committed once");
    assert!(
        disk.iter().all(|d| d.bytes.is_some_and(|b| b > 0)),
        "every worktree has a size: {disk:?}"
    );

    let err = s
        .engine
        .clean(&id, &CleanOptions::default())
        .expect_err("unmerged work is not deleted unasked");
    let text = err.to_string();
    assert_eq!(err.code(), "experiment.unmerged");
    assert!(
        text.contains("1 (alpha, 1 commit)") && text.contains("2 (beta, 1 commit)"),
        "{text}"
    );
    assert!(
        !text.contains("gamma"),
        "a variant with nothing unmerged is not named: {text}"
    );
    assert!(
        view.variants.iter().all(|v| v.worktree.is_dir()),
        "a refused cleanup removes nothing"
    );
    assert_eq!(
        tip(&s.fx, &view.variants[0].branch),
        view.variants[0].head_commit.clone().unwrap()
    );
}

#[test]
fn merged_and_archived_variants_need_no_confirmation_and_the_tag_keeps_the_work() {
    let mut s = setup();
    let view = experiment_with_work(&mut s);
    let id = view.experiment.id.clone();
    // A squash merge leaves alpha's commit on no branch, but it is merged.
    s.engine
        .merge(&id, "alpha", None, Strategy::Squash, None)
        .expect("alpha merges");
    let beta = &view.variants[1];
    let beta_tip = tip(&s.fx, &beta.branch);

    let opts = CleanOptions {
        archive: vec!["beta".into()],
        ..CleanOptions::default()
    };
    let report = s
        .engine
        .clean(&id, &opts)
        .expect("nothing unmerged is lost");
    let tag = format!("fanout/archive/{}/2-beta", view.experiment.slug);
    assert_eq!(report.archived.len(), 1);
    assert_eq!(report.archived[0].tag, tag);
    assert_eq!(
        s.fx.git(&["rev-parse", &format!("refs/tags/{tag}")]),
        beta_tip,
        "the archive tag points at beta's last commit"
    );
    assert_eq!(
        s.fx.git(&["branch", "--list", "fanout/*"]),
        "",
        "every variant branch is gone, beta's included"
    );
    assert_eq!(
        report.removed.removed.len(),
        3,
        "all three worktrees removed"
    );
    assert!(report.freed_bytes > 0, "removing worktrees frees space");
}

#[test]
fn confirmed_cleanup_deletes_unmerged_work_and_reports_what_it_freed() {
    let mut s = setup();
    let view = experiment_with_work(&mut s);
    let id = view.experiment.id.clone();
    let before: u64 = s
        .engine
        .disk_usage(&id)
        .unwrap()
        .iter()
        .filter_map(|d| d.bytes)
        .sum();
    let opts = CleanOptions {
        confirmed: true,
        ..CleanOptions::default()
    };
    let report = s.engine.clean(&id, &opts).expect("confirmed cleanup runs");
    assert_eq!(report.removed.branches_deleted.len(), 3);
    assert!(
        view.variants.iter().all(|v| !v.worktree.exists()),
        "the worktrees are gone"
    );
    assert!(
        report.freed_bytes > 0,
        "freed bytes are measured before removal"
    );
    // Both numbers walk the same folders; git may rewrite an index in between.
    assert!(
        report.freed_bytes.abs_diff(before) < before / 2,
        "what cleanup freed ({}) is what the worktrees occupied ({before})",
        report.freed_bytes
    );
}

#[test]
fn each_confirmation_covers_only_its_own_variant() {
    let mut s = setup();
    let view = experiment_with_work(&mut s);
    let id = view.experiment.id.clone();
    let opts = CleanOptions {
        confirmed_variants: vec!["1".into()],
        ..CleanOptions::default()
    };
    let err = s
        .engine
        .clean(&id, &opts)
        .expect_err("beta's work was not confirmed");
    let text = err.to_string();
    assert!(
        text.contains("2 (beta") && !text.contains("1 (alpha"),
        "only the unconfirmed variant is named: {text}"
    );
    assert!(
        view.variants.iter().all(|v| v.worktree.is_dir()),
        "a refusal removes nothing"
    );
}

#[test]
fn a_forced_second_pass_archives_again_without_the_deleted_branch() {
    let mut s = setup();
    let view = experiment_with_work(&mut s);
    let id = view.experiment.id.clone();
    let beta_tip = tip(&s.fx, &view.variants[1].branch);
    // Gamma's uncommitted edit stops the first pass at its worktree.
    std::fs::write(view.variants[2].worktree.join("draft.txt"), "unsaved\n").unwrap();
    let opts = CleanOptions {
        confirmed_variants: vec!["alpha".into()],
        archive: vec!["beta".into()],
        ..CleanOptions::default()
    };
    let first = s.engine.clean(&id, &opts).expect("first pass");
    assert_eq!(
        first.removed.kept_dirty,
        [view.variants[2].worktree.clone()],
        "gamma's worktree is kept for its uncommitted work"
    );

    // The dialog's "Remove anyway" sends the same choices with force; beta's
    // branch is gone by now, its tag is not.
    let forced = CleanOptions {
        force: true,
        ..opts
    };
    let second = s
        .engine
        .clean(&id, &forced)
        .expect("the forced pass finds beta's work in its tag");
    let tag = format!("fanout/archive/{}/2-beta", view.experiment.slug);
    assert_eq!(second.archived.len(), 1);
    assert_eq!(second.archived[0].tag, tag);
    assert_eq!(
        second.archived[0].commit, beta_tip,
        "the tag still holds beta's last commit"
    );
    assert!(
        !view.variants[2].worktree.exists(),
        "the forced pass removed gamma's worktree"
    );
}
