//! Printing results: a sentence or a table for humans, or one JSON document.

use fanout_engine::diff::{FileChange, FileDiff, FileStatus, Hunk, LineKind};
use std::path::Path;

use fanout_engine::experiment::{
    short_id, ApproachSpec, CleanReport, CommitResult, ExperimentView, VariantDisk,
};
use fanout_engine::merge::{MergeOutcome, MergePreview};
use fanout_engine::repo::RepoInfo;
use fanout_engine::repo_settings::RepoSettingsView;
use fanout_engine::stats::Stats;
use fanout_engine::store::{Experiment, MergeRecord, Variant};
use fanout_engine::Error;
use serde_json::{json, Value};

pub struct Out {
    json: bool,
}

type Res = Result<(), Error>;

impl Out {
    pub fn new(json: bool) -> Out {
        Out { json }
    }

    /// Prints `doc` in JSON mode, or runs `human` otherwise.
    fn emit(&self, doc: impl FnOnce() -> Value, human: impl FnOnce()) -> Res {
        if self.json {
            let text = serde_json::to_string_pretty(&doc()).unwrap_or_else(|_| "null".into());
            println!("{text}");
        } else {
            human();
        }
        Ok(())
    }

    pub fn combined(&self, v: &Variant) -> Res {
        self.emit(
            || json!(v),
            || {
                println!("Variant {} ({}) is {}.", v.index, v.name, v.description);
                println!("Branch    {}", v.branch);
                println!("Worktree  {}", v.worktree.display());
            },
        )
    }

    pub fn stats(&self, stats: &Stats) -> Res {
        self.emit(
            || json!(stats),
            || {
                println!(
                    "{:<14} {:<18} {:>5} {:>8} {:>6} {:>7} {:>9} {:>9} {:>12} {:>6}",
                    "agent", "model", "runs", "variants", "won", "checks", "time", "cost", "tokens", "first"
                );
                for a in &stats.agents {
                    println!(
                        "{:<14} {:<18} {:>5} {:>8} {:>6} {:>7} {:>9} {:>9} {:>12} {:>6}",
                        a.agent,
                        a.model.as_deref().unwrap_or("default"),
                        a.experiments,
                        a.variants,
                        a.merged,
                        if a.checks_run == 0 {
                            "–".to_owned()
                        } else {
                            format!("{}/{}", a.checks_passed, a.checks_run)
                        },
                        a.median_duration_ms
                            .map_or("–".into(), fanout_engine::report::format_duration),
                        a.total_cost_usd.map_or("–".into(), |c| format!("${c:.2}")),
                        a.input_tokens + a.output_tokens,
                        a.ranked_first,
                    );
                }
                let j = stats.judge;
                println!(
                    "\n{} experiment(s). The judge's first pick was merged in {} of the {} judged and merged.",
                    stats.experiments, j.first_pick_merged, j.judged_and_merged
                );
            },
        )
    }

    pub fn repo(&self, info: &RepoInfo) -> Res {
        self.emit(
            || {
                json!({
                    "root": info.root,
                    "branch": info.branch,
                    "head": info.head.id,
                    "head_summary": info.head.summary,
                    "dirty_files": info.dirty_files,
                })
            },
            || {
                println!("Repository   {}", info.root.display());
                println!(
                    "Branch       {}",
                    info.branch.as_deref().unwrap_or("(detached HEAD)")
                );
                println!("HEAD         {} {}", &info.head.id[..8], info.head.summary);
                println!("Uncommitted  {} file(s)", info.dirty_files);
            },
        )
    }

    pub fn created(&self, view: &ExperimentView) -> Res {
        self.emit(
            || view_json(view),
            || {
                let exp = &view.experiment;
                println!(
                    "Created experiment {} ({}) from {}",
                    short_id(&exp.id),
                    exp.slug,
                    &exp.base_commit[..8]
                );
                variants_table(view, false);
            },
        )
    }

