import { describe, expect, it } from "vitest";
import { byteToIndex, emphasisIndices } from "./utf8";
import { styleSegments } from "./highlight";

// Emphasis as the line renderer applies it: byte ranges converted, then cut into runs.
const emphasisSegments = (text: string, ranges: [number, number][]) =>
  styleSegments(text, [], emphasisIndices(text, ranges)).map(({ text, em }) => ({ text, em }));

const bytes = (s: string) => new TextEncoder().encode(s).length;

describe("byteToIndex", () => {
  it("is the identity on ASCII", () => {
    expect(byteToIndex("hello", [0, 2, 5])).toEqual([0, 2, 5]);
  });

  it("counts multi-byte characters once", () => {
    // "é" is 2 bytes, 1 unit; "🚀" is 4 bytes, 2 units.
    const t = "aé🚀b";
    expect(byteToIndex(t, [1, 3, 7, 8])).toEqual([1, 2, 4, 5]);
  });

  it("clamps past the end and keeps the caller's order", () => {
    expect(byteToIndex("ab", [9, 0])).toEqual([2, 0]);
  });
});

describe("emphasisSegments", () => {
  it("highlights exactly the changed word after non-ASCII text", () => {
    const text = "let café = 🚀 + total;";
    const start = bytes("let café = 🚀 + ");
    const segs = emphasisSegments(text, [[start, start + bytes("total")]]);
    expect(segs).toEqual([
      { text: "let café = 🚀 + ", em: false },
      { text: "total", em: true },
      { text: ";", em: false },
    ]);
  });

  it("joins back to the original text whatever the ranges", () => {
    const text = "ünïcödé and <script>alert(1)</script>";
    const segs = emphasisSegments(text, [
      [0, 4],
      [2, 9],
      [30, 400],
    ]);
    expect(segs.map((s) => s.text).join("")).toBe(text);
  });

  it("returns the whole line unemphasised when there are no ranges", () => {
    expect(emphasisSegments("x", [])).toEqual([{ text: "x", em: false }]);
  });
});

describe("emphasisIndices", () => {
  it("maps byte ranges after non-ASCII text to string indices", () => {
    // "é" is 2 bytes: bytes 3..6 of "é x yz" are " x " ... index 1..4.
    expect(emphasisIndices("é x yz", [[2, 5]])).toEqual([[1, 4]]);
    expect(emphasisIndices("🚀ab", [[4, 6]])).toEqual([[2, 4]]);
  });
});
