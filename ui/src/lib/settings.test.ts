import { describe, expect, it } from "vitest";
import type { KeyStatus, Settings } from "./api";
import {
  applyTheme,
  describeKey,
  fromForm,
  fromRepoSetupForm,
  loadTheme,
  newHost,
  saveTheme,
  setOwnRules,
  toForm,
  toRepoSetupForm,
  toolList,
  validateForm,
} from "./settings";
import css from "../app.css?raw";

const defaults: Settings = {
  claude_path: null,
  codex_path: null,
  default_agent: "claude_code",
  default_model: null,
  permission: "ask",
  agent_command: null,
  api: { provider: "anthropic", base_url: null, model: null },
  max_parallel: null,
  timeout_minutes: 30,
  worktree_root: null,
  methodology_path: null,
  theme: "system",
  reviewer: { choice: "auto", model: null, automatic: false, budget_tokens: 24000 },
  max_checks: null,
  min_free_memory_mb: 2000,
  github_api: null,
  hosts: [{ alias: "build-box", capacity: 3, agent_path: null, workspace: ".fanout" }],
  ssh_config: null,
  approvals: {
    defaults: {
      edit_tools: ["Write", "Edit", "MultiEdit", "NotebookEdit"],
      allow_edits_in_worktree: true,
      deny_paths_outside_worktree: true,
      allow_tools: [],
      deny_tools: [],
      timeout_secs: 1800,
    },
    repositories: {},
  },
  editor_command: null,
  sandbox: true,
  agent_command_env: [],
};

