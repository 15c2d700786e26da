// Turns the flat changed-file list into tree rows (folders, then their files),
// flattened for the virtual list. Collapsed folders hide everything below them.
import type { FileChange } from "./api";

export type TreeRow =
  | { kind: "dir"; path: string; name: string; depth: number; collapsed: boolean; files: number }
  | { kind: "file"; file: FileChange; name: string; depth: number };

interface Dir {
  dirs: Map<string, Dir>;
  files: FileChange[];
  count: number;
}

const newDir = (): Dir => ({ dirs: new Map(), files: [], count: 0 });

export function fileTree(files: readonly FileChange[], collapsed: ReadonlySet<string> = new Set()): TreeRow[] {
  const root = newDir();
  for (const f of files) {
    const parts = f.path.split("/");
    let dir = root;
    dir.count++;
    for (const part of parts.slice(0, -1)) {
      let next = dir.dirs.get(part);
      if (!next) dir.dirs.set(part, (next = newDir()));
      next.count++;
      dir = next;
    }
    dir.files.push(f);
  }
  const rows: TreeRow[] = [];
  walk(root, "", 0, collapsed, rows);
  return rows;
}

function walk(dir: Dir, prefix: string, depth: number, collapsed: ReadonlySet<string>, rows: TreeRow[]) {
  for (const [name, child] of [...dir.dirs].sort(([a], [b]) => a.localeCompare(b))) {
    // A folder holding a single folder shows as one row ("src/engine"), like most code hosts.
    let label = name;
    let node = child;
    while (node.files.length === 0 && node.dirs.size === 1) {
      const [[inner, innerNode]] = [...node.dirs];
      label = `${label}/${inner}`;
      node = innerNode;
    }
    const path = prefix + label;
    const isCollapsed = collapsed.has(path);
    rows.push({ kind: "dir", path, name: label, depth, collapsed: isCollapsed, files: node.count });
    if (!isCollapsed) walk(node, `${path}/`, depth + 1, collapsed, rows);
  }
  for (const file of [...dir.files].sort((a, b) => a.path.localeCompare(b.path))) {
    rows.push({ kind: "file", file, name: file.path.slice(file.path.lastIndexOf("/") + 1), depth });
  }
}
