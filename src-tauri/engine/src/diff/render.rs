//! One file's patch as the UI shows it: hunks of numbered lines with
//! word-level emphasis, from a `similar` line diff that has a deadline.

use std::collections::HashMap;
use std::time::Instant;

use git2::Repository;
use serde::Serialize;
use similar::algorithms::{myers, DiffHook};
use similar::{group_diff_ops, DiffOp};

use super::{blob, content, DiffError, DiffOptions, Entry};

/// git's rule: a NUL byte in the first 8000 bytes makes a file binary.
const BINARY_PROBE: usize = 8000;
/// Paired lines sharing less than this fraction of their bytes are shown as
/// wholly changed: emphasising nearly everything would only add noise.
const MIN_EMPHASIS_RATIO: f64 = 0.4;
/// Lines longer than this are not word-diffed (minified files, data blobs).
const MAX_EMPHASIS_LINE: usize = 10_000;

#[derive(Serialize, Clone, Copy, Debug, PartialEq, Eq, ts_rs::TS)]
#[serde(rename_all = "snake_case")]
pub enum LineKind {
    Context,
    Added,
    Removed,
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq, ts_rs::TS)]
pub struct Line {
    pub kind: LineKind,
    pub old_line: Option<u32>,
    pub new_line: Option<u32>,
    /// The line without its trailing newline (a CR before it is kept); lossy UTF-8.
    pub text: String,
    /// Byte ranges `[start, end)` in `text` that changed (word level).
    pub emphasis: Vec<(u32, u32)>,
    pub no_newline_at_end: bool,
}

#[derive(Serialize, Clone, Debug, PartialEq, Eq, ts_rs::TS)]
pub struct Hunk {
    pub old_start: u32,
    pub old_lines: u32,
    pub new_start: u32,
    pub new_lines: u32,
    pub lines: Vec<Line>,
}

/// A run of unchanged lines outside the hunks, so a viewer can fold it and
/// unfold it without asking again. Both sides hold the same text there.
#[derive(Serialize, Clone, Debug, PartialEq, Eq, ts_rs::TS)]
pub struct Gap {
    /// The first line's number on each side (1-based); for an empty gap, the
    /// number the next line would have.
    pub old_start: u32,
    pub new_start: u32,
    /// Each line without its newline; lossy UTF-8, as in [`Line::text`].
    pub lines: Vec<String>,
    /// The file's last line is in this gap and has no newline.
    pub no_newline_at_end: bool,
}

#[derive(Serialize, Clone, Debug, PartialEq, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FileDiff {
    Binary {
        old_size: u64,
        new_size: u64,
    },
    TooLarge {
        old_size: u64,
        new_size: u64,
        old_lines: usize,
        new_lines: usize,
    },
    Patch {
        hunks: Vec<Hunk>,
        /// The unchanged lines before each hunk and, last, after the final
        /// one: `hunks.len() + 1` gaps (some empty), or none when there are
        /// no hunks. Together with the hunks they are the whole new file.
        gaps: Vec<Gap>,
        added: usize,
        removed: usize,
        timed_out: bool,
    },
}

impl FileDiff {
    /// Both sides' sizes in bytes, where the diff knows them (not a patch).
    pub fn sizes(&self) -> (u64, u64) {
        match self {
            FileDiff::Binary { old_size, new_size }
            | FileDiff::TooLarge {
                old_size, new_size, ..
            } => (*old_size, *new_size),
            FileDiff::Patch { .. } => (0, 0),
        }
    }
}

/// Renders one changed file. Binary files give sizes only and oversized ones
/// sizes and line counts, unless `opts.force`; forced binary content is shown
/// as lossy UTF-8 text lines.
pub(crate) fn render_entry(
    repo: &Repository,
    entry: &Entry,
    opts: &DiffOptions,
) -> Result<FileDiff, DiffError> {
    let old_blob = blob(repo, entry.old_id)?;
    let new_blob = blob(repo, entry.new_id)?;
    Ok(render_bytes(content(&old_blob), content(&new_blob), opts))
}

