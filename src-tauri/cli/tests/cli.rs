//! The `fanout` command end to end: the real binary on real repositories,
//! with its data folder in a throwaway FANOUT_HOME.

#[path = "../../engine/tests/common/mod.rs"]
mod common;

use std::path::Path;
use std::process::{Command, Output};

use common::{processes_in, Fixture};
use serde_json::Value;

struct Cli {
    home: tempfile::TempDir,
}

impl Cli {
    fn new() -> Cli {
        Cli {
            home: tempfile::tempdir().expect("temp FANOUT_HOME"),
        }
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(env!("CARGO_BIN_EXE_fanout"))
            .args(args)
            .env("FANOUT_HOME", self.home.path())
            .output()
            .expect("run fanout")
    }

    /// Runs with `--json`, expects success, parses stdout.
    fn json(&self, args: &[&str]) -> Value {
        let mut all = vec!["--json"];
        all.extend_from_slice(args);
        let out = self.run(&all);
        assert!(
            out.status.success(),
            "fanout {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "fanout {args:?} printed something that is not one JSON document ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        })
    }

    /// Runs and expects exit code 1 with a sentence on stderr; returns it.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert_eq!(
            out.status.code(),
            Some(1),
            "fanout {args:?} should fail with 1"
        );
        let err = String::from_utf8_lossy(&out.stderr).to_string();
        assert!(
            err.starts_with("error: "),
            "one error line on stderr: {err}"
        );
        assert!(
            err.trim_end().ends_with('.'),
            "the error is a sentence: {err}"
        );
        err
    }
}

fn s(path: &Path) -> &str {
    path.to_str().expect("utf-8 temp path")
}

/// A repository, an experiment with two approaches, and each variant's worktree
/// changed and committed.
fn experiment_with_changes(cli: &Cli, fx: &Fixture) -> String {
    fx.write("src/lib.rs", "pub fn answer() -> u32 {\n    41\n}\n");
    fx.commit_all("add lib");
    let created = cli.json(&[
        "new",
        "--repo",
        s(&fx.root),
        "--task",
        "Fix the answer",
        "--approach",
        "constant:Return 42",
        "--approach",
        "computed:Compute it",
    ]);
    let id = created["id"].as_str().expect("id").to_string();
    let wt1 = created["variants"][0]["worktree"]
        .as_str()
        .unwrap()
        .to_string();
    let wt2 = created["variants"][1]["worktree"]
        .as_str()
        .unwrap()
        .to_string();
    std::fs::write(
        Path::new(&wt1).join("src/lib.rs"),
        "pub fn answer() -> u32 {\n    42\n}\n",
    )
    .unwrap();
    std::fs::write(Path::new(&wt1).join("NOTES.md"), "constant\n").unwrap();
    std::fs::write(
        Path::new(&wt2).join("src/lib.rs"),
        "pub fn answer() -> u32 {\n    6 * 7\n}\n",
    )
    .unwrap();
    cli.json(&["commit", &id]);
    id
}

#[test]
fn repo_reports_the_repository() {
    let cli = Cli::new();
    let fx = Fixture::new();
    fx.write("dirty.txt", "x\n");
    let doc = cli.json(&["repo", s(&fx.root)]);
    assert_eq!(doc["root"], s(&fx.root));
    assert_eq!(doc["branch"], "main");
    assert_eq!(doc["head"], fx.head().as_str());
    assert_eq!(doc["dirty_files"], 1);

    let human = cli.run(&["repo", s(&fx.root)]);
    assert!(human.status.success());
    assert!(String::from_utf8_lossy(&human.stdout).contains("main"));
}

#[test]
fn bad_paths_fail_with_a_sentence() {
    let cli = Cli::new();
    let fx = Fixture::new();
    let err = cli.fails(&["repo", s(&fx.root.join("missing"))]);
    assert!(err.contains("does not exist"), "{err}");
    let plain = fx.sibling("plain");
    let err = cli.fails(&["repo", s(&plain)]);
    assert!(err.contains("not inside a git repository"), "{err}");
}

#[test]
fn usage_errors_exit_2() {
    let cli = Cli::new();
    let out = cli.run(&["new", "--repo", "."]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a missing required flag is a usage error"
    );
    let out = cli.run(&["no-such-command"]);
    assert_eq!(out.status.code(), Some(2));
    let out = cli.run(&["merge", "x", "1", "--strategy", "octopus"]);
    assert_eq!(
        out.status.code(),
        Some(2),
        "an unknown strategy is a usage error"
    );
}

