// The settings screen's logic, apart from Svelte: the form's text fields to
// and from the engine's `Settings`, the same checks the engine makes (shown
// inline before saving), the key's description, and the theme.
import type {
  AgentKind,
  AskerChoice,
  ApprovalRules,
  ApprovalSettings,
  HostConfig,
  KeyStatus,
  PermissionProfile,
  Provider,
  RepoSettings,
  Settings,
  Theme,
} from "./api";
import { MAX_VARIANTS } from "./api";

/** Sessions at once can be at most the variants an experiment has (the engine's MAX_VARIANTS). */
export const MAX_PARALLEL = MAX_VARIANTS;

/** Every field as the user types it: text, with "" for "not set". */
export interface SettingsForm {
  claudePath: string;
  codexPath: string;
  defaultAgent: AgentKind;
  defaultModel: string;
  permission: PermissionProfile;
  agentCommand: string;
  provider: Provider;
  baseUrl: string;
  apiModel: string;
  /** "" runs every variant at once. */
  maxParallel: string;
  timeoutMinutes: string;
  worktreeRoot: string;
  methodologyPath: string;
  editorCommand: string;
  theme: Theme;
  sandbox: boolean;
  /** Kept as saved: the settings file's list, not edited here. */
  agentCommandEnv: string[];
  /** Who reviews and judges: auto (the API when a key is set, else Claude Code), api, or claude. */
  reviewerChoice: AskerChoice;
  /** "" is the API settings' model. */
  reviewerModel: string;
  reviewAutomatically: boolean;
  reviewBudget: string;
  /** "" is half the cores. */
  maxChecks: string;
  minFreeMemoryMb: string;
  /** "" is GITHUB_API_URL, else api.github.com. */
  githubApi: string;
  /** The ssh hosts, edited in Settings → Hosts. */
  hosts: HostConfig[];
  /** "" is ssh's own configuration (~/.ssh/config). */
  sshConfig: string;
  /** The saved approval settings; the rules below are written into them. */
  approvals: ApprovalSettings;
  /** The open repository's root, whose rules can differ; null edits the defaults only. */
  rulesRepo: string | null;
  /** The open repository has rules of its own (else it follows the defaults). */
  ownRules: boolean;
  rules: RulesForm;
}

/** The "ask" profile's rules as the user types them. */
export interface RulesForm {
  allowEdits: boolean;
  denyOutside: boolean;
  /** Tool names, separated by commas or spaces. */
  allowTools: string;
  denyTools: string;
  timeoutMinutes: string;
}

export type FormErrors = Partial<Record<Exclude<keyof SettingsForm, "rules"> | "approvalTimeout", string>>;

function toRulesForm(r: ApprovalRules): RulesForm {
  return {
    allowEdits: r.allow_edits_in_worktree,
    denyOutside: r.deny_paths_outside_worktree,
    allowTools: r.allow_tools.join(", "),
    denyTools: r.deny_tools.join(", "),
    timeoutMinutes: String(Math.max(1, Math.round(r.timeout_secs / 60))),
  };
}

/** "Bash, WebFetch  Grep" → ["Bash", "WebFetch", "Grep"]. */
export function toolList(text: string): string[] {
  return [...new Set(text.split(/[\s,]+/).filter((t) => t !== ""))];
}

function fromRulesForm(f: RulesForm, base: ApprovalRules): ApprovalRules {
  return {
    ...base,
    allow_edits_in_worktree: f.allowEdits,
    deny_paths_outside_worktree: f.denyOutside,
    allow_tools: toolList(f.allowTools),
    deny_tools: toolList(f.denyTools),
    timeout_secs: wholeNumber(f.timeoutMinutes) * 60,
  };
}

/** The rules the form edits: the repository's own, else the defaults. */
function editedRules(a: ApprovalSettings, repo: string | null): ApprovalRules {
  return (repo != null && a.repositories[repo]) || a.defaults;
}

/**
 * Turns the repository's own rules on (starting from what the fields show) or
 * off (the fields show the defaults again, which stay as saved).
 */
