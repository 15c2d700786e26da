//! Benchmark in the real window: a 50,000-line file's diff. Measures, in the
//! page with `performance.now()` and marks, (1) the time from clicking the
//! file in the tree to its first painted rows and (2) the longest main-thread
//! stall while scrolling it to the end. Targets: first rows within
//! 300 ms; no task over 50 ms.
//!
//! Not part of `make test` (`#[ignore]`): figures, not pass/fail, go to
//! BENCHMARKS.md. Run with `make bench-ui`, or:
//! `(cd ui && npm run build) && cargo test --features custom-protocol --test ui_bench -- --ignored --nocapture`.
//! FANOUT_BENCH_RUNS sets the number of runs (default 6); FANOUT_BENCH_APP
//! runs another build of the app than this test's (a release build, say
//! target/release/fanout-app, built with `--features custom-protocol`).
//! The window draws as the app does by default, without accelerated
//! compositing; FANOUT_BENCH_COMPOSITING=1 measures with it.
//! FANOUT_BENCH_FRAMES=<file> appends each scroll's frame times there, for
//! scripts/frame-tasks.py.

#[allow(dead_code)] // shared with tests/e2e.rs, which uses the rest
#[path = "e2e/git.rs"]
mod git;
#[allow(dead_code)]
#[path = "e2e/harness.rs"]
mod harness;

use std::path::Path;
use std::time::Duration;

use git::{write, Repo};
use harness::{tid, App};
use serde_json::Value;

const BIG: &str = "big.rs";
const SMALL: &str = "a.txt";
const LINES: usize = 50_000;

/// A Rust-looking line, so syntax highlighting does its full work.
fn big_line(i: usize, word: &str) -> String {
    format!("    let value_{i} = compute({i}, \"{word} text number {i}\"); // step {i}\n")
}

/// The base file, and the variant's: one word rewritten in every third line,
/// so every pair of lines gets word-level emphasis and, with 3 lines of
/// context, the whole file is one hunk of about 66,700 rows.
fn big_file(variant: bool) -> String {
    (0..LINES)
        .map(|i| {
            big_line(
                i,
                if variant && i % 3 == 0 {
                    "changed"
                } else {
                    "plain"
                },
            )
        })
        .collect()
}

/// In the page: note when a file in the tree is clicked, and whether
/// WebKitGTK reports long tasks.
const PROBE: &str = r#"
window.__bench = { clicks: [] };
document.addEventListener("click", (e) => {
  const f = e.target.closest('[data-testid="diff-file"]');
  if (f) window.__bench.clicks.push({ path: f.dataset.path, t: performance.now() });
}, true);
return typeof PerformanceObserver !== "undefined"
  && (PerformanceObserver.supportedEntryTypes || []).includes("longtask");
"#;

/// Milliseconds from the last click on `path` to the first rows-painted mark
/// after it, once there is one.
const FIRST_ROWS: &str = r#"
const path = arguments[0];
const click = window.__bench.clicks.filter((c) => c.path === path).pop();
if (!click) return null;
const after = (name) => performance.getEntriesByName(name).find((m) => m.startTime > click.t);
const painted = after("fanout:diff-rows-painted");
if (!painted) return null;
const received = after("fanout:diff-received");
const outline = after("fanout:diff-outline");
const since = (m) => (m ? m.startTime - click.t : null);
return [painted.startTime - click.t, since(received), since(outline)];
"#;

/// Jumps 100 rows down and up every 40 ms for four seconds, as a dragged
/// thumb does, so a screenshot catches the list skimming.
const KEEP_SKIMMING: &str = r#"
const view = document.querySelector('[data-testid="diff-rows"]');
let n = 0;
const timer = setInterval(() => {
  view.scrollTop += (n++ % 2 ? -1 : 1) * 100 * 20;
  view.dispatchEvent(new Event("scroll"));
  if (n > 100) clearInterval(timer);
}, 40);
return null;
"#;