pub(crate) fn render_bytes(old: &[u8], new: &[u8], opts: &DiffOptions) -> FileDiff {
    let (old_size, new_size) = (old.len() as u64, new.len() as u64);
    if !opts.force && (is_binary(old) || is_binary(new)) {
        return FileDiff::Binary { old_size, new_size };
    }
    let old_lines = split_lines(old);
    let new_lines = split_lines(new);
    let too_large = old_size.max(new_size) > opts.max_bytes
        || old_lines.len().max(new_lines.len()) > opts.max_lines;
    if too_large && !opts.force {
        return FileDiff::TooLarge {
            old_size,
            new_size,
            old_lines: old_lines.len(),
            new_lines: new_lines.len(),
        };
    }
    render_lines(&old_lines, &new_lines, opts)
}

fn is_binary(content: &[u8]) -> bool {
    content[..content.len().min(BINARY_PROBE)].contains(&0)
}

/// Lines with their terminating `\n` (the last one may have none), as git
/// splits them: a CR is part of the line, so CRLF and LF lines differ.
fn split_lines(content: &[u8]) -> Vec<&[u8]> {
    content.split_inclusive(|b| *b == b'\n').collect()
}

fn render_lines(old: &[&[u8]], new: &[&[u8]], opts: &DiffOptions) -> FileDiff {
    let deadline = Instant::now() + opts.deadline;
    let (old_ids, new_ids) = intern(old, new);
    let ops = line_ops(&old_ids, &new_ids, deadline);
    let mut timed_out = Instant::now() >= deadline;
    let mut hunks = Vec::new();
    let mut spans = Vec::new();
    for group in group_diff_ops(ops, opts.context) {
        if group.iter().all(|op| matches!(op, DiffOp::Equal { .. })) {
            continue;
        }
        spans.push(Span::of(&group));
        let mut builder = HunkBuilder {
            old,
            new,
            emphasis: opts.emphasis,
            deadline,
            timed_out: false,
            lines: Vec::new(),
        };
        group.iter().for_each(|op| builder.op(op));
        timed_out |= builder.timed_out;
        hunks.push(builder.finish(&group));
    }
    let count = |kind| {
        hunks
            .iter()
            .flat_map(|h: &Hunk| &h.lines)
            .filter(|l| l.kind == kind)
            .count()
    };
    FileDiff::Patch {
        added: count(LineKind::Added),
        removed: count(LineKind::Removed),
        gaps: gaps(old, &spans),
        hunks,
        timed_out,
    }
}

/// Where a hunk starts and ends on both sides (0-based, end exclusive).
struct Span {
    old: std::ops::Range<usize>,
    new_end: usize,
}

impl Span {
    fn of(group: &[DiffOp]) -> Span {
        let (first, last) = (&group[0], &group[group.len() - 1]);
        Span {
            old: first.old_range().start..last.old_range().end,
            new_end: last.new_range().end,
        }
    }
}

/// The unchanged lines around the hunks. Between two hunks every op is equal,
/// so a gap has the same length on both sides and its text is the old side's.
fn gaps(old: &[&[u8]], spans: &[Span]) -> Vec<Gap> {
    if spans.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::with_capacity(spans.len() + 1);
    let (mut old_at, mut new_at) = (0, 0);
    let ends = spans
        .iter()
        .map(|s| (s.old.start, Some(s)))
        .chain([(old.len(), None)]);
    for (end, span) in ends {
        let raw = &old[old_at..end];
        out.push(Gap {
            old_start: num(old_at + 1),
            new_start: num(new_at + 1),
            lines: raw
                .iter()
                .map(|l| line(LineKind::Context, l).text)
                .collect(),
            no_newline_at_end: raw.last().is_some_and(|l| !l.ends_with(b"\n")),
        });
        if let Some(s) = span {
            (old_at, new_at) = (s.old.end, s.new_end);
        }
    }
    out
}

