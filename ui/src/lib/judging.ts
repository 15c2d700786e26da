// Choosing the winner, apart from Svelte: scores, the ranking's words, and
// the picks for a combined variant (as the engine's `Take`s).
import type { Score, Standing, Take } from "./api";

export function meanScore(scores: readonly Score[]): number {
  if (scores.length === 0) return 0;
  return scores.reduce((sum, s) => sum + s.score, 0) / scores.length;
}

export function standingLabel(standing: Standing): string {
  switch (standing) {
    case "passing":
      return "passing";
    case "check_failed":
      return "check failed";
    case "no_changes":
      return "no changes";
  }
}

/** A pick's key: one file of a variant, whole (`hunk` null) or one hunk. */
export function takeKey(t: Take): string {
  return `${t.variant}:${t.path}${t.hunk == null ? "" : `#${t.hunk}`}`;
}

/** Adds the pick, or removes it when it is there already. */
export function togglePick(picks: readonly Take[], t: Take): Take[] {
  const key = takeKey(t);
  return picks.some((p) => takeKey(p) === key) ? picks.filter((p) => takeKey(p) !== key) : [...picks, t];
}

export function isPicked(picks: readonly Take[], t: Take): boolean {
  const key = takeKey(t);
  return picks.some((p) => takeKey(p) === key);
}

/** "1: src/a.rs, 3: src/b.rs#2", as the engine describes a combination. */
export function describePicks(picks: readonly Take[]): string {
  return picks.map((t) => `${t.variant}: ${t.path}${t.hunk == null ? "" : `#${t.hunk}`}`).join(", ");
}
