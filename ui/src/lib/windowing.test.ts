import { describe, expect, it } from "vitest";
import { FILL_ROWS, SKIM_GAP_MS, computeWindow, filledRows, growFilled, isFilled, keepFilled, rowSlot, scrollTopFor, skimming } from "./windowing";

describe("computeWindow", () => {
  it("renders one screenful plus overscan at the top", () => {
    const w = computeWindow(50_000, 20, 0, 600, 5);
    expect(w.start).toBe(0);
    expect(w.end).toBe(31 + 5); // 30 rows fill 600px, one more for a partial row
    expect(w.offset).toBe(0);
    expect(w.total).toBe(1_000_000);
  });

  it("keeps the DOM small anywhere in a 50,000-row list", () => {
    for (const top of [0, 12_345, 500_000, 999_400]) {
      const w = computeWindow(50_000, 20, top, 600, 8);
      expect(w.end - w.start).toBeLessThanOrEqual(31 + 16);
      // The rendered block must cover the viewport, or the user sees a gap.
      expect(w.offset).toBeLessThanOrEqual(top);
      expect(w.offset + (w.end - w.start) * 20).toBeGreaterThanOrEqual(Math.min(top + 600, w.total));
    }
  });

  it("clamps a scrollTop past the end (list shrank) to the last screen", () => {
    const w = computeWindow(100, 20, 1e9, 600, 0);
    expect(w.end).toBe(100);
    expect(w.start).toBe(70);
    expect(w.offset).toBe(1400);
  });

  it("handles empty lists and lists shorter than the viewport", () => {
    expect(computeWindow(0, 20, 0, 600)).toEqual({ start: 0, end: 0, offset: 0, total: 0 });
    const w = computeWindow(3, 20, 50, 600);
    expect([w.start, w.end, w.offset]).toEqual([0, 3, 0]);
  });

  it("scrollTopFor is the inverse for row tops", () => {
    const top = scrollTopFor(1234, 20);
    expect(computeWindow(50_000, 20, top, 600, 0).start).toBe(1234);
  });
});

describe("skimming", () => {
  const at = (start: number, end: number, t: number) => ({ start, end, at: t });

  it("is a scroll that replaces every row right after another scroll (a dragged thumb)", () => {
    expect(skimming(at(0, 35, 1000), at(150, 185, 1016))).toBe(true);
    expect(skimming(at(150, 185, 1000), at(0, 35, 1016))).toBe(true); // upwards too
  });

  it("is not a wheel or a page step, which keep rows on screen", () => {
    expect(skimming(at(0, 35, 1000), at(3, 38, 1016))).toBe(false);
    expect(skimming(at(0, 35, 1000), at(34, 69, 1016))).toBe(false);
  });

  it("is not a single jump (Home, End, a click on the track): that lands on text at once", () => {
    expect(skimming(null, at(49_000, 49_035, 1000))).toBe(false);
    expect(skimming(at(0, 35, 1000), at(49_000, 49_035, 1000 + SKIM_GAP_MS))).toBe(false);
  });
});

describe("rowSlot", () => {
  it("gives every row of any window its own key, at any height and overscan", () => {
    // Svelte's keyed each requires unique keys; two rows sharing a slot would
    // make one of them vanish.
    for (const [height, overscan] of [[600, 2], [601, 2], [37, 0], [0, 8], [1080, 10]] as const) {
      // Past the end too: the window is clamped at the bottom of the list.
      for (let top = 0; top < 21_000; top += 7) {
        const w = computeWindow(1_000, 20, top, height, overscan);
        const keys = new Set<number>();
        for (let i = w.start; i < w.end; i++) keys.add(rowSlot(i, 20, height, overscan));
        expect(keys.size, `height ${height}, overscan ${overscan}, top ${top}`).toBe(w.end - w.start);
      }
    }
  });

  it("hands a row that scrolls out its slot to the row that scrolls in", () => {
    // Scrolling one row down: row `start` leaves, row `end` enters, and it
    // takes the leaving row's slot, so its elements are reused, not rebuilt.
    const before = computeWindow(1_000, 20, 4_000, 600, 2);
    const after = computeWindow(1_000, 20, 4_020, 600, 2);
    expect(after.start).toBe(before.start + 1);
    expect(rowSlot(after.end - 1, 20, 600, 2)).toBe(rowSlot(before.start, 20, 600, 2));
  });
});