    pub fn plan(&self, approaches: &[ApproachSpec]) -> Res {
        self.emit(
            || json!({ "approaches": approaches }),
            || {
                for (i, a) in approaches.iter().enumerate() {
                    println!("{}. {}", i + 1, a.name);
                    if !a.description.is_empty() {
                        println!("   {}", a.description);
                    }
                    for line in a.guidelines.lines().filter(|l| !l.trim().is_empty()) {
                        println!("   - {}", line.trim().trim_start_matches("- "));
                    }
                }
            },
        )
    }

    pub fn list(&self, experiments: &[Experiment]) -> Res {
        self.emit(
            || json!({ "experiments": experiments }),
            || {
                if experiments.is_empty() {
                    println!("No experiments yet. Create one with `fanout new`.");
                    return;
                }
                for e in experiments {
                    println!(
                        "{}  {}  {:<9} {}  {}",
                        short_id(&e.id),
                        &e.created_at[..e.created_at.len().min(16)],
                        status_text(&e.status),
                        e.repo_root.display(),
                        first_line(&e.task)
                    );
                }
            },
        )
    }

    pub fn show(&self, view: &ExperimentView) -> Res {
        self.emit(
            || view_json(view),
            || {
                let e = &view.experiment;
                println!("Experiment  {} ({})", e.id, status_text(&e.status));
                println!("Repository  {}", e.repo_root.display());
                println!("Task        {}", first_line(&e.task));
                println!(
                    "Base        {}{}",
                    &e.base_commit[..8],
                    if e.base_ref.is_some() {
                        " (HEAD + uncommitted changes)"
                    } else {
                        ""
                    }
                );
                println!(
                    "Target      {}",
                    e.target_branch.as_deref().unwrap_or("(detached HEAD)")
                );
                variants_table(view, true);
            },
        )
    }

    pub fn commits(&self, results: &[CommitResult]) -> Res {
        self.emit(
            || json!({ "commits": results }),
            || {
                for r in results {
                    match &r.commit {
                        Some(c) => println!("variant {}: committed {}", r.index, &c[..8]),
                        None => println!("variant {}: nothing to commit", r.index),
                    }
                }
            },
        )
    }

    pub fn stat(&self, files: &[FileChange]) -> Res {
        self.emit(|| json!({ "files": files }), || print_stat(files))
    }

    pub fn file_diff(&self, path: &str, diff: &FileDiff) -> Res {
        self.emit(
            || json!({ "path": path, "diff": diff }),
            || print_file_diff(path, diff),
        )
    }

    pub fn full_diff(&self, files: &[(FileChange, FileDiff)]) -> Res {
        self.emit(
            || {
                let files: Vec<Value> = files
                    .iter()
                    .map(|(f, d)| json!({ "file": f, "diff": d }))
                    .collect();
                json!({ "files": files })
            },
            || {
                if files.is_empty() {
                    println!("No changes.");
                }
                for (f, d) in files {
                    print_file_diff(&f.path, d);
                }
            },
        )
    }

    pub fn similarity(&self, view: &ExperimentView, matrix: &[Vec<f64>]) -> Res {
        self.emit(
            || {
                let names: Vec<&str> = view.variants.iter().map(|v| v.name.as_str()).collect();
                json!({ "variants": names, "matrix": matrix })
            },
            || {
                for v in &view.variants {
                    println!("{}  {}", v.index, v.name);
                }
                print!("\n    ");
                for v in &view.variants {
                    print!("{:>6}", v.index);
                }
                println!();
                for (v, row) in view.variants.iter().zip(matrix) {
                    print!("{:>4}", v.index);
                    for x in row {
                        print!("{x:>6.2}");
                    }
                    println!();
                }
            },
        )
    }

