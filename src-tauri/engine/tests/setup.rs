//! Worktree setup on real repositories: per-repository settings, ignored
//! files copied into each worktree, the setup command before the agent, and
//! cleanup that measures what it frees and guards unmerged work.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::Fixture;
use fanout_engine::api::Fanout;
use fanout_engine::experiment::{ApproachSpec, Engine, ExperimentView, NewExperiment};
use fanout_engine::ids::{ExperimentId, VariantIndex};
use fanout_engine::orchestrator::{Environment, Executables, Job, RunConfig, Ticket, UpdateKind};
use fanout_engine::paths::Paths;
use fanout_engine::repo_settings::{RepoSettings, EXPORT_FILE};
use fanout_engine::store::{StoredEvent, VariantStatus};

struct Setup {
    fx: Fixture,
    paths: Paths,
    fanout: Fanout,
}

fn setup() -> Setup {
    let fx = Fixture::new();
    let paths = Paths::at(fx.sibling("home"));
    let fanout = Fanout::open(paths.clone(), agent_environment(), RunConfig::default())
        .expect("Fanout opens");
    Setup { fx, paths, fanout }
}

impl Setup {
    fn engine(&self) -> &Engine {
        self.fanout.engine()
    }

    fn create(&self, names: &[&str]) -> ExperimentView {
        self.engine()
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
                run: RunConfig::default(),
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
    let s = setup();
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
            .engine()
            .events(&view.id(), VariantIndex(v.index), 0, 10)
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
    let s = setup();
    let first = s.engine().repo_settings(&s.fx.root).expect("settings read");
    assert!(!first.stored, "a new repository uses the defaults");
    assert_eq!(first.settings, RepoSettings::default());

    let wanted = RepoSettings {
        copy: vec!["secrets/*.pem".into()],
        setup_command: Some("npm ci".into()),
        setup_timeout_secs: 90,
        check_network: false,
        warm: Some(vec!["target".into()]),
    };
    s.engine()
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
        .engine()
        .save_repo_settings(&s.fx.root, bad)
        .expect_err("a glob leaving the checkout is refused");
    assert!(err.to_string().contains("outside the checkout"), "{err}");
    assert_eq!(err.code(), "repo_settings.invalid");
    assert_eq!(
        s.engine().repo_settings(&s.fx.root).unwrap().settings,
        wanted,
        "a refused save changes nothing"
    );

    let file = s.engine().export_repo_settings(&s.fx.root).expect("export");
    assert_eq!(file, s.fx.root.join(EXPORT_FILE));
    let exported: RepoSettings =
        serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).expect("export is JSON");
    assert_eq!(exported, wanted, "the export holds the stored settings");

    let reset = s.engine().reset_repo_settings(&s.fx.root).expect("reset");
    assert!(!reset.stored && reset.settings == RepoSettings::default());
}

