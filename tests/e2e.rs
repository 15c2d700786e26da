//! The real desktop app, end to end: the release UI (ui/dist) in the real
//! WebKitGTK window, driven through WebDriver (tauri-driver in front of
//! WebKitWebDriver) under a virtual display. Approaches come from the mock
//! model API (in-process), agents are the scripted fake `claude`
//! (tests/fixtures/agents/fake-claude with FANOUT_FAKE_SCRIPT), which writes
//! files in the variants' worktrees; git then says whether the app did what it
//! showed.
//!
//! Needs: `scripts/install-e2e-deps.sh` (Xvfb, WebKitWebDriver, tauri-driver)
//! and a binary that serves ui/dist:
//! `(cd ui && npm run build) && cargo test --features custom-protocol --test e2e`.
//! Screenshots land in target/e2e-screenshots/, logs in target/e2e-logs/.

#[path = "e2e/git.rs"]
mod git;
#[path = "e2e/harness.rs"]
mod harness;

use std::path::{Path, PathBuf};

use fanout_mock_llm::{MockServer, Script};
use git::{write, Repo};
use harness::{text_of, tid, App};
use serde_json::json;

const HOSTILE_NAME: &str = "<img src=x onerror=alert(1)>.txt";
const HOSTILE_SCRIPT: &str = "<script>window.__pwned=1</script>";
const HOSTILE_SVELTE: &str = "{@html \"<b>x</b>\"}";

const WINNER_LIB: &str =
    "pub fn greet(name: &str) -> String {\n    format!(\"hello, {name}\")\n}\n";
const OTHER_LIB: &str = "pub fn greet() -> &'static str {\n    \"hello, world\"\n}\n";
/// What the hostile agent says, in its text and (as file name and content) in its tool input.
const HOSTILE_SAY: &str =
    "Done. <script>window.__pwned=1</script> <img src=x onerror=alert(1)> {@html \"<b>x</b>\"}";

/// The mock API's approach names (fanout_mock_llm::sample_approaches).
const GENERATED: [&str; 3] = ["Minimal change", "Test first", "Refactor then fix"];

/// What each fake agent does, chosen by its approach name in the prompt.
fn agent_script(slow: &str) -> serde_json::Value {
    json!([
        {"match": "Minimal change", "say": HOSTILE_SAY, "files": {
            "src/lib.rs": WINNER_LIB,
            HOSTILE_NAME: format!("{HOSTILE_SCRIPT}\n{HOSTILE_SVELTE}\n"),
        }},
        {"match": "Test first", "say": "Kept it simple.", "files": {
            "src/lib.rs": OTHER_LIB,
            "docs/notes.md": notes(),
        }},
        {"match": "Trait object", "say": "Nothing needed changing.", "files": {}},
        {"match": "Slow ", "mode": slow, "delay": 60, "say": "Slow but done.", "files": {"slow.txt": "done\n"}},
    ])
}

/// Variant 2's notes: long enough (400 lines, some 20 screens) to skim.
fn notes() -> String {
    let steps: String = (1..=400)
        .map(|i| format!("- step {i}: kept it simple.\n"))
        .collect();
    format!("# Notes\n\n{steps}")
}

fn fake_claude() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agents/fake-claude")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[cfg_attr(
    not(feature = "custom-protocol"),
    ignore = "the app must serve ui/dist: run with --features custom-protocol (make test does)"
)]
async fn the_real_window_opens_compares_merges_and_refuses_to_clobber() {
    harness::assert_ui_built();
    let api = MockServer::start(Script::approaches_tool(3))
        .await
        .expect("the mock model API starts");
    // Outside /tmp: the agents run in the sandbox, whose /tmp is their own.
    let scripts = tempfile::tempdir_in(harness::sandbox_visible_dir())
        .expect("a folder for the agents' script");
    let script = scripts.path().join("agents.json");
    std::fs::write(&script, agent_script("slow").to_string()).expect("write the agents' script");
    let (claude, url, script_path) = (
        fake_claude().display().to_string(),
        api.url(),
        script.display().to_string(),
    );
    let mut app = App::start_with_env(
        env!("CARGO_BIN_EXE_fanout-app"),
        &[
            ("FANOUT_CLAUDE_BIN", &claude),
            ("FANOUT_FAKE_SCRIPT", &script_path),
            ("ANTHROPIC_BASE_URL", &url),
            ("ANTHROPIC_API_KEY", "dummy"),
        ],
    )
    .await;
    let scripts_at_start = app.js("return document.scripts.length").await;

    let repo = Repo::new("greeter").await;
    with_ignored_env(&repo).await;
    let gate = scripts.path().join("setup-gate");
    full_flow(&mut app, &repo, &scripts_at_start, &gate).await;
    hostile_text_stayed_text(&app, &scripts_at_start).await;
    assert_eq!(
        api.model_requests().len(),
        1,
        "one generation, answered by the mock API (not by `claude -p`)"
    );

    let dirty = Repo::new("dirty-greeter").await;
    merge_refuses_over_uncommitted_work(&mut app, &dirty).await;

    let broken = Repo::new("broken-setup").await;
    failing_setup(&mut app, &broken).await;

    let slow = Repo::new("slow-greeter").await;
    cancel_all_then_retry(&mut app, &slow, &script).await;

    // `fanout-app /some/repo` opens that repository at start.
    let path = repo.root.display().to_string();
    app.relaunch(&[&path]).await;
    app.text_contains(&tid("repo-root"), &path).await;
    app.shot("launched-with-repo").await;

    app.close().await;
}

