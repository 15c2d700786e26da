//! A rendered patch laid out for a viewer that fetches lines by range.
//!
//! A 50,000-line file's whole patch is megabytes of JSON, and sending,
//! parsing and flattening all of it before the first row appears took seconds.
//! A viewer needs only an outline to lay out every row (hunk headers, gap
//! sizes, each hunk line's kind: line numbers follow from those) and then the
//! text of the rows on screen. So the patch's lines are put in one sequence in
//! display order (gap 0, hunk 0, gap 1, hunk 1, …, the last gap), the outline
//! goes first, and the text is read by index range from a [`PageCache`] that
//! holds the few most recently opened files.

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::render::word_emphasis;
use super::{FileDiff, Line, LineKind};

/// Files a [`PageCache`] keeps: a viewer reads the lines of the file it just
/// opened, and a few more let it switch back without the ids going stale.
pub const CACHED_FILES: usize = 8;

/// The most lines one [`PagedDiff::lines`] call returns.
pub const MAX_PAGE: usize = 20_000;

/// Time one [`PagedDiff::lines`] call may spend on word emphasis; past it the
/// rest of the page comes without, as a whole file past its deadline does.
const EMPHASIS_BUDGET: Duration = Duration::from_millis(500);

/// Marks a display index without a partner in [`PagedDiff::partner`].
const NO_PARTNER: u32 = u32::MAX;

/// What a viewer needs to lay out every row of a patch, without the text.
#[derive(Serialize, Clone, Debug, PartialEq, ts_rs::TS)]
pub struct Outline {
    /// Identifies the patch in the [`PageCache`] for [`PageCache::lines`].
    pub token: u64,
    /// `[old_start, old_lines, new_start, new_lines]` per hunk.
    pub hunks: Vec<[u32; 4]>,
    /// `[old_start, new_start, line count, no newline at end (0/1)]` per gap:
    /// `hunks.len() + 1` of them, or none when there are no hunks.
    pub gaps: Vec<[u32; 4]>,
    /// One character per hunk line, all hunks in order: ' ' context, '+' added,
    /// '-' removed.
    pub kinds: String,
    /// Lines in the display sequence (every gap's and every hunk's).
    pub total: usize,
    pub added: usize,
    pub removed: usize,
    pub timed_out: bool,
}