#[test]
fn a_path_glob_reaches_into_an_ignored_folder() {
    let s = setup();
    s.fx.write(".gitignore", "secrets/\n");
    s.fx.commit_all("ignore secrets");
    s.fx.write("secrets/dev.pem", "KEY\n");
    s.fx.write("secrets/notes.txt", "not a key\n");
    s.engine()
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

fn agent_environment() -> Environment {
    Environment {
        grace: Duration::from_millis(300),
        executables: Executables {
            claude: Some(fake_claude()),
            ..Executables::default()
        },
        env: vec![
            ("FANOUT_FAKE_MODE".into(), "success".into()),
            ("FANOUT_FAKE_DELAY".into(), "0.05".into()),
        ],
        ..Environment::default()
    }
}

impl Setup {
    fn set_setup_command(&self, command: &str, timeout_secs: u64) {
        self.engine()
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

    /// Starts every variant of `view`.
    async fn start(&self, view: &ExperimentView) -> Ticket {
        self.fanout
            .submit(Job::Run {
                experiment: view.id(),
            })
            .await
            .expect("the run starts")
    }

    /// Runs every variant of `view` to its end.
    async fn run(&self, view: &ExperimentView) -> ExperimentView {
        self.start(view).await.finished().await;
        self.engine()
            .experiment(&view.id())
            .expect("the experiment loads")
    }

    fn events(&self, id: &ExperimentId, index: u32) -> Vec<StoredEvent> {
        self.engine()
            .events(id, VariantIndex(index), 0, 100_000)
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
    let s = setup();
    s.set_setup_command("echo \"setup in $PWD\"; echo warming up >&2", 60);
    let view = s.create(&["one", "two"]);
    let mut updates = s.fanout.subscribe();
    let done = s.run(&view).await;
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
        let events = s.events(&view.id(), v.index);
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
    let s = setup();
    s.set_setup_command(
        "echo first line; case \"$PWD\" in *-bad) echo last words >&2; exit 3;; esac",
        60,
    );
    let view = s.create(&["good", "bad"]);
    let done = s.run(&view).await;
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
    let events = s.events(&view.id(), bad.index);
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
    let s = setup();
    s.set_setup_command("echo about to hang; exec sleep 30", 1);
    let view = s.create(&["slow"]);
    let done = s.run(&view).await;
    let v = &done.variants[0];
    assert_eq!(v.status, VariantStatus::Failed);
    let error = v.error.clone().unwrap_or_default();
    assert!(error.contains("longer than 1 s"), "{error}");
    assert!(
        error.contains("about to hang"),
        "the tail is part of the message: {error}"
    );
    let events = s.events(&view.id(), v.index);
    assert_eq!(
        position(&events, "launch"),
        None,
        "the agent was never started"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_reaches_a_running_setup() {
    let s = setup();
    s.set_setup_command("echo started; exec sleep 30", 600);
    let view = s.create(&["waiting"]);
    let mut updates = s.fanout.subscribe();
    let ticket = s.start(&view).await;
    loop {
        let update = updates.recv().await.expect("updates flow");
        if let UpdateKind::Event { event } = update.kind {
            if event.kind() == "setup" {
                break;
            }
        }
    }
    assert_eq!(
        s.fanout.cancel(&view.id(), None),
        1,
        "the preparing variant is cancellable"
    );
    ticket.finished().await;
    let done = s
        .engine()
        .experiment(&view.id())
        .expect("the experiment loads");
    let v = &done.variants[0];
    assert_eq!(v.status, VariantStatus::Cancelled, "{:?}", v.error);
    let events = s.events(&view.id(), v.index);
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
fn experiment_with_work(s: &Setup) -> ExperimentView {
    let view = s.create(&["alpha", "beta", "gamma"]);
    for v in &view.variants[..2] {
        std::fs::write(v.worktree.join(format!("{}.txt", v.slug)), "work\n").unwrap();
    }
    s.engine().commit(&view.id(), None).expect("committed");
    s.engine()
        .experiment(&view.id())
        .expect("the experiment loads")
}

fn tip(fx: &Fixture, branch: &str) -> String {
    fx.git(&["rev-parse", &format!("refs/heads/{branch}")])
}

#[test]
fn cleanup_refuses_unmerged_work_and_names_the_variants() {
    let s = setup();
    let view = experiment_with_work(&s);
    let id = view.id();

    let disk = s.engine().disk_usage(&id).expect("sizes");
    let unmerged: Vec<usize> = disk.iter().map(|d| d.unmerged_commits).collect();
    assert_eq!(unmerged, [1, 1, 0], "alpha and beta each committed once");
    assert!(
        disk.iter().all(|d| d.bytes.is_some_and(|b| b > 0)),
        "every worktree has a size: {disk:?}"
    );

    let err = s
        .engine()
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
    let s = setup();
    let view = experiment_with_work(&s);
    let id = view.id();
    // A squash merge leaves alpha's commit on no branch, but it is merged.
    s.engine()
        .merge(&id, VariantIndex(1), None, Strategy::Squash, None)
        .expect("alpha merges");
    let beta = &view.variants[1];
    let beta_tip = tip(&s.fx, &beta.branch);

    let opts = CleanOptions {
        archive: vec![VariantIndex(2)],
        ..CleanOptions::default()
    };
    let report = s
        .engine()
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
    let s = setup();
    let view = experiment_with_work(&s);
    let id = view.id();
    let before: u64 = s
        .engine()
        .disk_usage(&id)
        .unwrap()
        .iter()
        .filter_map(|d| d.bytes)
        .sum();
    let opts = CleanOptions {
        confirmed: true,
        ..CleanOptions::default()
    };
    let report = s
        .engine()
        .clean(&id, &opts)
        .expect("confirmed cleanup runs");
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
    let s = setup();
    let view = experiment_with_work(&s);
    let id = view.id();
    let opts = CleanOptions {
        confirmed_variants: vec![VariantIndex(1)],
        ..CleanOptions::default()
    };
    let err = s
        .engine()
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
    let s = setup();
    let view = experiment_with_work(&s);
    let id = view.id();
    let beta_tip = tip(&s.fx, &view.variants[1].branch);
    // Gamma's uncommitted edit stops the first pass at its worktree.
    std::fs::write(view.variants[2].worktree.join("draft.txt"), "unsaved\n").unwrap();
    let opts = CleanOptions {
        confirmed_variants: vec![VariantIndex(1)],
        archive: vec![VariantIndex(2)],
        ..CleanOptions::default()
    };
    let first = s.engine().clean(&id, &opts).expect("first pass");
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
        .engine()
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

// ---- what the settings screen and the cleanup dialog send -----------------

#[test]
fn repository_settings_save_trimmed_refuse_bad_input_with_a_sentence_and_export_on_request() {
    let s = setup();
    let repo = s.fx.root.clone();
    let view = s.engine().repo_settings(&repo).expect("read the defaults");
    assert!(!view.stored, "nothing is stored before the first save");

    let form = RepoSettings {
        copy: vec![" .env ".into(), "secrets/*.pem".into()],
        setup_command: Some("  npm ci  ".into()),
        setup_timeout_secs: 120,
        check_network: false,
        warm: None,
    };
    let saved = s
        .engine()
        .save_repo_settings(&repo, form)
        .expect("valid settings save");
    assert!(saved.stored);
    assert_eq!(
        saved.settings.copy,
        [".env", "secrets/*.pem"],
        "globs are trimmed as typed"
    );
    assert_eq!(saved.settings.setup_command.as_deref(), Some("npm ci"));
    let again = s.engine().repo_settings(&repo).expect("read back");
    assert_eq!(
        again.settings, saved.settings,
        "the store holds what was saved"
    );
    assert!(
        !repo.join(".fanout.json").exists(),
        "saving does not write into the user's repository"
    );

    // An empty command field means "no setup command", not a command of nothing.
    let cleared = RepoSettings {
        setup_command: Some("   ".into()),
        ..saved.settings.clone()
    };
    let cleared = s
        .engine()
        .save_repo_settings(&repo, cleared)
        .expect("saves");
    assert_eq!(cleared.settings.setup_command, None);

    let outside = RepoSettings {
        copy: vec!["../other/.env".into()],
        ..RepoSettings::default()
    };
    let err = s
        .engine()
        .save_repo_settings(&repo, outside)
        .expect_err("outside the checkout");
    assert_eq!(
        err.code(),
        "repo_settings.invalid",
        "the UI can tell a field error"
    );
    assert!(
        err.to_string().contains("../other/.env")
            && err.to_string().contains("outside the checkout"),
        "the sentence names the pattern and why: {}",
        err
    );
    let zero = RepoSettings {
        setup_timeout_secs: 0,
        ..RepoSettings::default()
    };
    let err = s
        .engine()
        .save_repo_settings(&repo, zero)
        .expect_err("zero timeout");
    assert!(err.to_string().contains("between 1 and"), "{}", err);
    assert_eq!(
        s.engine().repo_settings(&repo).expect("read").settings,
        cleared.settings,
        "refused settings leave the saved ones alone"
    );

    let written = s.engine().export_repo_settings(&repo).expect("export");
    let text = std::fs::read_to_string(&written).expect("the export exists");
    assert_eq!(
        written,
        repo.join(".fanout.json"),
        "at the repository's root"
    );
    assert!(
        text.contains("secrets/*.pem"),
        "the export holds the saved globs: {text}"
    );

    let err = s
        .engine()
        .save_repo_settings(Path::new("/nowhere/at/all"), RepoSettings::default())
        .expect_err("no repository there");
    assert!(err.to_string().contains("/nowhere/at/all"), "{}", err);
}

/// Commits `file` on the variant's worktree branch.
fn commit_work(worktree: &Path, file: &str) {
    std::fs::write(worktree.join(file), "work\n").expect("write work");
    common::git(worktree, &["add", "."]);
    common::git(worktree, &["commit", "-qm", file]);
}

fn clean(
    s: &Setup,
    id: &ExperimentId,
    json: serde_json::Value,
) -> Result<fanout_engine::experiment::CleanReport, fanout_engine::Error> {
    // The cleanup dialog's options, as they cross from the window.
    let options: CleanOptions = serde_json::from_value(json).expect("the dialog's options parse");
    s.engine().clean(id, &options)
}

#[test]
fn cleanup_shows_sizes_refuses_unconfirmed_unmerged_work_and_archives_on_request() {
    let s = setup();
    let view = s.create(&["Small", "Large", "Idle"]);
    let id = view.id();
    commit_work(&view.variants[0].worktree, "small.txt");
    commit_work(&view.variants[1].worktree, "large.txt");
    std::fs::write(
        view.variants[1].worktree.join("big.bin"),
        vec![7u8; 300_000],
    )
    .expect("write");
    common::git(&view.variants[1].worktree, &["add", "."]);
    common::git(&view.variants[1].worktree, &["commit", "-qm", "big"]);

    let disk = s.engine().disk_usage(&id).expect("disk usage");
    let bytes: Vec<u64> = disk
        .iter()
        .map(|d| d.bytes.expect("worktree exists"))
        .collect();
    assert!(
        bytes[1] >= bytes[0] + 300_000,
        "the worktree with a 300 KB file measures that much more: {bytes:?}"
    );
    let unmerged: Vec<usize> = disk.iter().map(|d| d.unmerged_commits).collect();
    assert_eq!(unmerged, [1, 2, 0], "commits merged nowhere, per variant");

    let err = clean(
        &s,
        &id,
        serde_json::json!({"keep": null, "force": false, "confirmed_variants": [], "archive": []}),
    )
    .expect_err("unmerged work needs the user's tick");
    assert_eq!(err.code(), "experiment.unmerged");
    assert!(
        err.to_string().contains("1 (Small") && err.to_string().contains("2 (Large"),
        "the refusal names both variants: {}",
        err
    );
    assert!(
        !err.to_string().contains("--") && !err.to_string().contains("`fanout"),
        "the sentence is true in any face, each adds its own way out: {err}"
    );
    assert!(
        view.variants.iter().all(|v| v.worktree.is_dir()),
        "a refusal removes nothing"
    );

    // Archiving one is not enough while the other is neither archived nor ticked.
    let err = clean(
        &s,
        &id,
        serde_json::json!({"confirmed_variants": [], "archive": [2]}),
    )
    .expect_err("variant 1 still unconfirmed");
    assert!(
        err.to_string().contains("1 (Small") && !err.to_string().contains("2 (Large"),
        "{}",
        err
    );

    let report = clean(
        &s,
        &id,
        serde_json::json!({"confirmed_variants": [1], "archive": [2]}),
    )
    .expect("confirmed and archived");
    let tag = format!("fanout/archive/{}/2-large", view.experiment.slug);
    assert_eq!(
        report
            .archived
            .iter()
            .map(|a| a.tag.as_str())
            .collect::<Vec<_>>(),
        [tag.as_str()],
        "the archive tag is reported with its name"
    );
    let tagged = common::git(&s.fx.root, &["rev-parse", &format!("refs/tags/{tag}")]);
    assert_eq!(
        tagged, report.archived[0].commit,
        "the tag holds variant 2's work"
    );
    assert_eq!(
        common::git(&s.fx.root, &["branch", "--list", "fanout/*"]),
        "",
        "every variant branch is gone"
    );
    assert_eq!(
        report.freed_bytes,
        bytes.iter().sum::<u64>(),
        "the freed bytes are the sizes the dialog showed"
    );
}