/// Open → worktree setup in Settings → new experiment → generated approaches
/// → launch → setup (preparing) → agents run → transcript → compare → squash
/// merge → undo → merge again → cleanup (sizes, confirmation, archive) → history.
async fn full_flow(app: &mut App, repo: &Repo, scripts_at_start: &serde_json::Value, gate: &Path) {
    app.testid("repo-path-input").await;
    app.shot("home").await;
    let base = repo.head().await;

    open_repo(app, repo).await;
    app.shot("repo-open").await;
    repo_setup_in_settings(app, repo, gate).await;

    app.click(&tid("nav-home")).await;
    app.click(&tid("start-experiment")).await;
    app.type_into(&tid("task-input"), "Greet the user by name")
        .await;
    app.click(&tid("generate-approaches")).await;
    let first = format!(
        "{}:nth-child(1) {}",
        tid("approach-card"),
        tid("approach-name")
    );
    app.until("the generated approaches", || {
        let c = app.client.clone();
        let first = first.clone();
        async move {
            let name = c.find(fantoccini::Locator::Css(&first)).await?;
            let value = name.prop("value").await?.unwrap_or_default();
            Ok((value == GENERATED[0]).then_some(()))
        }
    })
    .await;
    let names = app.count(&tid("approach-name"), 3).await;
    for (el, want) in names.iter().zip(GENERATED) {
        let value = el.prop("value").await.expect("read a name");
        assert_eq!(
            value.as_deref(),
            Some(want),
            "the cards hold the API's approaches in order"
        );
    }
    app.shot("generated").await;
    // One generated name edited by hand: the edit is what runs.
    app.type_into(
        &format!(
            "{}:nth-child(3) {}",
            tid("approach-card"),
            tid("approach-name")
        ),
        "Trait object",
    )
    .await;
    app.click(&tid("launch")).await;

    let cards = app.count(&tid("variant-card"), 3).await;
    let third = text_of(&cards[2]).await.expect("third card's text");
    assert!(
        third.contains("Trait object") && !third.contains("Refactor then fix"),
        "the edited name is the one launched: {third}"
    );
    let trees = repo.linked_worktrees().await;
    assert_eq!(trees.len(), 3, "one worktree per approach: {trees:?}");
    let wt = worktree_of(app, 1).await;
    let wt2 = worktree_of(app, 2).await;
    assert!(
        trees.contains(&wt) && trees.contains(&wt2),
        "the cards show git's worktrees"
    );
    for tree in &trees {
        assert_eq!(
            std::fs::read_to_string(Path::new(tree).join(".env"))
                .ok()
                .as_deref(),
            Some(ENV_FILE),
            "the git-ignored .env was copied into {tree}"
        );
    }

    let prepared_size = setup_is_visible(app, gate).await;
    all_reach(app, 3, "succeeded").await;
    app.text_contains(&tid("run-progress"), "3/3 done").await;
    app.shot("succeeded").await;

    // Each agent's edits were auto-committed on its branch, on the base.
    let branches = repo.fanout_branches().await;
    assert_eq!(branches.len(), 3, "one branch per approach: {branches:?}");
    let winner_branch = branch_of(app, 1).await;
    let winner_tip = repo.git(&["rev-parse", &winner_branch]).await;
    assert_ne!(
        winner_tip, base,
        "the run committed variant 1's edits on its branch"
    );
    assert_eq!(
        repo.git(&["rev-parse", &format!("{winner_tip}^")]).await,
        base,
        "the variant's commit sits on the experiment's base"
    );
    let files = format!(
        "{}[data-index=\"1\"] {}",
        tid("variant-card"),
        tid("variant-files")
    );
    app.text_contains(&files, "2").await;
    worktree_sizes_show(app, prepared_size).await;

    hostile_transcript(app, scripts_at_start).await;

    compare(app).await;
    merge_undo_merge(app, repo, &base, &winner_branch).await;
    cleanup(app, repo, &winner_branch).await;

    app.click(&tid("nav-history")).await;
    app.text_contains(&tid("history-item"), "Greet the user by name")
        .await;
    app.shot("history").await;
}

/// Waits until `n` variant cards show `status`.
async fn all_reach(app: &App, n: usize, status: &str) {
    app.count(
        &format!("{}[data-status=\"{status}\"]", tid("variant-card")),
        n,
    )
    .await;
}

