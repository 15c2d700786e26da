import { describe, expect, it } from "vitest";
import { slugify } from "./slug";

// The expected values are the engine's own test cases (slug.rs): the UI must agree
// with the engine, or it would accept names the engine then rejects as colliding.
describe("slugify mirrors the engine", () => {
  it("reads naturally", () => {
    expect(slugify("Implement a rate limiter")).toBe("implement-a-rate-limiter");
    expect(slugify("Crème brûlée v2")).toBe("creme-brulee-v2");
  });

  it("falls back when nothing is usable", () => {
    expect(slugify("🚀🎉")).toBe("task");
    expect(slugify("----")).toBe("task");
  });

  it("cuts long text at a word", () => {
    expect(slugify("Refactor the configuration loader to support layered overrides")).toBe(
      "refactor-the-configuration-loader-to",
    );
  });

  it("makes names that differ only in case and punctuation collide", () => {
    expect(slugify("Event driven!")).toBe(slugify("event-driven"));
  });
});
