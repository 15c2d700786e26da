//! The worktree-setup and cleanup commands over a real repository and a real
//! store: what the settings screen and the cleanup dialog rely on, without
//! the window.

use std::path::{Path, PathBuf};
use std::process::Command;

use fanout_engine::experiment::{ApproachSpec, NewExperiment};
use fanout_engine::paths::Paths;
use fanout_engine::repo_settings::RepoSettings;

use super::*;
use crate::settings_cmds::save_repo_settings;

fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(["-c", "user.name=t", "-c", "user.email=t@t"])
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .output()
        .expect("git runs");
    assert!(out.status.success(), "git {args:?}: {out:?}");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

struct Fixture {
    _dir: tempfile::TempDir,
    repo: PathBuf,
    engine: Engine,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().expect("temp dir");
    let repo = dir.path().join("repo");
    std::fs::create_dir_all(&repo).expect("repo dir");
    git(&repo, &["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README.md"), "hello\n").expect("write");
    git(&repo, &["add", "."]);
    git(&repo, &["commit", "-qm", "init"]);
    let engine = Engine::open(Paths::at(dir.path().join("home"))).expect("engine");
    Fixture {
        _dir: dir,
        repo,
        engine,
    }
}

impl Fixture {
    fn experiment(&mut self, names: &[&str]) -> ExperimentView {
        self.engine
            .create_experiment(NewExperiment {
                repo: self.repo.clone(),
                task: "Say hello".into(),
                approaches: names
                    .iter()
                    .map(|n| ApproachSpec {
                        name: (*n).into(),
                        ..ApproachSpec::default()
                    })
                    .collect(),
                include_uncommitted: false,
                worktree_root: None,
                default_agent: "claude-code".into(),
            })
            .expect("create the experiment")
    }
}

fn repo_str(f: &Fixture) -> String {
    f.repo.display().to_string()
}

#[test]
fn repository_settings_save_trimmed_refuse_bad_input_with_a_sentence_and_export_on_request() {
    let mut f = fixture();
    let repo = repo_str(&f);
    let view = f.engine.repo_settings(&f.repo).expect("read the defaults");
    assert!(!view.stored, "nothing is stored before the first save");

    let form = RepoSettings {
        copy: vec![" .env ".into(), "secrets/*.pem".into()],
        setup_command: Some("  npm ci  ".into()),
        setup_timeout_secs: 120,
        check_network: false,
    };
    let saved = save_repo_settings(&mut f.engine, &repo, form).expect("valid settings save");
    assert!(saved.stored);
    assert_eq!(
        saved.settings.copy,
        [".env", "secrets/*.pem"],
        "globs are trimmed as typed"
    );
    assert_eq!(saved.settings.setup_command.as_deref(), Some("npm ci"));
    let again = f.engine.repo_settings(&f.repo).expect("read back");
    assert_eq!(
        again.settings, saved.settings,
        "the store holds what was saved"
    );
    assert!(
        !f.repo.join(".fanout.json").exists(),
        "saving does not write into the user's repository"
    );

    // An empty command field means "no setup command", not a command of nothing.
    let cleared = RepoSettings {
        setup_command: Some("   ".into()),
        ..saved.settings.clone()
    };
    let cleared = save_repo_settings(&mut f.engine, &repo, cleared).expect("saves");
    assert_eq!(cleared.settings.setup_command, None);

    let outside = RepoSettings {
        copy: vec!["../other/.env".into()],
        ..RepoSettings::default()
    };
    let err = save_repo_settings(&mut f.engine, &repo, outside).expect_err("outside the checkout");
    assert_eq!(
        err.code, "repo_settings.invalid",
        "the UI can tell a field error"
    );
    assert!(
        err.message.contains("../other/.env") && err.message.contains("outside the checkout"),
        "the sentence names the pattern and why: {}",
        err.message
    );
    let zero = RepoSettings {
        setup_timeout_secs: 0,
        ..RepoSettings::default()
    };
    let err = save_repo_settings(&mut f.engine, &repo, zero).expect_err("zero timeout");
    assert!(err.message.contains("between 1 and"), "{}", err.message);
    assert_eq!(
        f.engine.repo_settings(&f.repo).expect("read").settings,
        cleared.settings,
        "refused settings leave the saved ones alone"
    );

    let written = f.engine.export_repo_settings(&f.repo).expect("export");
    let text = std::fs::read_to_string(&written).expect("the export exists");
    assert_eq!(
        written,
        f.repo.join(".fanout.json"),
        "at the repository's root"
    );
    assert!(
        text.contains("secrets/*.pem"),
        "the export holds the saved globs: {text}"
    );

    let err = save_repo_settings(&mut f.engine, "/nowhere/at/all", RepoSettings::default())
        .expect_err("no repository there");
    assert!(err.message.contains("/nowhere/at/all"), "{}", err.message);
}

