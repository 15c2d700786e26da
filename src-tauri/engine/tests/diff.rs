//! Scenario tests for the diff module on real repositories: counts against
//! `git diff --numstat`, rendered patches that rebuild the new file, split
//! rows, limits, deadlines and similarity.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use common::Fixture;
use fanout_engine::diff::{
    self, changed_files, file_diff, similarity, similarity_matrix, split_rows, DiffOptions,
    FileChange, FileDiff, FileStatus, Gap, Hunk, LineKind, SplitRow,
};

fn open(fx: &Fixture) -> git2::Repository {
    git2::Repository::open(&fx.root).expect("fixture repository opens")
}

/// What git says changed: path → (old path, added, removed, binary, status letter).
type GitView = BTreeMap<String, (Option<String>, usize, usize, bool, char)>;

/// Parses `git diff --numstat -M -z` and `--name-status -M -z` for two commits.
fn git_view(fx: &Fixture, from: &str, to: &str) -> GitView {
    let numstat = fx.git(&["diff", "--numstat", "-M", "-z", from, to]);
    let mut tokens = numstat.split('\0').filter(|t| !t.is_empty());
    let mut view = GitView::new();
    while let Some(tok) = tokens.next() {
        let mut parts = tok.splitn(3, '\t');
        let (a, r, path) = (
            parts.next().unwrap(),
            parts.next().unwrap(),
            parts.next().unwrap(),
        );
        let (old, path) = if path.is_empty() {
            let old = tokens.next().unwrap().to_string();
            (Some(old), tokens.next().unwrap().to_string())
        } else {
            (None, path.to_string())
        };
        let binary = a == "-";
        let n = |s: &str| {
            if binary {
                0
            } else {
                s.parse().expect("numstat count")
            }
        };
        view.insert(path, (old, n(a), n(r), binary, '?'));
    }
    let status = fx.git(&["diff", "--name-status", "-M", "-z", from, to]);
    let mut tokens = status.split('\0').filter(|t| !t.is_empty());
    while let Some(letter) = tokens.next() {
        let letter = letter.chars().next().unwrap();
        if letter == 'R' {
            tokens.next();
        }
        let path = tokens.next().unwrap();
        view.get_mut(path)
            .expect("name-status and numstat list the same files")
            .4 = letter;
    }
    view
}

fn letter(status: FileStatus) -> char {
    match status {
        FileStatus::Added => 'A',
        FileStatus::Modified => 'M',
        FileStatus::Deleted => 'D',
        FileStatus::Renamed => 'R',
        FileStatus::TypeChange => 'T',
    }
}

fn engine_view(files: &[FileChange]) -> GitView {
    files
        .iter()
        .map(|f| {
            let v = (
                f.old_path.clone(),
                f.added,
                f.removed,
                f.binary,
                letter(f.status),
            );
            (f.path.clone(), v)
        })
        .collect()
}

/// Rebuilds the new side from the old side and a patch's hunks; a correct
/// patch gives back the new file byte for byte.
fn apply(old: &[u8], hunks: &[Hunk]) -> Vec<u8> {
    let old_lines: Vec<&[u8]> = old.split_inclusive(|b| *b == b'\n').collect();
    let mut out = Vec::new();
    let mut cursor = 0;
    for h in hunks {
        let begin = if h.old_lines == 0 {
            h.old_start
        } else {
            h.old_start - 1
        } as usize;
        assert!(begin >= cursor, "hunks are in order and do not overlap");
        old_lines[cursor..begin]
            .iter()
            .for_each(|l| out.extend_from_slice(l));
        cursor = begin;
        for line in &h.lines {
            match line.kind {
                LineKind::Context | LineKind::Removed => {
                    let raw = old_lines[cursor];
                    let text = String::from_utf8_lossy(raw.strip_suffix(b"\n").unwrap_or(raw));
                    assert_eq!(line.text, text, "a context/removed line shows the old line");
                    assert_eq!(
                        line.old_line,
                        Some(cursor as u32 + 1),
                        "old line numbers count from 1"
                    );
                    if line.kind == LineKind::Context {
                        out.extend_from_slice(raw);
                    }
                    cursor += 1;
                }
                LineKind::Added => {
                    out.extend_from_slice(line.text.as_bytes());
                    if !line.no_newline_at_end {
                        out.push(b'\n');
                    }
                }
            }
        }
    }
    old_lines[cursor..]
        .iter()
        .for_each(|l| out.extend_from_slice(l));
    out
}