/// Variant 1's agent printed HTML and Svelte-like text in its answer and its
/// tool input: expanded, the transcript shows it as typed and nothing ran.
async fn hostile_transcript(app: &mut App, scripts_at_start: &serde_json::Value) {
    let card = harness::card(1);
    app.click(&format!("{card} {}", tid("transcript-toggle")))
        .await;
    let text = app
        .text_contains(
            &format!("{card} {}", tid("transcript")),
            "<script>window.__pwned=1</script>",
        )
        .await;
    assert!(
        text.contains("<img src=x onerror=alert(1)>") && text.contains("{@html \"<b>x</b>\"}"),
        "the agent's text is shown literally: {text}"
    );
    assert!(
        text.contains(HOSTILE_NAME),
        "the tool call names the hostile file literally: {text}"
    );
    // Unfold both Write calls' input: the hostile file's content is JSON text.
    let tools = app
        .all(&format!("{card} [data-kind=\"tool\"] summary"))
        .await;
    assert_eq!(
        tools.len(),
        2,
        "two Write calls: src/lib.rs and the hostile file"
    );
    for tool in &tools {
        tool.click().await.expect("unfold a tool input");
    }
    let inputs = app.count(&format!("{card} {}", tid("tool-input")), 2).await;
    let mut shown = String::new();
    for input in &inputs {
        shown.push_str(&text_of(input).await.expect("read a tool input"));
    }
    assert!(
        shown.contains(HOSTILE_SCRIPT) && shown.contains(&HOSTILE_SVELTE.replace('"', "\\\"")),
        "the tool input shows the file's content as JSON text: {shown}"
    );
    app.shot("transcript").await;
    hostile_text_stayed_text(app, scripts_at_start).await;
    app.click(&format!("{card} {}", tid("transcript-toggle")))
        .await;
}

async fn open_repo(app: &mut App, repo: &Repo) {
    let path = repo.root.display().to_string();
    app.click(&tid("nav-home")).await;
    app.open_repo(&path).await;
}

/// The worktree a variant card shows (its full path is the title).
async fn worktree_of(app: &App, index: u32) -> String {
    let card = harness::card(index);
    let dd = app.el(&format!("{card} dd[title]")).await;
    dd.attr("title")
        .await
        .expect("read the worktree path")
        .expect("the worktree dd has a title")
}

/// The branch a variant card shows.
async fn branch_of(app: &App, index: u32) -> String {
    let card = harness::card(index);
    let branch = app.el(&format!("{card} dd.mono")).await;
    text_of(&branch).await.expect("read the branch")
}

async fn compare(app: &mut App) {
    app.click(&tid("tab-compare")).await;
    app.testid("results-table").await;
    app.count(&tid("result-row"), 3).await;
    // Variant 1 changed two files: the counts come from the engine's diff.
    let row1 = format!("{}[data-index=\"1\"]", tid("result-row"));
    app.until("variant 1's file count", || {
        let c = app.client.clone();
        let row1 = row1.clone();
        async move {
            let row = c.find(fantoccini::Locator::Css(&row1)).await?;
            let text = text_of(&row).await?;
            Ok((!text.contains("counting")).then_some(text))
        }
    })
    .await;
    // The first file's diff shows without a click.
    app.text_contains(&tid("diff-rows"), "hello, {name}").await;
    // Syntax colours and word emphasis are spans the page builds around the
    // text (LineText), so check they are drawn, not just that the text is.
    let keyword = app.el(&format!("{} .t-kw", tid("diff-rows"))).await;
    assert_eq!(
        text_of(&keyword).await.expect("keyword text"),
        "pub",
        "the first line's first keyword is coloured"
    );
    let added = app.el(&format!("{} mark.em-added", tid("diff-rows"))).await;
    let changed = text_of(&added).await.expect("emphasis text");
    assert!(
        !changed.is_empty() && WINNER_LIB.contains(&changed),
        "the changed words of the added line are emphasised: {changed:?}"
    );
    let cells = app.all(&format!("{row1} td.numeric")).await;
    assert_eq!(
        text_of(&cells[0]).await.expect("files cell"),
        "2",
        "variant 1 changed src/lib.rs and the hostile file"
    );
    app.shot("results").await;

    app.click(&format!("{row1} {}", tid("result-open"))).await;
    let hostile_file = format!("{}[data-path=\"{}\"]", tid("diff-file"), HOSTILE_NAME);
    app.click(&hostile_file).await;
    let rows = app.text_contains(&tid("diff-rows"), HOSTILE_SCRIPT).await;
    assert!(
        rows.contains(HOSTILE_SVELTE),
        "the Svelte-like text is shown as typed: {rows}"
    );
    let listed = text_of(&app.el(&hostile_file).await)
        .await
        .expect("file row text");
    assert!(
        listed.contains(HOSTILE_NAME),
        "the hostile name is listed literally: {listed}"
    );
    app.shot("diff-unified").await;

    let toggle = app.testid("diff-view-toggle").await;
    let before = toggle.attr("data-view").await.expect("data-view");
    assert_eq!(
        before.as_deref(),
        Some("unified"),
        "a fresh profile starts unified"
    );
    app.click(&tid("diff-view-toggle")).await;
    app.el(&format!("{}[data-view=\"split\"]", tid("diff-view-toggle")))
        .await;
    app.el(".split-row").await;
    app.text_contains(&tid("diff-rows"), HOSTILE_SCRIPT).await;
    app.shot("diff-split").await;
    app.click(&tid("diff-view-toggle")).await;
    app.el(&format!(
        "{}[data-view=\"unified\"]",
        tid("diff-view-toggle")
    ))
    .await;

    // Variant against variant: 1 and 2 both changed src/lib.rs, and each added a file.
    app.click(&tid("compare-mode-pair")).await;
    app.select(&tid("compare-a"), "1").await;
    app.select(&tid("compare-b"), "2").await;
    let files = app.count(&tid("diff-file"), 3).await;
    let mut paths = Vec::new();
    for f in files {
        paths.push(
            f.attr("data-path")
                .await
                .expect("data-path")
                .unwrap_or_default(),
        );
    }
    paths.sort();
    assert_eq!(
        paths,
        [HOSTILE_NAME, "docs/notes.md", "src/lib.rs"],
        "A against B lists the files either side changed"
    );
    app.click(&format!("{}[data-path=\"src/lib.rs\"]", tid("diff-file")))
        .await;
    app.text_contains(&tid("diff-rows"), "hello, world").await;
    app.shot("compare-pair").await;
    skim_and_settle(app).await;
}

