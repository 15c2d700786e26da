//! Agents as adversaries: what one writes in its worktree (its `.git`
//! included), what it tries outside it, never reaches the user's branch,
//! checkout, keys or another variant. Real repositories, real agents
//! (command agents running shell scripts, the fake Claude Code), the real
//! sandbox.

mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{Fixture, Rig};
use fanout_engine::experiment::{ApproachSpec, CleanOptions, Engine, NewExperiment};
use fanout_engine::ids::VariantIndex;
use fanout_engine::orchestrator::{Config, Environment, Executables, RunConfig};
use fanout_engine::paths::Paths;
use fanout_engine::store::VariantStatus;

fn setup(names: &[&str]) -> Rig {
    Rig::new(names, "command")
}

/// A shell script the command agent runs, in `fx`'s `bin` folder.
fn script(fx: &Fixture, name: &str, body: &str) -> PathBuf {
    common::script(&fx.sibling("bin").join(name), body)
}

fn config(agent_script: &Path, sandbox: bool) -> Config {
    Config {
        run: RunConfig {
            agent_command: Some(format!("'{}'", agent_script.display())),
            sandbox,
            ..RunConfig::default()
        },
        environment: Environment {
            grace: Duration::from_millis(300),
            ..Environment::default()
        },
    }
}

/// What the issue saw: an agent writes a repository of its own in its
/// worktree whose commondir is the user's repository and HEAD the user's
/// branch, then points its `.git` file at it.
const TAMPER: &str = r#"mkdir -p evil
printf 'ref: refs/heads/main\n' > evil/HEAD
printf '%s\n' "$USER_GIT_DIR" > evil/commondir
printf '%s\n' "$USER_CHECKOUT/.git" > evil/gitdir
printf 'agent work\n' > work.txt
printf 'gitdir: evil\n' > .git"#;

