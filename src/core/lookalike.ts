/**
 * Look-alike usernames and emails (issue 11 item 8). kaiju's username rule is Python's `\w`, so
 * `admin`, `ADMIN`, `аdmin` (Cyrillic а), `Ａdmin` (fullwidth) and `admín` were five users.
 *
 * New names are NFKC-normalised (`Ａdmin` is stored as `Admin`), and two names look alike when
 * they share a comparison key. A key is the UTS #39 skeleton (each character replaced by its
 * prototype from Unicode's confusables data, with NFD around it) of the case-folded name, with
 * the accents of the Combining Diacritical Marks block dropped. Each name has two keys, because
 * folding and the skeleton do not commute: `skeleton(fold(x))` makes `Ivan` and `ivan` one name,
 * and `skeleton(fold(skeleton(x)))` makes `Il` and `ll` one (the skeleton of capital I is l), as
 * it does `НАCKER` (Cyrillic) and `Hacker`. Keys are for comparing only, never shown.
 *
 * The confusables data is the `unhomoglyph` package's copy of Unicode's confusables.txt (the data
 * of UTS #39), loaded on first use. Names and emails of ASCII only (nearly all of them) take a
 * fast path through the data's few ASCII rules, written out here (ASCII_RULES).
 */
import { createRequire } from 'node:module';

/** A name's two comparison keys; `alt` is null when it equals `key`. */
export interface LookalikeKeys {
  key: string;
  alt: string | null;
}

let prototypes: Map<string, string> | null = null;
const IDENTITY_ASCII = /^[A-Za-z0-9_.+@-]*$/;

/**
 * The fast path for names and emails in the ASCII characters a username or email may hold: the
 * confusables of those characters in the data (0, 1, I and m, whose prototypes are O, l, l and
 * rn), applied with replaceAll, which is the single-pass mapping because no prototype holds
 * another of them. Written out, so that a seed of ASCII names does not load and index the whole
 * data (6,000 entries) at all; `asciiRulesFromData` makes them from the data, and a unit test
 * keeps the two equal.
 */
export const ASCII_RULES: readonly (readonly [string, string])[] = [
  ['0', 'O'],
  ['1', 'l'],
  ['I', 'l'],
  ['m', 'rn'],
];
/** Character, prototype, character, prototype...: a flat list walks quicker than pairs. */
const asciiFlat: string[] = ASCII_RULES.flat();
/** Characters without which the two keys of an ASCII name are one: capitals, and those whose prototype has one (0). */
const asciiAltChars = new RegExp(`[A-Z${ASCII_RULES.filter(([, proto]) => /[A-Z]/.test(proto)).map(([ch]) => ch).join('').replace(/[\\\]^-]/g, '\\$&')}]`);

function confusables(): Map<string, string> {
  prototypes ??= new Map(Object.entries(createRequire(import.meta.url)('unhomoglyph/data.json') as Record<string, string>));
  return prototypes;
}

/**
 * The ASCII rules as the data gives them (for the unit test that checks ASCII_RULES); null when
 * the data would not allow the single-pass mapping.
 */
export function asciiRulesFromData(): [string, string][] | null {
  const rules = [...confusables()].filter(([ch]) => IDENTITY_ASCII.test(ch));
  const ruleChars = rules.map(([ch]) => ch);
  const usable = rules.every(([, proto]) => IDENTITY_ASCII.test(proto) && !ruleChars.some((c) => proto.includes(c)));
  return usable ? rules : null;
}

function applyAscii(value: string): string {
  let out = value;
  for (let i = 0; i < asciiFlat.length; i += 2) {
    const ch = asciiFlat[i] as string;
    if (out.indexOf(ch) !== -1) out = out.replaceAll(ch, asciiFlat[i + 1] as string);
  }
  return out;
}

/** Accents (U+0300..U+036F) as left apart by NFD: `í` is `i` + U+0301. Other scripts' marks stay. */
const ACCENTS = /[\u0300-\u036f]/g;
// eslint-disable-next-line no-control-regex
const ASCII = /^[\x00-\x7f]*$/;

/** The form a new username or email is stored in: NFKC (fullwidth, ligatures, compatibility forms). */
export function normalizeIdentity(value: string): string {
  return ASCII.test(value) ? value : value.normalize('NFKC');
}

/** UTS #39 skeleton: NFD, every character by its prototype, NFD again. */
export function skeleton(value: string): string {
  const map = confusables();
  let out = '';
  for (const ch of value.normalize('NFD')) out += map.get(ch) ?? ch;
  return out.normalize('NFD');
}

/** Full case folding, as near as JavaScript gets: `ß` and `ẞ` fold to `ss`, `ς` to `σ`. */
function fold(value: string): string {
  return value.toUpperCase().toLowerCase();
}