/// Jumps through a long diff twice in a row, as a dragged scrollbar thumb
/// does: the rows show bars while the list skims, and their text once it
/// settles.
async fn skim_and_settle(app: &mut App) {
    app.click(&format!(
        "{}[data-path=\"docs/notes.md\"]",
        tid("diff-file")
    ))
    .await;
    app.text_contains(&tid("diff-rows"), "step 1: kept it simple.")
        .await;
    let seen = app
        .client
        .execute_async(SKIM, vec![])
        .await
        .expect("skim through the notes' diff");
    assert_eq!(
        seen["skimming"],
        json!(true),
        "a jump right after another one skims: {seen}"
    );
    assert!(
        seen["bars"].as_u64().is_some_and(|n| n > 10) && seen["text"] == json!(false),
        "skimming rows show bars, not text: {seen}"
    );
    assert_eq!(
        seen["after"]["skimming"],
        json!(false),
        "the list settles once the jumps stop: {seen}"
    );
    assert_eq!(
        seen["after"]["bars"],
        json!(0),
        "no bar is left after settling: {seen}"
    );
    assert!(
        seen["after"]["text"]
            .as_str()
            .is_some_and(|t| t.contains(": kept it simple.")),
        "the rows have their text back: {seen}"
    );
    assert_rows_match_their_lines(&seen["after"]);
    // How many rows the first frame holds back depends on how soon the next
    // frame comes (lib/windowing.ts `FRAME_LATE_MS`), so it is the unit
    // tests that check the rows per frame, not this one.
    assert_top_row_has_its_text(&seen["single"]);
    assert_eq!(
        seen["whole"]["skimming"],
        json!(false),
        "a single jump's rows all get their text: {seen}"
    );
    assert!(
        seen["frames"].as_u64().is_some_and(|n| n <= 4),
        "a few rows per frame, so a screen is whole within a few frames: {seen}"
    );
    assert_eq!(seen["whole"]["bars"], json!(0), "no bar is left: {seen}");
    assert_rows_match_their_lines(&seen["whole"]);
}

/// The first frame after a single jump (not a skim) already shows the text
/// of the row at the top of the screen, where the eye lands; the rows below
/// get theirs in the next frames (lib/windowing.ts `FILL_ROWS`).
fn assert_top_row_has_its_text(single: &serde_json::Value) {
    let top = single["top"].as_u64().expect("scroll position in rows");
    let rows = single["rows"].as_array().expect("rendered rows");
    let row = rows
        .iter()
        .find(|row| row[0].as_str() == Some(top.to_string().as_str()))
        .unwrap_or_else(|| panic!("row {top} is rendered: {single}"));
    assert_eq!(
        row[1].as_str(),
        Some(format!("- step {}: kept it simple.", top - 2).as_str()),
        "the top row shows its text in the jump's first frame: {single}"
    );
}

/// The rows on screen are the notes' lines at the scroll position, in
/// order, each with its own text: rows hand their elements on
/// as they scroll (VirtualList `recycle`), and a row showing its
/// predecessor's text or number would be a wrong diff that looks right.
fn assert_rows_match_their_lines(after: &serde_json::Value) {
    let top = after["top"].as_u64().expect("scroll position in rows");
    let rows = after["rows"].as_array().expect("rendered rows");
    let numbers: Vec<u64> = rows
        .iter()
        .map(|row| {
            let number = row[0].as_str().and_then(|n| n.parse().ok());
            let number: u64 = number.unwrap_or_else(|| panic!("a numbered line: {row}"));
            // Lines 1 and 2 are the title and a blank; line n is step n - 2.
            let step = number
                .checked_sub(2)
                .unwrap_or_else(|| panic!("the rows are past the notes' title: {after}"));
            assert_eq!(
                row[1].as_str(),
                Some(format!("- step {step}: kept it simple.").as_str()),
                "row {number} shows its own line: {after}"
            );
            number
        })
        .collect();
    assert!(
        numbers.windows(2).all(|w| w[1] == w[0] + 1),
        "the rows are consecutive lines, in order: {numbers:?}"
    );
    assert!(
        numbers.contains(&top) && numbers.contains(&(top + 20)),
        "the rows are the ones at the scroll position (row {top}): {numbers:?}"
    );
}