fn tamper_in(worktree: &Path, fx: &Fixture) {
    let out = std::process::Command::new("sh")
        .arg("-c")
        .arg(TAMPER)
        .current_dir(worktree)
        .env("USER_GIT_DIR", fx.root.join(".git"))
        .env("USER_CHECKOUT", &fx.root)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn registration_of(s: &Rig, index: usize) -> String {
    let v = &s.view.variants[index];
    v.linked(&s.fx.root)
        .expect("registered")
        .git_dir
        .display()
        .to_string()
}

#[test]
fn a_commit_through_a_rewritten_dot_git_never_reaches_the_users_branch() {
    let s = setup(&["alpha"]);
    let main_before = s.fx.head();
    let wt = s.view.variants[0].worktree.clone();
    tamper_in(&wt, &s.fx);

    let id = s.id.clone();
    let err = s
        .engine()
        .commit(&id, None)
        .expect_err("the tampered worktree is refused");

    assert_eq!(err.code(), "worktree.tampered", "{err}");
    let message = err.to_string();
    assert!(
        message.contains(".git file names") && message.contains("evil"),
        "the sentence says what the agent did: {message}"
    );
    assert_eq!(
        s.fx.head(),
        main_before,
        "nothing was committed onto the user's main"
    );
    assert_eq!(s.fx.status(), "", "the user's checkout is untouched");
    let dot_git = std::fs::read_to_string(wt.join(".git")).expect(".git is a file again");
    assert_eq!(
        dot_git.trim(),
        format!("gitdir: {}", registration_of(&s, 0)),
        "the .git file names Fanout's registration again"
    );
    let variant = s.engine().experiment(&id).expect("show").variants.remove(0);
    assert_eq!(
        variant.status,
        VariantStatus::Failed,
        "the variant is marked failed"
    );
    assert!(
        variant
            .error
            .as_deref()
            .unwrap_or_default()
            .contains("git metadata"),
        "with the sentence: {:?}",
        variant.error
    );

    // Once restored, a commit goes where it belongs: the variant's branch.
    let commits = s.engine().commit(&id, None).expect("a second commit works");
    let commit = commits[0]
        .commit
        .clone()
        .expect("the agent's work is committed");
    assert_eq!(
        s.fx.git(&["rev-parse", &s.view.variants[0].branch]),
        commit,
        "on the variant's branch"
    );
    assert_eq!(s.fx.head(), main_before, "and not on main");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_retry_through_a_rewritten_dot_git_never_resets_the_users_checkout() {
    let s = setup(&["alpha"]);
    s.fx.write("untracked-by-the-user.txt", "my notes\n");
    s.fx.write("README.md", "# my uncommitted edit\n");
    let main_before = s.fx.head();
    tamper_in(&s.view.variants[0].worktree, &s.fx);

    let err = s
        .retry(1)
        .await
        .expect_err("the retry refuses the tampered worktree");

    assert_eq!(err.code(), "worktree.tampered", "{err}");
    assert_eq!(s.fx.head(), main_before, "the user's branch was not reset");
    assert_eq!(
        s.fx.read("untracked-by-the-user.txt"),
        "my notes\n",
        "the user's untracked file is still there"
    );
    assert_eq!(
        s.fx.read("README.md"),
        "# my uncommitted edit\n",
        "and the uncommitted edit"
    );
}

#[test]
fn a_head_pointed_at_the_users_branch_is_caught_and_put_back() {
    let s = setup(&["alpha"]);
    let main_before = s.fx.head();
    let git_dir = PathBuf::from(registration_of(&s, 0));
    std::fs::write(git_dir.join("HEAD"), "ref: refs/heads/main\n").expect("rewrite HEAD");
    std::fs::write(s.view.variants[0].worktree.join("work.txt"), "x\n").expect("work");

    let id = s.id.clone();
    let err = s.engine().commit(&id, None).expect_err("refused");
    assert_eq!(err.code(), "worktree.tampered", "{err}");
    assert!(err.to_string().contains("HEAD names"), "{err}");
    assert_eq!(s.fx.head(), main_before, "main did not move");
    assert_eq!(
        std::fs::read_to_string(git_dir.join("HEAD"))
            .expect("HEAD")
            .trim(),
        format!("ref: refs/heads/{}", s.view.variants[0].branch),
        "HEAD names the variant's branch again"
    );
}

#[test]
fn a_per_worktree_config_is_caught_before_git_could_run_it() {
    let s = setup(&["alpha"]);
    let git_dir = PathBuf::from(registration_of(&s, 0));
    s.fx.git(&["config", "extensions.worktreeConfig", "true"]);
    let marker = s.fx.sibling("out").join("ran");
    std::fs::write(
        git_dir.join("config.worktree"),
        format!("[core]\n\tfsmonitor = \"touch {}\"\n", marker.display()),
    )
    .expect("write the config");
    std::fs::write(s.view.variants[0].worktree.join("work.txt"), "x\n").expect("work");

    let id = s.id.clone();
    let err = s.engine().commit(&id, None).expect_err("refused");
    assert_eq!(err.code(), "worktree.tampered", "{err}");
    assert!(!marker.exists(), "the program the agent named never ran");
    assert!(
        !git_dir.join("config.worktree").exists(),
        "the file is gone"
    );
}

/// The same check follows every session, whatever the backend: here a
/// command agent and Claude Code (the fake, behind a wrapper that tampers
/// first) both rewrite `.git`; without a sandbox to stop them, Fanout
/// catches both before committing anything.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_backend_is_checked_after_its_session() {
    for agent in ["command", "claude-code"] {
        let s = Rig::new(&["alpha"], agent);
        let main_before = s.fx.head();
        let fake_claude = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
            .join("../../tests/fixtures/agents/fake-claude");
        let tamper = script(
            &s.fx,
            "tamper",
            &format!("{TAMPER}\n[ -n \"$THEN\" ] && exec \"$THEN\" \"$@\"\nexit 0"),
        );
        let mut config = config(&tamper, false);
        config.environment.executables.claude = Some(tamper.clone());
        config.environment.env = vec![
            (
                "USER_GIT_DIR".into(),
                s.fx.root.join(".git").display().to_string(),
            ),
            ("USER_CHECKOUT".into(), s.fx.root.display().to_string()),
        ];
        if agent == "claude-code" {
            config
                .environment
                .env
                .push(("THEN".into(), fake_claude.display().to_string()));
        }
        let view = s.run(config).await;
        let v = &view.variants[0];
        assert_eq!(v.status, VariantStatus::Failed, "{agent}: {:?}", v.error);
        assert!(
            v.error
                .as_deref()
                .unwrap_or_default()
                .contains("changed its worktree's git metadata"),
            "{agent}: the sentence says what the agent did: {:?}",
            v.error
        );
        assert_eq!(
            s.fx.head(),
            main_before,
            "{agent}: the user's main did not move"
        );
        assert_eq!(
            v.head_commit.as_deref(),
            Some(view.experiment.base_commit.as_str()),
            "{agent}: nothing was committed"
        );
    }
}

/// With the sandbox, the same script cannot even replace `.git`: the file is
/// pinned read-only; the rest of its work is committed as ordinary files.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_the_sandbox_the_dot_git_file_cannot_be_replaced() {
    let s = setup(&["alpha"]);
    let main_before = s.fx.head();
    let tamper = script(&s.fx, "tamper", &format!("{TAMPER}\nexit 0"));
    let mut config = config(&tamper, true);
    config.environment.env = vec![
        (
            "USER_GIT_DIR".into(),
            s.fx.root.join(".git").display().to_string(),
        ),
        ("USER_CHECKOUT".into(), s.fx.root.display().to_string()),
    ];
    let view = s.run(config).await;
    let v = &view.variants[0];
    assert_eq!(v.status, VariantStatus::Succeeded, "{:?}", v.error);
    assert_eq!(
        std::fs::read_to_string(v.worktree.join(".git"))
            .expect(".git")
            .trim(),
        format!("gitdir: {}", registration_of(&s, 0)),
        "the .git file was never replaced"
    );
    let files = s.fx.git(&["show", "--name-only", "--format=", &v.branch]);
    assert!(
        files.contains("work.txt") && files.contains("evil/HEAD"),
        "{files}"
    );
    assert_eq!(s.fx.head(), main_before);
}