export function setOwnRules(f: SettingsForm, own: boolean): SettingsForm {
  if (own === f.ownRules || f.rulesRepo == null) return f;
  return { ...f, ownRules: own, rules: own ? f.rules : toRulesForm(f.approvals.defaults) };
}

export function toForm(s: Settings, repo: string | null = null): SettingsForm {
  const own = repo != null && repo in s.approvals.repositories;
  return {
    approvals: s.approvals,
    rulesRepo: repo,
    ownRules: own,
    rules: toRulesForm(editedRules(s.approvals, own ? repo : null)),
    claudePath: s.claude_path ?? "",
    codexPath: s.codex_path ?? "",
    defaultAgent: s.default_agent,
    defaultModel: s.default_model ?? "",
    permission: s.permission,
    agentCommand: s.agent_command ?? "",
    provider: s.api.provider,
    baseUrl: s.api.base_url ?? "",
    apiModel: s.api.model ?? "",
    maxParallel: s.max_parallel == null ? "" : String(s.max_parallel),
    timeoutMinutes: String(s.timeout_minutes),
    worktreeRoot: s.worktree_root ?? "",
    methodologyPath: s.methodology_path ?? "",
    editorCommand: s.editor_command ?? "",
    theme: s.theme,
    sandbox: s.sandbox,
    agentCommandEnv: s.agent_command_env,
    reviewerChoice: s.reviewer.choice,
    reviewerModel: s.reviewer.model ?? "",
    reviewAutomatically: s.reviewer.automatic,
    reviewBudget: String(s.reviewer.budget_tokens),
    maxChecks: s.max_checks == null ? "" : String(s.max_checks),
    minFreeMemoryMb: String(s.min_free_memory_mb),
    githubApi: s.github_api ?? "",
    hosts: s.hosts,
    sshConfig: s.ssh_config ?? "",
  };
}

const optional = (text: string): string | null => {
  const t = text.trim();
  return t === "" ? null : t;
};

/** Whole numbers only: "3" → 3, "3.5" / "three" / "" → NaN. */
function wholeNumber(text: string): number {
  const t = text.trim();
  return /^\d+$/.test(t) ? Number(t) : NaN;
}

/** What the user typed for a new host. */
export interface HostFields {
  alias: string;
  capacity: string;
  agentPath: string;
  workspace: string;
}

/** A host to add to `hosts`, or why it cannot be (the engine checks the same on save). */
export function newHost(hosts: readonly HostConfig[], f: HostFields): HostConfig | string {
  const alias = f.alias.trim();
  if (!/^[A-Za-z0-9._][A-Za-z0-9._-]*$/.test(alias) || alias === "local") {
    return "Give the alias of a Host in your ssh configuration: letters, digits, dots, dashes and underscores (not \"local\", which is this machine).";
  }
  if (hosts.some((h) => h.alias === alias)) return `The host ${alias} is listed already.`;
  const capacity = wholeNumber(f.capacity);
  if (!(capacity >= 1)) return "Agents at once must be a whole number, at least 1.";
  return { alias, capacity, agent_path: f.agentPath.trim() || null, workspace: f.workspace.trim() || ".fanout" };
}

/** The settings the form describes; call only once `validateForm` found nothing. */
export function fromForm(f: SettingsForm): Settings {
  const parallel = optional(f.maxParallel);
  return {
    claude_path: optional(f.claudePath),
    codex_path: optional(f.codexPath),
    default_agent: f.defaultAgent,
    default_model: optional(f.defaultModel),
    permission: f.permission,
    agent_command: optional(f.agentCommand),
    api: { provider: f.provider, base_url: optional(f.baseUrl), model: optional(f.apiModel) },
    max_parallel: parallel == null ? null : wholeNumber(parallel),
    timeout_minutes: wholeNumber(f.timeoutMinutes),
    worktree_root: optional(f.worktreeRoot),
    methodology_path: optional(f.methodologyPath),
    editor_command: optional(f.editorCommand),
    theme: f.theme,
    approvals: approvalsFromForm(f),
    sandbox: f.sandbox,
    agent_command_env: f.agentCommandEnv,
    reviewer: {
      choice: f.reviewerChoice,
      model: optional(f.reviewerModel),
      automatic: f.reviewAutomatically,
      budget_tokens: wholeNumber(f.reviewBudget),
    },
    max_checks: optional(f.maxChecks) == null ? null : wholeNumber(f.maxChecks),
    min_free_memory_mb: wholeNumber(f.minFreeMemoryMb),
    github_api: optional(f.githubApi),
    hosts: f.hosts,
    ssh_config: optional(f.sshConfig),
  };
}