#[test]
fn new_list_show_and_variant_selection() {
    let cli = Cli::new();
    let fx = Fixture::new();
    let created = cli.json(&[
        "new",
        "--repo",
        s(&fx.root),
        "--task",
        "Add a <b>rate</b> limiter!",
        "--approach",
        "Token bucket:classic",
        "--approach",
        "sliding-window",
    ]);
    let id = created["id"].as_str().unwrap();
    let variants = created["variants"].as_array().unwrap();
    assert_eq!(variants.len(), 2);
    assert_eq!(variants[0]["index"], 1);
    assert_eq!(variants[0]["name"], "Token bucket");
    assert_eq!(
        variants[0]["branch"],
        "fanout/add-a-b-rate-b-limiter/1-token-bucket"
    );
    let wt = variants[1]["worktree"].as_str().unwrap();
    assert!(
        Path::new(wt).join("README.md").is_file(),
        "the worktree is checked out"
    );
    assert!(
        fx.git(&["branch", "--list", "fanout/*"])
            .contains("2-sliding-window"),
        "the branches exist in the user's repository"
    );

    let list = cli.json(&["list"]);
    assert_eq!(list["experiments"][0]["id"], id);

    // By unique prefix, and variants by index or slug.
    let shown = cli.json(&["show", &id[..6]]);
    assert_eq!(shown["id"], id);
    assert_eq!(shown["variants"][1]["status"], "ready");
    cli.json(&["commit", &id[..6], "sliding-window"]);
    cli.json(&["commit", &id[..6], "1"]);
    let err = cli.fails(&["commit", id, "7"]);
    assert!(err.contains("no variant \"7\""), "{err}");
    let err = cli.fails(&["show", "zzzz"]);
    assert!(err.to_lowercase().contains("no experiment"), "{err}");
}

#[test]
fn new_refuses_bad_input_and_creates_nothing() {
    let cli = Cli::new();
    let fx = Fixture::new();
    let err = cli.fails(&[
        "new",
        "--repo",
        s(&fx.root),
        "--task",
        "x",
        "--approach",
        "a",
        "--approach",
        "A",
    ]);
    assert!(err.contains("different name"), "{err}");
    let err = cli.fails(&[
        "new",
        "--repo",
        s(&fx.root),
        "--task",
        "  ",
        "--approach",
        "a",
    ]);
    assert!(err.contains("task is empty"), "{err}");
    assert_eq!(
        fx.git(&["branch", "--list", "fanout/*"]),
        "",
        "no branch was made"
    );
    assert_eq!(cli.json(&["list"])["experiments"], serde_json::json!([]));
}

#[test]
fn diff_stat_file_and_similarity() {
    let cli = Cli::new();
    let fx = Fixture::new();
    let id = experiment_with_changes(&cli, &fx);

    let stat = cli.json(&["diff", &id, "1", "--stat"]);
    let files = stat["files"].as_array().unwrap();
    let paths: Vec<&str> = files.iter().map(|f| f["path"].as_str().unwrap()).collect();
    assert_eq!(paths, ["NOTES.md", "src/lib.rs"]);
    assert_eq!(files[1]["status"], "modified");
    assert_eq!(files[1]["added"], 1);
    assert_eq!(files[1]["removed"], 1);
    assert_eq!(files[0]["binary"], false);

    let against = cli.json(&["diff", &id, "2", "--against", "1", "--stat"]);
    let paths: Vec<&str> = against["files"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        ["NOTES.md", "src/lib.rs"],
        "variant 2 lacks NOTES.md and differs in lib.rs"
    );

    let one = cli.run(&["diff", &id, "2", "--file", "src/lib.rs"]);
    let text = String::from_utf8_lossy(&one.stdout);
    assert!(
        text.contains("-    41") && text.contains("+    6 * 7"),
        "{text}"
    );

    let sim = cli.json(&["similarity", &id]);
    let m = sim["matrix"].as_array().unwrap();
    assert_eq!(m.len(), 2);
    assert_eq!(m[0][0], 1.0);
    let off = m[0][1].as_f64().unwrap();
    assert!(
        (0.0..1.0).contains(&off),
        "different changes are less than identical: {off}"
    );
    assert_eq!(m[0][1], m[1][0], "similarity is symmetric");
}