/// The sandbox's promise, tried by an agent: it may change its worktree and
/// nothing else. It cannot write outside (a folder beside the repository),
/// into the user's refs or checkout, into the other variant's worktree, or
/// read a private key in the home folder. The test's files live outside
/// /tmp, so the sandbox's private /tmp proves nothing here by itself.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sandboxed_agent_reaches_nothing_but_its_worktree() {
    let parent = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("trust");
    let s = Rig::with(Fixture::new_in(&parent), &["alpha", "beta"], "command");
    let outside = s.fx.sibling("outside");
    let home = s.fx.sibling("user-home");
    std::fs::create_dir_all(home.join(".ssh")).expect("~/.ssh");
    std::fs::write(home.join(".ssh/id_ed25519"), "PRIVATE-KEY-MATERIAL\n").expect("key");
    let main_before = s.fx.head();
    let other = s.view.variants[1].worktree.clone();
    let agent = script(
        &s.fx,
        "escape",
        r#"echo inside > inside.txt
case "$PWD" in *-beta) exit 0 ;; esac
touch "$OUTSIDE/escaped" && echo ESCAPED-OUTSIDE
echo x > "$USER_CHECKOUT/.git/refs/heads/evil" && echo MOVED-A-REF
echo x > "$USER_CHECKOUT/README.md" && echo WROTE-THE-CHECKOUT
echo x > "$OTHER/hacked" && echo WROTE-THE-OTHER-VARIANT
cat "$HOME/.ssh/id_ed25519" && echo READ-THE-KEY
exit 0"#,
    );
    let mut config = config(&agent, true);
    config.environment.env = vec![
        ("OUTSIDE".into(), outside.display().to_string()),
        ("USER_CHECKOUT".into(), s.fx.root.display().to_string()),
        ("OTHER".into(), other.display().to_string()),
        ("HOME".into(), home.display().to_string()),
    ];
    let view = s.run(config).await;

    for v in &view.variants {
        assert_eq!(
            v.status,
            VariantStatus::Succeeded,
            "{}: {:?}",
            v.index,
            v.error
        );
        let files = s.fx.git(&["show", "--name-only", "--format=", &v.branch]);
        assert!(
            files.contains("inside.txt"),
            "the work inside the worktree is committed as usual: {files}"
        );
    }
    assert!(
        !outside.join("escaped").exists(),
        "nothing was written outside"
    );
    assert!(
        s.fx.git(&["branch", "--list", "evil"]).is_empty(),
        "no ref was added to the user's repository"
    );
    assert_eq!(s.fx.head(), main_before, "the user's branch did not move");
    assert_eq!(
        s.fx.read("README.md"),
        "# fixture\n",
        "the checkout is untouched"
    );
    assert!(
        !other.join("hacked").exists(),
        "the other variant's worktree is untouched"
    );
    let events = s.events(1).await;
    let transcript: String = events.iter().map(|e| e.payload.to_string()).collect();
    for mark in [
        "ESCAPED-OUTSIDE",
        "MOVED-A-REF",
        "WROTE-THE-CHECKOUT",
        "WROTE-THE-OTHER-VARIANT",
        "READ-THE-KEY",
        "PRIVATE-KEY-MATERIAL",
    ] {
        assert!(!transcript.contains(mark), "the agent could not: {mark}");
    }
    let launch = events
        .iter()
        .find(|e| e.kind == "launch")
        .expect("a launch record");
    assert_eq!(
        launch.payload["sandbox"]["on"], true,
        "the run record says it was sandboxed"
    );
}

