import { describe, expect, it } from "vitest";
import type { FileChange } from "./api";
import { fileTree, type TreeRow } from "./filetree";

const f = (path: string): FileChange => ({ path, old_path: null, status: "modified", binary: false, added: 1, removed: 0 });
const show = (rows: TreeRow[]) => rows.map((r) => `${"  ".repeat(r.depth)}${r.kind === "dir" ? `${r.name}/ (${r.files})` : r.name}`);

describe("fileTree", () => {
  it("lists folders before files, each sorted, with file counts", () => {
    const rows = fileTree([f("README.md"), f("src/b.rs"), f("src/a.rs"), f("src/net/http.rs"), f("Cargo.toml")]);
    expect(show(rows)).toEqual(["src/ (3)", "  net/ (1)", "    http.rs", "  a.rs", "  b.rs", "Cargo.toml", "README.md"]);
  });

  it("joins single-child folder chains into one row", () => {
    const rows = fileTree([f("src-tauri/engine/src/diff.rs"), f("src-tauri/engine/src/merge.rs")]);
    expect(show(rows)).toEqual(["src-tauri/engine/src/ (2)", "  diff.rs", "  merge.rs"]);
  });

  it("hides everything under a collapsed folder but keeps the folder", () => {
    const rows = fileTree([f("src/a.rs"), f("src/net/http.rs"), f("z.txt")], new Set(["src"]));
    expect(show(rows)).toEqual(["src/ (2)", "z.txt"]);
    expect(rows[0]).toMatchObject({ kind: "dir", collapsed: true });
  });

  it("keeps every file exactly once", () => {
    const paths = Array.from({ length: 500 }, (_, i) => `d${i % 7}/e${i % 3}/file${i}.ts`);
    const rows = fileTree(paths.map(f));
    const shown = rows.flatMap((r) => (r.kind === "file" ? [r.file.path] : []));
    expect(shown.sort()).toEqual(paths.slice().sort());
  });
});