#[test]
fn merge_dry_run_squash_undo_and_clean() {
    let cli = Cli::new();
    let fx = Fixture::new();
    let id = experiment_with_changes(&cli, &fx);
    let before = fx.head();

    let preview = cli.json(&["merge", &id, "constant", "--dry-run"]);
    assert_eq!(preview["target"], "main");
    assert_eq!(preview["conflicts"], serde_json::json!([]));
    assert_eq!(fx.head(), before, "a dry run changes nothing");

    let merged = cli.json(&["merge", &id, "constant"]);
    let commit = merged["commit"].as_str().unwrap();
    assert_eq!(fx.head(), commit, "main moved to the squash commit");
    assert_eq!(
        fx.git(&["rev-parse", "HEAD^"]),
        before,
        "a squash has one parent: the old head"
    );
    assert_eq!(
        fx.read("NOTES.md"),
        "constant\n",
        "the user's checkout shows the merged files"
    );
    assert_eq!(fx.status(), "", "nothing left uncommitted by the merge");

    cli.json(&["undo-merge", &id]);
    assert_eq!(fx.head(), before, "undo restores the previous commit");
    assert!(!fx.root.join("NOTES.md").exists());
    let err = cli.fails(&["undo-merge", &id]);
    assert!(err.contains("no merge to undo"), "{err}");

    let err = cli.fails(&["clean", &id, "--keep", "2"]);
    assert!(
        err.contains("1 (constant, 1 commit)"),
        "the undone merge left variant 1's work merged nowhere: {err}"
    );
    let report = cli.json(&["clean", &id, "--keep", "2", "--archive", "1"]);
    assert_eq!(report["removed"].as_array().unwrap().len(), 2);
    assert!(report["freed_bytes"].as_u64().unwrap() > 0, "{report}");
    let tag = report["archived"][0]["tag"].as_str().expect("archive tag");
    assert!(
        tag.starts_with("fanout/archive/") && tag.ends_with("/1-constant"),
        "{tag}"
    );
    assert_eq!(
        fx.git(&["rev-parse", &format!("refs/tags/{tag}")]),
        report["archived"][0]["commit"].as_str().unwrap(),
        "the tag holds variant 1's last commit"
    );
    let branches = fx.git(&["branch", "--list", "fanout/*"]);
    assert!(
        branches.contains("2-computed") && !branches.contains("1-constant"),
        "{branches}"
    );
    assert_eq!(
        fx.git(&["worktree", "list", "--porcelain"])
            .matches("worktree ")
            .count(),
        1
    );
}

#[test]
fn merge_refuses_over_uncommitted_user_edits() {
    let cli = Cli::new();
    let fx = Fixture::new();
    let id = experiment_with_changes(&cli, &fx);
    fx.write("src/lib.rs", "pub fn answer() -> u32 {\n    0 // mine\n}\n");
    let before = fx.head();

    let err = cli.fails(&["merge", &id, "1"]);
    assert!(
        err.contains("src/lib.rs"),
        "the refusal names the file: {err}"
    );
    assert_eq!(fx.head(), before, "the branch did not move");
    assert!(
        fx.read("src/lib.rs").contains("// mine"),
        "the user's edit is intact"
    );
}

fn fake_claude() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/agents/fake-claude")
}

impl Cli {
    fn run_with_fake(&self, args: &[&str], mode: &str) -> Output {
        Command::new(env!("CARGO_BIN_EXE_fanout"))
            .args(args)
            .env("FANOUT_HOME", self.home.path())
            .env("FANOUT_CLAUDE_BIN", fake_claude())
            .env("FANOUT_FAKE_MODE", mode)
            .output()
            .expect("run fanout")
    }
}