fn blob_at(fx: &Fixture, rev: &str, path: &str) -> Vec<u8> {
    let out = common::git_command(&fx.root, &["show", &format!("{rev}:{path}")])
        .output()
        .expect("git show runs");
    if out.status.success() {
        out.stdout
    } else {
        Vec::new()
    }
}

/// For every text file: the rendered patch counts what numstat counts, and
/// applying it to the old side gives the new side.
fn check_patches(fx: &Fixture, from: &str, to: &str) {
    let repo = open(fx);
    for f in changed_files(&repo, from, to).expect("changed files") {
        if f.binary {
            continue;
        }
        let diff = file_diff(&repo, from, to, &f.path, &DiffOptions::default()).expect("file diff");
        let FileDiff::Patch {
            hunks,
            gaps,
            added,
            removed,
            timed_out,
        } = diff
        else {
            panic!(
                "{} is text and small, so it renders as a patch: {diff:?}",
                f.path
            );
        };
        assert!(!timed_out, "small files finish well within the deadline");
        assert_eq!(
            (added, removed),
            (f.added, f.removed),
            "{}: patch counts equal numstat",
            f.path
        );
        let old_path = f.old_path.as_deref().unwrap_or(&f.path);
        let old = blob_at(fx, from, old_path);
        let new = if f.status == FileStatus::Deleted {
            Vec::new()
        } else {
            blob_at(fx, to, &f.path)
        };
        assert_eq!(
            String::from_utf8_lossy(&apply(&old, &hunks)),
            String::from_utf8_lossy(&new),
            "{}: the patch rebuilds the new file (as lossy UTF-8, as it is shown)",
            f.path
        );
        if !hunks.is_empty() {
            assert_eq!(
                unfold(&hunks, &gaps),
                String::from_utf8_lossy(&new),
                "{}: the gaps and the hunks, unfolded, are the whole new file",
                f.path
            );
        }
    }
}

/// The new file as a viewer shows it with every fold expanded: gap i, then
/// hunk i's context and added lines, then the last gap. Checks that each gap
/// is numbered where the lines before it end, on both sides.
fn unfold(hunks: &[Hunk], gaps: &[Gap]) -> String {
    assert_eq!(
        gaps.len(),
        hunks.len() + 1,
        "one gap before each hunk and one after the last"
    );
    let (mut out, mut old_n, mut new_n) = (String::new(), 0, 0);
    let mut push = |text: &str, eof: bool| {
        out.push_str(text);
        if !eof {
            out.push('\n');
        }
    };
    for (i, gap) in gaps.iter().enumerate() {
        assert_eq!(
            (gap.old_start, gap.new_start),
            (old_n + 1, new_n + 1),
            "gap {i} starts right after the lines before it"
        );
        for (k, text) in gap.lines.iter().enumerate() {
            push(text, gap.no_newline_at_end && k + 1 == gap.lines.len());
        }
        (old_n, new_n) = (
            old_n + gap.lines.len() as u32,
            new_n + gap.lines.len() as u32,
        );
        let Some(hunk) = hunks.get(i) else { break };
        for line in &hunk.lines {
            if line.kind != LineKind::Added {
                old_n += 1;
            }
            if line.kind != LineKind::Removed {
                new_n += 1;
                push(&line.text, line.no_newline_at_end);
            }
        }
    }
    out
}

fn lines(n: usize, tag: &str) -> String {
    (0..n)
        .map(|i| format!("{tag} line {i} with some words\n"))
        .collect()
}