/// One line's text as sent: the bare string when it has no emphasis and ends
/// with a newline (nearly all lines), so most of the payload is the text.
#[derive(Serialize, Clone, Debug, PartialEq, Eq, ts_rs::TS)]
#[serde(untagged)]
pub enum PageLine<'a> {
    Plain(&'a str),
    /// The text and its emphasis as flat `[start, end, start, end, …]` byte offsets.
    Marked(&'a str, Vec<u32>),
    /// As `Marked`, for the file's last line when it has no newline (the 1).
    Last(&'a str, Vec<u32>, u8),
}

/// A patch split into its outline and its lines in display order. Word
/// emphasis is computed for the lines a read asks for, not up front: it was a
/// third of the time before a 50,000-line file's first rows could be shown.
#[derive(Debug)]
pub struct PagedDiff {
    outline: Outline,
    texts: Vec<String>,
    /// Per display index, the line it is compared with for word emphasis
    /// (within a change block the i-th removed line and the i-th added one,
    /// the pairs the split view shows side by side), or [`NO_PARTNER`].
    partner: Vec<u32>,
    /// Display indices of lines that end the file without a newline (one
    /// per side at most).
    no_newline: Vec<usize>,
}

impl PagedDiff {
    /// Binary and oversized files, which have no lines to page, come back
    /// as they are. Emphasis already in `diff` is not used: render it with
    /// [`DiffOptions::emphasis`](super::DiffOptions) off.
    pub fn new(diff: FileDiff) -> Result<PagedDiff, FileDiff> {
        let FileDiff::Patch {
            hunks,
            gaps,
            added,
            removed,
            timed_out,
        } = diff
        else {
            return Err(diff);
        };
        let outline = Outline {
            token: 0,
            hunks: hunks
                .iter()
                .map(|h| [h.old_start, h.old_lines, h.new_start, h.new_lines])
                .collect(),
            gaps: gaps
                .iter()
                .map(|g| {
                    [
                        g.old_start,
                        g.new_start,
                        u32::try_from(g.lines.len()).unwrap_or(u32::MAX),
                        u32::from(g.no_newline_at_end),
                    ]
                })
                .collect(),
            kinds: String::new(),
            total: 0,
            added,
            removed,
            timed_out,
        };
        let mut paged = PagedDiff {
            outline,
            texts: Vec::new(),
            partner: Vec::new(),
            no_newline: Vec::new(),
        };
        let mut hunks = hunks.into_iter();
        for gap in gaps {
            paged.push_gap(gap.lines, gap.no_newline_at_end);
            if let Some(hunk) = hunks.next() {
                paged.push_hunk(hunk.lines);
            }
        }
        // Without gaps (an empty patch) the hunks are the whole sequence.
        hunks.for_each(|h| paged.push_hunk(h.lines));
        paged.outline.total = paged.texts.len();
        Ok(paged)
    }

    pub fn outline(&self) -> &Outline {
        &self.outline
    }

    /// [`PagedDiff::lines`] as JSON bytes, serialized once.
    pub fn lines_json(&self, start: usize, count: usize) -> Vec<u8> {
        // A Vec of strings and numbers always serializes.
        serde_json::to_vec(&self.lines(start, count)).unwrap_or_else(|_| b"[]".to_vec())
    }

    /// Lines `start..start + count` of the display sequence, cut at its end
    /// and at [`MAX_PAGE`], with their word emphasis.
    pub fn lines(&self, start: usize, count: usize) -> Vec<PageLine<'_>> {
        let start = start.min(self.texts.len());
        let end = start
            .saturating_add(count.min(MAX_PAGE))
            .min(self.texts.len());
        let mut emphasis = Emphasis {
            paged: self,
            deadline: Instant::now() + EMPHASIS_BUDGET,
            added: HashMap::new(),
        };
        (start..end)
            .map(|at| {
                let marks = emphasis.of(at);
                page_line(&self.texts[at], marks, self.no_newline.contains(&at))
            })
            .collect()
    }

    fn push_gap(&mut self, lines: Vec<String>, no_newline_at_end: bool) {
        if no_newline_at_end && !lines.is_empty() {
            self.no_newline.push(self.texts.len() + lines.len() - 1);
        }
        self.partner
            .extend(std::iter::repeat_n(NO_PARTNER, lines.len()));
        self.texts.extend(lines);
    }

    fn push_hunk(&mut self, lines: Vec<Line>) {
        let first = self.texts.len();
        let kinds: Vec<LineKind> = lines.iter().map(|l| l.kind).collect();
        for line in lines {
            self.outline.kinds.push(match line.kind {
                LineKind::Context => ' ',
                LineKind::Added => '+',
                LineKind::Removed => '-',
            });
            if line.no_newline_at_end {
                self.no_newline.push(self.texts.len());
            }
            self.texts.push(line.text);
        }
        self.partner.extend(partners(&kinds, first));
    }
}

/// Each hunk line's partner as a display index: a run of removed lines and
/// the run of added ones right after it pair up in order.
fn partners(kinds: &[LineKind], first: usize) -> Vec<u32> {
    let mut out = vec![NO_PARTNER; kinds.len()];
    let mut i = 0;
    while i < kinds.len() {
        let removed = kinds[i..]
            .iter()
            .take_while(|k| **k == LineKind::Removed)
            .count();
        let added = kinds[i + removed..]
            .iter()
            .take_while(|k| **k == LineKind::Added)
            .count();
        for j in 0..removed.min(added) {
            let (r, a) = (i + j, i + removed + j);
            out[r] = u32::try_from(first + a).unwrap_or(NO_PARTNER);
            out[a] = u32::try_from(first + r).unwrap_or(NO_PARTNER);
        }
        i += (removed + added).max(1);
    }
    out
}

/// Word emphasis for the lines of one read. A pair is diffed once: the added
/// line's half is kept until its turn comes.
struct Emphasis<'a> {
    paged: &'a PagedDiff,
    deadline: Instant,
    added: HashMap<usize, Vec<(u32, u32)>>,
}

impl Emphasis<'_> {
    fn of(&mut self, at: usize) -> Vec<(u32, u32)> {
        let Some(&partner) = self.paged.partner.get(at) else {
            return Vec::new();
        };
        if partner == NO_PARTNER {
            return Vec::new();
        }
        let partner = partner as usize;
        if let Some(kept) = self.added.remove(&at) {
            return kept;
        }
        if Instant::now() >= self.deadline {
            return Vec::new();
        }
        let texts = &self.paged.texts;
        // Removed lines come before their partners, so `at < partner` means
        // `at` is the old side of the pair.
        if at < partner {
            let (old, new) = word_emphasis(&texts[at], &texts[partner], self.deadline);
            self.added.insert(partner, new);
            old
        } else {
            word_emphasis(&texts[partner], &texts[at], self.deadline).1
        }
    }
}