/// Two jumps of 100 rows in one task (so the test does not depend on frame
/// times), what the rows show right after, again once settled, and after one
/// more jump: in its first frame, and once its rows are filled (with how many
/// frames that took).
const SKIM: &str = r#"
const done = arguments[arguments.length - 1];
const view = document.querySelector('[data-testid="diff-rows"]');
const jump = (rows) => { view.scrollTop += rows * 20; view.dispatchEvent(new Event("scroll")); };
const look = () => ({
  skimming: view.dataset.skimming === "true",
  bars: view.querySelectorAll(".skim").length,
  text: view.querySelectorAll(".text").length > 0 ? view.textContent : false,
  top: Math.floor(view.scrollTop / 20),
  rows: [...view.querySelectorAll(".vrow")].map((row) => [
    row.querySelectorAll(".num")[1]?.textContent ?? "",
    row.querySelector(".text")?.textContent ?? "",
  ]),
});
jump(100);
jump(100);
// Svelte updates the rows in a microtask queued by the second jump, before this one.
queueMicrotask(() => {
  const seen = look();
  setTimeout(() => requestAnimationFrame(() => {
    const after = look();
    // One jump back, long after the last: not skimming, so the rows on top
    // get their text in its first frame and the rest a few frames later,
    // each row's elements now showing another line.
    jump(-150);
    requestAnimationFrame(() => {
      const single = look();
      // Then one frame at a time until every row has its text.
      let frames = 1;
      const whole = () => {
        if (view.dataset.skimming === "true" && frames < 60) {
          frames++;
          requestAnimationFrame(whole);
        } else done({ ...seen, after, single, frames, whole: look() });
      };
      whole();
    });
  }), 500);
});
"#;

async fn merge_undo_merge(app: &mut App, repo: &Repo, base: &str, winner_branch: &str) {
    app.click(&tid("tab-merge")).await;
    let open = format!("{}[data-index=\"1\"]", tid("merge-open"));
    app.click(&open).await;
    app.text_contains(&tid("merge-preview"), "src/lib.rs").await;
    app.select(&tid("merge-strategy"), "squash").await;
    app.shot("merge-preview").await;
    app.click(&tid("merge-confirm")).await;
    let commit = merged_commit(app).await;
    app.text_contains(&tid("header-head"), &commit[..8]).await;
    app.shot("merge-result").await;
    assert_squash_merged(repo, base, &commit, winner_branch).await;

    app.click(&tid("merge-undo")).await;
    app.text_contains(&tid("merge-result"), "Merge undone")
        .await;
    assert_eq!(
        repo.head().await,
        base,
        "undo puts main back at its old head"
    );
    assert_eq!(
        repo.read(HOSTILE_NAME),
        None,
        "undo removes the merged file from the checkout"
    );
    assert_eq!(
        repo.read("src/lib.rs").as_deref(),
        Some("pub fn greet() -> &'static str {\n    \"hello\"\n}\n")
    );
    assert_eq!(repo.status().await, "", "undo leaves a clean checkout");
    app.text_contains(&tid("header-head"), &base[..8]).await;
    app.shot("merge-undone").await;

    app.click(&format!("{} button.close", tid("merge-dialog")))
        .await;
    app.click(&open).await;
    app.text_contains(&tid("merge-preview"), "src/lib.rs").await;
    app.click(&tid("merge-confirm")).await;
    let again = merged_commit(app).await;
    assert_squash_merged(repo, base, &again, winner_branch).await;
}

async fn merged_commit(app: &App) -> String {
    let result = app.testid("merge-result").await;
    result
        .attr("data-commit")
        .await
        .expect("read data-commit")
        .expect("merge-result names its commit")
}

/// main has one new commit on top of `base`, with the winner's tree, and the
/// user's checkout shows it and is clean.
async fn assert_squash_merged(repo: &Repo, base: &str, commit: &str, winner_branch: &str) {
    assert_eq!(
        repo.head().await,
        commit,
        "main moved to the commit the app reported"
    );
    let parents = repo.git(&["rev-list", "--parents", "-n1", commit]).await;
    let parents: Vec<&str> = parents.split_whitespace().skip(1).collect();
    assert_eq!(
        parents,
        [base],
        "a squash has exactly one parent: the old head"
    );
    assert_eq!(
        repo.git(&["rev-parse", &format!("{commit}^{{tree}}")])
            .await,
        repo.git(&["rev-parse", &format!("{winner_branch}^{{tree}}")])
            .await,
        "the squash carries the winner's tree"
    );
    assert_eq!(
        repo.read("src/lib.rs").as_deref(),
        Some(WINNER_LIB),
        "the checkout has the merged source"
    );
    assert_eq!(
        repo.read(HOSTILE_NAME),
        Some(format!("{HOSTILE_SCRIPT}\n{HOSTILE_SVELTE}\n")),
        "the checkout has the merged new file"
    );
    assert_eq!(repo.status().await, "", "the merge leaves a clean checkout");
}