function approvalsFromForm(f: SettingsForm): ApprovalSettings {
  const repositories = { ...f.approvals.repositories };
  const repo = f.rulesRepo;
  if (repo != null && f.ownRules) {
    repositories[repo] = fromRulesForm(f.rules, editedRules(f.approvals, repo));
    return { defaults: f.approvals.defaults, repositories };
  }
  if (repo != null) delete repositories[repo];
  return { defaults: fromRulesForm(f.rules, f.approvals.defaults), repositories };
}

/** The engine's checks, in the same words, so mistakes show beside their field. */
export function validateForm(f: SettingsForm): FormErrors {
  const errors: FormErrors = {};
  const parallel = optional(f.maxParallel);
  if (parallel != null) {
    const n = wholeNumber(parallel);
    if (!(n >= 1 && n <= MAX_PARALLEL)) {
      errors.maxParallel = `Max parallel sessions must be a whole number between 1 and ${MAX_PARALLEL}. Leave it empty to run every variant at once.`;
    }
  }
  const timeout = wholeNumber(f.timeoutMinutes);
  if (!(timeout >= 1)) errors.timeoutMinutes = "The session timeout must be a whole number of minutes, at least 1.";
  if (!(wholeNumber(f.rules.timeoutMinutes) >= 1)) {
    errors.approvalTimeout = "The approval wait must be a whole number of minutes, at least 1.";
  }
  if (optional(f.maxChecks) != null && !(wholeNumber(f.maxChecks) >= 1)) {
    errors.maxChecks = "Checks at once must be a whole number, at least 1. Leave it empty for half the cores.";
  }
  if (!(wholeNumber(f.minFreeMemoryMb) >= 0)) {
    errors.minFreeMemoryMb = "The free memory to wait for must be a whole number of MB (0 never waits).";
  }
  if (!(wholeNumber(f.reviewBudget) >= 1000)) {
    errors.reviewBudget = "The review budget must be a whole number of tokens, at least 1000.";
  }
  const github = optional(f.githubApi);
  if (github != null && !/^https?:\/\//.test(github)) {
    errors.githubApi = "The GitHub API URL must start with http:// or https://.";
  }
  const url = optional(f.baseUrl);
  if (url != null && !/^https?:\/\//.test(url)) {
    errors.baseUrl = `The API base URL must start with http:// or https://.`;
  }
  const root = optional(f.worktreeRoot);
  if (root != null && !root.startsWith("/")) {
    errors.worktreeRoot = "The worktree folder must be an absolute path, like /home/me/fanout-trees.";
  }
  const editor = optional(f.editorCommand);
  if (editor != null && unbalancedQuotes(editor)) {
    errors.editorCommand = "The editor command has an unclosed quote.";
  }
  for (const key of ["claudePath", "codexPath"] as const) {
    const p = optional(f[key]);
    if (p != null && p.includes("/") && !p.startsWith("/")) {
      errors[key] = "Give an absolute path, or just the program's name to search the PATH.";
    }
  }
  return errors;
}

function unbalancedQuotes(text: string): boolean {
  let quote: string | null = null;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === "\\" && quote !== "'") i++;
    else if (quote == null && (c === "'" || c === '"')) quote = c;
    else if (c === quote) quote = null;
  }
  return quote != null;
}

/** Where the key comes from, in words; only the masked form is ever shown. */
export function describeKey(status: KeyStatus): string {
  switch (status.source) {
    case "keyring":
      return `Saved in the system keyring (${status.masked ?? "••••"}).`;
    case "environment":
      return `From ${status.env_var} (${status.masked ?? "••••"}). A key saved here takes its place.`;
    default:
      return `No key yet. Save one here, or set ${status.env_var} before starting Fanout.`;
  }
}