fn page_line(text: &str, emphasis: Vec<(u32, u32)>, no_newline: bool) -> PageLine<'_> {
    let flat = || emphasis.iter().flat_map(|&(a, b)| [a, b]).collect();
    match (emphasis.is_empty(), no_newline) {
        (true, false) => PageLine::Plain(text),
        (false, false) => PageLine::Marked(text, flat()),
        (_, true) => PageLine::Last(text, flat(), 1),
    }
}

/// A file's diff as a viewer first gets it: binary and oversized files
/// whole (sizes only), patches as an outline whose lines it reads by range,
/// so a 50,000-line file's first rows need not wait for all its text.
#[derive(Debug, Clone, PartialEq, Serialize, ts_rs::TS)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FileDiffView {
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
    Patch(Outline),
}

impl FileDiffView {
    /// Keeps a patch in `cache` for its lines to be read; sizes otherwise.
    pub fn new(diff: FileDiff, cache: &mut PageCache) -> FileDiffView {
        match PagedDiff::new(diff) {
            Ok(paged) => FileDiffView::Patch(cache.insert(paged).outline().clone()),
            Err(FileDiff::TooLarge {
                old_size,
                new_size,
                old_lines,
                new_lines,
            }) => FileDiffView::TooLarge {
                old_size,
                new_size,
                old_lines,
                new_lines,
            },
            // Binary, the only other diff PagedDiff::new gives back.
            Err(whole) => {
                let (old_size, new_size) = whole.sizes();
                FileDiffView::Binary { old_size, new_size }
            }
        }
    }
}

/// The patches most recently opened, by token; the oldest is dropped first.
#[derive(Debug, Default)]
pub struct PageCache {
    next: u64,
    held: VecDeque<(u64, Arc<PagedDiff>)>,
}

impl PageCache {
    /// Keeps `paged` and gives its outline the token to read its lines with.
    pub fn insert(&mut self, mut paged: PagedDiff) -> Arc<PagedDiff> {
        self.next += 1;
        paged.outline.token = self.next;
        let paged = Arc::new(paged);
        if self.held.len() >= CACHED_FILES {
            self.held.pop_front();
        }
        self.held.push_back((self.next, paged.clone()));
        paged
    }

