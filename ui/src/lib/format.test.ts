import { describe, expect, it } from "vitest";
import { baseName, firstLine, plural, shortId } from "./format";

describe("format", () => {
  it("shortens ids and shows a dash for none", () => {
    expect(shortId("0123456789abcdef")).toBe("01234567");
    expect(shortId(null)).toBe("—");
  });
  it("takes the first line of a task, bounded", () => {
    expect(firstLine("Add caching\n\nDetails")).toBe("Add caching");
    expect(firstLine("x".repeat(200), 10)).toHaveLength(10);
  });
  it("finds the folder name", () => {
    expect(baseName("/home/me/repo/")).toBe("repo");
    expect(baseName("C:\\code\\app")).toBe("app");
    expect(baseName("/")).toBe("/");
  });
  it("pluralises", () => {
    expect(plural(1, "file")).toBe("1 file");
    expect(plural(3, "file")).toBe("3 files");
  });
});