/// Scrolls the diff to its end in 200 steps, one per animation frame (each
/// step is many screens, so every frame shows only new rows, the most a frame
/// can cost), and records the longest gap between frames and, where
/// supported, the longest 'longtask'.
const SCROLL: &str = r#"
const STEPS = arguments[0];
// 0: jump to the end in STEPS steps; otherwise move this many pixels per
// step (negative: up) for STEPS steps, as a mouse wheel does.
const BY = arguments[1];
// Called with the results at the end (an asynchronous WebDriver script): the
// test does not poll the page while it scrolls, so its own requests never
// land in a measured frame.
const finish = arguments[arguments.length - 1];
const view = document.querySelector('[data-testid="diff-rows"]');
const s = { done: false, maxGap: 0, gaps: [], layouts: [], frames: 0, longest: null, rows: Number(view.dataset.rows), started: performance.now() };
let observer = null;
if ((PerformanceObserver.supportedEntryTypes || []).includes("longtask")) {
  s.longest = 0;
  observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) s.longest = Math.max(s.longest, e.duration);
  });
  observer.observe({ type: "longtask" });
}
s.updates = [];
// Each frame's start in milliseconds since the epoch, for lining frames up
// with a scheduler trace (scripts/frame-tasks.py).
s.at = [];
// Frames drawn while the list skimmed (rows outlined, not written out).
s.skimmed = 0;
let last = performance.now();
// Notes a frame: the gap since the previous one, and when it began.
const frame = () => {
  const now = performance.now();
  s.maxGap = Math.max(s.maxGap, now - last);
  s.gaps.push(Math.round(now - last));
  s.at.push(performance.timeOrigin + now);
  last = now;
};
const done = () => {
  frame();
  const nums = [...view.querySelectorAll(".num")].map((n) => Number(n.textContent) || 0);
  s.lastLine = Math.max(0, ...nums);
  s.dom = { rows: view.querySelectorAll(".vrow").length, elements: document.getElementsByTagName("*").length };
  if (observer) observer.disconnect();
  // When each chunk of lines arrived, to tell its parse from a frame's work.
  s.chunks = performance.getEntriesByName("fanout:diff-chunk").map((e) => performance.timeOrigin + e.startTime).filter((t) => t >= s.at[0]);
  s.done = true;
  finish(s);
};
const step = () => {
  frame();
  s.frames++;
  const end = view.scrollHeight - view.clientHeight;
  const over = BY === 0 ? view.scrollTop >= end - 1 : s.frames > STEPS;
  if (over) {
    // The frames until a skimming list has its text back count too (the
    // frame that draws it is the most expensive), then one more frame so the
    // last rows are rendered before reading them.
    const settled = () => {
      frame();
      if (view.dataset.skimming === "true" && s.gaps.length < STEPS + 400) requestAnimationFrame(settled);
      else requestAnimationFrame(done);
    };
    requestAnimationFrame(view.dataset.skimming === "true" ? settled : done);
    return;
  }
  const by = BY === 0 ? Math.max(5 * view.clientHeight, end / STEPS) : BY;
  view.scrollTop = Math.min(end, Math.max(0, view.scrollTop + by));
  // WebKit would send the scroll event in the next frame; sent now, the
  // page's update, WebKit's style and layout, and its painting all fall in
  // this frame, so the gap to the next one is one step's whole cost. The
  // page's update ends with the microtask Svelte flushes its DOM changes in,
  // which runs before this one; reading the layout then makes WebKit do the
  // style and layout the new rows need, apart from painting.
  const sent = performance.now();
  view.dispatchEvent(new Event("scroll"));
  queueMicrotask(() => {
    const updated = performance.now();
    void view.scrollHeight;
    s.updates.push(Math.round(updated - sent));
    s.layouts.push(Math.round(performance.now() - updated));
    if (view.dataset.skimming === "true") s.skimmed++;
  });
  requestAnimationFrame(step);
};
requestAnimationFrame(() => { last = performance.now(); requestAnimationFrame(step); });
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: make bench-ui"]
async fn a_50k_line_diff_paints_fast_and_scrolls_without_long_tasks() {
    let dist = Path::new(env!("CARGO_MANIFEST_DIR")).join("ui/dist/index.html");
    assert!(
        dist.is_file(),
        "ui/dist is not built: run `cd ui && npm ci && npm run build`"
    );
    let runs: usize = std::env::var("FANOUT_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(6);
    let binary = std::env::var("FANOUT_BENCH_APP")
        .unwrap_or_else(|_| env!("CARGO_BIN_EXE_fanout-app").to_string());
    eprintln!("benchmarking {binary}");
    // A fake agent that changes nothing: the benchmark writes the variant's
    // files itself, once the run is over.
    let scripts = tempfile::tempdir().expect("a folder for the agents' script");
    let script = scripts.path().join("agents.json");
    let nothing = serde_json::json!([{"match": "", "say": "Nothing to do.", "files": {}}]);
    std::fs::write(&script, nothing.to_string()).expect("write the agents' script");
    let claude = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/agents/fake-claude");
    let (claude, script) = (claude.display().to_string(), script.display().to_string());
    // The app draws without accelerated compositing unless told otherwise
    // (src-tauri/src/main.rs); the benchmark measures that mode unless
    // FANOUT_BENCH_COMPOSITING=1. WebDriver's own clicks and keystrokes hang
    // in it, so every interaction here goes through the page's script.
    let compositing = std::env::var("FANOUT_BENCH_COMPOSITING").is_ok_and(|v| v == "1");
    let mode = if compositing { "0" } else { "1" };
    eprintln!(
        "accelerated compositing: {}",
        if compositing {
            "on"
        } else {
            "off (the app's default)"
        }
    );
    let mut app = App::start_with_env(
        &binary,
        &[
            ("FANOUT_CLAUDE_BIN", &claude),
            ("FANOUT_FAKE_SCRIPT", &script),
            ("WEBKIT_DISABLE_COMPOSITING_MODE", mode),
        ],
    )
    .await;
    let repo = Repo::new("bench").await;
    write(&repo.root, BIG, &big_file(false));
    write(&repo.root, SMALL, "small\n");
    repo.git(&["add", "-A"]).await;
    repo.git(&["commit", "-q", "-m", "the big file"]).await;

    let worktree = experiment_with_variant(&mut app, &repo).await;
    write(Path::new(&worktree), BIG, &big_file(true));
    write(Path::new(&worktree), SMALL, "small, edited\n");
    click(&app, &tid("commit-all")).await;
    app.count(&tid("commit-result"), 3).await;
    click(&app, &tid("tab-compare")).await;
    // The first file (a.txt) opens by itself.
    app.text_contains(&tid("diff-rows"), "small, edited").await;

    let longtask = app.js(PROBE).await == Value::Bool(true);
    // FANOUT_BENCH_VARIANTS, a JSON list of {"name", "css": ["rule", …]}:
    // each variant's CSS rules are added to the page's stylesheet and measured
    // in turn, to try rendering changes without a rebuild.
    let variants: Vec<Value> = std::env::var("FANOUT_BENCH_VARIANTS")
        .ok()
        .map(|v| serde_json::from_str(&v).expect("FANOUT_BENCH_VARIANTS is JSON"))
        .unwrap_or_else(|| vec![serde_json::json!({"name": "as built"})]);
    for variant in &variants {
        app.client
            .execute(APPLY, vec![variant.clone()])
            .await
            .expect("apply the variant");
        measure(&mut app, runs, variant, longtask).await;
        app.js(UNAPPLY).await;
    }
    app.close().await;
}

const APPLY: &str = r#"
const v = arguments[0];
const sheet = document.styleSheets[0];
window.__dxRules = 0;
for (const r of v.css || []) { sheet.insertRule(r, sheet.cssRules.length); window.__dxRules++; }
return null;
"#;
const UNAPPLY: &str = r#"
const sheet = document.styleSheets[0];
for (let i = 0; i < (window.__dxRules || 0); i++) sheet.deleteRule(sheet.cssRules.length - 1);
return null;
"#;

async fn measure(app: &mut App, runs: usize, variant: &Value, longtask: bool) {
    let mut first_rows = Vec::new();
    let mut gaps = Vec::new();
    let mut longest = Vec::new();
    let (mut updates, mut responses, mut outlines) = (Vec::new(), Vec::new(), Vec::new());
    let mut wheel_gaps = Vec::new();
    for run in 0..runs {
        // Away from the big file, so the next click opens it afresh.
        click(app, &format!("{}[data-path=\"{SMALL}\"]", tid("diff-file"))).await;
        app.el(&format!(
            "{}[data-path=\"{SMALL}\"] {}",
            tid("file-diff"),
            tid("diff-rows")
        ))
        .await;
        app.js("performance.clearMarks(); return null").await;
        let Opened {
            painted: ms,
            received,
            outline,
        } = open_file(app, BIG, LINES).await;
        if run == 0 {
            app.shot("bench-big-diff").await;
            // Jumps for four seconds, as a dragged thumb does, to see the
            // skimming rows; the list settles before the measured scroll.
            app.js(KEEP_SKIMMING).await;
            tokio::time::sleep(Duration::from_secs(1)).await;
            app.shot("bench-skimming").await;
            app.el(&format!("{}[data-skimming=\"false\"]", tid("diff-rows")))
                .await;
        }
        let Scrolled {
            gap,
            update,
            longest: long,
        } = scroll_to_end(app).await;
        let wheel = scroll_by_wheel(app).await;
        eprintln!("run {run}: first rows {ms:.1} ms (outline at {outline:?} ms, first lines at {received:?} ms), longest frame gap while scrolling {gap:.1} ms (page's own update at most {update:.1} ms), longest task {long:?}; by wheel: longest frame gap {:.1} ms", wheel.gap);
        wheel_gaps.push(wheel.gap);
        updates.push(update);
        responses.extend(received);
        outlines.extend(outline);
        first_rows.push(ms);
        gaps.push(gap);
        if let Some(l) = long {
            longest.push(l);
        }
    }
    println!("\n50,000-line file, {runs} runs (median / worst), variant {variant}:");
    println!("  click → first painted rows: {}", summary(&first_rows));
    println!(
        "  of which click → the outline arrived: {}",
        summary(&outlines)
    );
    println!(
        "  of which click → the first screen's lines arrived: {}",
        summary(&responses)
    );
    println!(
        "  longest scroll update (scroll event → Svelte's DOM update done): {}",
        summary(&updates)
    );
    println!(
        "  longest frame gap while scrolling to the end (requestAnimationFrame): {}",
        summary(&gaps)
    );
    println!(
        "  longest frame gap while scrolling 3 rows per frame: {}",
        summary(&wheel_gaps)
    );
    if longtask {
        println!(
            "  longest 'longtask' while scrolling: {}",
            summary(&longest)
        );
    } else {
        println!("  PerformanceObserver 'longtask': not supported by this WebKitGTK");
    }
}

const RUNS_OVER: &str = r#"
const cards = [...document.querySelectorAll('[data-testid="variant-card"]')];
const busy = ["queued", "preparing", "running", "checking", "needs_input"];
return cards.length === 3 && cards.every((c) => !busy.includes(c.dataset.status));
"#;

/// Milliseconds from the click on a file to its first painted rows, and to
/// the marks on the way (missing in builds without them).
struct Opened {
    painted: f64,
    received: Option<f64>,
    outline: Option<f64>,
}

/// Clicks `path` in the file tree and waits for its rows; the times from the
/// click. `min_rows` checks the right diff is shown.
async fn open_file(app: &App, path: &str, min_rows: usize) -> Opened {
    click(app, &format!("{}[data-path=\"{path}\"]", tid("diff-file"))).await;
    let rows = format!(
        "{}[data-path=\"{path}\"] {}",
        tid("file-diff"),
        tid("diff-rows")
    );
    let el = app.el(&rows).await;
    let n: usize = el
        .attr("data-rows")
        .await
        .expect("read data-rows")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    assert!(
        n >= min_rows,
        "{path} shows {n} rows; the benchmark needs at least {min_rows}"
    );
    let script = FIRST_ROWS.to_string();
    let path = path.to_string();
    app.until("the rows-painted mark after the click", || {
        let c = app.client.clone();
        let (script, path) = (script.clone(), path.clone());
        async move {
            let v = c.execute(&script, vec![Value::String(path)]).await?;
            Ok(v[0].as_f64().map(|painted| Opened {
                painted,
                received: v[1].as_f64(),
                outline: v[2].as_f64(),
            }))
        }
    })
    .await
}

/// What one scroll through the diff measured.
struct Scrolled {
    /// The longest gap between two frames.
    gap: f64,
    /// The longest update by the page itself.
    update: f64,
    /// The longest 'longtask', where WebKit reports them.
    longest: Option<f64>,
}

/// Scrolls the open diff to its end in big jumps, each many screens, so every
/// frame shows only new rows (dragging the scrollbar's thumb).
async fn scroll_to_end(app: &App) -> Scrolled {
    let steps: u64 = std::env::var("FANOUT_BENCH_STEPS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(200);
    let done = scroll(app, steps, 0).await;
    assert_eq!(
        done["lastLine"].as_f64(),
        Some(LINES as f64),
        "the scroll reached the file's last line: {done}"
    );
    scrolled(&done)
}

/// Scrolls the open diff up by three rows per frame for 300 frames, as a
/// mouse wheel does: each frame adds a few rows and moves the rest.
async fn scroll_by_wheel(app: &App) -> Scrolled {
    let done = scroll(app, 300, -60).await;
    scrolled(&done)
}

/// Runs SCROLL in the page and waits for it to end.
async fn scroll(app: &App, steps: u64, by: i64) -> Value {
    let done = app
        .client
        .execute_async(SCROLL, vec![Value::from(steps), Value::from(by)])
        .await
        .expect("scroll the diff (WebDriver's script timeout is 30 s)");
    save_frames(&done, by);
    let (gaps, layouts) = (sorted(&done["gaps"]), sorted(&done["layouts"]));
    let updates = sorted(&done["updates"]);
    eprintln!(
        "  scrolled {} in {} frames ({} skimmed; {} in the DOM at the end); frame gaps p50 {} ms, p90 {} ms, p99 {} ms, {} over 50 ms; page update p50 {} ms, max {} ms; style and layout p50 {} ms, max {} ms",
        if by == 0 { "to the end".to_string() } else { format!("by {by} px per frame") },
        done["frames"],
        done["skimmed"],
        done["dom"],
        quantile(&gaps, 0.5),
        quantile(&gaps, 0.9),
        quantile(&gaps, 0.99),
        gaps.iter().filter(|g| **g > 50.0).count(),
        quantile(&updates, 0.5),
        quantile(&updates, 1.0),
        quantile(&layouts, 0.5),
        quantile(&layouts, 1.0),
    );
    done
}

/// With FANOUT_BENCH_FRAMES=<file>, appends each scroll's frame times to that
/// file as one JSON line, for scripts/frame-tasks.py to line up with a
/// scheduler trace of the same run.
fn save_frames(done: &Value, by: i64) {
    let Ok(file) = std::env::var("FANOUT_BENCH_FRAMES") else {
        return;
    };
    let line = serde_json::json!({ "by": by, "at": done["at"], "chunks": done["chunks"] })
        .to_string()
        + "\n";
    let saved = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(&file)
        .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()));
    if let Err(e) = saved {
        eprintln!("  could not save the frame times to {file}: {e}");
    }
}