    pub fn merge_preview(&self, p: &MergePreview) -> Res {
        self.emit(
            || {
                json!({
                    "commit": Value::Null,
                    "target": p.target,
                    "files": p.files,
                    "conflicts": p.conflicts,
                    "blocked_by_uncommitted": p.blocked_by_uncommitted,
                    "already_merged": p.already_merged,
                    "dry_run": true,
                })
            },
            || {
                println!("Merge into {} (now at {})", p.target, &p.target_head[..8]);
                if p.already_merged {
                    println!("Nothing to do: {} already has these changes.", p.target);
                }
                println!("{} file(s) would change:", p.files.len());
                for f in &p.files {
                    println!("  {f}");
                }
                if !p.conflicts.is_empty() {
                    println!(
                        "Conflicts ({}), so the merge would be refused:",
                        p.conflicts.len()
                    );
                    for c in &p.conflicts {
                        println!("  {c}");
                    }
                }
                if !p.blocked_by_uncommitted.is_empty() {
                    println!(
                        "Refused while these files have uncommitted changes in your checkout:"
                    );
                    for f in &p.blocked_by_uncommitted {
                        println!("  {f}");
                    }
                }
            },
        )
    }

    pub fn merged(&self, o: &MergeOutcome) -> Res {
        self.emit(
            || {
                json!({
                    "commit": o.commit,
                    "previous": o.previous,
                    "target": o.target,
                    "files": o.files,
                    "conflicts": Vec::<String>::new(),
                    "strategy": o.strategy,
                })
            },
            || {
                println!(
                    "Merged into {}: {} (was {}), {} file(s) changed.",
                    o.target,
                    &o.commit[..8],
                    &o.previous[..8],
                    o.files.len()
                );
                println!("Undo with `fanout undo-merge` while nothing is committed on top.");
            },
        )
    }

    pub fn undone(&self, m: &MergeRecord) -> Res {
        self.emit(
            || json!({ "target": m.target, "restored": m.previous, "undone_commit": m.commit }),
            || println!("{} is back at {}.", m.target, &m.previous[..8]),
        )
    }

    pub fn cleaned(&self, report: &CleanReport) -> Res {
        let r = &report.removed;
        self.emit(
            || json!(report),
            || {
                for a in &report.archived {
                    println!(
                        "archived  variant {} as tag {} ({})",
                        a.index,
                        a.tag,
                        &a.commit[..a.commit.len().min(12)]
                    );
                }
                for p in &r.removed {
                    println!("removed   {}", p.display());
                }
                for p in &r.missing_pruned {
                    println!("pruned    {} (already gone)", p.display());
                }
                for b in &r.branches_deleted {
                    println!("deleted   branch {b}");
                }
                for b in &r.branches_kept {
                    println!("kept      branch {b}");
                }
                for p in &r.kept_dirty {
                    println!(
                        "kept      {} (uncommitted changes; use --force to remove it anyway)",
                        p.display()
                    );
                }
                println!("freed     {}", human_bytes(report.freed_bytes));
            },
        )
    }

    pub fn disk(&self, variants: &[VariantDisk]) -> Res {
        self.emit(
            || json!(variants),
            || {
                for v in variants {
                    let size = v.bytes.map_or("gone".to_string(), human_bytes);
                    let work = match (v.merged, v.unmerged_commits) {
                        (true, _) => "merged".to_string(),
                        (false, 0) => "nothing unmerged".to_string(),
                        (false, n) => format!("{n} unmerged commit(s)"),
                    };
                    println!("{:>2}  {:<24} {:>10}  {work}", v.index, v.name, size);
                }
                let total: u64 = variants.iter().filter_map(|v| v.bytes).sum();
                println!("cleaning up frees about {}", human_bytes(total));
            },
        )
    }