/// `fanout clean` decides "merged" by what the repository holds when it
/// runs: a commit made in the variant after its squash merge, or a merge the
/// user reset away, is unmerged work again.
#[test]
fn clean_judges_merged_work_by_the_repository_not_the_record() {
    for case in ["committed after the merge", "merge reset away"] {
        let s = setup(&["alpha"]);
        let id = s.id.clone();
        let v = s.view.variants[0].clone();
        std::fs::write(v.worktree.join("work.txt"), "first\n").expect("work");
        s.engine().commit(&id, None).expect("commit");
        s.engine()
            .merge(
                &id,
                VariantIndex(1),
                None,
                fanout_engine::merge::Strategy::Squash,
                None,
            )
            .expect("merge");
        match case {
            "committed after the merge" => {
                std::fs::write(v.worktree.join("work.txt"), "second\n").expect("more work");
                s.engine()
                    .commit(&id, None)
                    .expect("commit after the merge");
            }
            _ => {
                s.fx.git(&["reset", "-q", "--hard", "HEAD~1"]);
            }
        }
        let err = s
            .engine()
            .clean(&id, &CleanOptions::default())
            .expect_err("the unmerged work is not deleted unasked");
        assert_eq!(err.code(), "experiment.unmerged", "{case}: {err}");
        assert!(
            s.fx.git(&["branch", "--list", &v.branch])
                .contains(&v.branch),
            "{case}: the branch is still there"
        );
    }
}

/// A squash-merged variant whose branch has not moved since is merged work:
/// clean goes ahead without asking.
#[test]
fn clean_deletes_a_squash_merged_variant_without_asking() {
    let s = setup(&["alpha"]);
    let id = s.id.clone();
    std::fs::write(s.view.variants[0].worktree.join("work.txt"), "x\n").expect("work");
    s.engine().commit(&id, None).expect("commit");
    s.engine()
        .merge(
            &id,
            VariantIndex(1),
            None,
            fanout_engine::merge::Strategy::Squash,
            None,
        )
        .expect("merge");
    s.engine()
        .clean(&id, &CleanOptions::default())
        .expect("merged work needs no confirmation");
}

/// The same long task, five times: every experiment gets its own slug, the
/// slug is exactly its folder's and its branches' name, and naming ends.
#[test]
fn the_same_long_task_five_times_gets_five_names() {
    let fx = Fixture::new();
    let paths = Paths::at(fx.sibling("home"));
    let engine = Engine::open(paths).expect("engine");
    // Slugs to 39 and to 40 characters.
    for task in [
        "implement the sliding window rate limit x",
        "implement the sliding window rate limiter",
    ] {
        let mut slugs = Vec::new();
        for _ in 0..5 {
            let view = engine
                .create_experiment(NewExperiment {
                    repo: fx.root.clone(),
                    task: task.into(),
                    approaches: vec![ApproachSpec {
                        name: "a".into(),
                        ..ApproachSpec::default()
                    }],
                    include_uncommitted: false,
                    worktree_root: Some(fx.sibling("worktrees")),
                    default_agent: "command".into(),
                    run: RunConfig::default(),
                })
                .expect("created");
            let slug = view.experiment.slug.clone();
            let v = &view.variants[0];
            assert!(
                v.branch.starts_with(&format!("fanout/{slug}/")),
                "the branch is named by the slug: {} / {slug}",
                v.branch
            );
            assert_eq!(
                v.worktree
                    .parent()
                    .and_then(|p| p.file_name())
                    .map(|n| n.to_string_lossy().into_owned()),
                Some(slug.clone()),
                "the folder is named by the slug"
            );
            assert!(slug.len() <= 40, "{slug}");
            slugs.push(slug);
        }
        let unique: std::collections::HashSet<_> = slugs.iter().collect();
        assert_eq!(unique.len(), 5, "five different names: {slugs:?}");
    }
}