/// Commits `file` on the variant's worktree branch.
fn commit_work(worktree: &Path, file: &str) {
    std::fs::write(worktree.join(file), "work\n").expect("write work");
    git(worktree, &["add", "."]);
    git(worktree, &["commit", "-qm", file]);
}

fn clean(f: &mut Fixture, id: &str, json: serde_json::Value) -> CommandResult<CleanReport> {
    // The dialog's arguments, as they cross the boundary.
    let request: CleanRequest = serde_json::from_value(json).expect("the dialog's request parses");
    f.engine
        .clean(id, &request.options())
        .map_err(CommandError::from)
        .map_err(dialog_refusal)
}

#[test]
fn cleanup_shows_sizes_refuses_unconfirmed_unmerged_work_and_archives_on_request() {
    let mut f = fixture();
    let view = f.experiment(&["Small", "Large", "Idle"]);
    let id = view.experiment.id.clone();
    commit_work(&view.variants[0].worktree, "small.txt");
    commit_work(&view.variants[1].worktree, "large.txt");
    std::fs::write(
        view.variants[1].worktree.join("big.bin"),
        vec![7u8; 300_000],
    )
    .expect("write");
    git(&view.variants[1].worktree, &["add", "."]);
    git(&view.variants[1].worktree, &["commit", "-qm", "big"]);

    let disk = f.engine.disk_usage(&id).expect("disk usage");
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
        &mut f,
        &id,
        serde_json::json!({"keep": null, "force": false, "confirm": [], "archive": []}),
    )
    .expect_err("unmerged work needs the user's tick");
    assert_eq!(err.code, "experiment.unmerged");
    assert!(
        err.message.contains("1 (Small") && err.message.contains("2 (Large"),
        "the refusal names both variants: {}",
        err.message
    );
    assert!(
        err.message.contains("Keep as tag") && !err.message.contains("--force"),
        "the advice is the dialog's, not the command line's: {}",
        err.message
    );
    assert!(
        view.variants.iter().all(|v| v.worktree.is_dir()),
        "a refusal removes nothing"
    );

    // Archiving one is not enough while the other is neither archived nor ticked.
    let err = clean(
        &mut f,
        &id,
        serde_json::json!({"confirm": [], "archive": [2]}),
    )
    .expect_err("variant 1 still unconfirmed");
    assert!(
        err.message.contains("1 (Small") && !err.message.contains("2 (Large"),
        "{}",
        err.message
    );

    let report = clean(
        &mut f,
        &id,
        serde_json::json!({"confirm": [1], "archive": [2]}),
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
    let tagged = git(&f.repo, &["rev-parse", &format!("refs/tags/{tag}")]);
    assert_eq!(
        tagged, report.archived[0].commit,
        "the tag holds variant 2's work"
    );
    assert_eq!(
        git(&f.repo, &["branch", "--list", "fanout/*"]),
        "",
        "every variant branch is gone"
    );
    assert_eq!(
        report.freed_bytes,
        bytes.iter().sum::<u64>(),
        "the freed bytes are the sizes the dialog showed"
    );
}