/// The dialog shows each worktree's size and what it frees; variant 2's
/// branch holds work merged nowhere, so without a tick nothing is removed and
/// the refusal says why; kept as a tag, its work survives its branch.
async fn cleanup(app: &mut App, repo: &Repo, winner_branch: &str) {
    app.click(&tid("cleanup-open")).await;
    app.testid("cleanup-keep-winner").await;
    app.text_contains(&tid("cleanup-to-free"), "Frees about")
        .await;
    let sizes = app.count(&tid("cleanup-size"), 3).await;
    for size in &sizes {
        let text = text_of(size).await.expect("read a size");
        assert!(
            text.ends_with(" KB"),
            "each worktree's size is shown: {text:?}"
        );
    }
    let risky = app.all(&tid("cleanup-unmerged")).await;
    assert_eq!(
        risky.len(),
        1,
        "only variant 2 has work merged nowhere (1 is merged, 3 made no commit)"
    );
    assert_eq!(
        risky[0]
            .attr("data-index")
            .await
            .expect("read the row")
            .as_deref(),
        Some("2")
    );
    shot_both(app, "cleanup").await;

    app.click(&tid("cleanup-confirm")).await;
    // The warning row already says "merged nowhere": wait for the refusal's own words.
    let refusal = app
        .text_contains(&tid("cleanup-dialog"), "Nothing was cleaned up")
        .await;
    assert!(
        refusal.contains("Nothing was cleaned up") && refusal.contains("Keep as tag"),
        "the engine's refusal is a sentence with the dialog's way out: {refusal}"
    );
    assert_eq!(
        repo.linked_worktrees().await.len(),
        3,
        "a refused cleanup removes nothing"
    );
    app.shot("cleanup-refused").await;

    let branch2 = repo
        .fanout_branches()
        .await
        .into_iter()
        .find(|b| b.ends_with("/2-test-first"))
        .expect("variant 2's branch exists before the cleanup");
    let tip = repo.git(&["rev-parse", &branch2]).await;
    app.click(&format!(
        "{}[data-index=\"2\"] {}",
        tid("cleanup-variant"),
        tid("cleanup-archive")
    ))
    .await;
    let kept = app
        .text_contains(&tid("cleanup-unmerged"), "fanout/archive/")
        .await;
    app.click(&tid("cleanup-confirm")).await;
    app.text_contains(&tid("cleanup-freed"), "Freed").await;
    let archived = app
        .text_contains(&tid("cleanup-archived"), "fanout/archive/")
        .await;
    let tag = archived.trim().to_string();
    assert!(
        tag.ends_with("/2-test-first") && kept.contains(&tag),
        "the dialog named the tag before and after: {kept:?} / {tag:?}"
    );
    shot_both(app, "cleanup-result").await;
    assert_eq!(
        repo.git(&["rev-parse", &format!("refs/tags/{tag}")]).await,
        tip,
        "the archive tag holds variant 2's work"
    );
    assert_eq!(
        repo.linked_worktrees().await,
        Vec::<String>::new(),
        "every worktree is removed"
    );
    assert_eq!(
        repo.fanout_branches().await,
        [winner_branch],
        "only the winner's branch is kept, as the dialog offered; variant 2's became a tag"
    );
    app.click(&format!("{} button.primary", tid("cleanup-dialog")))
        .await;
}

/// What the checkout has and git ignores: each worktree needs a copy.
const ENV_FILE: &str = "GREETING=hi\n";

/// The repository ignores `.env` (committed) and has one (not committed).
async fn with_ignored_env(repo: &Repo) {
    write(&repo.root, ".gitignore", ".env\n");
    repo.git(&["add", ".gitignore"]).await;
    repo.git(&["commit", "-q", "-m", "ignore .env"]).await;
    write(&repo.root, ".env", ENV_FILE);
    assert_eq!(
        repo.status().await,
        "",
        ".env is ignored, the checkout clean"
    );
}

/// The setup prints what it sees of the copied .env, then waits for `gate`,
/// so the test sees the variants while they prepare.
fn setup_command(gate: &Path) -> String {
    format!(
        "echo \"setup sees $(cat .env)\"; while [ ! -e '{}' ]; do sleep 0.1; done; echo setup done",
        gate.display()
    )
}

/// Settings, per repository: the default copy patterns are shown; a pattern
/// outside the checkout is refused with the engine's sentence; the setup
/// command is saved, and exported to .fanout.json only on request.
async fn repo_setup_in_settings(app: &mut App, repo: &Repo, gate: &Path) {
    app.open_settings().await;
    let globs = app.count(&tid("repo-copy-glob"), 2).await;
    let mut shown = Vec::new();
    for glob in &globs {
        shown.push(
            glob.prop("value")
                .await
                .expect("read a pattern")
                .unwrap_or_default(),
        );
    }
    assert_eq!(
        shown,
        [".env", ".env.*"],
        "a repository starts with the default patterns"
    );

    app.click(&tid("repo-copy-add")).await;
    let globs = app.count(&tid("repo-copy-glob"), 3).await;
    globs[2]
        .send_keys("../secrets/.env")
        .await
        .expect("type a pattern");
    app.type_into(&tid("repo-setup-command"), &setup_command(gate))
        .await;
    app.click(&tid("repo-setup-save")).await;
    let error = app
        .text_contains(&tid("repo-setup-error"), "outside the checkout")
        .await;
    assert!(
        error.contains("../secrets/.env"),
        "the sentence names the pattern: {error}"
    );
    app.shot("repo-setup-refused").await;

    app.click(&format!(
        "{} li:nth-child(3) {}",
        tid("repo-setup"),
        tid("repo-copy-remove")
    ))
    .await;
    app.count(&tid("repo-copy-glob"), 2).await;
    app.click(&tid("repo-setup-save")).await;
    app.testid("repo-setup-saved").await;
    assert!(
        repo.read(".fanout.json").is_none(),
        "saving writes nothing into the repository"
    );
    app.click(&tid("repo-setup-export")).await;
    let wrote = app
        .text_contains(&tid("repo-setup-exported"), ".fanout.json")
        .await;
    assert!(
        wrote.contains(&repo.root.display().to_string()),
        "the note says where it wrote: {wrote}"
    );
    let exported = repo
        .read(".fanout.json")
        .expect("the export is in the repository");
    assert!(
        exported.contains("setup sees"),
        "the export holds the saved command: {exported}"
    );
    app.js("document.querySelector('[data-testid=\"repo-setup\"]').scrollIntoView()")
        .await;
    shot_both(app, "repo-setup").await;
    // The merge later expects a clean checkout.
    std::fs::remove_file(repo.root.join(".fanout.json")).expect("remove the export");
}