/// A base and a variant covering every kind of change numstat distinguishes.
fn edge_case_commits() -> (Fixture, String, String) {
    let fx = Fixture::new();
    fx.write("src/modified.rs", lines(40, "mod"));
    fx.write("moved/exact.txt", lines(30, "exact"));
    fx.write("moved/edited.txt", lines(30, "edited"));
    fx.write("gone.txt", lines(5, "gone"));
    fx.write("bin/changed.bin", b"\x00\x01\x02binary\x00".as_slice());
    fx.write("crlf.txt", "one\r\ntwo\r\nthree\r\nfour\r\n");
    fx.write("to_crlf.txt", "a\nb\nc\n");
    fx.write("loses_newline.txt", "x\ny\nz\n");
    fx.write("gains_newline.txt", "x\ny\nz");
    fx.write(
        "latin1.txt",
        b"caf\xe9 au lait\nna\xefve\nplain\n".as_slice(),
    );
    fx.write("tabs.txt", "\tindented\n\t\tdeeper\nflat\n");
    fx.write("empty_then_full.txt", "");
    fx.write("full_then_empty.txt", "some\ncontent\n");
    fx.write("becomes_binary.dat", "just text\nfor now\n");
    fx.write("script.sh", "echo hi\n");
    #[cfg(unix)]
    std::os::unix::fs::symlink("src/modified.rs", fx.root.join("link")).expect("symlink");
    let base = fx.commit_all("base");

    let mut modified = lines(40, "mod");
    modified = modified
        .replace("mod line 7 with", "mod line SEVEN with")
        .replace("mod line 30 with some words\n", "");
    fx.write("src/modified.rs", modified + "appended\n");
    fx.remove("moved/exact.txt");
    fx.write("elsewhere/exact.txt", lines(30, "exact"));
    fx.remove("moved/edited.txt");
    fx.write(
        "renamed/edited.txt",
        lines(30, "edited").replace("edited line 3 with", "edited line three with"),
    );
    fx.remove("gone.txt");
    fx.write("new/added.txt", lines(3, "added"));
    fx.write("bin/changed.bin", b"\x00\x01\x03binary\x00more".as_slice());
    fx.write(
        "bin/new.png",
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR".as_slice(),
    );
    fx.write("crlf.txt", "one\r\nTWO\r\nthree\r\nfour\r\n");
    fx.write("to_crlf.txt", "a\r\nb\r\nc\r\n");
    fx.write("loses_newline.txt", "x\ny\nz");
    fx.write("gains_newline.txt", "x\ny\nz\n");
    fx.write(
        "latin1.txt",
        b"caf\xe9 noir\nna\xefve\nplain\n\xff\xfe\n".as_slice(),
    );
    fx.write("tabs.txt", "\tindented\n\t\tdeeper still\nflat\n\t\n");
    fx.write("empty_then_full.txt", "now\nfull\n");
    fx.write("full_then_empty.txt", "");
    fx.write(
        "becomes_binary.dat",
        b"just text\x00\nnot any more\n".as_slice(),
    );
    fx.write("new_empty.txt", "");
    fx.git(&["update-index", "--chmod=+x", "script.sh"]);
    #[cfg(unix)]
    {
        fx.remove("link");
        fx.write("link", "a file now\nwith two lines\n");
    }
    let variant = fx.commit_all("variant");
    (fx, base, variant)
}

#[test]
fn changed_files_match_git_numstat_and_name_status_on_edge_cases() {
    let (fx, base, variant) = edge_case_commits();
    let files = changed_files(&open(&fx), &base, &variant).expect("changed files");
    assert_eq!(
        engine_view(&files),
        git_view(&fx, &base, &variant),
        "paths, rename sources, counts, binary flags and statuses equal git's"
    );
    let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
    let mut sorted = paths.clone();
    sorted.sort();
    assert_eq!(paths, sorted, "the list is sorted by path");
    let renamed = files
        .iter()
        .filter(|f| f.status == FileStatus::Renamed)
        .count();
    assert_eq!(
        renamed, 2,
        "the exact and the edited rename are both detected"
    );
}

#[test]
fn changed_files_match_numstat_in_the_reverse_direction() {
    let (fx, base, variant) = edge_case_commits();
    let files = changed_files(&open(&fx), &variant, &base).expect("changed files");
    assert_eq!(
        engine_view(&files),
        git_view(&fx, &variant, &base),
        "additions become deletions and renames reverse, exactly as git reports"
    );
}

#[test]
fn rendered_patches_count_like_numstat_and_rebuild_the_new_file() {
    let (fx, base, variant) = edge_case_commits();
    check_patches(&fx, &base, &variant);
    check_patches(&fx, &variant, &base);
}