    pub fn repo_settings(&self, view: &RepoSettingsView, exported: Option<&Path>) -> Res {
        self.emit(
            || {
                let mut doc = json!(view);
                doc["exported"] = json!(exported);
                doc
            },
            || {
                let s = &view.settings;
                let origin = if view.stored { "saved" } else { "defaults" };
                println!("repository     {} ({origin})", view.repo_root.display());
                let copy = if s.copy.is_empty() {
                    "nothing".to_string()
                } else {
                    s.copy.join(" ")
                };
                println!("copy           {copy}");
                println!(
                    "setup          {}",
                    s.setup_command.as_deref().unwrap_or("(none)")
                );
                println!("setup timeout  {} s", s.setup_timeout_secs);
                let network = if s.check_network { "on" } else { "off" };
                println!("check network  {network}");
                let detected: Vec<String> = view
                    .warm_detected
                    .iter()
                    .map(|d| format!("{} ({}, {})", d.path, d.ecosystem, human_bytes(d.bytes)))
                    .collect();
                let warm = match &s.warm {
                    None if detected.is_empty() => "nothing found to warm".to_owned(),
                    None => format!("{} (detected)", detected.join(", ")),
                    Some(list) if list.is_empty() => "off".to_owned(),
                    Some(list) => list.join(" "),
                };
                println!("warm           {warm}");
                if let Some(path) = exported {
                    println!("exported to    {}", path.display());
                }
            },
        )
    }
}

/// Bytes in the largest binary unit that keeps the number at least 1.
fn human_bytes(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KiB", "MiB", "GiB", "TiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit < UNITS.len() - 1 {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn view_json(view: &ExperimentView) -> Value {
    let mut doc = json!(view.experiment);
    doc["variants"] = json!(view.variants);
    doc
}

fn variants_table(view: &ExperimentView, with_status: bool) {
    for v in &view.variants {
        if with_status {
            println!(
                "  {}  {:<24} {:<10} {}  {}",
                v.index,
                v.name,
                status_text(&v.status),
                v.branch,
                v.worktree.display()
            );
        } else {
            println!(
                "  {}  {:<24} {}  {}",
                v.index,
                v.name,
                v.branch,
                v.worktree.display()
            );
        }
    }
}

fn status_text(status: &impl serde::Serialize) -> String {
    serde_json::to_value(status)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or_default()
}

fn print_stat(files: &[FileChange]) {
    if files.is_empty() {
        println!("No changes.");
        return;
    }
    let (mut added, mut removed) = (0, 0);
    for f in files {
        let letter = match f.status {
            FileStatus::Added => 'A',
            FileStatus::Modified => 'M',
            FileStatus::Deleted => 'D',
            FileStatus::Renamed => 'R',
            FileStatus::TypeChange => 'T',
        };
        let name = match &f.old_path {
            Some(old) => format!("{old} → {}", f.path),
            None => f.path.clone(),
        };
        if f.binary {
            println!("{letter}  {name}  (binary)");
        } else {
            println!("{letter}  {name}  +{} -{}", f.added, f.removed);
        }
        added += f.added;
        removed += f.removed;
    }
    println!("{} file(s) changed, +{added} -{removed}", files.len());
}

fn print_file_diff(path: &str, diff: &FileDiff) {
    println!("── {path}");
    match diff {
        FileDiff::Binary { old_size, new_size } => {
            println!("binary file: {old_size} → {new_size} bytes")
        }
        FileDiff::TooLarge {
            old_size, new_size, ..
        } => println!("too large to show: {old_size} → {new_size} bytes"),
        FileDiff::Patch { hunks, .. } => print_hunks(hunks),
    }
}

fn print_hunks(hunks: &[Hunk]) {
    for h in hunks {
        println!(
            "@@ -{},{} +{},{} @@",
            h.old_start, h.old_lines, h.new_start, h.new_lines
        );
        for line in &h.lines {
            let mark = match line.kind {
                LineKind::Context => ' ',
                LineKind::Added => '+',
                LineKind::Removed => '-',
            };
            println!("{mark}{}", line.text);
            if line.no_newline_at_end {
                println!("\\ No newline at end of file");
            }
        }
    }
}
