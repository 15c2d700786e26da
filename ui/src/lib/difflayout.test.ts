import { describe, expect, it } from "vitest";
import type { PatchOutline } from "./api";
import { CHUNK, LineStore, layout } from "./difflayout";

// Lines 1-2 unchanged (gap 0), then a hunk: context 3, line 4 replaced by
// two lines, context 5; then line 6 (gap 1) without a newline at the end.
const outline: PatchOutline = {
  kind: "patch",
  token: 7,
  hunks: [[3, 3, 3, 4]],
  gaps: [
    [1, 1, 2, 0],
    [6, 7, 1, 1],
  ],
  kinds: " -++ ",
  total: 8,
  added: 2,
  removed: 1,
  timed_out: false,
};

describe("layout", () => {
  it("numbers every line from the outline alone", () => {
    const lay = layout(outline);
    const nums = Array.from({ length: lay.total }, (_, i) => [lay.kind[i], lay.oldNo[i], lay.newNo[i]]);
    expect(nums).toEqual([
      [0, 1, 1],
      [0, 2, 2],
      [0, 3, 3],
      [2, 4, 0], // removed: old side only
      [1, 0, 4],
      [1, 0, 5],
      [0, 5, 6],
      [0, 6, 7], // gap 1: the new side is one line further on
    ]);
    expect(lay.hunks[0]).toMatchObject({ at: 2, size: 5 });
    expect(lay.gaps.map((g) => g.at)).toEqual([0, 7]);
  });
});

describe("LineStore", () => {
  it("turns wire lines into numbered lines with emphasis pairs and the end-of-file marker", () => {
    const store = new LineStore(layout(outline));
    expect(store.line(3)).toMatchObject({ kind: "removed", old_line: 4, new_line: null, text: "" }); // not arrived yet
    store.fill(0, ["a", "b", "c", ["old 4", [4, 5]], ["new 4", [4, 5]], "extra", "d", ["e", [], 1]]);
    expect(store.line(3)).toEqual({ kind: "removed", old_line: 4, new_line: null, text: "old 4", emphasis: [[4, 5]], no_newline_at_end: false });
    expect(store.line(7)).toMatchObject({ text: "e", no_newline_at_end: true });
    expect(store.next()).toBe(-1); // one chunk, and it is here
  });

  it("hands out one object per arrived line, so a row showing it is not redrawn", () => {
    const store = new LineStore(layout(outline));
    const before = store.line(3);
    expect(store.line(3)).not.toBe(before); // a placeholder, not kept: the text is still to come
    store.fill(0, ["a", "b", "c", ["old 4", [4, 5]], "new 4", "extra", "d", "e"]);
    const arrived = store.line(3);
    expect(arrived.text).toBe("old 4");
    expect(store.line(3)).toBe(arrived);
  });

  it("fetches what is on screen first, then the rest in order", () => {
    const big = layout({ ...outline, hunks: [], gaps: [[1, 1, 5 * CHUNK, 0]], kinds: "", total: 5 * CHUNK });
    const store = new LineStore(big);
    expect(store.next([3 * CHUNK + 5])).toBe(3);
    store.fill(3, []);
    expect(store.next([3 * CHUNK + 5])).toBe(0); // on screen is here: the first missing in order
    store.fill(0, []);
    expect(store.next()).toBe(1);
    expect(store.next([-1, 10 * CHUNK])).toBe(1); // indices outside the patch are ignored
  });

  it("fetches only what is on screen while the list moves", () => {
    const big = layout({ ...outline, hunks: [], gaps: [[1, 1, 5 * CHUNK, 0]], kinds: "", total: 5 * CHUNK });
    const store = new LineStore(big);
    expect(store.next([2 * CHUNK], true)).toBe(2);
    store.fill(2, []);
    // The screen is whole: the rest of the file waits for the list to stop.
    expect(store.next([2 * CHUNK], true)).toBe(-1);
    expect(store.next([2 * CHUNK])).toBe(0);
  });
});