#[test]
fn run_three_variants_with_the_fake_agent_then_report() {
    let cli = Cli::new();
    let fx = Fixture::new();
    let file = fx.sibling("plan").join("approaches.json");
    std::fs::write(
        &file,
        r#"{"approaches": [
            {"name": "iterative", "description": "a loop", "guidelines": "keep it short"},
            {"name": "recursive", "description": "recursion", "guidelines": "mind the stack"},
            {"name": "table", "description": "a lookup table", "guidelines": "precompute"}
        ]}"#,
    )
    .unwrap();
    let out = cli.run_with_fake(
        &[
            "--json",
            "run",
            "--repo",
            s(&fx.root),
            "--task",
            "add a greeting",
            "--approaches",
            s(&file),
            "--agent",
            "claude-code",
            "--max-parallel",
            "2",
            "--check",
            "test -f fake-output.txt",
            "--worktree-root",
            s(&fx.sibling("wt")),
        ],
        "success",
    );
    assert!(
        out.status.success(),
        "fanout run failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    let results = doc["results"].as_array().expect("results are listed");
    assert_eq!(results.len(), 3);
    for r in results {
        assert_eq!(r["status"], "succeeded", "{r}");
        assert_eq!(r["files_changed"], 1, "the fake's file is on the branch");
        assert_eq!(r["check_passed"], true, "the check ran in each worktree");
        assert_eq!(r["summary"], "Done: wrote fake-output.txt");
    }
    assert_eq!(doc["variants"].as_array().unwrap().len(), 3);
    let id = doc["id"].as_str().expect("the experiment id");

    let report = fx.sibling("out").join("report.md");
    let out = cli.run(&["report", id, "-o", s(&report)]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = std::fs::read_to_string(&report).expect("the report file was written");
    assert!(
        text.contains("| # | Approach | Status"),
        "the comparison table: {text}"
    );
    assert!(
        text.contains("## 2. recursive") && text.contains("> Done: wrote fake-output.txt"),
        "approaches and summaries: {text}"
    );
}

#[test]
fn run_without_approaches_and_without_a_planner_says_what_is_missing() {
    let cli = Cli::new();
    let fx = Fixture::new();
    // No API key and no `claude` to plan with: generation cannot start.
    let out = Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args(["run", "--repo", s(&fx.root), "--task", "t", "-n", "3"])
        .env("FANOUT_HOME", cli.home.path())
        .env("FANOUT_CLAUDE_BIN", fx.root.join("no-such-claude"))
        .env_remove("ANTHROPIC_API_KEY")
        .output()
        .expect("run fanout");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("not found"),
        "the error says the planner is missing: {err}"
    );
    assert_eq!(
        fx.git(&["branch", "--list", "fanout/*"]),
        "",
        "nothing was created without approaches"
    );
}

#[test]
fn cancel_with_nothing_running_is_a_clear_error() {
    let cli = Cli::new();
    let fx = Fixture::new();
    let id = experiment_with_changes(&cli, &fx);
    let err = cli.fails(&["cancel", &id]);
    assert!(err.contains("nothing to cancel"), "{err}");
}