/// A small deterministic generator, so failures reproduce from the seed.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
}

fn random_text(rng: &mut Rng, vocab: &[&str], n: usize) -> Vec<String> {
    (0..n)
        .map(|_| vocab[rng.below(vocab.len())].to_string())
        .collect()
}

fn random_edit(rng: &mut Rng, vocab: &[&str], mut text: Vec<String>) -> Vec<String> {
    for _ in 0..rng.below(8) {
        let at = rng.below(text.len() + 1);
        match rng.below(3) {
            0 => text.insert(at, vocab[rng.below(vocab.len())].to_string()),
            1 if at < text.len() => {
                text.remove(at);
            }
            _ if at < text.len() => text[at] = format!("{} changed", text[at]),
            _ => {}
        }
    }
    text
}

fn join(text: &[String], trailing_newline: bool) -> String {
    let mut s = text.join("\n");
    if trailing_newline && !s.is_empty() {
        s.push('\n');
    }
    s
}

#[test]
fn random_line_edits_match_numstat_and_rebuild_the_new_file() {
    let vocab = [
        "a",
        "b",
        "c",
        "fn x() {",
        "}",
        "",
        "\tlet y = 1;",
        "return y;",
        "c\r",
    ];
    let fx = Fixture::new();
    let mut rng = Rng(0x5eed_1234_abcd_0042);
    let mut variants = Vec::new();
    for i in 0..80 {
        let n = rng.below(30);
        let text = random_text(&mut rng, &vocab, n);
        fx.write(&format!("f{i:02}.txt"), join(&text, rng.below(4) > 0));
        variants.push(text);
    }
    let base = fx.commit_all("random base");
    for (i, text) in variants.into_iter().enumerate() {
        let edited = random_edit(&mut rng, &vocab, text);
        fx.write(&format!("f{i:02}.txt"), join(&edited, rng.below(4) > 0));
    }
    let variant = fx.commit_all("random variant");
    let files = changed_files(&open(&fx), &base, &variant).expect("changed files");
    assert!(
        files.len() > 40,
        "most of the random files changed, so the test covers many cases"
    );
    assert_eq!(
        engine_view(&files),
        git_view(&fx, &base, &variant),
        "counts equal numstat"
    );
    check_patches(&fx, &base, &variant);
}

fn patch(diff: FileDiff) -> (Vec<Hunk>, usize, usize, bool) {
    match diff {
        FileDiff::Patch {
            hunks,
            added,
            removed,
            timed_out,
            ..
        } => (hunks, added, removed, timed_out),
        other => panic!("expected a patch, got {other:?}"),
    }
}

#[test]
fn file_diff_numbers_lines_with_context_and_emphasises_the_changed_word() {
    let fx = Fixture::new();
    fx.write("a.rs", lines(20, "x"));
    let base = fx.commit_all("base");
    fx.write(
        "a.rs",
        lines(20, "x").replace("x line 10 with some", "x line 10 with many"),
    );
    let variant = fx.commit_all("variant");
    let repo = open(&fx);
    let (hunks, added, removed, _) =
        patch(file_diff(&repo, &base, &variant, "a.rs", &DiffOptions::default()).unwrap());
    assert_eq!((added, removed), (1, 1), "one line replaced");
    assert_eq!(hunks.len(), 1);
    let h = &hunks[0];
    assert_eq!(
        (h.old_start, h.old_lines, h.new_start, h.new_lines),
        (8, 7, 8, 7),
        "3 lines of context each side, like git's @@ -8,7 +8,7 @@"
    );
    let removed = h
        .lines
        .iter()
        .find(|l| l.kind == LineKind::Removed)
        .unwrap();
    let added = h.lines.iter().find(|l| l.kind == LineKind::Added).unwrap();
    assert_eq!(
        (removed.old_line, removed.new_line),
        (Some(11), None),
        "line 10 of the text is the file's 11th"
    );
    assert_eq!((added.old_line, added.new_line), (None, Some(11)));
    fn span(l: &fanout_engine::diff::Line) -> Vec<&str> {
        l.emphasis
            .iter()
            .map(|&(s, e)| &l.text[s as usize..e as usize])
            .collect()
    }
    assert_eq!(
        span(removed),
        vec!["some"],
        "only the replaced word is emphasised"
    );
    assert_eq!(span(added), vec!["many"]);

    let zero = DiffOptions {
        context: 0,
        ..DiffOptions::default()
    };
    let (hunks, ..) = patch(file_diff(&repo, &base, &variant, "a.rs", &zero).unwrap());
    assert_eq!(
        hunks[0].lines.len(),
        2,
        "with no context only the changed lines are shown"
    );
}

