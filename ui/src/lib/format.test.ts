import { describe, expect, it } from "vitest";
import { baseName, firstLine, formatBytes, plural, shortId } from "./format";

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
  it("formats sizes in binary units", () => {
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1024)).toBe("1.0 KB");
    expect(formatBytes(4096 + 512)).toBe("4.5 KB");
    expect(formatBytes(37 * 1024 * 1024)).toBe("37 MB");
    expect(formatBytes(1.25 * 1024 ** 3)).toBe("1.3 GB");
    expect(formatBytes(1024 * 1024 - 100)).toBe("1.0 MB");
    expect(formatBytes(9.97 * 1024)).toBe("10 KB");
    // The diff viewer's placeholders for binary and oversized files use it too.
    expect(formatBytes(10)).toBe("10 B");
    expect(formatBytes(2048)).toBe("2.0 KB");
    expect(formatBytes(3 * 1024 * 1024)).toBe("3.0 MB");
  });
  it("shows a dash for an unknown size", () => {
    expect(formatBytes(null)).toBe("—");
    expect(formatBytes(-1)).toBe("—");
  });
});
