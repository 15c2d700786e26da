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

use std::collections::VecDeque;
use std::sync::Arc;

use serde::Serialize;

use super::{FileDiff, Line, LineKind};

/// Files a [`PageCache`] keeps: a viewer reads the lines of the file it just
/// opened, and a few more let it switch back without the ids going stale.
pub const CACHED_FILES: usize = 8;

/// The most lines one [`PagedDiff::lines`] call returns.
pub const MAX_PAGE: usize = 20_000;

/// What a viewer needs to lay out every row of a patch, without the text.
#[derive(Serialize, Clone, Debug, PartialEq)]
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
#[derive(Serialize, Clone, Debug, PartialEq, Eq)]
#[serde(untagged)]
pub enum PageLine {
    Plain(String),
    /// The text and its emphasis as flat `[start, end, start, end, …]` byte offsets.
    Marked(String, Vec<u32>),
    /// As `Marked`, for the file's last line when it has no newline (the 1).
    Last(String, Vec<u32>, u8),
}

/// A patch split into its outline and its lines in display order.
#[derive(Debug)]
pub struct PagedDiff {
    outline: Outline,
    lines: Vec<PageLine>,
}

impl PagedDiff {
    /// `None` for binary and oversized files, which have no lines to page.
    pub fn new(diff: &FileDiff) -> Option<PagedDiff> {
        let FileDiff::Patch {
            hunks,
            gaps,
            added,
            removed,
            timed_out,
        } = diff
        else {
            return None;
        };
        let mut lines = Vec::new();
        let mut kinds = String::new();
        let mut gap_outline = Vec::with_capacity(gaps.len());
        for (i, gap) in gaps.iter().enumerate() {
            let last = gap.lines.len().saturating_sub(1);
            lines.extend(
                gap.lines
                    .iter()
                    .enumerate()
                    .map(|(k, text)| page_line(text, &[], k == last && gap.no_newline_at_end)),
            );
            gap_outline.push([
                gap.old_start,
                gap.new_start,
                u32::try_from(gap.lines.len()).unwrap_or(u32::MAX),
                u32::from(gap.no_newline_at_end),
            ]);
            let Some(hunk) = hunks.get(i) else { break };
            push_hunk(&mut lines, &mut kinds, &hunk.lines);
        }
        // Without gaps (an empty patch) the hunks are the whole sequence.
        if gaps.is_empty() {
            hunks
                .iter()
                .for_each(|h| push_hunk(&mut lines, &mut kinds, &h.lines));
        }
        let outline = Outline {
            token: 0,
            hunks: hunks
                .iter()
                .map(|h| [h.old_start, h.old_lines, h.new_start, h.new_lines])
                .collect(),
            gaps: gap_outline,
            kinds,
            total: lines.len(),
            added: *added,
            removed: *removed,
            timed_out: *timed_out,
        };
        Some(PagedDiff { outline, lines })
    }

    pub fn outline(&self) -> &Outline {
        &self.outline
    }

    /// Lines `start..start + count` of the display sequence, cut at its end
    /// and at [`MAX_PAGE`].
    pub fn lines(&self, start: usize, count: usize) -> &[PageLine] {
        let start = start.min(self.lines.len());
        let end = start
            .saturating_add(count.min(MAX_PAGE))
            .min(self.lines.len());
        &self.lines[start..end]
    }
}

fn push_hunk(lines: &mut Vec<PageLine>, kinds: &mut String, hunk: &[Line]) {
    for line in hunk {
        kinds.push(match line.kind {
            LineKind::Context => ' ',
            LineKind::Added => '+',
            LineKind::Removed => '-',
        });
        lines.push(page_line(
            &line.text,
            &line.emphasis,
            line.no_newline_at_end,
        ));
    }
}

fn page_line(text: &str, emphasis: &[(u32, u32)], no_newline: bool) -> PageLine {
    let flat = || emphasis.iter().flat_map(|&(a, b)| [a, b]).collect();
    match (emphasis.is_empty(), no_newline) {
        (true, false) => PageLine::Plain(text.to_string()),
        (false, false) => PageLine::Marked(text.to_string(), flat()),
        (_, true) => PageLine::Last(text.to_string(), flat(), 1),
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
    pub fn get(&self, token: u64) -> Option<Arc<PagedDiff>> {
        self.held
            .iter()
            .find(|(t, _)| *t == token)
            .map(|(_, p)| p.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::render::render_bytes;
    use crate::diff::DiffOptions;

    fn paged(old: &str, new: &str) -> PagedDiff {
        let diff = render_bytes(old.as_bytes(), new.as_bytes(), &DiffOptions::default());
        PagedDiff::new(&diff).expect("text renders as a patch")
    }

    fn text(l: &PageLine) -> &str {
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
        assert_eq!(
            lines[0],
            PageLine::Plain("a".into()),
            "context is a bare string"
        );
        assert_eq!(
            lines[1],
            PageLine::Marked("let x = 1;".into(), vec![8, 9]),
            "the removed line marks the changed number"
        );
        assert_eq!(
            lines[2],
            PageLine::Last("let x = 2;".into(), vec![8, 9], 1),
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

    #[test]
    fn binary_files_have_no_pages() {
        let diff = render_bytes(b"\0a", b"\0b", &DiffOptions::default());
        assert!(
            PagedDiff::new(&diff).is_none(),
            "binary diffs are sent whole"
        );
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
        assert!(cache.get(tokens[0]).is_none(), "the oldest was dropped");
        assert!(
            cache.get(tokens[CACHED_FILES]).is_some(),
            "the newest is held"
        );
    }
}
