// Fake Tauri IPC for probing the built UI in a plain WebKit window.
(function () {
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const repo = { root: "/home/dev/projects/rate-limiter", branch: "main", head: { id: "9f8e7d6c5b4a39281706f5e4d3c2b1a098765432", summary: "Add token bucket skeleton" }, dirty_files: 2 };
  const recent = [repo, { root: "/home/dev/work/<img src=x onerror=alert(1)>", branch: null, head: { id: "aaaaaaaa", summary: "x" }, dirty_files: 0 }];
  const exps = [
    { id: "e1", slug: "add-rate-limiting", repo_root: repo.root, task: "Add rate limiting to the HTTP client\n\nIt must be configurable per host.", base_commit: repo.head.id, base_ref: "main", target_branch: "main", created_at: "2026-11-26T08:00:00Z", status: "ready" },
    { id: "e2", slug: "x", repo_root: "/tmp/<script>alert(1)</script>", task: "<script>alert('task')</script> {@html x}", base_commit: "abc", base_ref: null, target_branch: null, created_at: "2026-11-25T10:00:00Z", status: "merged" },
  ];
  const mkVariant = (index, name, status, head) => ({ experiment_id: "e1", index, name, slug: name.toLowerCase().replace(/\W+/g, "-"), description: "Approach " + name + " with <b>bold</b> claims", guidelines: "", agent: null, model: null, branch: "fanout/add-rate-limiting/" + index + "-" + name.toLowerCase().replace(/\W+/g, "-"), worktree: "/home/dev/.local/share/fanout/worktrees/rate-limiter/add-rate-limiting/" + index, status, started_at: null, finished_at: null, exit_code: null, error: null, summary: null, cost_usd: null, input_tokens: null, output_tokens: null, turns: null, check: null, head_commit: head });
  const variants = [mkVariant(1, "Token bucket", "succeeded", "1111111111aaaa"), mkVariant(2, "Sliding window", "ready", null), mkVariant(3, "<script>alert(3)</script>", "failed", "333333333")];
  const L = (kind, o, n, text, emphasis = []) => ({ kind, old_line: o, new_line: n, text, emphasis, no_newline_at_end: false });
  const enc = (s) => new TextEncoder().encode(s).length;
  const files = [
    { path: "src/limiter.rs", old_path: null, status: "modified", binary: false, added: 3, removed: 2 },
    { path: "src/big_table.rs", old_path: null, status: "added", binary: false, added: 50000, removed: 0 },
    { path: "assets/logo.png", old_path: null, status: "modified", binary: true, added: 0, removed: 0 },
    { path: "data/huge.json", old_path: null, status: "added", binary: false, added: 400000, removed: 0 },
    { path: "<img src=x onerror=alert(1)>.txt", old_path: null, status: "added", binary: false, added: 1, removed: 0 },
  ];
  const small = { kind: "patch", added: 3, removed: 2, timed_out: false, hunks: [{ old_start: 1, old_lines: 4, new_start: 1, new_lines: 5, lines: [
    L("context", 1, 1, "use std::time::Duration;"),
    L("removed", 2, null, "let café = 🚀 + total;", [[enc("let café = 🚀 + "), enc("let café = 🚀 + total")]]),
    L("added", null, 2, "let café = 🚀 + sum;", [[enc("let café = 🚀 + "), enc("let café = 🚀 + sum")]]),
    L("removed", 3, null, "fn old() {}"),
    L("added", null, 3, "fn new_one() { /* <script>alert(1)</script> */ }"),
    L("added", null, 4, "    // {@html danger}"),
    L("context", 4, 5, "}"),
  ] }] };
  const bigLines = Array.from({ length: 50000 }, (_, i) => L("added", null, i + 1, `    row_${i} => ${i * 7} ,// entry number ${i}`));
  const big = { kind: "patch", added: 50000, removed: 0, timed_out: false, hunks: [{ old_start: 0, old_lines: 0, new_start: 1, new_lines: 50000, lines: bigLines }] };
  function toSplit(d) {
    const rows = [];
    for (const h of d.hunks) {
      rows.push({ kind: "hunk_header", old_start: h.old_start, old_lines: h.old_lines, new_start: h.new_start, new_lines: h.new_lines });
      const rem = [], add = [];
      const flush = () => { const n = Math.max(rem.length, add.length); for (let i = 0; i < n; i++) rows.push({ kind: "line", left: rem[i] ?? null, right: add[i] ?? null }); rem.length = 0; add.length = 0; };
      for (const l of h.lines) { if (l.kind === "context") { flush(); rows.push({ kind: "line", left: l, right: l }); } else (l.kind === "removed" ? rem : add).push(l); }
      flush();
    }
    return rows;
  }
  const state = { merged: false };
  const handlers = {
    app_info: () => ({ name: "Fanout", version: "0.1.0-probe" }),
    repo_inspect: ({ path }) => { if (path.includes("bad")) throw { code: "repo.not_found", message: `${path} is not a git repository. Pick the folder that contains .git, or run git init there.` }; return repo; },
    recent_repos: () => recent,
    experiments_list: () => exps,
    experiment_get: ({ id }) => { const e = exps.find((x) => x.id === id); if (!e) throw { code: "store.not_found", message: "No experiment " + id + "." }; return { ...e, status: state.merged ? "merged" : e.status, variants }; },
    experiment_create: ({ repo, task, approaches }) => ({ ...exps[0], task, variants: approaches.map((a, i) => mkVariant(i + 1, a.name, "ready", null)) }),
    variant_commit: ({ variant }) => (variant == null ? variants.map((v) => ({ index: v.index, commit: v.index === 2 ? null : "c0ffee" + v.index })) : [{ index: variant, commit: "c0ffee12345" }]),
    diff_files: ({ variant, against }) => (variant === 2 && against == null ? [] : files),
    diff_file: ({ path, force, split }) => {
      let d;
      if (path === "assets/logo.png") d = force ? small : { kind: "binary", old_size: 2048, new_size: 4096 };
      else if (path === "data/huge.json") d = force ? big : { kind: "too_large", old_size: 30000000, new_size: 31000000, old_lines: 0, new_lines: 400000 };
      else if (path === "src/big_table.rs") d = big;
      else d = small;
      return { diff: d, split: split && d.kind === "patch" ? toSplit(d) : null };
    },
    similarity: () => [[1, 0.62, 0.1], [0.62, 1, 0.35], [0.1, 0.35, 1]],
    merge_preview: ({ variant, target }) => ({ target: target ?? "main", target_head: "9f8e7d6c", source: variants[variant - 1].branch, files: ["src/limiter.rs", "src/lib.rs"], conflicts: [], checked_out: true, blocked_by_uncommitted: variant === 2 ? ["src/limiter.rs"] : [], already_merged: false }),
    merge_apply: ({ strategy, target }) => { state.merged = true; return { target: target ?? "main", commit: "deadbeefcafebabe1234", previous: "9f8e7d6c5b4a", strategy, files: ["src/limiter.rs", "src/lib.rs"] }; },
    merge_undo: () => ({ experiment_id: "e1", variant: 1, target: "main", commit: "deadbeef", previous: "9f8e7d6c5b4a", strategy: "squash", created_at: "", undone: true }),
    experiment_clean: ({ keep }) => ({ removed: ["/wt/2", "/wt/3"], kept_dirty: [], missing_pruned: [], branches_deleted: ["fanout/add-rate-limiting/2-sliding-window"], branches_kept: keep ? ["fanout/add-rate-limiting/1-token-bucket"] : [] }),
  };
  window.__csp = []; document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(e.violatedDirective + " " + e.blockedURI + " " + (e.sample || "")));
  window.__probeCalls = [];
  window.__TAURI_INTERNALS__ = {
    invoke: async (cmd, args) => {
      window.__probeCalls.push([cmd, args]);
      await sleep(cmd === "diff_file" ? 30 : 60);
      const h = handlers[cmd];
      if (!h) throw { code: "probe.unknown", message: "Unknown command " + cmd };
      return h(args || {});
    },
    transformCallback: () => 0,
  };
  window.alert = () => { window.__alerted = true; };
})();
