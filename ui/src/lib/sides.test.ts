import { describe, expect, it } from "vitest";
import type { FileChange } from "./api";
import { sideOf, touched } from "./sides";

const change = (path: string, status: FileChange["status"] = "modified", old_path: string | null = null): FileChange => ({
  path,
  old_path,
  status,
  binary: false,
  added: 1,
  removed: 1,
});

// Base has lib.rs, x.txt, gone.txt. A edits lib.rs, renames x.txt → y.txt and
// deletes gone.txt; B edits lib.rs and adds notes.md.
const aChanges = [change("lib.rs"), change("y.txt", "renamed", "x.txt"), change("gone.txt", "deleted")];
const bChanges = [change("lib.rs"), change("notes.md", "added")];
const [a, b] = [touched(aChanges), touched(bChanges)];

describe("sideOf", () => {
  it("marks a file both variants changed", () => {
    expect(sideOf(change("lib.rs"), a, b)).toBe("both");
  });
  it("marks a file only B added", () => {
    // A→B: notes.md is added on B's side.
    expect(sideOf(change("notes.md", "added"), a, b)).toBe("b");
  });
  it("marks a file only A deleted, though the A→B diff shows it added", () => {
    expect(sideOf(change("gone.txt", "added"), a, b)).toBe("a");
  });
  it("follows renames through either name", () => {
    // A→B undoes A's rename: y.txt → x.txt.
    expect(sideOf(change("x.txt", "renamed", "y.txt"), a, b)).toBe("a");
    expect(sideOf(change("x.txt", "added"), a, b)).toBe("a");
  });
  it("claims nothing when neither variant's changes name the file", () => {
    expect(sideOf(change("other.rs"), a, b)).toBeNull();
  });
});