    /// The patch with this token, while it is still held.
    pub fn get(&self, token: u64) -> Result<Arc<PagedDiff>, super::DiffError> {
        self.held
            .iter()
            .find(|(t, _)| *t == token)
            .map(|(_, p)| p.clone())
            .ok_or(super::DiffError::PageGone { token })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::render::render_bytes;
    use crate::diff::DiffOptions;

    fn paged(old: &str, new: &str) -> PagedDiff {
        let opts = DiffOptions {
            emphasis: false,
            ..DiffOptions::default()
        };
        let diff = render_bytes(old.as_bytes(), new.as_bytes(), &opts);
        PagedDiff::new(diff).expect("text renders as a patch")
    }

    fn text<'a>(l: &PageLine<'a>) -> &'a str {
        match l {
            PageLine::Plain(t) | PageLine::Marked(t, _) | PageLine::Last(t, _, _) => t,
        }
    }

    #[test]
    fn lines_run_gap_hunk_gap_in_display_order() {
        let old: String = (1..=20).map(|i| format!("line {i}\n")).collect();
        let new = old.replace("line 10\n", "line ten\n");
        let p = paged(&old, &new);
        let o = p.outline();
        assert_eq!(o.hunks, vec![[7, 7, 7, 7]], "3 lines of context each side");
        assert_eq!(
            o.gaps,
            vec![[1, 1, 6, 0], [14, 14, 7, 0]],
            "lines 1-6 before the hunk and 14-20 after it"
        );
        assert_eq!(o.kinds, "   -+   ", "context, the pair, context");
        assert_eq!(o.total, 6 + 8 + 7, "every gap line and every hunk line");
        let all: Vec<&str> = p.lines(0, usize::MAX).iter().map(text).collect();
        assert_eq!(all[5], "line 6", "gap 0 comes first");
        assert_eq!(
            &all[6..14],
            &[
                "line 7", "line 8", "line 9", "line 10", "line ten", "line 11", "line 12",
                "line 13"
            ],
            "then the hunk, removed before added"
        );
        assert_eq!(all[20], "line 20", "the last gap ends the sequence");
    }

    #[test]
    fn emphasis_and_a_missing_newline_ride_along_and_plain_lines_are_bare() {
        let p = paged("a\nlet x = 1;\n", "a\nlet x = 2;");
        let lines = p.lines(0, 10);
        assert_eq!(lines[0], PageLine::Plain("a"), "context is a bare string");
        assert_eq!(
            lines[1],
            PageLine::Marked("let x = 1;", vec![8, 9]),
            "the removed line marks the changed number"
        );
        assert_eq!(
            lines[2],
            PageLine::Last("let x = 2;", vec![8, 9], 1),
            "the added last line has no newline"
        );
        assert_eq!(
            serde_json::to_string(&lines).expect("serializes"),
            r#"["a",["let x = 1;",[8,9]],["let x = 2;",[8,9],1]]"#,
            "the wire format is strings and tuples"
        );
    }

    #[test]
    fn ranges_are_cut_at_the_end_and_at_the_page_limit() {
        let old: String = (0..30_000).map(|i| format!("{i}\n")).collect();
        let new = format!("{old}tail\n");
        let p = paged(&old, &new);
        assert_eq!(
            p.lines(29_990, 100).len(),
            11,
            "29,997 gap lines and 4 hunk lines end at 30,001"
        );
        assert_eq!(
            p.lines(0, usize::MAX).len(),
            MAX_PAGE,
            "one call returns at most a page"
        );
        assert!(
            p.lines(40_000, 5).is_empty(),
            "past the end is empty, not a panic"
        );
    }

    /// Every line's emphasis as the whole-file renderer computes it, in
    /// display order: the reference the paged reads must match.
    fn eager_emphasis(old: &str, new: &str) -> Vec<Vec<u32>> {
        let diff = render_bytes(old.as_bytes(), new.as_bytes(), &DiffOptions::default());
        let FileDiff::Patch { hunks, gaps, .. } = diff else {
            panic!("text renders as a patch");
        };
        let mut out = Vec::new();
        for (i, gap) in gaps.iter().enumerate() {
            out.extend(gap.lines.iter().map(|_| Vec::new()));
            if let Some(h) = hunks.get(i) {
                out.extend(
                    h.lines
                        .iter()
                        .map(|l| l.emphasis.iter().flat_map(|&(a, b)| [a, b]).collect()),
                );
            }
        }
        out
    }

    fn marks(l: &PageLine) -> Vec<u32> {
        match l {
            PageLine::Plain(_) => Vec::new(),
            PageLine::Marked(_, m) | PageLine::Last(_, m, _) => m.clone(),
        }
    }

    #[test]
    fn emphasis_read_by_page_matches_the_whole_file_render_at_any_page_edge() {
        // Change blocks of unequal sizes (3 removed against 2 added, 1
        // against 2), so pairs and unpaired lines both occur.
        let old: String = (0..40)
            .map(|i| format!("let v{i} = f({i}, \"plain\");\n"))
            .collect();
        let new = old
            .replace("f(10, \"plain\")", "f(10, \"edited\")")
            .replace("let v11 = f(11, \"plain\");\n", "")
            .replace("f(12, \"plain\")", "g(12, \"plain\")")
            .replace(
                "let v30 = f(30, \"plain\");\n",
                "let v30 = f(30, \"new\");\nlet extra = 1;\n",
            );
        let p = paged(&old, &new);
        let want = eager_emphasis(&old, &new);
        assert!(
            want.iter().filter(|m| !m.is_empty()).count() >= 4,
            "the fixture has emphasised pairs: {want:?}"
        );
        for size in [1, 2, 3, 7, 1000] {
            let got: Vec<Vec<u32>> = (0..p.outline().total)
                .step_by(size)
                .flat_map(|start| p.lines(start, size).iter().map(marks).collect::<Vec<_>>())
                .collect();
            assert_eq!(
                got, want,
                "pages of {size} lines: a pair split across two reads gets the same emphasis"
            );
        }
    }

    #[test]
    fn binary_files_have_no_pages() {
        let diff = render_bytes(b"\0a", b"\0b", &DiffOptions::default());
        assert!(PagedDiff::new(diff).is_err(), "binary diffs are sent whole");
    }

    #[test]
    fn the_cache_hands_out_tokens_and_drops_the_oldest() {
        let mut cache = PageCache::default();
        let tokens: Vec<u64> = (0..=CACHED_FILES)
            .map(|_| cache.insert(paged("a\n", "b\n")).outline().token)
            .collect();
        assert!(
            tokens.windows(2).all(|w| w[0] < w[1]),
            "each insert gets a new token: {tokens:?}"
        );
        assert!(cache.get(tokens[0]).is_err(), "the oldest was dropped");
        assert!(
            cache.get(tokens[CACHED_FILES]).is_ok(),
            "the newest is held"
        );
    }
}
