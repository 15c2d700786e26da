// The engine marks word-level emphasis as UTF-8 byte ranges; JS strings index
// UTF-16 code units. These helpers convert, so "é" or "🚀" never shift a highlight.

/** UTF-8 length of the code point starting with UTF-16 unit `cp`. */
function utf8Len(cp: number): number {
  if (cp < 0x80) return 1;
  if (cp < 0x800) return 2;
  if (cp < 0x10000) return 3;
  return 4;
}

/**
 * Maps UTF-8 byte offsets to UTF-16 indices in `text`. Offsets inside a code
 * point snap forward to its end; offsets past the end clamp to the length.
 */
export function byteToIndex(text: string, offsets: readonly number[]): number[] {
  const order = offsets.map((o, i) => [o, i] as const).sort((a, b) => a[0] - b[0]);
  const out = new Array<number>(offsets.length);
  let byte = 0;
  let idx = 0;
  let k = 0;
  while (k < order.length) {
    const [target, slot] = order[k];
    if (byte >= target || idx >= text.length) {
      out[slot] = idx;
      k++;
      continue;
    }
    const cp = text.codePointAt(idx)!;
    byte += utf8Len(cp);
    idx += cp > 0xffff ? 2 : 1;
  }
  return out;
}

/** Converts UTF-8 byte ranges to JS string index ranges. */
export function emphasisIndices(text: string, ranges: readonly (readonly [number, number])[]): [number, number][] {
  if (ranges.length === 0) return [];
  const idx = byteToIndex(text, ranges.flat());
  return ranges.map((_, r) => [idx[2 * r], idx[2 * r + 1]]);
}