/// Replaces each distinct line by a small integer, so the diff compares and
/// hashes integers instead of whole lines.
fn intern(old: &[&[u8]], new: &[&[u8]]) -> (Vec<u32>, Vec<u32>) {
    let mut ids: HashMap<&[u8], u32> = HashMap::with_capacity(old.len() + new.len());
    let mut id_of = |line| {
        let next = ids.len() as u32;
        *ids.entry(line).or_insert(next)
    };
    let old_ids = old.iter().map(|l| id_of(l)).collect();
    let new_ids = new.iter().map(|l| id_of(l)).collect();
    (old_ids, new_ids)
}

/// The line-level edit script. Lines that occur on one side only can never be
/// part of the common subsequence, so, as git's xdiff does, they are set aside
/// before Myers runs: the longest common subsequence (and so every count) is
/// unchanged, and the search only spans lines that could match.
fn line_ops(old: &[u32], new: &[u32], deadline: Instant) -> Vec<DiffOp> {
    let ids = old.iter().chain(new).max().map_or(0, |&m| m as usize + 1);
    let (mut in_old, mut in_new) = (vec![false; ids], vec![false; ids]);
    old.iter().for_each(|&id| in_old[id as usize] = true);
    new.iter().for_each(|&id| in_new[id as usize] = true);
    let old_keep: Vec<usize> = (0..old.len())
        .filter(|&i| in_new[old[i] as usize])
        .collect();
    let new_keep: Vec<usize> = (0..new.len())
        .filter(|&i| in_old[new[i] as usize])
        .collect();
    let old_kept: Vec<u32> = old_keep.iter().map(|&i| old[i]).collect();
    let new_kept: Vec<u32> = new_keep.iter().map(|&i| new[i]).collect();
    let mut runs = EqualRuns::default();
    let (old_n, new_n) = (old_kept.len(), new_kept.len());
    let Ok(()) = myers::diff_deadline(
        &mut runs,
        &old_kept,
        0..old_n,
        &new_kept,
        0..new_n,
        Some(deadline),
    );
    let mut ops = Vec::new();
    let (mut o, mut n) = (0, 0);
    for &(oc, nc, len) in &runs.0 {
        for k in 0..len {
            let (oi, ni) = (old_keep[oc + k], new_keep[nc + k]);
            push_change(&mut ops, o..oi, n..ni);
            push_equal(&mut ops, oi, ni);
            (o, n) = (oi + 1, ni + 1);
        }
    }
    push_change(&mut ops, o..old.len(), n..new.len());
    ops
}

fn push_change(ops: &mut Vec<DiffOp>, old: std::ops::Range<usize>, new: std::ops::Range<usize>) {
    let (old_index, old_len, new_index, new_len) = (old.start, old.len(), new.start, new.len());
    match (old_len, new_len) {
        (0, 0) => {}
        (_, 0) => ops.push(DiffOp::Delete {
            old_index,
            old_len,
            new_index,
        }),
        (0, _) => ops.push(DiffOp::Insert {
            old_index,
            new_index,
            new_len,
        }),
        _ => ops.push(DiffOp::Replace {
            old_index,
            old_len,
            new_index,
            new_len,
        }),
    }
}

fn push_equal(ops: &mut Vec<DiffOp>, old_index: usize, new_index: usize) {
    if let Some(DiffOp::Equal {
        old_index: o,
        new_index: n,
        len,
    }) = ops.last_mut()
    {
        if *o + *len == old_index && *n + *len == new_index {
            *len += 1;
            return;
        }
    }
    ops.push(DiffOp::Equal {
        old_index,
        new_index,
        len: 1,
    });
}

struct HunkBuilder<'a> {
    old: &'a [&'a [u8]],
    new: &'a [&'a [u8]],
    emphasis: bool,
    deadline: Instant,
    timed_out: bool,
    lines: Vec<Line>,
}