describe("settings form", () => {
  it("round-trips the engine's settings unchanged", () => {
    const full: Settings = {
      ...defaults,
      claude_path: "/opt/claude",
      default_model: "sonnet",
      permission: "edits_and_commands",
      api: { provider: "open_ai", base_url: "http://127.0.0.1:9", model: "gpt-x" },
      max_parallel: 3,
      timeout_minutes: 12,
      worktree_root: "/trees",
      editor_command: "code {path}",
      theme: "dark",
      sandbox: false,
      agent_command_env: ["MY_AGENT_TOKEN"],
    };
    expect(fromForm(toForm(full))).toEqual(full);
    expect(fromForm(toForm(defaults))).toEqual(defaults);
  });

  it("edits the open repository's own approval rules and keeps the others", () => {
    const other = { ...defaults.approvals.defaults, allow_tools: ["Bash"] };
    const saved: Settings = { ...defaults, approvals: { ...defaults.approvals, repositories: { "/repos/other": other } } };
    expect(fromForm(toForm(saved, "/repos/app"))).toEqual(saved);

    const own = setOwnRules(toForm(saved, "/repos/app"), true);
    const edited = { ...own, rules: { ...own.rules, allowTools: "Bash, WebFetch  Bash", denyTools: "WebSearch", timeoutMinutes: "5" } };
    const s = fromForm(edited);
    expect(s.approvals.repositories["/repos/app"]).toEqual({
      ...defaults.approvals.defaults,
      allow_tools: ["Bash", "WebFetch"],
      deny_tools: ["WebSearch"],
      timeout_secs: 300,
    });
    expect(s.approvals.defaults).toEqual(defaults.approvals.defaults);
    expect(s.approvals.repositories["/repos/other"]).toEqual(other);

    // Opening it again shows its own rules; turning them off drops them and shows the defaults.
    const again = toForm(s, "/repos/app");
    expect(again.ownRules).toBe(true);
    expect(again.rules.timeoutMinutes).toBe("5");
    const off = setOwnRules(again, false);
    expect(off.rules.allowTools).toBe("");
    expect(fromForm(off).approvals.repositories["/repos/app"]).toBeUndefined();
  });

  it("without an open repository, the rules are the defaults", () => {
    const form = toForm(defaults);
    expect(setOwnRules(form, true)).toBe(form);
    const s = fromForm({ ...form, rules: { ...form.rules, allowEdits: false } });
    expect(s.approvals.defaults.allow_edits_in_worktree).toBe(false);
    expect(toolList(" a,,b  c ")).toEqual(["a", "b", "c"]);
    expect(validateForm({ ...form, rules: { ...form.rules, timeoutMinutes: "0" } }).approvalTimeout).toMatch(/at least 1/);
  });

  it("turns blank fields into 'not set' and trims the rest", () => {
    const form = { ...toForm(defaults), defaultModel: "  ", baseUrl: " https://x.test ", maxParallel: " 4 " };
    const s = fromForm(form);
    expect(s.default_model).toBeNull();
    expect(s.api.base_url).toBe("https://x.test");
    expect(s.max_parallel).toBe(4);
  });

  it("flags each bad field with a sentence, as the engine would", () => {
    const form = {
      ...toForm(defaults),
      maxParallel: "9",
      timeoutMinutes: "0",
      baseUrl: "localhost:8080",
      worktreeRoot: "relative/trees",
      editorCommand: "code 'unclosed",
      claudePath: "bin/claude",
    };
    const errors = validateForm(form);
    expect(errors.maxParallel).toMatch(/between 1 and 8/);
    expect(errors.timeoutMinutes).toMatch(/at least 1/);
    expect(errors.baseUrl).toMatch(/http:\/\//);
    expect(errors.worktreeRoot).toMatch(/absolute/);
    expect(errors.editorCommand).toMatch(/quote/);
    expect(errors.claudePath).toMatch(/absolute/);
  });

  it("accepts the defaults and a bare program name", () => {
    expect(validateForm({ ...toForm(defaults), claudePath: "claude", maxParallel: "8", editorCommand: `"/My Ed/ed" {path}` })).toEqual({});
  });

  it("refuses fractions and words as numbers", () => {
    expect(validateForm({ ...toForm(defaults), maxParallel: "2.5" }).maxParallel).toBeDefined();
    expect(validateForm({ ...toForm(defaults), timeoutMinutes: "ten" }).timeoutMinutes).toBeDefined();
  });
});

describe("API key display", () => {
  const status = (source: KeyStatus["source"], masked: string | null): KeyStatus => ({
    provider: "anthropic",
    source,
    masked,
    env_var: "ANTHROPIC_API_KEY",
  });

  it("shows only the masked key and where it comes from", () => {
    expect(describeKey(status("keyring", "sk-…a1b2"))).toBe("Saved in the system keyring (sk-…a1b2).");
    expect(describeKey(status("environment", "sk-…a1b2"))).toMatch(/^From ANTHROPIC_API_KEY \(sk-…a1b2\)/);
    expect(describeKey(status("none", null))).toMatch(/set ANTHROPIC_API_KEY/);
  });
});

describe("theme", () => {
  it("marks an explicit theme on the root and clears it for system", () => {
    const attrs = new Map<string, string>();
    const root = { setAttribute: (k: string, v: string) => void attrs.set(k, v), removeAttribute: (k: string) => void attrs.delete(k) };
    applyTheme("dark", root);
    expect(attrs.get("data-theme")).toBe("dark");
    applyTheme("system", root);
    expect(attrs.has("data-theme")).toBe(false);
  });

  it("remembers the last theme and ignores junk", () => {
    const data = new Map<string, string>();
    const store = { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
    expect(loadTheme(store)).toBe("system");
    saveTheme("light", store);
    expect(loadTheme(store)).toBe("light");
    data.set("fanout.theme", "purple");
    expect(loadTheme(store)).toBe("system");
  });

  it("keeps the explicit dark theme and the system's dark theme in step", () => {
    // Both blocks must set the same colours, or "Dark" and the system's dark differ.
    const block = (selector: string) => {
      const start = css.indexOf(selector);
      expect(start).toBeGreaterThan(-1);
      const body = css.slice(css.indexOf("{", start) + 1, css.indexOf("}", start));
      return body
        .split(";")
        .map((l: string) => l.trim())
        .filter((l: string) => l.startsWith("--"));
    };
    const explicit = block(':root[data-theme="dark"]');
    expect(explicit.length).toBeGreaterThan(10);
    expect(block(':root:not([data-theme="light"])')).toEqual(explicit);
  });
});

describe("repository setup form", () => {
  it("round-trips the engine's settings", () => {
    for (const warm of [null, [], ["target", "node_modules"]]) {
      const s = { copy: [".env", ".env.*"], setup_command: "npm ci", setup_timeout_secs: 600, check_network: false, warm };
      expect(fromRepoSetupForm(toRepoSetupForm(s))).toEqual({ settings: s });
    }
  });
  it("drops blank rows, trims, and sends an empty command as none", () => {
    const out = fromRepoSetupForm({ copy: [" .env ", "", "  "], setupCommand: "   ", timeoutSecs: " 30 ", checkNetwork: true, warmFolders: "  target  node_modules ", warmOff: false });
    expect(out).toEqual({ settings: { copy: [".env"], setup_command: null, setup_timeout_secs: 30, check_network: true, warm: ["target", "node_modules"] } });
  });
  it("refuses a timeout that is no whole number, leaving range checks to the engine", () => {
    expect(fromRepoSetupForm({ copy: [], setupCommand: "", timeoutSecs: "ten", checkNetwork: true, warmFolders: "", warmOff: false })).toEqual({
      error: "The setup timeout must be a whole number of seconds, like 600 for ten minutes.",
    });
    expect(fromRepoSetupForm({ copy: [], setupCommand: "", timeoutSecs: "0", checkNetwork: false, warmFolders: "target", warmOff: true })).toEqual({
      settings: { copy: [], setup_command: null, setup_timeout_secs: 0, check_network: false, warm: [] },
    });
  });
});

describe("hosts", () => {
  const fields = { alias: "build-box", capacity: "3", agentPath: " /opt/claude ", workspace: "" };

  it("a new host keeps what was typed, with the default folder", () => {
    expect(newHost([], fields)).toEqual({ alias: "build-box", capacity: 3, agent_path: "/opt/claude", workspace: ".fanout" });
  });

  it("refuses what ssh would read as an option or a user, this machine's name, twins and no room", () => {
    for (const alias of ["-oProxyCommand=x", "me@box", "two words", "", "local"]) {
      expect(newHost([], { ...fields, alias }), alias).toMatch(/alias of a Host/);
    }
    const first = newHost([], fields);
    if (typeof first === "string") throw new Error(first);
    expect(newHost([first], fields)).toMatch(/listed already/);
    expect(newHost([], { ...fields, capacity: "0" })).toMatch(/at least 1/);
  });

  it("the form carries the hosts and the ssh configuration through unchanged", () => {
    const back = fromForm(toForm({ ...defaults, ssh_config: "/etc/fanout/ssh" }));
    expect(back.hosts).toEqual(defaults.hosts);
    expect(back.ssh_config).toBe("/etc/fanout/ssh");
  });
});
