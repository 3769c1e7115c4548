/**
 * What a token must also be, beyond what jose checks: JSON without duplicate member names (RFC
 * 7515 lets a parser keep the last one; two parsers that keep different ones see different
 * tokens), and an ECDSA signature in its canonical low-S form (for any valid (r, s), (r, n - s)
 * verifies too: a second encoding of the same token that a replay cache keyed by signature would
 * miss). Pure functions, cheap enough to run on every token of a batch.
 */

/**
 * The first member name that one object of `json` has twice, or null. Meant for text that is
 * JSON; on anything else it may answer null or a name, so a caller confirms with `JSON.parse`.
 * Names are compared as JSON means them: `"a"` and `"\u0061"` are the same name.
 */
export function duplicateMember(json: string): string | null {
  const objects: (Set<string> | null)[] = [];
  let expectName = false;
  const n = json.length;
  for (let i = 0; i < n; i += 1) {
    const c = json.charCodeAt(i);
    if (c === 0x22) {
      let j = i + 1;
      let escaped = false;
      while (j < n) {
        const d = json.charCodeAt(j);
        if (d === 0x5c) {
          escaped = true;
          j += 2;
        } else if (d === 0x22) {
          break;
        } else {
          j += 1;
        }
      }
      if (expectName) {
        let name: string;
        try {
          name = escaped ? (JSON.parse(json.slice(i, j + 1)) as string) : json.slice(i + 1, j);
        } catch {
          return null;
        }
        const names = objects[objects.length - 1];
        if (names) {
          if (names.has(name)) return name;
          names.add(name);
        }
        expectName = false;
      }
      i = j;
    } else if (c === 0x7b) {
      objects.push(new Set());
      expectName = true;
    } else if (c === 0x5b) {
      objects.push(null);
      expectName = false;
    } else if (c === 0x7d || c === 0x5d) {
      objects.pop();
      expectName = false;
    } else if (c === 0x2c) {
      expectName = !!objects[objects.length - 1];
    }
  }
  return null;
}

/** A string of printable ASCII without escapes, and the scalars JSON.stringify writes as they are read. */
const PLAIN_STRING = '"[ !#-\\[\\]-~]*"';
const PLAIN_SCALAR = `(?:${PLAIN_STRING}|true|false|null|0|-?[1-9][0-9]{0,14})`;
const PLAIN_VALUE = `(?:${PLAIN_SCALAR}|\\[(?:${PLAIN_SCALAR}(?:,${PLAIN_SCALAR})*)?\\])`;
const PLAIN_MEMBER = `"(?![0-9])[ !#-\\[\\]-~]*":${PLAIN_VALUE}`;
const PLAIN_OBJECT = new RegExp(`^\\{(?:${PLAIN_MEMBER}(?:,${PLAIN_MEMBER})*)?\\}$`);

/**
 * True when `text`, the JSON text of an object that `JSON.parse` read with `keys` own keys, is
 * certainly what `JSON.stringify` writes for that object; false when this cannot tell (the caller
 * then compares with `JSON.stringify` itself). Certain means: no whitespace; strings of printable
 * ASCII without escapes; member names not starting with a digit (V8 puts index-like names first);
 * numbers that are integers of at most 15 digits, never -0; values scalars or arrays of scalars;
 * and no name twice: in such text `":` follows every name (and perhaps opens a value), so as many
 * of them as the object has keys leaves no room for a repeated name. One regular expression and a
 * count: the batch fast path's cheaper stand-in for stringify-and-compare.
 */
export function isPlainObjectText(text: string, keys: number): boolean {
  if (!PLAIN_OBJECT.test(text)) return false;
  let names = 0;
  for (let i = text.indexOf('":'); i !== -1; i = text.indexOf('":', i + 2)) names += 1;
  return names === keys;
}

/** The order of P-256 and half of it (rounded down), big-endian. */
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const P256_HALF_N = Buffer.from((P256_N >> 1n).toString(16).padStart(64, '0'), 'hex');

/** True when an ES256 signature (r || s, 64 bytes) has s above n/2: valid, but not the canonical form. */
export function isHighS(signature: Uint8Array): boolean {
  if (signature.length !== 64) return false;
  for (let i = 0; i < 32; i += 1) {
    const s = signature[32 + i] as number;
    const h = P256_HALF_N[i] as number;
    if (s !== h) return s > h;
  }
  return false;
}

/** An ES256 signature in low-S form: (r, n - s) when s is above n/2, else as it is. */
export function lowS(signature: Uint8Array): Uint8Array {
  if (!isHighS(signature)) return signature;
  const s = BigInt(`0x${Buffer.from(signature.subarray(32)).toString('hex')}`);
  const out = new Uint8Array(64);
  out.set(signature.subarray(0, 32), 0);
  out.set(Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex'), 32);
  return out;
}

/** The same compact ES256 token with its signature in low-S form. */
export function canonicalEs256(token: string): string {
  const dot = token.lastIndexOf('.');
  const signature = Buffer.from(token.slice(dot + 1), 'base64url');
  if (!isHighS(signature)) return token;
  return `${token.slice(0, dot + 1)}${Buffer.from(lowS(signature)).toString('base64url')}`;
}