#[test]
fn cancel_from_another_process_stops_a_running_fanout_run() {
    let cli = Cli::new();
    let fx = Fixture::new();
    let file = fx.sibling("plan").join("approaches.json");
    std::fs::write(
        &file,
        r#"{"approaches": [{"name": "one"}, {"name": "two"}]}"#,
    )
    .unwrap();
    let worktrees = fx.sibling("wt");
    let child = Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args([
            "--json",
            "run",
            "--repo",
            s(&fx.root),
            "--task",
            "hang forever",
            "--approaches",
            s(&file),
            "--timeout",
            "120",
            "--worktree-root",
            s(&worktrees),
        ])
        .env("FANOUT_HOME", cli.home.path())
        .env("FANOUT_CLAUDE_BIN", fake_claude())
        .env("FANOUT_FAKE_MODE", "hang")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("fanout run starts");
    let mut child = KillOnDrop(Some(child));
    let mut id = None;
    for _ in 0..500 {
        let list = cli.json(&["list"]);
        if let Some(found) = list["experiments"]
            .as_array()
            .and_then(|l| l.first())
            .and_then(|e| e["id"].as_str())
        {
            let show = cli.json(&["show", found]);
            let running = show["variants"]
                .as_array()
                .unwrap()
                .iter()
                .all(|v| v["status"] == "running");
            if running && processes_in(&worktrees).len() >= 2 {
                id = Some(found.to_owned());
                break;
            }
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let id = id.expect("both agents started");
    let cancelled = cli.json(&["cancel", &id]);
    assert_eq!(cancelled["cancelled"], serde_json::json!([1, 2]));
    let out = child
        .0
        .take()
        .unwrap()
        .wait_with_output()
        .expect("fanout run ends");
    let doc: Value =
        serde_json::from_slice(&out.stdout).expect("the run still prints its JSON document");
    for v in doc["variants"].as_array().unwrap() {
        assert_eq!(
            v["status"], "cancelled",
            "the owning run records the cancel: {v}"
        );
    }
    assert_eq!(out.status.code(), Some(1), "no variant succeeded");
    assert!(
        processes_in(&worktrees).is_empty(),
        "no agent is left: {:?}",
        processes_in(&worktrees)
    );
}

/// A failing test must not leave its `fanout run` (and its agents) behind.
struct KillOnDrop(Option<std::process::Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// `fanout` with a fake `claude -p --output-format json` that answers with the
/// given approaches JSON, and no API key, so generation goes through the CLI.
fn run_with_fake_planner(cli: &Cli, args: &[&str], answer: &str) -> (Output, String) {
    let dir = cli.home.path().join("planner");
    std::fs::create_dir_all(&dir).unwrap();
    let answer_file = dir.join("answer.json");
    let log = dir.join("prompts.log");
    std::fs::write(&answer_file, answer).unwrap();
    let planner =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/agents/fake-claude-plan");
    let out = Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args(args)
        .env("FANOUT_HOME", cli.home.path())
        .env("FANOUT_CLAUDE_BIN", &planner)
        .env("FANOUT_FAKE_PLAN_ANSWERS", &answer_file)
        .env("FANOUT_FAKE_PLAN_LOG", &log)
        .env("FANOUT_FAKE_MODE", "success")
        .env_remove("ANTHROPIC_API_KEY")
        .env_remove("OPENAI_API_KEY")
        .output()
        .expect("run fanout");
    let prompts = std::fs::read_to_string(&log).unwrap_or_default();
    (out, prompts)
}

const THREE_APPROACHES: &str = r#"{"approaches": [
  {"name": "Token bucket", "description": "Refill tokens at a fixed rate.", "guidelines": "- keep it small"},
  {"name": "Sliding window", "description": "Count requests in a moving window.", "guidelines": "- use a deque"},
  {"name": "Leaky bucket", "description": "Drain a queue at a fixed rate.", "guidelines": "- no threads"}
]}"#;

#[test]
fn plan_prints_the_generated_approaches_in_the_run_format() {
    let cli = Cli::new();
    let fx = Fixture::new();
    let (out, prompts) = run_with_fake_planner(
        &cli,
        &[
            "--json",
            "plan",
            "--repo",
            s(&fx.root),
            "--task",
            "Add a rate limiter",
            "-n",
            "3",
            "--hint",
            "no new crates",
        ],
        THREE_APPROACHES,
    );
    assert!(
        out.status.success(),
        "plan failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let names: Vec<&str> = doc["approaches"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Token bucket", "Sliding window", "Leaky bucket"]);
    assert!(
        prompts.contains("Add a rate limiter"),
        "the task reaches the model: {prompts}"
    );
    assert!(
        prompts.contains("no new crates"),
        "the user's hint reaches the model: {prompts}"
    );

    // What plan --json prints is exactly what run --approaches reads.
    let file = fx.sibling("plan").join("approaches.json");
    std::fs::write(&file, &out.stdout).unwrap();
    let ran = cli.run_with_fake(
        &[
            "--json",
            "run",
            "--repo",
            s(&fx.root),
            "--task",
            "Add a rate limiter",
            "--approaches",
            s(&file),
        ],
        "success",
    );
    assert!(
        ran.status.success(),
        "run failed: {}",
        String::from_utf8_lossy(&ran.stderr)
    );
}

#[test]
fn plan_with_the_wrong_count_fails_with_a_sentence() {
    let cli = Cli::new();
    let fx = Fixture::new();
    let (out, _) = run_with_fake_planner(
        &cli,
        &[
            "plan",
            "--repo",
            s(&fx.root),
            "--task",
            "Add a rate limiter",
            "-n",
            "2",
        ],
        THREE_APPROACHES,
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "a wrong count after the retry is an error"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.starts_with("error: ") && err.contains('2'), "{err}");
}