fn scrolled(done: &Value) -> Scrolled {
    Scrolled {
        gap: done["maxGap"].as_f64().expect("maxGap"),
        update: quantile(&sorted(&done["updates"]), 1.0),
        longest: done["longest"].as_f64(),
    }
}

/// A JSON list of numbers, sorted.
fn sorted(list: &Value) -> Vec<f64> {
    let mut v: Vec<f64> = list
        .as_array()
        .map(|l| l.iter().filter_map(Value::as_f64).collect())
        .unwrap_or_default();
    v.sort_by(f64::total_cmp);
    v
}

fn quantile(sorted: &[f64], q: f64) -> f64 {
    let last = sorted.len().saturating_sub(1);
    sorted
        .get((last as f64 * q).round() as usize)
        .copied()
        .unwrap_or(0.0)
}

fn summary(ms: &[f64]) -> String {
    if ms.is_empty() {
        return "no samples".into();
    }
    let mut v = ms.to_vec();
    v.sort_by(f64::total_cmp);
    format!(
        "{:.0} ms / {:.0} ms (all: {})",
        v[v.len() / 2],
        v[v.len() - 1],
        ms.iter()
            .map(|m| format!("{m:.0}"))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Opens the repository, starts an experiment with three approaches and
/// returns variant 1's worktree.
async fn experiment_with_variant(app: &mut App, repo: &Repo) -> String {
    let path = repo.root.display().to_string();
    click(app, &tid("nav-home")).await;
    type_into(app, &tid("repo-path-input"), &path).await;
    click(app, &tid("repo-open")).await;
    app.text_contains(&tid("repo-root"), &path).await;
    click(app, &tid("nav-new")).await;
    type_into(app, &tid("task-input"), "Benchmark a big diff").await;
    app.count(&tid("approach-name"), 3).await;
    for (i, name) in ["One", "Two", "Three"].iter().enumerate() {
        let css = format!("{}:nth-of-type({})", tid("approach-card"), i + 1);
        type_into(app, &format!("{css} {}", tid("approach-name")), name).await;
    }
    click(app, &tid("launch")).await;
    // "Commit all" waits for the runs to end (an older build without runs
    // shows its variants idle at once).
    app.until("the runs to end", || {
        let c = app.client.clone();
        async move {
            let v = c.execute(RUNS_OVER, vec![]).await?;
            Ok((v == Value::Bool(true)).then_some(()))
        }
    })
    .await;
    let dd = app
        .el(&format!(
            "{}[data-index=\"1\"] dd[title]",
            tid("variant-card")
        ))
        .await;
    let worktree = dd
        .attr("title")
        .await
        .expect("read the worktree path")
        .expect("the worktree dd has a title");
    // Let the window settle before timing anything.
    tokio::time::sleep(Duration::from_millis(500)).await;
    worktree
}

const CLICK: &str = r#"
const el = document.querySelector(arguments[0]);
if (!el || el.disabled || el.getClientRects().length === 0) return false;
el.click();
return true;
"#;

/// Clicks the element once it is shown and enabled, from the page's script.
async fn click(app: &App, css: &str) {
    let css = css.to_string();
    app.until(&format!("{css} to be clickable"), || {
        let c = app.client.clone();
        let css = css.clone();
        async move {
            let v = c.execute(CLICK, vec![Value::String(css)]).await?;
            Ok((v == Value::Bool(true)).then_some(()))
        }
    })
    .await
}

const TYPE: &str = r#"
const el = document.querySelector(arguments[0]);
if (!el) return false;
el.focus();
el.value = arguments[1];
el.dispatchEvent(new Event("input", { bubbles: true }));
return true;
"#;

/// Sets an input's text and tells the page, as typing it would.
async fn type_into(app: &App, css: &str, text: &str) {
    let (css, text) = (css.to_string(), text.to_string());
    app.until(&format!("{css} to take text"), || {
        let c = app.client.clone();
        let args = vec![Value::String(css.clone()), Value::String(text.clone())];
        async move {
            let v = c.execute(TYPE, args).await?;
            Ok((v == Value::Bool(true)).then_some(()))
        }
    })
    .await
}