impl HunkBuilder<'_> {
    fn op(&mut self, op: &DiffOp) {
        let (_, old_range, new_range) = op.as_tag_tuple();
        if let DiffOp::Equal { .. } = op {
            for (o, n) in old_range.zip(new_range) {
                let mut line = line(LineKind::Context, self.old[o]);
                (line.old_line, line.new_line) = (Some(num(o + 1)), Some(num(n + 1)));
                self.lines.push(line);
            }
            return;
        }
        let mut removed: Vec<Line> = old_range
            .map(|o| {
                let mut line = line(LineKind::Removed, self.old[o]);
                line.old_line = Some(num(o + 1));
                line
            })
            .collect();
        let mut added: Vec<Line> = new_range
            .map(|n| {
                let mut line = line(LineKind::Added, self.new[n]);
                line.new_line = Some(num(n + 1));
                line
            })
            .collect();
        if self.emphasis {
            self.emphasize(&mut removed, &mut added);
        }
        self.lines.append(&mut removed);
        self.lines.append(&mut added);
    }

    /// Within a change block the i-th removed line is compared with the i-th
    /// added one, the same pairing the split view shows side by side.
    fn emphasize(&mut self, removed: &mut [Line], added: &mut [Line]) {
        for (r, a) in removed.iter_mut().zip(added.iter_mut()) {
            if Instant::now() >= self.deadline {
                self.timed_out = true;
                break;
            }
            (r.emphasis, a.emphasis) = word_emphasis(&r.text, &a.text, self.deadline);
        }
    }

    /// The header follows git: a side with no lines starts at the line before.
    fn finish(self, group: &[DiffOp]) -> Hunk {
        let (first, last) = (&group[0], &group[group.len() - 1]);
        let old_lines = last.old_range().end - first.old_range().start;
        let new_lines = last.new_range().end - first.new_range().start;
        let start = |begin: usize, len: usize| if len == 0 { begin } else { begin + 1 };
        Hunk {
            old_start: num(start(first.old_range().start, old_lines)),
            old_lines: num(old_lines),
            new_start: num(start(first.new_range().start, new_lines)),
            new_lines: num(new_lines),
            lines: self.lines,
        }
    }
}

fn line(kind: LineKind, raw: &[u8]) -> Line {
    let no_newline_at_end = !raw.ends_with(b"\n");
    let body = raw.strip_suffix(b"\n").unwrap_or(raw);
    Line {
        kind,
        old_line: None,
        new_line: None,
        text: String::from_utf8_lossy(body).into_owned(),
        emphasis: Vec::new(),
        no_newline_at_end,
    }
}