#[test]
fn file_diff_carries_the_unchanged_lines_between_and_around_its_hunks() {
    let fx = Fixture::new();
    fx.write("a.txt", lines(40, "g"));
    let base = fx.commit_all("base");
    let edited = lines(40, "g")
        .replace("g line 9 with some", "g line 9 with many")
        .replace("g line 29 with some", "g line 29 with many");
    fx.write("a.txt", edited);
    let variant = fx.commit_all("variant");
    let FileDiff::Patch { hunks, gaps, .. } = file_diff(
        &open(&fx),
        &base,
        &variant,
        "a.txt",
        &DiffOptions::default(),
    )
    .unwrap() else {
        panic!("a small text file renders as a patch");
    };
    assert_eq!(hunks.len(), 2, "two changes 20 lines apart are two hunks");
    let shape: Vec<(u32, u32, usize)> = gaps
        .iter()
        .map(|g| (g.old_start, g.new_start, g.lines.len()))
        .collect();
    assert_eq!(
        shape,
        [(1, 1, 6), (14, 14, 13), (34, 34, 7)],
        "lines 1-6 precede the hunk at 7-13, 14-26 lie between it and 27-33, 34-40 follow"
    );
    assert_eq!(
        gaps[1].lines[0], "g line 13 with some words",
        "the text of line 14, without its newline"
    );
    assert!(!gaps[2].no_newline_at_end, "the file ends with a newline");
}

#[test]
fn file_diff_follows_renames_and_shows_deletions() {
    let fx = Fixture::new();
    fx.write("old/name.txt", lines(20, "r"));
    fx.write("doomed.txt", "bye\n");
    let base = fx.commit_all("base");
    fx.remove("old/name.txt");
    fx.write(
        "new/name.txt",
        lines(20, "r").replace("r line 5 with", "r line five with"),
    );
    fx.remove("doomed.txt");
    let variant = fx.commit_all("variant");
    let repo = open(&fx);
    let (hunks, added, removed, _) = patch(
        file_diff(
            &repo,
            &base,
            &variant,
            "new/name.txt",
            &DiffOptions::default(),
        )
        .unwrap(),
    );
    assert_eq!(
        (added, removed),
        (1, 1),
        "a rename is diffed against its old path, not as a new file"
    );
    assert!(hunks[0]
        .lines
        .iter()
        .any(|l| l.text == "r line 5 with some words"));
    let (_, added, removed, _) = patch(
        file_diff(
            &repo,
            &base,
            &variant,
            "doomed.txt",
            &DiffOptions::default(),
        )
        .unwrap(),
    );
    assert_eq!(
        (added, removed),
        (0, 1),
        "a deleted file is named by its old path"
    );
}

#[test]
fn binary_and_oversized_files_get_placeholders_unless_forced() {
    let fx = Fixture::new();
    fx.write("img.bin", b"\x00abc".as_slice());
    fx.write("big.txt", lines(100, "b"));
    let base = fx.commit_all("base");
    fx.write("img.bin", b"\x00abcdef".as_slice());
    fx.write("big.txt", lines(120, "b"));
    let variant = fx.commit_all("variant");
    let repo = open(&fx);
    let d = DiffOptions::default();
    assert_eq!(
        file_diff(&repo, &base, &variant, "img.bin", &d).unwrap(),
        FileDiff::Binary {
            old_size: 4,
            new_size: 7
        },
        "binary files show their sizes"
    );
    let small = DiffOptions {
        max_lines: 110,
        ..DiffOptions::default()
    };
    assert_eq!(
        file_diff(&repo, &base, &variant, "big.txt", &small).unwrap(),
        FileDiff::TooLarge {
            old_size: lines(100, "b").len() as u64,
            new_size: lines(120, "b").len() as u64,
            old_lines: 100,
            new_lines: 120
        },
        "a side over max_lines gives a placeholder"
    );
    let tiny = DiffOptions {
        max_bytes: 10,
        ..DiffOptions::default()
    };
    assert!(
        matches!(
            file_diff(&repo, &base, &variant, "big.txt", &tiny).unwrap(),
            FileDiff::TooLarge { .. }
        ),
        "a side over max_bytes too"
    );
    let force = DiffOptions {
        max_bytes: 10,
        force: true,
        ..DiffOptions::default()
    };
    let (_, added, ..) = patch(file_diff(&repo, &base, &variant, "big.txt", &force).unwrap());
    assert_eq!(added, 20, "forcing renders the oversized file");
    let (_, added, removed, _) =
        patch(file_diff(&repo, &base, &variant, "img.bin", &force).unwrap());
    assert_eq!(
        (added, removed),
        (1, 1),
        "forcing renders binary content as lossy text lines"
    );
}