#[test]
fn clean_dry_run_shows_sizes_and_force_deletes_unmerged_work() {
    let cli = Cli::new();
    let fx = Fixture::new();
    let id = experiment_with_changes(&cli, &fx);

    let disk = cli.json(&["clean", &id, "--dry-run"]);
    let disk = disk.as_array().expect("one entry per variant");
    assert_eq!(disk.len(), 2);
    assert!(
        disk.iter()
            .all(|d| d["bytes"].as_u64().is_some_and(|b| b > 0) && d["unmerged_commits"] == 1),
        "each worktree has a size and one unmerged commit: {disk:?}"
    );
    let human = cli.run(&["clean", &id, "--dry-run"]);
    let text = String::from_utf8_lossy(&human.stdout);
    assert!(
        text.contains("1 unmerged commit(s)") && text.contains("frees about"),
        "{text}"
    );
    assert_eq!(
        fx.git(&["worktree", "list"]).lines().count(),
        3,
        "a dry run removes nothing"
    );

    let err = cli.fails(&["clean", &id]);
    assert!(
        err.contains("1 (constant") && err.contains("2 (computed"),
        "{err}"
    );
    assert!(
        err.contains(&format!(
            "hint: keep its branch (`fanout clean {}",
            &id[..8]
        )) && err.contains("--archive N")
            && err.contains("--force"),
        "the command line adds the commands that answer the refusal: {err}"
    );
    let report = cli.json(&["clean", &id, "--force"]);
    assert_eq!(report["branches_deleted"].as_array().unwrap().len(), 2);
    assert!(report["freed_bytes"].as_u64().unwrap() > 0);
    let human = cli.run(&["clean", &id]);
    assert!(
        String::from_utf8_lossy(&human.stdout).contains("freed     0 B"),
        "a second cleanup has nothing left to free"
    );
}

#[test]
fn repo_settings_are_saved_shown_exported_and_used_by_new() {
    let cli = Cli::new();
    let fx = Fixture::new();
    let shown = cli.json(&["repo-settings", s(&fx.root)]);
    assert_eq!(shown["stored"], false, "defaults until saved");
    assert_eq!(
        shown["settings"]["copy"],
        serde_json::json!([".env", ".env.*"])
    );

    let saved = cli.json(&[
        "repo-settings",
        s(&fx.root),
        "--copy",
        "local.cfg",
        "--copy",
        ".env",
        "--setup",
        "true",
        "--setup-timeout",
        "42",
    ]);
    assert_eq!(saved["stored"], true);
    assert_eq!(
        saved["settings"]["copy"],
        serde_json::json!(["local.cfg", ".env"])
    );
    assert_eq!(saved["settings"]["setup_command"], "true");
    assert_eq!(saved["settings"]["setup_timeout_secs"], 42);
    assert_eq!(
        fx.status(),
        "",
        "the settings live in Fanout's database, not the repository"
    );

    let err = cli.fails(&["repo-settings", s(&fx.root), "--setup-timeout", "0"]);
    assert!(err.contains("between 1 and"), "{err}");
    let err = cli.fails(&["repo-settings", s(&fx.root), "--copy", "../x"]);
    assert!(err.contains("outside the checkout"), "{err}");

    fx.write(".gitignore", "local.cfg\n.env\n");
    fx.commit_all("ignore local files");
    fx.write("local.cfg", "port=1\n");
    let created = cli.json(&[
        "new",
        "--repo",
        s(&fx.root),
        "--task",
        "Use the config",
        "--approach",
        "only",
    ]);
    let wt = created["variants"][0]["worktree"].as_str().unwrap();
    assert_eq!(
        std::fs::read_to_string(Path::new(wt).join("local.cfg")).unwrap(),
        "port=1\n",
        "the saved glob decides what `fanout new` copies"
    );

    let exported = cli.json(&["repo-settings", s(&fx.root), "--export"]);
    let file = exported["exported"].as_str().expect("export path");
    let written: Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    assert_eq!(
        written["setup_command"], "true",
        "the export holds the saved settings"
    );

    let reset = cli.json(&["repo-settings", s(&fx.root), "--reset"]);
    assert_eq!(reset["stored"], false);
    let out = cli.run(&["repo-settings", s(&fx.root)]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        text.contains("(defaults)") && text.contains("setup          (none)"),
        "{text}"
    );
}

/// The mock Messages API on its own runtime, serving while the test thread
/// waits on the real `fanout` binary.
struct Mock {
    server: fanout_mock_llm::MockServer,
    _runtime: tokio::runtime::Runtime,
}

impl Mock {
    fn start(script: fanout_mock_llm::Script) -> Mock {
        let runtime = tokio::runtime::Runtime::new().expect("a runtime for the mock");
        let server = runtime
            .block_on(fanout_mock_llm::MockServer::start(script))
            .expect("the mock binds 127.0.0.1");
        Mock {
            server,
            _runtime: runtime,
        }
    }
}