/// Line numbers beyond u32 would need a 4-billion-line file, which the size
/// limits refuse long before; saturate rather than wrap.
fn num(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

type Ranges = Vec<(u32, u32)>;

/// The byte ranges that differ between two paired lines, diffed by word
/// (runs of letters/digits/underscore, runs of whitespace, single other
/// characters). Empty on both sides when the lines are too different for
/// emphasis to help, or too long to diff cheaply.
pub(crate) fn word_emphasis(old: &str, new: &str, deadline: Instant) -> (Ranges, Ranges) {
    if old.len().max(new.len()) > MAX_EMPHASIS_LINE {
        return (Vec::new(), Vec::new());
    }
    let old_words = words(old);
    let new_words = words(new);
    let mut runs = EqualRuns::default();
    let (old_n, new_n) = (old_words.len(), new_words.len());
    let Ok(()) = myers::diff_deadline(
        &mut runs,
        &old_words,
        0..old_n,
        &new_words,
        0..new_n,
        Some(deadline),
    );
    let (old_at, new_at) = (offsets(&old_words), offsets(&new_words));
    let same: usize = runs
        .0
        .iter()
        .map(|&(o, _, len)| old_at[o + len] - old_at[o])
        .sum();
    let total = old.len() + new.len();
    if total == 0 || (2 * same) as f64 / (total as f64) < MIN_EMPHASIS_RATIO {
        return (Vec::new(), Vec::new());
    }
    // Whatever lies between two shared runs changed; a final empty run at
    // both ends closes the last gap.
    let mut old_ranges = Vec::new();
    let mut new_ranges = Vec::new();
    let (mut o_done, mut n_done) = (0, 0);
    for &(o, n, len) in runs.0.iter().chain([(old_n, new_n, 0)].iter()) {
        push_range(&mut old_ranges, &old_at, o_done..o);
        push_range(&mut new_ranges, &new_at, n_done..n);
        (o_done, n_done) = (o + len, n + len);
    }
    (old_ranges, new_ranges)
}

/// The runs of words both lines share, as (old index, new index, length).
#[derive(Default)]
struct EqualRuns(Vec<(usize, usize, usize)>);

impl DiffHook for EqualRuns {
    type Error = std::convert::Infallible;

    fn equal(&mut self, old: usize, new: usize, len: usize) -> Result<(), Self::Error> {
        self.0.push((old, new, len));
        Ok(())
    }
}

/// The byte offset where each word starts, plus the text's end: words are
/// consecutive pieces of one string.
fn offsets(words: &[&str]) -> Vec<usize> {
    let mut at = Vec::with_capacity(words.len() + 1);
    let mut pos = 0;
    at.push(0);
    for w in words {
        pos += w.len();
        at.push(pos);
    }
    at
}

/// Appends the byte span of the words in `range`, merged with the previous
/// span when they touch.
fn push_range(ranges: &mut Ranges, offsets: &[usize], range: std::ops::Range<usize>) {
    if range.is_empty() {
        return;
    }
    let (start, end) = (num(offsets[range.start]), num(offsets[range.end]));
    match ranges.last_mut() {
        Some(last) if last.1 == start => last.1 = end,
        _ => ranges.push((start, end)),
    }
}

fn words(text: &str) -> Vec<&str> {
    #[derive(PartialEq)]
    enum Class {
        Word,
        Space,
        Other,
    }
    let class = |c: char| {
        if c.is_alphanumeric() || c == '_' {
            Class::Word
        } else if c.is_whitespace() {
            Class::Space
        } else {
            Class::Other
        }
    };
    let mut out = Vec::new();
    let mut start = 0;
    let mut prev: Option<Class> = None;
    for (i, c) in text.char_indices() {
        let cls = class(c);
        let joins = prev.as_ref() == Some(&cls) && cls != Class::Other;
        if !joins && i > start {
            out.push(&text[start..i]);
            start = i;
        }
        prev = Some(cls);
    }
    if start < text.len() {
        out.push(&text[start..]);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn later() -> Instant {
        Instant::now() + Duration::from_secs(5)
    }

    #[test]
    fn words_split_identifiers_spaces_and_punctuation() {
        assert_eq!(
            words("let x_1 = f(a, b);"),
            vec!["let", " ", "x_1", " ", "=", " ", "f", "(", "a", ",", " ", "b", ")", ";"],
            "each identifier and space run is one word, each punctuation mark its own"
        );
    }

    #[test]
    fn emphasis_marks_only_the_changed_word() {
        let (old, new) = word_emphasis("let total = a + b;", "let total = a - b;", later());
        assert_eq!(
            old,
            vec![(14, 15)],
            "only the operator changed on the old side"
        );
        assert_eq!(
            new,
            vec![(14, 15)],
            "only the operator changed on the new side"
        );
    }

    #[test]
    fn emphasis_ranges_are_byte_offsets_in_utf8_text() {
        let (old, new) = word_emphasis("héllo wörld", "héllo wörlds", later());
        assert_eq!(
            old,
            vec![(7, 13)],
            "the changed word starts after the 2-byte é"
        );
        assert_eq!(new, vec![(7, 14)]);
        assert_eq!(
            &"héllo wörlds"[7..14],
            "wörlds",
            "ranges index the text by bytes"
        );
    }

    #[test]
    fn unrelated_lines_get_no_emphasis() {
        let (old, new) = word_emphasis("fn alpha() {}", "return beta + gamma;", later());
        assert!(
            old.is_empty() && new.is_empty(),
            "lines with little in common are shown as wholly changed"
        );
    }

    #[test]
    fn hunk_headers_follow_git_for_empty_sides() {
        let FileDiff::Patch { hunks, .. } = render_bytes(b"", b"a\nb\n", &DiffOptions::default())
        else {
            panic!("text files render as a patch");
        };
        let h = &hunks[0];
        assert_eq!(
            (h.old_start, h.old_lines, h.new_start, h.new_lines),
            (0, 0, 1, 2),
            "git writes @@ -0,0 +1,2 @@ for a new file"
        );
    }
}