/// While the setup waits, every card prepares and variant 1's transcript
/// shows the copy and the setup's output; once it ends, the agents run.
async fn setup_is_visible(app: &mut App, gate: &Path) -> u64 {
    all_reach(app, 3, "preparing").await;
    let before = disk_bytes(app, 2).await;
    let card = harness::card(1);
    app.text_contains(&format!("{card} {}", tid("variant-activity")), "Preparing")
        .await;
    app.click(&format!("{card} {}", tid("transcript-toggle")))
        .await;
    let transcript = format!("{card} {}", tid("transcript"));
    app.text_contains(
        &transcript,
        "Copied from your checkout into the worktree: .env",
    )
    .await;
    app.text_contains(
        &format!("{card} {}", tid("setup-output")),
        "setup sees GREETING=hi",
    )
    .await;
    shot_both(app, "preparing").await;

    std::fs::write(gate, "").expect("let the setups finish");
    app.el(&format!("{card}[data-status=\"succeeded\"]")).await;
    app.text_contains(&format!("{card} {}", tid("setup-output")), "setup done")
        .await;
    app.text_contains(&transcript, "finished in").await;
    app.click(&format!("{card} {}", tid("transcript-toggle")))
        .await;
    before
}

fn disk_cell(index: u32) -> String {
    format!(
        "{}[data-index=\"{index}\"] {}",
        tid("variant-card"),
        tid("variant-disk")
    )
}

/// The size a card shows, in bytes, once it was measured.
async fn disk_bytes(app: &App, index: u32) -> u64 {
    let cell = disk_cell(index);
    app.until(&format!("variant {index}'s worktree size"), || {
        let c = app.client.clone();
        let cell = cell.clone();
        async move {
            let el = c.find(fantoccini::Locator::Css(&cell)).await?;
            let bytes = el.attr("data-bytes").await?.unwrap_or_default();
            Ok(bytes.parse::<u64>().ok())
        }
    })
    .await
}

/// Each card shows its worktree's size; variant 2's agent wrote files, and
/// the size measured when its run ended shows them (the view measured once
/// at launch, and again at the end: never on a timer).
async fn worktree_sizes_show(app: &mut App, prepared_size: u64) {
    for index in 1..=3 {
        let text = app.text_contains(&disk_cell(index), " KB").await;
        let bytes = disk_bytes(app, index).await;
        assert!(
            bytes >= 1024,
            "variant {index}'s worktree was measured: {text} ({bytes} bytes)"
        );
    }
    app.until("variant 2's size measured after its run", || async {
        let now = disk_bytes(app, 2).await;
        Ok((now > prepared_size).then_some(()))
    })
    .await;
    shot_both(app, "worktree-sizes").await;
}

/// A setup command that fails: every variant fails with its exit code and
/// the end of its output, and no agent started in any worktree.
async fn failing_setup(app: &mut App, repo: &Repo) {
    open_repo(app, repo).await;
    app.open_settings().await;
    app.type_into(
        &tid("repo-setup-command"),
        // Fails at once: the run is over before the page watches it, so the
        // cards must take the failure from the store, not from a tick.
        "echo resolving; echo 'npm ERR! missing: left-pad' >&2; exit 3",
    )
    .await;
    app.click(&tid("repo-setup-save")).await;
    app.testid("repo-setup-saved").await;
    app.click(&tid("nav-new")).await;
    app.type_into(&tid("task-input"), "Greet after installing")
        .await;
    let names = app.count(&tid("approach-name"), 3).await;
    for (el, name) in names.iter().zip(["Npm one", "Npm two", "Npm three"]) {
        el.send_keys(name).await.expect("type an approach name");
    }
    app.click(&tid("launch")).await;
    all_reach(app, 3, "failed").await;
    let card = harness::card(1);
    let reason = app
        .text_contains(&format!("{card} {}", tid("variant-error")), "exit code 3")
        .await;
    assert!(
        reason.contains("npm ERR! missing: left-pad") && reason.contains("agent was not started"),
        "the card's reason has the code and the output's tail: {reason}"
    );
    for index in 1..=3 {
        let wt = worktree_of(app, index).await;
        assert!(
            !Path::new(&wt).join("fake-output.txt").exists(),
            "variant {index}'s agent never ran"
        );
    }
    shot_both(app, "setup-failed").await;
}

/// A screenshot in the light theme and one in the dark (set on the page for
/// the picture only, as the theme setting does).
async fn shot_both(app: &mut App, name: &str) {
    app.shot(name).await;
    let before = app
        .js("const r = document.documentElement; const t = r.getAttribute('data-theme'); r.setAttribute('data-theme', 'dark'); return t")
        .await;
    app.shot(&format!("{name}-dark")).await;
    let restore = match before.as_str() {
        Some(theme) => format!("document.documentElement.setAttribute('data-theme', '{theme}')"),
        None => "document.documentElement.removeAttribute('data-theme')".into(),
    };
    app.js(&restore).await;
}

