import { describe, expect, it } from "vitest";
import { BackendError } from "./api";
import { Load, draft, focusPathInput, go, nav, resetDraft, session } from "./state.svelte";

describe("navigation and form state", () => {
  it("keeps the task text across navigation until reset", () => {
    draft.task = "Add a cache";
    go({ name: "history" });
    go({ name: "new" });
    expect(draft.task).toBe("Add a cache");
    resetDraft();
    expect(draft.task).toBe("");
    expect(draft.approaches).toHaveLength(3);
  });

  it("Ctrl+O goes home and asks for focus", () => {
    go({ name: "history" });
    const before = session.focusPathTick;
    focusPathInput();
    expect(nav.route.name).toBe("home");
    expect(session.focusPathTick).toBe(before + 1);
  });
});

describe("Load", () => {
  it("keeps the backend's sentence on failure", async () => {
    const l = new Load<number>();
    await l.run(() => Promise.reject(new BackendError("other", "/x is not a git repository.")));
    expect(l.error).toBe("/x is not a git repository.");
    expect(l.loading).toBe(false);
  });

  it("ignores a stale answer that arrives after a newer one", async () => {
    const l = new Load<string>();
    let slow!: (v: string) => void;
    const first = l.run(() => new Promise<string>((r) => (slow = r)));
    await l.run(() => Promise.resolve("fresh"));
    slow("stale");
    await first;
    expect(l.value).toBe("fresh");
  });
});

import { compareSel, openPair, selectExperiment } from "./state.svelte";

describe("compare selection", () => {
  it("starts on the first variant against base, and the first two as a pair", () => {
    selectExperiment("e1", [1, 2, 3]);
    expect(compareSel).toMatchObject({ id: "e1", mode: "base", variant: 1, a: 1, b: 2 });
  });
  it("keeps the selection when the same experiment's tab reopens", () => {
    selectExperiment("e1", [1, 2, 3]);
    openPair(3, 1);
    selectExperiment("e1", [1, 2, 3]);
    expect(compareSel).toMatchObject({ mode: "pair", a: 3, b: 1 });
    selectExperiment("e2", [1]);
    expect(compareSel).toMatchObject({ id: "e2", mode: "base", a: 1, b: 1 });
  });
});
