// Light, per-line syntax highlighting by file extension. It only classifies
// ranges of the line (keyword, string, comment, number); the text itself is
// always rendered as text. Constructs spanning lines (block comments, multi-line
// strings) are highlighted only on the line where they start and end.

export type TokenClass = "kw" | "str" | "com" | "num";

export interface Token {
  start: number;
  end: number;
  cls: TokenClass;
}

interface Lang {
  re: RegExp;
  keywords: Set<string>;
}

const words = (s: string) => new Set(s.split(/\s+/));

const NUM = String.raw`\b0x[0-9a-fA-F_]+\b|\b\d[\d_]*(?:\.\d+)?(?:[eE][+-]?\d+)?[a-zA-Z0-9_]*\b`;
const DQ = String.raw`"(?:[^"\\]|\\.)*"?`;
const SQ = String.raw`'(?:[^'\\]|\\.)*'?`;
const BT = String.raw`\`(?:[^\`\\]|\\.)*\`?`;
const SLASH_COMMENT = String.raw`\/\/.*$|\/\*.*?(?:\*\/|$)`;
const HASH_COMMENT = String.raw`#.*$`;
const WORD = String.raw`\b[A-Za-z_][A-Za-z0-9_]*\b`;

const lang = (comment: string, strings: string[], keywords: string): Lang => ({
  re: new RegExp(`(${comment})|(${strings.join("|")})|(${NUM})|(${WORD})`, "g"),
  keywords: words(keywords),
});

const RUST = lang(SLASH_COMMENT, [DQ, String.raw`'(?:[^'\\]|\\.)'`], "as async await break const continue crate dyn else enum extern false fn for if impl in let loop match mod move mut pub ref return self Self static struct super trait true type unsafe use where while Some None Ok Err");
const JS = lang(SLASH_COMMENT, [DQ, SQ, BT], "as async await break case catch class const continue default delete do else enum export extends false finally for from function if implements import in instanceof interface let new null of private protected public readonly return static super switch this throw true try type typeof undefined var void while yield");
const C = lang(SLASH_COMMENT, [DQ, SQ], "auto break case catch char class const continue default delete do double else enum extern false float for func go goto if import int interface long map namespace new nil null package private protected public range return short signed sizeof static struct switch template this throw true try type typedef union unsigned var void volatile while");
const PY = lang(HASH_COMMENT, [DQ, SQ], "and as assert async await break class continue def del elif else except False finally for from global if import in is lambda None nonlocal not or pass raise return self True try while with yield");
const SH = lang(HASH_COMMENT, [DQ, SQ], "case do done elif else esac export fi for function if in local return then until while");
const CONF = lang(HASH_COMMENT, [DQ, SQ], "true false null yes no");

const BY_EXT: Record<string, Lang> = {
  rs: RUST,
  ts: JS, tsx: JS, js: JS, jsx: JS, mjs: JS, cjs: JS, svelte: JS, vue: JS, json: JS,
  c: C, h: C, cc: C, cpp: C, hpp: C, java: C, kt: C, go: C, cs: C, swift: C, scala: C, css: C,
  py: PY, pyi: PY, rb: PY,
  sh: SH, bash: SH, zsh: SH,
  toml: CONF, yaml: CONF, yml: CONF, ini: CONF, cfg: CONF,
};

export function languageFor(path: string): Lang | null {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  if (dot <= 0) return name === "Makefile" || name === "Dockerfile" ? SH : null;
  return BY_EXT[name.slice(dot + 1).toLowerCase()] ?? null;
}

/** Token ranges (JS string indices) in one line; nothing for unknown languages. */
export function highlightLine(text: string, language: Lang | null): Token[] {
  if (!language || text.length > 2000) return [];
  const out: Token[] = [];
  language.re.lastIndex = 0;
  for (let m = language.re.exec(text); m; m = language.re.exec(text)) {
    if (m[0].length === 0) {
      language.re.lastIndex++;
      continue;
    }
    const cls: TokenClass | null = m[1] ? "com" : m[2] ? "str" : m[3] ? "num" : language.keywords.has(m[0]) ? "kw" : null;
    if (cls) out.push({ start: m.index, end: m.index + m[0].length, cls });
  }
  return out;
}

export interface StyledSegment {
  text: string;
  em: boolean;
  cls: TokenClass | null;
}

/**
 * Cuts a line at every token and emphasis boundary so each piece has one
 * token class and one emphasis flag. `em` ranges are JS string indices.
 */
export function styleSegments(text: string, tokens: readonly Token[], em: readonly (readonly [number, number])[]): StyledSegment[] {
  const cuts = new Set<number>([0, text.length]);
  for (const t of tokens) cuts.add(t.start).add(t.end);
  const ems = em
    .map(([a, b]) => [Math.min(a, text.length), Math.min(b, text.length)] as const)
    .filter(([a, b]) => b > a)
    .sort((x, y) => x[0] - y[0]);
  for (const [a, b] of ems) cuts.add(a).add(b);
  const points = [...cuts].filter((p) => p >= 0 && p <= text.length).sort((a, b) => a - b);
  // Tokens come sorted and disjoint from the tokenizer; walk them and the
  // emphasis ranges alongside the cut points instead of searching per piece.
  const out: StyledSegment[] = [];
  let t = 0;
  for (let i = 0; i + 1 < points.length; i++) {
    const [a, b] = [points[i], points[i + 1]];
    while (t < tokens.length && tokens[t].end <= a) t++;
    const cls = t < tokens.length && tokens[t].start <= a ? tokens[t].cls : null;
    const isEm = ems.some(([s, e]) => s <= a && b <= e);
    const prev = out[out.length - 1];
    if (prev && prev.em === isEm && prev.cls === cls) prev.text += text.slice(a, b);
    else out.push({ text: text.slice(a, b), em: isEm, cls });
  }
  return out;
}
