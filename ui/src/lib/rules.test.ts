// Project rules checked over the UI's source, so a regression fails `npm test`
// instead of waiting for a review: text from agents, files and diffs is never
// interpreted as HTML; only api.ts talks to the backend; nothing relies on
// inline style attributes, which the app's CSP (style-src 'self') blocks.
import { describe, expect, it } from "vitest";

// Every source file of the UI as text, keyed by its path relative to this folder.
const raw = import.meta.glob<string>(["../**/*.svelte", "../**/*.ts", "!../**/*.test.ts"], {
  query: "?raw",
  import: "default",
  eager: true,
});
const files = Object.entries(raw).map(([path, text]) => ({ path, text }));

describe("UI source rules", () => {
  it("finds the sources it checks", () => {
    expect(files.some((f) => f.path.endsWith("FileDiffView.svelte"))).toBe(true);
  });

  it("never renders HTML from data", () => {
    const offenders = files.filter((f) => /\{@html\b/.test(f.text) || /\.innerHTML\s*=/.test(f.text));
    expect(offenders.map((f) => f.path)).toEqual([]);
  });

  it("calls the backend only through lib/api.ts", () => {
    const offenders = files.filter((f) => f.path !== "./api.ts" && /@tauri-apps\/api/.test(f.text));
    expect(offenders.map((f) => f.path)).toEqual([]);
  });

  it("uses no static style attributes, which the CSP would block", () => {
    // Dynamic `style:prop={…}` directives go through the CSSOM, which CSP allows.
    const offenders = files.filter((f) => f.path.endsWith(".svelte") && /\sstyle=["{]/.test(f.text));
    expect(offenders.map((f) => f.path)).toEqual([]);
  });
});
