import { describe, expect, it } from "vitest";
import { loadDiffView, saveDiffView } from "./prefs";

function memory() {
  const m = new Map<string, string>();
  return { getItem: (k: string) => m.get(k) ?? null, setItem: (k: string, v: string) => void m.set(k, v) };
}

describe("diff view preference", () => {
  it("defaults to unified and remembers split", () => {
    const s = memory();
    expect(loadDiffView(s)).toBe("unified");
    saveDiffView("split", s);
    expect(loadDiffView(s)).toBe("split");
  });
  it("survives a storage that throws", () => {
    const broken = {
      getItem: () => {
        throw new Error("denied");
      },
      setItem: () => {
        throw new Error("quota");
      },
    };
    expect(loadDiffView(broken)).toBe("unified");
    expect(() => saveDiffView("split", broken)).not.toThrow();
  });
  it("ignores junk values", () => {
    const s = memory();
    s.setItem("fanout.diffView", "<script>");
    expect(loadDiffView(s)).toBe("unified");
  });
});