describe("filling rows after a scroll", () => {
  // A 600px pane of 20px rows with two rows of overscan, as the diff viewer.
  const screenAt = (top: number) => computeWindow(50_000, 20, top, 600, 0);
  const windowAt = (top: number) => computeWindow(50_000, 20, top, 600, 2);
  const complete = { from: 0, to: Infinity };

  it("gives a wheel step's few new rows their text at once", () => {
    const before = windowAt(20_000);
    const after = windowAt(20_060);
    const kept = keepFilled({ from: before.start, to: before.end }, before, after, screenAt(20_060).start);
    const filled = growFilled(kept, after, screenAt(20_060));
    expect(isFilled(filled, after)).toBe(true);
  });

  it("fills a jump's new screen a few rows per frame, the rows on screen first", () => {
    const win = windowAt(500_000);
    const screen = screenAt(500_000);
    let filled = keepFilled({ from: 0, to: 33 }, windowAt(0), win, screen.start);
    // Nothing from before is still rendered: start again at the top row on screen.
    expect(filled).toEqual({ from: screen.start, to: screen.start });
    const frames: number[] = [];
    while (!isFilled(filled, win)) {
      const next = growFilled(filled, win, screen);
      // Never more than a frame's worth, never nothing (or it would never end).
      const added = filledRows(next) - filledRows(filled);
      expect(added).toBeGreaterThan(0);
      expect(added).toBeLessThanOrEqual(FILL_ROWS);
      filled = next;
      frames.push(filled.to);
    }
    // The first frame covers the top of the screen; the screen is whole
    // before the overscan above it gets its text.
    expect(frames[0]).toBe(screen.start + FILL_ROWS);
    expect(frames.length).toBe(Math.ceil((win.end - win.start) / FILL_ROWS));
    expect(filled).toEqual({ from: win.start, to: win.end });
  });

  it("fills the rows coming in from above when scrolling up", () => {
    const before = windowAt(20_000);
    const after = windowAt(20_000 - 20 * 10);
    const kept = keepFilled({ from: before.start, to: before.end }, before, after, screenAt(after.offset).start);
    // The rows still rendered keep their text; the ten new ones above do not have it yet.
    expect(kept).toEqual({ from: before.start, to: after.end });
    const filled = growFilled(kept, after, screenAt(20_000 - 200));
    expect(filled).toEqual({ from: after.start, to: after.end });
  });

  it("shows a new list's text at once, and fills its first scroll like any other", () => {
    for (const top of [0, 600, 999_400]) expect(isFilled(complete, windowAt(top))).toBe(true);
    // Only the rows rendered before the scroll had their text: rows 28–32.
    expect(keepFilled(complete, windowAt(0), windowAt(600), 30)).toEqual({ from: 28, to: 33 });
    // A first jump far away keeps none, and starts at the top row on screen.
    expect(keepFilled(complete, windowAt(0), windowAt(500_000), 25_000)).toEqual({ from: 25_000, to: 25_000 });
  });

  it("spends a frame's budget only on rendered rows, when what had text is out of the window", () => {
    // The window moved without a scroll (the list shrank): what had text is
    // gone, and filling starts again on screen, within the budget.
    const win = windowAt(2_000);
    const screen = screenAt(2_000);
    const kept = keepFilled({ from: 0, to: 20 }, win, win, screen.start);
    const next = growFilled(kept, win, screen, 5);
    expect(next).toEqual({ from: screen.start, to: screen.start + 5 });
  });

  it("fills a list too short for a frame's budget in one step", () => {
    const win = computeWindow(5, 20, 0, 600, 2);
    const filled = growFilled({ from: 0, to: 0 }, win, computeWindow(5, 20, 0, 600, 0));
    expect(filled).toEqual({ from: 0, to: 5 });
  });
});
