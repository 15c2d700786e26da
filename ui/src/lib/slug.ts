// Mirrors the engine's `slug::slugify` (src-tauri/engine/src/slug.rs) so the UI
// can flag approach names that would collide as branch names before creating.

export const MAX_SLUG_LEN = 40;

const FOLDS: [string, string][] = [
  ["àáâãäåÀÁÂÃÄÅ", "a"],
  ["çÇ", "c"],
  ["èéêëÈÉÊË", "e"],
  ["ìíîïÌÍÎÏ", "i"],
  ["ñÑ", "n"],
  ["òóôõöøÒÓÔÕÖØ", "o"],
  ["ùúûüÙÚÛÜ", "u"],
  ["ýÿÝ", "y"],
  ["ß", "s"],
];

function foldToAscii(ch: string): string | null {
  if (ch.charCodeAt(0) < 128 && ch.length === 1) return ch;
  for (const [from, to] of FOLDS) if (from.includes(ch)) return to;
  return null;
}

const isAlnum = (c: string) => /^[A-Za-z0-9]$/.test(c);

export function slugifyOr(text: string, maxLen: number, fallback: string): string {
  let slug = "";
  let pendingHyphen = false;
  for (const ch of text) {
    const mapped = foldToAscii(ch);
    if (mapped !== null && isAlnum(mapped)) {
      if (pendingHyphen && slug.length > 0) {
        if (slug.length + 2 > maxLen) break;
        slug += "-";
      }
      pendingHyphen = false;
      if (slug.length + 1 > maxLen) break;
      slug += mapped.toLowerCase();
    } else {
      pendingHyphen = true;
    }
  }
  slug = trimToWord(slug, text, maxLen);
  return slug.length === 0 ? fallback : slug;
}

export const slugify = (text: string) => slugifyOr(text, MAX_SLUG_LEN, "task");

/** The engine compares byte lengths; the slug is ASCII, the text may not be. */
function trimToWord(slug: string, text: string, maxLen: number): string {
  const textBytes = new TextEncoder().encode(text).length;
  const wasCut = slug.length >= Math.max(0, maxLen - 1) && textBytes > slug.length;
  if (wasCut) {
    const pos = slug.lastIndexOf("-");
    if (pos >= 0 && pos >= Math.floor(maxLen / 2)) slug = slug.slice(0, pos);
  }
  return slug.replace(/-+$/, "");
}
