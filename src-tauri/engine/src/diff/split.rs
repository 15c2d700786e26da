//! A rendered patch as the rows of a side-by-side view.

use serde::Serialize;

use super::{Hunk, Line, LineKind};

#[derive(Serialize, Clone, Debug, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SplitRow {
    HunkHeader {
        old_start: u32,
        old_lines: u32,
        new_start: u32,
        new_lines: u32,
    },
    Line {
        left: Option<Line>,
        right: Option<Line>,
    },
}

/// The same as the rows of a split (side-by-side) view: removed lines on the
/// left paired with added lines on the right within each change block, context
/// on both sides; a row per hunk header.
pub fn split_rows(hunks: &[Hunk]) -> Vec<SplitRow> {
    let mut rows = Vec::new();
    for hunk in hunks {
        rows.push(SplitRow::HunkHeader {
            old_start: hunk.old_start,
            old_lines: hunk.old_lines,
            new_start: hunk.new_start,
            new_lines: hunk.new_lines,
        });
        push_hunk_rows(&mut rows, &hunk.lines);
    }
    rows
}

/// A change block is a run of removed lines and the added lines right after
/// it; its rows pair them in order, padding the shorter side with gaps.
fn push_hunk_rows(rows: &mut Vec<SplitRow>, lines: &[Line]) {
    let mut i = 0;
    while i < lines.len() {
        if lines[i].kind == LineKind::Context {
            rows.push(SplitRow::Line {
                left: Some(lines[i].clone()),
                right: Some(lines[i].clone()),
            });
            i += 1;
            continue;
        }
        let removed = run(&lines[i..], LineKind::Removed);
        let added = run(&lines[i + removed.len()..], LineKind::Added);
        i += removed.len() + added.len();
        for k in 0..removed.len().max(added.len()) {
            rows.push(SplitRow::Line {
                left: removed.get(k).cloned(),
                right: added.get(k).cloned(),
            });
        }
    }
}

fn run(lines: &[Line], kind: LineKind) -> &[Line] {
    let len = lines.iter().take_while(|l| l.kind == kind).count();
    &lines[..len]
}