#[test]
fn a_pathological_file_times_out_with_a_correct_coarser_patch() {
    let fx = Fixture::new();
    let mut rng = Rng(7);
    let old: Vec<String> = (0..4000)
        .map(|_| ["a", "b", "c", "d"][rng.below(4)].to_string())
        .collect();
    let new: Vec<String> = (0..4000)
        .map(|_| ["a", "b", "c", "d"][rng.below(4)].to_string())
        .collect();
    fx.write("noise.txt", join(&old, true));
    let base = fx.commit_all("base");
    fx.write("noise.txt", join(&new, true));
    let variant = fx.commit_all("variant");
    let opts = DiffOptions {
        deadline: Duration::ZERO,
        ..DiffOptions::default()
    };
    let (hunks, ..) = patch(file_diff(&open(&fx), &base, &variant, "noise.txt", &opts).unwrap());
    let timed_out = matches!(
        file_diff(&open(&fx), &base, &variant, "noise.txt", &opts).unwrap(),
        FileDiff::Patch {
            timed_out: true,
            ..
        }
    );
    assert!(timed_out, "a diff past its deadline says so");
    assert_eq!(
        apply(join(&old, true).as_bytes(), &hunks),
        join(&new, true).into_bytes(),
        "even cut short, the patch turns the old file into the new one"
    );
}

#[test]
fn split_rows_pair_removed_with_added_lines_and_keep_context_on_both_sides() {
    let fx = Fixture::new();
    fx.write("s.txt", "keep\nold one\nold two\nkeep too\n");
    let base = fx.commit_all("base");
    fx.write("s.txt", "keep\nnew one\nnew two\nnew three\nkeep too\n");
    let variant = fx.commit_all("variant");
    let (hunks, ..) = patch(
        file_diff(
            &open(&fx),
            &base,
            &variant,
            "s.txt",
            &DiffOptions::default(),
        )
        .unwrap(),
    );
    let rows = split_rows(&hunks);
    let show = |side: &Option<fanout_engine::diff::Line>| side.as_ref().map(|l| l.text.clone());
    let summary: Vec<(Option<String>, Option<String>)> = rows
        .iter()
        .filter_map(|r| match r {
            SplitRow::Line { left, right } => Some((show(left), show(right))),
            SplitRow::HunkHeader { .. } => None,
        })
        .collect();
    let s = |t: &str| Some(t.to_string());
    assert!(
        matches!(
            rows[0],
            SplitRow::HunkHeader {
                old_start: 1,
                old_lines: 4,
                new_start: 1,
                new_lines: 5
            }
        ),
        "a header row starts each hunk"
    );
    assert_eq!(
        summary,
        vec![
            (s("keep"), s("keep")),
            (s("old one"), s("new one")),
            (s("old two"), s("new two")),
            (None, s("new three")),
            (s("keep too"), s("keep too")),
        ],
        "removed lines sit left of the added lines they were replaced by; the extra added line has a gap on the left"
    );
}