/** The comparison keys of a (normalised) username or email. */
export function lookalikeKeys(value: string): LookalikeKeys {
  let key: string;
  let alt: string;
  if (IDENTITY_ASCII.test(value)) {
    // Without capitals (in the name, or made by the mapping), folding changes nothing: one key.
    if (!asciiAltChars.test(value)) return { key: applyAscii(value), alt: null };
    key = applyAscii(value.toLowerCase());
    alt = applyAscii(applyAscii(value).toLowerCase());
  } else {
    const base = value.normalize('NFKC');
    key = skeleton(fold(base)).replace(ACCENTS, '');
    alt = skeleton(fold(skeleton(base))).replace(ACCENTS, '');
  }
  return { key, alt: alt === key ? null : alt };
}

/**
 * Per ASCII character, what it adds to each key of an ASCII name (both keys map character by
 * character there: ASCII folding and the ASCII confusables are per character), for `keyHashes`.
 */
let asciiKeyParts: string[] | null = null;
let asciiAltParts: string[] = [];

function asciiParts(): string[] | null {
  if (asciiKeyParts) return asciiKeyParts;
  const one = (c: string) => applyAscii(c);
  asciiKeyParts = Array.from({ length: 128 }, (_, code) => one(String.fromCharCode(code).toLowerCase()));
  asciiAltParts = Array.from({ length: 128 }, (_, code) => one(one(String.fromCharCode(code)).toLowerCase()));
  return asciiKeyParts;
}

/** Two 32-bit FNV-1a style lanes over UTF-16 code units, as one exact double (52 bits). */
export function hashText(text: string): number {
  let a = 0x811c9dc5;
  let b = 0x2f3a8b1d;
  for (let i = 0; i < text.length; i++) {
    const u = text.charCodeAt(i);
    a = Math.imul(a ^ u, 0x01000193);
    b = Math.imul(b ^ u, 0x5bd1e995);
  }
  return (a >>> 0) * 0x100000 + (b >>> 12);
}

/**
 * The keys of `lookalikeKeys` as numbers (a hash of each key's text), without making the texts:
 * what the import's first pass compares 100k names by. Equal keys give equal hashes; different
 * keys the same hash once in about 2^52 (compare the texts when two hashes meet).
 */
export function keyHashes(value: string): { key: number; alt: number | null } {
  const parts = asciiParts();
  if (!parts || !IDENTITY_ASCII.test(value)) {
    const k = lookalikeKeys(value);
    return { key: hashText(k.key), alt: k.alt === null ? null : hashText(k.alt) };
  }
  let a = 0x811c9dc5;
  let b = 0x2f3a8b1d;
  let c = 0x811c9dc5;
  let d = 0x2f3a8b1d;
  let same = true;
  for (let i = 0; i < value.length; i++) {
    const code = value.charCodeAt(i);
    const kp = parts[code] as string;
    const ap = asciiAltParts[code] as string;
    for (let j = 0; j < kp.length; j++) {
      const u = kp.charCodeAt(j);
      a = Math.imul(a ^ u, 0x01000193);
      b = Math.imul(b ^ u, 0x5bd1e995);
    }
    if (kp !== ap) same = false;
    for (let j = 0; j < ap.length; j++) {
      const u = ap.charCodeAt(j);
      c = Math.imul(c ^ u, 0x01000193);
      d = Math.imul(d ^ u, 0x5bd1e995);
    }
  }
  const key = (a >>> 0) * 0x100000 + (b >>> 12);
  return { key, alt: same ? null : (c >>> 0) * 0x100000 + (d >>> 12) };
}

/**
 * Whether NFKC kept the look of a name: `Ａdmin` becomes `Admin` (alike), but `aϲme` (lunate
 * sigma, a look-alike of c) would become `aςme` (final sigma, which is not), and `ſ` (long s, a
 * look-alike of f) `s`. Such a name is refused: what is stored must look like what was typed, so
 * every key of the typed text (skeletons without NFKC) must be a key of the stored one.
 */
export function keepsItsLook(raw: string, normalized: string): boolean {
  if (raw === normalized) return true;
  // Every key of the text as typed must be a key of the stored text; as typed, a character the
  // confusables data does not know counts as its NFKC form (fullwidth ｊ as j).
  const map = confusables();
  const typed = (text: string) => {
    let out = '';
    for (const ch of text.normalize('NFD')) out += map.get(ch) ?? ch.normalize('NFKC');
    return out.normalize('NFD');
  };
  const after = keysOf(lookalikeKeys(normalized));
  return [typed(fold(raw)), typed(fold(typed(raw)))].every((k) => after.includes(k.replace(ACCENTS, '')));
}

/** Whether two names look alike (share a key). */
export function looksAlike(a: string, b: string): boolean {
  const x = lookalikeKeys(a);
  const y = lookalikeKeys(b);
  return x.key === y.key || x.key === y.alt || (x.alt !== null && (x.alt === y.key || x.alt === y.alt));
}

/** Both keys of a name, for set-wise lookups. */
export function keysOf(k: LookalikeKeys): string[] {
  return k.alt === null ? [k.key] : [k.key, k.alt];
}
