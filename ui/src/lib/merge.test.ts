import { describe, expect, it } from "vitest";
import type { MergePreview } from "./api";
import { mergeBlockedReason } from "./merge";

const clean: MergePreview = {
  target: "main",
  target_head: "abc",
  source: "fanout/x/1-a",
  files: ["a.rs"],
  conflicts: [],
  checked_out: true,
  checked_out_at: "/repo",
  blocked_by_uncommitted: [],
  already_merged: false,
};

describe("mergeBlockedReason", () => {
  it("allows a clean preview with a message", () => {
    expect(mergeBlockedReason(clean, false, null, "msg")).toBeNull();
  });

  it("refuses when the merge would overwrite uncommitted work, the rule that protects the user's checkout", () => {
    expect(mergeBlockedReason({ ...clean, blocked_by_uncommitted: ["a.rs"] }, false, null, "msg")).toMatch(/uncommitted/i);
  });

  it("refuses without a preview: nothing is merged unseen", () => {
    expect(mergeBlockedReason(null, false, null, "msg")).not.toBeNull();
    expect(mergeBlockedReason(clean, true, null, "msg")).not.toBeNull();
    expect(mergeBlockedReason(clean, false, "boom", "msg")).not.toBeNull();
  });

  it("refuses on conflicts, an already merged variant, or an empty message", () => {
    expect(mergeBlockedReason({ ...clean, conflicts: ["a.rs"] }, false, null, "m")).toMatch(/conflict/);
    expect(mergeBlockedReason({ ...clean, already_merged: true }, false, null, "m")).toMatch(/already/);
    expect(mergeBlockedReason(clean, false, null, "  \n")).toMatch(/message/);
  });
});
