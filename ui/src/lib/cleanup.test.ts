import { describe, expect, it } from "vitest";
import type { Variant, VariantDisk } from "./api";
import { archiveTag, bytesToFree, cleanRequest, cleanupRows } from "./cleanup";

const variant = (index: number): Variant =>
  ({ index, name: `V${index}`, branch: `fanout/exp/${index}-v${index}` }) as Variant;
const disk = (index: number, bytes: number | null, unmerged: number, merged = false): VariantDisk => ({
  index,
  name: `V${index}`,
  branch: `fanout/exp/${index}-v${index}`,
  worktree: `/wt/${index}`,
  bytes,
  unmerged_commits: unmerged,
  merged,
});

const variants = [variant(1), variant(2), variant(3)];
const sizes = [disk(1, 1000, 1, true), disk(2, 2000, 3), disk(3, null, 0)];

describe("cleanup dialog", () => {
  it("marks only unmerged work that would be lost as needing the user's tick", () => {
    const rows = cleanupRows(variants, sizes, null, {});
    expect(rows.map((r) => r.needsConfirm)).toEqual([false, true, false]);
    expect(rows[0].unmerged).toBe(0); // merged on record (a squash leaves its commits on no branch)
    expect(cleanRequest(rows, null, false)).toEqual({ keep: null, force: false, confirmed: false, confirmed_variants: [], archive: [] });
  });

  it("confirms exactly the variants the user ticked, and archives the others asked for", () => {
    const ticked = cleanupRows(variants, sizes, null, { 2: { archive: false, confirm: true } });
    expect(cleanRequest(ticked, null, false).confirmed_variants).toEqual([2]);
    const archived = cleanupRows(variants, sizes, null, { 2: { archive: true, confirm: false }, 3: { archive: true, confirm: false } });
    expect(archived[1].needsConfirm).toBe(false);
    expect(cleanRequest(archived, null, false)).toEqual({ keep: null, force: false, confirmed: false, confirmed_variants: [], archive: [2, 3] });
  });

  it("never archives or warns about the branch the user keeps", () => {
    const rows = cleanupRows(variants, sizes, 2, { 2: { archive: true, confirm: false } });
    expect(rows[1]).toMatchObject({ keptBranch: true, unmerged: 0, archive: false, needsConfirm: false });
    expect(cleanRequest(rows, 2, true)).toEqual({ keep: 2, force: true, confirmed: false, confirmed_variants: [], archive: [] });
  });

  it("an archive tick outranks a stale confirmation", () => {
    const rows = cleanupRows(variants, sizes, null, { 2: { archive: true, confirm: true } });
    expect(rows[1]).toMatchObject({ archive: true, confirm: false, needsConfirm: false });
  });

  it("adds up what the worktrees occupy, a gone one as nothing", () => {
    expect(bytesToFree(cleanupRows(variants, sizes, 1, {}))).toBe(3000);
    expect(bytesToFree(cleanupRows(variants, null, null, {}))).toBe(0);
  });

  it("unmeasured work is never confirmed for deletion: the engine decides and says why", () => {
    const rows = cleanupRows(variants, null, null, { 2: { archive: false, confirm: true } });
    expect(rows.every((r) => !r.needsConfirm && r.bytes === null)).toBe(true);
    expect(cleanRequest(rows, null, false).confirmed_variants).toEqual([]);
  });

  it("a tick on a variant with nothing at risk confirms nothing (a stale tick after re-measuring)", () => {
    const rows = cleanupRows(variants, sizes, null, { 3: { archive: false, confirm: true } });
    expect(cleanRequest(rows, null, false).confirmed_variants).toEqual([]);
  });
  it("names the archive tag the engine makes", () => {
    expect(archiveTag("fanout/greet-the-user/2-test-first")).toBe("fanout/archive/greet-the-user/2-test-first");
  });
});
