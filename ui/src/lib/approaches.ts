// The approach form's model and its validation, mirroring the engine's rules:
// 1–8 approaches, every name non-empty, and no two names with the same slug
// (the slug becomes the branch and worktree name).
import { MAX_VARIANTS, type ApproachSpec } from "./api";
import { slugify } from "./slug";

export { MAX_VARIANTS };
export const MIN_VARIANTS = 1;

export interface ApproachDraft {
  /** Stable key for the keyed list; not sent to the engine. */
  key: number;
  name: string;
  description: string;
  guidelines: string;
  /** The agent's stored name; "" uses the default from the settings. */
  agent: string;
  /** "" uses the agent's default model. */
  model: string;
  /** The ssh host it runs on; "" follows the launch's choice of hosts. */
  host: string;
}

/** The agents an approach can name; "" is the settings' default. */
export const AGENTS: readonly { value: string; label: string }[] = [
  { value: "", label: "Default agent" },
  { value: "claude_code", label: "Claude Code" },
  { value: "codex", label: "Codex" },
  { value: "gemini", label: "Gemini CLI" },
  { value: "api", label: "Built-in (model API)" },
  { value: "command", label: "Custom command" },
];

export interface ApproachErrors {
  /** A sentence about the number of approaches, or null. */
  count: string | null;
  /** One entry per approach: a sentence about its name, or null. */
  names: (string | null)[];
  valid: boolean;
}

export function validateApproaches(list: readonly ApproachDraft[]): ApproachErrors {
  const count =
    list.length < MIN_VARIANTS
      ? "Add at least one approach."
      : list.length > MAX_VARIANTS
        ? `At most ${MAX_VARIANTS} approaches can run at once; remove ${list.length - MAX_VARIANTS}.`
        : null;
  const firstBySlug = new Map<string, number>();
  const names = list.map((a, i) => {
    const name = a.name.trim();
    if (name === "") return "Give this approach a name.";
    const slug = slugify(name);
    const first = firstBySlug.get(slug);
    if (first !== undefined) {
      return `This name collides with approach ${first + 1} ("${list[first].name.trim()}"): both become the branch name "${slug}".`;
    }
    firstBySlug.set(slug, i);
    return null;
  });
  return { count, names, valid: count === null && names.every((n) => n === null) };
}

/** The launch's choice of where: "" this machine, "*" this machine and every host by capacity, else one host. */
export function launchHosts(where: string, aliases: readonly string[]): string[] {
  if (where === "") return [];
  if (where === "*") return ["local", ...aliases];
  return [where];
}

export function toSpecs(list: readonly ApproachDraft[]): ApproachSpec[] {
  return list.map((a) => ({
    name: a.name.trim(),
    description: a.description.trim(),
    guidelines: a.guidelines.trim(),
    agent: a.agent.trim() || null,
    model: a.model.trim() || null,
    host: a.host.trim() || null,
  }));
}

/** Drafts from generated approaches, fresh keys, the agent and model as proposed (usually the defaults). */
export function fromSpecs(specs: readonly ApproachSpec[], nextKey: () => number): ApproachDraft[] {
  return specs.map((s) => ({
    key: nextKey(),
    name: s.name,
    description: s.description,
    guidelines: s.guidelines,
    agent: s.agent ?? "",
    model: s.model ?? "",
    host: s.host ?? "",
  }));
}

/** Grows or shrinks the list to `n` (clamped to 1–8), keeping what was typed. */
export function resize(list: readonly ApproachDraft[], n: number, nextKey: () => number): ApproachDraft[] {
  const target = Math.min(MAX_VARIANTS, Math.max(MIN_VARIANTS, Math.round(n) || MIN_VARIANTS));
  const out = list.slice(0, target);
  while (out.length < target) out.push(blankApproach(nextKey()));
  return out;
}

export function blankApproach(key: number): ApproachDraft {
  return { key, name: "", description: "", guidelines: "", agent: "", model: "", host: "" };
}

/** Moves item `i` by `delta` places; out-of-range moves return the list unchanged. */
export function move<T>(list: readonly T[], i: number, delta: number): T[] {
  const j = i + delta;
  if (i < 0 || i >= list.length || j < 0 || j >= list.length) return list.slice();
  const out = list.slice();
  [out[i], out[j]] = [out[j], out[i]];
  return out;
}