/// A methodology file that is a symlink out of the repository is not read:
/// the agents get the built-in methodology, and the run record says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_methodology_linked_outside_the_repository_is_not_read() {
    let s = setup(&["alpha"]);
    let secret = s.fx.sibling("secrets").join("notes.md");
    std::fs::write(&secret, "TOP-SECRET-OUTSIDE-THE-REPO\n").expect("secret");
    std::fs::create_dir_all(s.fx.root.join(".claude/commands")).expect("dir");
    std::os::unix::fs::symlink(
        &secret,
        s.fx.root.join(".claude/commands/ultrathink-task.md"),
    )
    .expect("symlink");
    let agent = script(&s.fx, "noop", "exit 0");
    s.run(config(&agent, false)).await;
    let events = s.events(1).await;
    let launch = events.iter().find(|e| e.kind == "launch").expect("launch");
    assert!(
        !launch.payload.to_string().contains("TOP-SECRET"),
        "the linked file's content went nowhere"
    );
    let warning = launch.payload["methodology_warning"]
        .as_str()
        .unwrap_or_default();
    assert!(
        warning.contains("leads outside the repository"),
        "the run record says why: {warning}"
    );
    assert!(
        events.iter().any(
            |e| e.kind == "warning" && e.payload.to_string().contains("outside the repository")
        ),
        "and so does the transcript"
    );
}

/// Nothing is created for a run that cannot start.
#[test]
fn a_run_that_cannot_start_is_refused_before_anything_exists() {
    use fanout_engine::agent::AgentKind;
    use fanout_engine::orchestrator::preflight;
    let missing = Config {
        environment: Environment {
            executables: Executables {
                claude: Some("/nonexistent/claude".into()),
                ..Executables::default()
            },
            ..Environment::default()
        },
        ..Config::default()
    };
    let err = preflight(&missing, &[AgentKind::ClaudeCode]).expect_err("no such agent");
    assert_eq!(err.code(), "process.not_found", "{err}");
    let unbalanced = Config {
        run: RunConfig {
            agent_command: Some("my-agent 'unclosed {prompt}".into()),
            ..RunConfig::default()
        },
        ..Config::default()
    };
    let err = preflight(&unbalanced, &[AgentKind::Command]).expect_err("bad template");
    assert_eq!(err.code(), "agent.bad_template", "{err}");
    let nowhere = Config {
        run: RunConfig {
            agent_command: Some("no-such-agent-program {prompt}".into()),
            ..RunConfig::default()
        },
        ..Config::default()
    };
    let err = preflight(&nowhere, &[AgentKind::Command]).expect_err("no such program");
    assert_eq!(err.code(), "process.not_found", "{err}");
}

/// An experiment whose repository moved says so, naming it.
#[test]
fn a_moved_repository_is_named_not_met_with_git_init() {
    let s = setup(&["alpha"]);
    let id = s.id.clone();
    let moved = s.fx.dir.path().join("moved");
    std::fs::rename(&s.fx.root, &moved).expect("move the repository");
    let err = s
        .engine()
        .merge(
            &id,
            VariantIndex(1),
            None,
            fanout_engine::merge::Strategy::Squash,
            None,
        )
        .expect_err("the repository is gone");
    assert_eq!(err.code(), "experiment.repository_gone", "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&s.fx.root.display().to_string()),
        "{message}"
    );
    assert!(!message.contains("git init"), "{message}");
}

/// A lease held by a live process refuses changes with its holder named; a
/// holder that died loses it to the next taker.
#[test]
fn a_live_holders_lease_refuses_and_a_dead_holders_is_taken_over() {
    use fanout_engine::orchestrator::procfs;
    use fanout_engine::store::{LeaseHolder, ProcessId};
    let s = setup(&["alpha"]);
    let id = s.id.clone();
    let mut other = std::process::Command::new("sleep")
        .arg("60")
        .spawn()
        .expect("another process");
    let holder = LeaseHolder {
        process: ProcessId {
            pid: other.id(),
            start: procfs::start_ticks(other.id()).expect("it runs"),
        },
        program: "fanout".into(),
        doing: "merging".into(),
        since: "2026-12-07T10:00:00Z".into(),
    };
    let lease_id = id.to_string();
    let taken = s
        .engine()
        .writer()
        .call_blocking(move |store| store.take_lease(&lease_id, &holder, procfs::is_alive))
        .expect("the writer runs")
        .expect("store");
    assert!(taken.is_none(), "the other process holds the lease now");

    let err = s
        .engine()
        .commit(&id, None)
        .expect_err("refused while it lives");
    assert_eq!(err.code(), "lease.held", "{err}");
    let message = err.to_string();
    assert!(
        message.contains(&format!("pid {}", other.id())) && message.contains("merging"),
        "the sentence names the holder and what it does: {message}"
    );
    s.engine().experiment(&id).expect("reads never wait");

    other.kill().expect("kill");
    other.wait().expect("reap");
    s.engine()
        .commit(&id, None)
        .expect("a dead holder's lease is taken over");
}