/// Looks like a real key, and is unique enough that finding it anywhere means
/// it leaked.
const API_KEY: &str = "sk-ant-api03-cli3-LEAKCHECK-7f3a9c";

/// `fanout --json run --agent api` with the key in the environment and the
/// mock as the API.
fn run_api_agent(cli: &Cli, fx: &Fixture, mock: &Mock) -> Output {
    let file = fx.sibling("plan").join("approaches.json");
    std::fs::write(
        &file,
        r#"{"approaches": [{"name": "direct", "description": "write the note", "guidelines": "one file"}]}"#,
    )
    .unwrap();
    Command::new(env!("CARGO_BIN_EXE_fanout"))
        .args([
            "--json",
            "run",
            "--repo",
            s(&fx.root),
            "--task",
            "Leave a note for the reviewers",
            "--approaches",
            s(&file),
            "--agent",
            "api",
            "--worktree-root",
            s(&fx.sibling("wt")),
        ])
        .env("FANOUT_HOME", cli.home.path())
        .env("ANTHROPIC_BASE_URL", mock.server.url())
        .env("ANTHROPIC_API_KEY", API_KEY)
        .env_remove("OPENAI_API_KEY")
        .output()
        .expect("run fanout")
}

/// Every file under `dir` (the database, its WAL, logs) whose bytes hold `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<std::path::PathBuf> {
    let mut found = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir)
            .expect("readable data folder")
            .flatten()
        {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if std::fs::read(&path).is_ok_and(|bytes| {
                bytes
                    .windows(needle.len())
                    .any(|window| window == needle.as_bytes())
            }) {
                found.push(path);
            }
        }
    }
    found
}

fn assert_key_never_shown(cli: &Cli, out: &Output) {
    assert!(
        !String::from_utf8_lossy(&out.stdout).contains(API_KEY),
        "the key is not in the JSON output"
    );
    assert!(
        !String::from_utf8_lossy(&out.stderr).contains(API_KEY),
        "the key is not on stderr"
    );
    let database = cli.home.path().join("fanout.db");
    assert!(
        database.is_file(),
        "the run used the database this test searches: {}",
        database.display()
    );
    assert_eq!(
        files_containing(cli.home.path(), API_KEY),
        Vec::<std::path::PathBuf>::new(),
        "no file in Fanout's data folder (database, WAL, logs) holds the key"
    );
}