export const PROVIDERS: { value: Provider; label: string }[] = [
  { value: "anthropic", label: "Anthropic" },
  { value: "open_ai", label: "OpenAI-compatible" },
];

export const AGENTS: { value: AgentKind; label: string }[] = [
  { value: "claude_code", label: "Claude Code" },
  { value: "codex", label: "Codex" },
  { value: "api", label: "Built-in (model API)" },
  { value: "command", label: "Custom command" },
];

export const PERMISSIONS: { value: PermissionProfile; label: string; hint: string }[] = [
  {
    value: "ask",
    label: "Ask me",
    hint: "Rules decide first (edits inside the worktree allowed, paths outside denied); commands and the rest wait for your approval on the variant's card. Claude Code and the built-in agent; the others run as \"Edit files\".",
  },
  { value: "edits", label: "Edit files", hint: "Agents may change files in their worktree; no shell commands (Codex keeps its shell, inside its own sandbox)." },
  { value: "edits_and_commands", label: "Edit files and run commands", hint: "Agents may also run shell commands (tests, builds)." },
  { value: "bypass", label: "Everything", hint: "No restriction. Claude Code refuses this when run as root." },
];

// --- Theme ---

const THEME_KEY = "fanout.theme";

type Storage = Pick<globalThis.Storage, "getItem" | "setItem">;

function storage(): Storage | null {
  try {
    return globalThis.localStorage ?? null;
  } catch {
    return null;
  }
}

/**
 * Applies the theme to the page: `data-theme` on the root element makes an
 * explicit choice win over the system's (see app.css); "system" removes it.
 */
type ThemeRoot = Pick<Element, "setAttribute" | "removeAttribute">;

export function applyTheme(theme: Theme, root: ThemeRoot | null = globalThis.document?.documentElement ?? null) {
  if (!root) return;
  if (theme === "system") root.removeAttribute("data-theme");
  else root.setAttribute("data-theme", theme);
}

/** The last theme used, so the window opens in it before the settings load. */
export function loadTheme(store: Storage | null = storage()): Theme {
  try {
    const t = store?.getItem(THEME_KEY);
    return t === "light" || t === "dark" ? t : "system";
  } catch {
    return "system";
  }
}

export function saveTheme(theme: Theme, store: Storage | null = storage()) {
  try {
    store?.setItem(THEME_KEY, theme);
  } catch {
    // The saved settings still hold it; only the first paint may differ.
  }
}

// --- A repository's worktree setup (stored by the engine, not in settings.json) ---

/** The repository's worktree setup as the user types it. */
export interface RepoSetupForm {
  /** One glob per row; blank rows are dropped when saved. */
  copy: string[];
  /** "" for no setup command. */
  setupCommand: string;
  timeoutSecs: string;
  checkNetwork: boolean;
  /** Built-state folders to warm, space-separated; "" is what Fanout detects. */
  warmFolders: string;
  /** Every new worktree starts cold. */
  warmOff: boolean;
}

export function toRepoSetupForm(s: RepoSettings): RepoSetupForm {
  return {
    copy: [...s.copy],
    setupCommand: s.setup_command ?? "",
    timeoutSecs: String(s.setup_timeout_secs),
    checkNetwork: s.check_network,
    warmFolders: (s.warm ?? []).join(" "),
    warmOff: s.warm != null && s.warm.length === 0,
  };
}

/**
 * The settings to save, or why the form cannot be sent. Only what the form
 * itself can tell (a timeout that is no number) is checked here; the engine
 * checks the rest and its sentence is shown as it comes.
 */
export function fromRepoSetupForm(f: RepoSetupForm): { settings: RepoSettings } | { error: string } {
  const timeout = wholeNumber(f.timeoutSecs);
  if (Number.isNaN(timeout)) return { error: "The setup timeout must be a whole number of seconds, like 600 for ten minutes." };
  return {
    settings: {
      copy: f.copy.map((g) => g.trim()).filter((g) => g !== ""),
      setup_command: optional(f.setupCommand),
      setup_timeout_secs: timeout,
      check_network: f.checkNetwork,
      warm: f.warmOff ? [] : f.warmFolders.trim() === "" ? null : f.warmFolders.trim().split(/\s+/),
    },
  };
}
