import { describe, expect, it } from "vitest";
import { highlightLine, languageFor, styleSegments } from "./highlight";

const classes = (text: string, path: string) =>
  highlightLine(text, languageFor(path)).map((t) => `${t.cls}:${text.slice(t.start, t.end)}`);

describe("highlightLine", () => {
  it("finds keywords, strings, numbers and comments in Rust", () => {
    expect(classes(`let x = "a // b"; // note 42`, "src/lib.rs")).toEqual(["kw:let", 'str:"a // b"', "com:// note 42"]);
    expect(classes("fn f<'a>(x: &'a str) -> u8 { 0x1F }", "a.rs")).toEqual(["kw:fn", "num:0x1F"]);
  });

  it("uses # comments for Python and shell", () => {
    expect(classes("def f(): return 1  # done", "x.py")).toEqual(["kw:def", "kw:return", "num:1", "com:# done"]);
  });

  it("leaves unknown file types and huge lines alone", () => {
    expect(classes("let x = 1", "notes.txt")).toEqual([]);
    expect(highlightLine("let ".repeat(1000), languageFor("a.rs"))).toEqual([]);
  });

  it("treats hostile text as plain characters to classify", () => {
    expect(classes(`const s = "<script>alert(1)</script>";`, "a.ts")).toEqual(["kw:const", 'str:"<script>alert(1)</script>"']);
  });
});

describe("styleSegments", () => {
  it("splits where tokens and emphasis overlap and keeps the text intact", () => {
    const text = `let total = "sum";`;
    const tokens = highlightLine(text, languageFor("a.rs"));
    const segs = styleSegments(text, tokens, [[4, 14]]);
    expect(segs.map((s) => s.text).join("")).toBe(text);
    expect(segs).toContainEqual({ text: "let", em: false, cls: "kw" });
    expect(segs).toContainEqual({ text: "total = ", em: true, cls: null });
    expect(segs).toContainEqual({ text: '"s', em: true, cls: "str" });
    expect(segs).toContainEqual({ text: 'um"', em: false, cls: "str" });
  });

  it("returns one plain segment with nothing to style", () => {
    expect(styleSegments("abc", [], [])).toEqual([{ text: "abc", em: false, cls: null }]);
  });
});