#[test]
fn similarity_is_one_for_identical_changes_zero_for_disjoint_and_between_otherwise() {
    let fx = Fixture::new();
    fx.write("a.txt", lines(10, "a"));
    fx.write("b.txt", lines(10, "b"));
    let base = fx.commit_all("base");
    let branch = |name: &str, files: &[(&str, String)]| {
        fx.git(&["checkout", "-q", "-b", name, &base]);
        files.iter().for_each(|(p, c)| fx.write(p, c));
        fx.commit_all(name)
    };
    let edit_a = lines(10, "a").replace("a line 2 with", "a line TWO with");
    let v1 = branch("v1", &[("a.txt", edit_a.clone())]);
    let v2 = branch("v2", &[("a.txt", edit_a.clone())]);
    let v3 = branch(
        "v3",
        &[(
            "b.txt",
            lines(10, "b").replace("b line 4 with", "b line FOUR with"),
        )],
    );
    let v4 = branch(
        "v4",
        &[
            ("a.txt", edit_a),
            (
                "b.txt",
                lines(10, "b").replace("b line 4 with", "b line FOUR with"),
            ),
        ],
    );
    let repo = open(&fx);
    assert_eq!(
        similarity(&repo, &base, &v1, &v2).unwrap(),
        1.0,
        "the same change made twice is identical"
    );
    assert_eq!(
        similarity(&repo, &base, &v1, &v3).unwrap(),
        0.0,
        "changes to different files share nothing"
    );
    let half = similarity(&repo, &base, &v1, &v4).unwrap();
    assert!(
        (half - 0.5).abs() < 1e-9,
        "v4 is v1's change plus as much again: {half}"
    );
    assert_eq!(
        similarity(&repo, &base, &base, &base).unwrap(),
        1.0,
        "two variants with no changes are alike"
    );
    let names: Vec<String> = [&v1, &v2, &v3, &v4].iter().map(|s| s.to_string()).collect();
    let m = similarity_matrix(&repo, &base, &names).unwrap();
    for i in 0..4 {
        assert_eq!(m[i][i], 1.0, "the diagonal is 1");
        for j in 0..4 {
            assert_eq!(m[i][j], m[j][i], "the matrix is symmetric");
            assert_eq!(
                m[i][j],
                similarity(&repo, &base, &names[i], &names[j]).unwrap(),
                "each cell is the pairwise similarity"
            );
        }
    }
}

#[test]
fn bad_revisions_and_unchanged_paths_give_clear_errors() {
    let fx = Fixture::new();
    let head = fx.head();
    let repo = open(&fx);
    let err = changed_files(&repo, "no-such-branch", &head).unwrap_err();
    assert_eq!(err.code(), "diff.bad_revision");
    assert!(
        err.to_string().contains("no-such-branch"),
        "the message names the bad revision: {err}"
    );
    let err = file_diff(&repo, &head, &head, "README.md", &DiffOptions::default()).unwrap_err();
    assert_eq!(
        err.code(),
        "diff.no_such_file",
        "an unchanged file has no diff"
    );
    assert!(
        err.to_string().contains("README.md"),
        "the message names the file: {err}"
    );
    let tree = fx.git(&["rev-parse", "HEAD^{tree}"]);
    let err = changed_files(&repo, &tree, &head).unwrap_err();
    assert_eq!(err.code(), "diff.bad_revision", "a tree is not a commit");
}

#[test]
fn render_all_equals_changed_files_then_file_diff() {
    let (fx, base, variant) = edge_case_commits();
    let repo = open(&fx);
    let opts = DiffOptions::default();
    let all = diff::render_all(&repo, &base, &variant, &opts).expect("render all");
    let files = changed_files(&repo, &base, &variant).unwrap();
    assert_eq!(
        all.iter().map(|(c, _)| c.clone()).collect::<Vec<_>>(),
        files,
        "the same file list and counts"
    );
    for (change, rendered) in &all {
        assert_eq!(
            rendered,
            &file_diff(&repo, &base, &variant, &change.path, &opts).unwrap(),
            "{}: the same rendering",
            change.path
        );
    }
}

#[test]
fn results_serialize_with_snake_case_kinds() {
    let json = serde_json::to_value(FileDiff::Binary {
        old_size: 1,
        new_size: 2,
    })
    .unwrap();
    assert_eq!(
        json,
        serde_json::json!({"kind": "binary", "old_size": 1, "new_size": 2})
    );
    let json = serde_json::to_value(FileStatus::TypeChange).unwrap();
    assert_eq!(json, "type_change", "enum values are snake_case for the UI");
}