#[test]
fn run_with_the_api_agent_commits_its_file_and_never_shows_the_key() {
    use fanout_mock_llm::{Script, WriteTool};
    let cli = Cli::new();
    let fx = Fixture::new();
    let content = "Reviewers: start with src/lib.rs.\n";
    let mock = Mock::start(Script::sequential(Script::write_file(
        WriteTool::BuiltIn,
        "NOTES.md",
        content,
    )));
    let out = run_api_agent(&cli, &fx, &mock);
    assert!(
        out.status.success(),
        "fanout run --agent api failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    let r = &doc["results"][0];
    assert_eq!(r["status"], "succeeded", "{r}");
    assert_eq!(r["agent"], "api", "the built-in agent ran: {r}");
    assert_eq!(
        r["turns"], 2,
        "a write_file turn and a closing turn, as scripted: {r}"
    );
    assert_eq!(
        r["input_tokens"], 200,
        "the mock's usage (100 per turn) is summed: {r}"
    );
    assert_eq!(r["output_tokens"], 40, "20 per turn: {r}");
    assert!(
        r["cost_usd"].as_f64().is_some_and(|c| c > 0.0),
        "a cost from the usage and the price table: {r}"
    );
    assert_eq!(r["files_changed"], 1, "NOTES.md is on the branch: {r}");

    let branch = r["branch"].as_str().expect("the variant's branch");
    assert_eq!(
        fx.git(&["show", &format!("{branch}:NOTES.md")]),
        content.trim_end(),
        "the file the agent wrote is committed on the variant's branch"
    );
    assert_eq!(
        fx.git(&["rev-list", "--count", &format!("{}..{branch}", fx.head())]),
        "1",
        "one commit on top of the base"
    );

    let requests = mock.server.model_requests();
    assert_eq!(requests.len(), 2, "one request per turn");
    assert!(
        requests
            .iter()
            .all(|r| r.api_key.as_deref() == Some(API_KEY)),
        "the key from the environment reached the API (so it was in play)"
    );
    assert_key_never_shown(&cli, &out);
}

#[test]
fn run_with_the_api_agent_and_a_rejected_key_fails_with_a_sentence() {
    use fanout_mock_llm::{Script, Turn};
    let cli = Cli::new();
    let fx = Fixture::new();
    let mock = Mock::start(Script::sequential(vec![Turn::Unauthorized]));
    let out = run_api_agent(&cli, &fx, &mock);
    assert_eq!(
        out.status.code(),
        Some(1),
        "no variant succeeded: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("the run still prints its JSON");
    let r = &doc["results"][0];
    assert_eq!(r["status"], "failed", "{r}");
    let error = r["error"].as_str().expect("the variant says why it failed");
    assert!(
        error.contains("401") && error.contains("Check the API key"),
        "the error names the refusal and what to do: {error}"
    );
    assert_eq!(
        mock.server.model_requests().len(),
        1,
        "a rejected key is not retried"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    let last = stderr.lines().last().unwrap_or_default();
    assert!(
        last.starts_with("error: No variant") && last.ends_with('.'),
        "the run ends with a sentence: {stderr}"
    );
    assert_key_never_shown(&cli, &out);
}

/// `--check ""` asks for no check: the variant has no check result at all,
/// rather than a check that "passed".
#[test]
fn an_empty_check_is_no_check() {
    let cli = Cli::new();
    let fx = Fixture::new();
    let file = fx.sibling("plan").join("approaches.json");
    std::fs::write(&file, r#"{"approaches": [{"name": "only"}]}"#).unwrap();
    let out = cli.run_with_fake(
        &[
            "--json",
            "run",
            "--repo",
            s(&fx.root),
            "--task",
            "add a greeting",
            "--approaches",
            s(&file),
            "--check",
            "  ",
        ],
        "success",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let doc: Value = serde_json::from_slice(&out.stdout).expect("one JSON document");
    let result = &doc["results"][0];
    assert_eq!(result["status"], "succeeded", "{result}");
    assert!(
        result["check_passed"].is_null(),
        "no check ran, so none passed: {result}"
    );
}

/// Every subcommand's line in `fanout --help` describes that subcommand.
#[test]
fn help_describes_each_subcommand() {
    let out = Cli::new().run(&["--help"]);
    let help = String::from_utf8_lossy(&out.stdout);
    let line = |name: &str| {
        help.lines()
            .find(|l| l.trim_start().starts_with(&format!("{name} ")))
            .unwrap_or_else(|| panic!("{name} is listed: {help}"))
            .to_owned()
    };
    assert!(line("plan").contains("approaches"), "{}", line("plan"));
    assert!(
        line("run").contains("run one agent per approach"),
        "{}",
        line("run")
    );
    assert!(line("cancel").contains("Cancel"), "{}", line("cancel"));
}

/// Nothing is created for a run that cannot start: no experiment, no branch.
#[test]
fn a_run_that_cannot_start_creates_nothing() {
    let cli = Cli::new();
    let fx = Fixture::new();
    let file = fx.sibling("plan").join("approaches.json");
    std::fs::write(&file, r#"{"approaches": [{"name": "only"}]}"#).unwrap();
    for (agent, extra, why) in [
        ("claude-code", vec![], "not found"),
        (
            "command",
            vec!["--agent-command", "my-agent 'unclosed {prompt}"],
            "quotes",
        ),
        (
            "command",
            vec!["--agent-command", "no-such-agent-anywhere {prompt}"],
            "not found",
        ),
    ] {
        let mut args = vec![
            "run",
            "--repo",
            s(&fx.root),
            "--task",
            "t",
            "--approaches",
            s(&file),
            "--agent",
            agent,
        ];
        args.extend(extra);
        let out = Command::new(env!("CARGO_BIN_EXE_fanout"))
            .args(&args)
            .env("FANOUT_HOME", cli.home.path())
            .env("FANOUT_CLAUDE_BIN", "/nonexistent/claude")
            .output()
            .expect("fanout");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{agent}: refused: {stderr}");
        assert!(stderr.contains(why), "{agent}: says why: {stderr}");
        assert_eq!(
            fx.git(&["branch", "--list", "fanout/*"]),
            "",
            "{agent}: no branch was made"
        );
        let list = cli.json(&["list"]);
        assert_eq!(
            list["experiments"],
            serde_json::json!([]),
            "{agent}: no experiment was recorded"
        );
    }
}