/// Nothing from files or diffs ran: no script, no image, no HTML from text.
async fn hostile_text_stayed_text(app: &App, scripts_at_start: &serde_json::Value) {
    let pwned = app.js("return typeof window.__pwned").await;
    assert_eq!(pwned, "undefined", "the file's <script> never ran");
    let scripts = app.js("return document.scripts.length").await;
    assert_eq!(
        &scripts, scripts_at_start,
        "no script element was added to the page"
    );
    let injected = app
        .js("return document.querySelectorAll('img[src=\"x\"], b').length")
        .await;
    assert_eq!(
        injected, 0,
        "no <img> or <b> was made from the file's name or text"
    );
    match app.client.get_alert_text().await {
        Err(e) if e.is_no_such_alert() => {}
        other => panic!("no alert may be open (onerror=alert must not run): {other:?}"),
    }
}

/// The user has an uncommitted edit in a file the merge touches: the dialog
/// names it, confirm stays disabled, and nothing changes.
async fn merge_refuses_over_uncommitted_work(app: &mut App, repo: &Repo) {
    open_repo(app, repo).await;
    app.click(&tid("nav-new")).await;
    app.type_into(&tid("task-input"), "Shout the greeting")
        .await;
    let names = app.count(&tid("approach-name"), 3).await;
    for (el, name) in names.iter().zip(["Upper", "Exclaim", "Both"]) {
        el.send_keys(name).await.expect("type an approach name");
    }
    app.click(&tid("launch")).await;
    app.count(&tid("variant-card"), 3).await;
    // Unscripted names: each fake agent writes and commits fake-output.txt.
    all_reach(app, 3, "succeeded").await;
    let wt = worktree_of(app, 1).await;
    write(Path::new(&wt), "README.md", "# GREETER\n\nSAYS HELLO.\n");
    app.click(&format!(
        "{}[data-index=\"1\"] {}",
        tid("variant-card"),
        tid("commit-variant")
    ))
    .await;
    app.text_contains(&harness::card(1), "Committed").await;

    let users_edit = "# greeter\n\nSays hello. (my local note)\n";
    write(&repo.root, "README.md", users_edit);
    let head = repo.head().await;

    app.click(&tid("tab-merge")).await;
    app.click(&format!("{}[data-index=\"1\"]", tid("merge-open")))
        .await;
    let refusal = app.text_contains(&tid("merge-blocked"), "README.md").await;
    assert!(
        refusal.contains("uncommitted"),
        "the refusal says why: {refusal}"
    );
    let confirm = app.testid("merge-confirm").await;
    assert!(
        !confirm
            .is_enabled()
            .await
            .expect("read merge-confirm state"),
        "confirm is disabled while the merge would overwrite the user's edit"
    );
    app.shot("merge-refused").await;
    assert_eq!(repo.head().await, head, "HEAD did not move");
    assert_eq!(
        repo.read("README.md").as_deref(),
        Some(users_edit),
        "the user's edit is intact"
    );
    assert_eq!(
        repo.status().await,
        " M README.md",
        "only the user's own edit is pending"
    );
    app.click(&format!("{} button.close", tid("merge-dialog")))
        .await;
}

/// Slow agents: "Cancel all" ends them as cancelled; a retry (with the agent
/// now quick) runs the variant again to success.
async fn cancel_all_then_retry(app: &mut App, repo: &Repo, script: &Path) {
    open_repo(app, repo).await;
    app.click(&tid("nav-new")).await;
    app.type_into(&tid("task-input"), "Greet slowly").await;
    let names = app.count(&tid("approach-name"), 3).await;
    for (el, name) in names.iter().zip(["Slow one", "Slow two", "Slow three"]) {
        el.send_keys(name).await.expect("type an approach name");
    }
    app.shot("new-experiment").await;
    app.click(&tid("launch")).await;
    all_reach(app, 3, "running").await;
    let activity = app
        .text_contains(
            &format!(
                "{}[data-index=\"1\"] {}",
                tid("variant-card"),
                tid("variant-activity")
            ),
            "started",
        )
        .await;
    assert!(
        !activity.is_empty(),
        "a running card shows what its agent does"
    );
    app.shot("running").await;

    app.click(&tid("cancel-all")).await;
    all_reach(app, 3, "cancelled").await;
    assert_eq!(
        repo.fanout_branches().await.len(),
        3,
        "cancelling keeps the branches (and worktrees) for a retry"
    );
    app.shot("cancelled").await;

    std::fs::write(script, agent_script("success").to_string()).expect("make the agents quick");
    let card = format!("{}[data-index=\"2\"]", tid("variant-card"));
    app.click(&format!("{card} {}", tid("retry-variant"))).await;
    app.el(&format!("{card}[data-status=\"succeeded\"]")).await;
    let wt = worktree_of(app, 2).await;
    assert_eq!(
        std::fs::read_to_string(Path::new(&wt).join("slow.txt"))
            .ok()
            .as_deref(),
        Some("done\n"),
        "the retried agent ran in variant 2's worktree"
    );
    all_reach(app, 2, "cancelled").await;
    app.shot("retried").await;
}
