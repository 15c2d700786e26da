// The engine marks word-level emphasis as UTF-8 byte ranges; JS strings index
// UTF-16 code units. These helpers convert, so "é" or "🚀" never shift a highlight.

export interface Segment {
  text: string;
  em: boolean;
}

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

/** Splits `text` into plain and emphasised runs from UTF-8 byte ranges. */
export function emphasisSegments(text: string, ranges: readonly (readonly [number, number])[]): Segment[] {
  if (ranges.length === 0) return [{ text, em: false }];
  const sorted = ranges
    .filter(([a, b]) => b > a)
    .slice()
    .sort((x, y) => x[0] - y[0]);
  const idx = byteToIndex(text, sorted.flat());
  const out: Segment[] = [];
  let pos = 0;
  for (let r = 0; r < sorted.length; r++) {
    const start = Math.max(idx[2 * r], pos);
    const end = Math.max(idx[2 * r + 1], start);
    if (start > pos) out.push({ text: text.slice(pos, start), em: false });
    if (end > start) out.push({ text: text.slice(start, end), em: true });
    pos = end;
  }
  if (pos < text.length) out.push({ text: text.slice(pos), em: false });
  return out;
}
