/**
 * What PostgreSQL can store, checked before anything is written, so that a value it would refuse
 * is a validation problem (exit 6, naming the row or path and the field) instead of a failure in
 * the middle of writing:
 *
 * - text: no NUL character (PostgreSQL text cannot hold U+0000; kaiju's Python bcrypt refuses it
 *   in a password) and no unpaired UTF-16 surrogate (`"\ud800"` in JSON: not a character, so
 *   not UTF-8; the driver would store U+FFFD in its place, and jsonb refuses it);
 * - JSON (settings): the same for every string and key in it, at most MAX_JSON_DEPTH levels deep
 *   and MAX_JSON_BYTES long as JSON text. Checked without recursion, so a value nested 100 000
 *   levels deep is refused rather than overflowing the stack.
 */
import { authError } from '../errors.js';

/** Levels of objects and arrays in a stored JSON value (settings): `{}` is 1, `{"a": []}` 2. */
export const MAX_JSON_DEPTH = 100;
/** Bytes of a stored JSON value (settings) as JSON text in UTF-8: 1 MiB. */
export const MAX_JSON_BYTES = 1 << 20;

const NUL = '\u0000';
/** One scan for the common case: text without NUL or any surrogate is fine. */
// eslint-disable-next-line no-control-regex -- NUL is what this looks for
const SUSPECT = /[\u0000\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/** Why PostgreSQL cannot store this text as it is, in a few words; null when it can. */
export function textProblem(text: string): string | null {
  if (!SUSPECT.test(text)) return null;
  if (text.includes(NUL)) return 'contains a NUL character (U+0000), which PostgreSQL cannot store';
  if (LONE_SURROGATE.test(text)) return 'contains an unpaired UTF-16 surrogate (such as \\ud800), which is not a character';
  return null;
}

/**
 * Why PostgreSQL cannot store this JSON value as jsonb (or it is over our limits), in a few
 * words; null when it can. For parsed JSON: strings, numbers, booleans, null, arrays, objects.
 */
export function jsonProblem(value: unknown): string | null {
  // Depth-first with an explicit stack; each entry is a value and its depth.
  const stack: [unknown, number][] = [[value, 1]];
  // A running estimate of the JSON text's length, to stop early on a huge value; the exact
  // size is measured once the value is known to be shallow enough to serialise.
  let estimate = 0;
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number];
    if (typeof v === 'string') {
      const problem = textProblem(v);
      if (problem) return `has a string that ${problem}`;
      estimate += v.length + 2;
    } else if (typeof v === 'object' && v !== null) {
      if (depth > MAX_JSON_DEPTH) return `is nested more than ${MAX_JSON_DEPTH} levels deep`;
      if (Array.isArray(v)) {
        for (const item of v) stack.push([item, depth + 1]);
        estimate += v.length + 2;
      } else {
        for (const [key, item] of Object.entries(v)) {
          const problem = textProblem(key);
          if (problem) return `has a key that ${problem}`;
          estimate += key.length + 4;
          stack.push([item, depth + 1]);
        }
        estimate += 2;
      }
    } else {
      estimate += 5;
    }
    if (estimate > MAX_JSON_BYTES) return `is longer than ${MAX_JSON_BYTES} bytes as JSON`;
  }
  if (Buffer.byteLength(JSON.stringify(value)) > MAX_JSON_BYTES) return `is longer than ${MAX_JSON_BYTES} bytes as JSON`;
  return null;
}

/**
 * A user's profile as a caller gives it (`register`, `update`): a full name and settings (or the
 * settings keys set and removed) PostgreSQL can store; else `data.invalid` or
 * `auth.user.invalid_settings`, before anything is written.
 */
export function assertStorableProfile(profile: { fullName?: string | null; settings?: Record<string, unknown>; unset?: readonly string[] }): void {
  const fullName = typeof profile.fullName === 'string' ? textProblem(profile.fullName) : null;
  if (fullName !== null) throw authError('data.invalid', `full_name ${fullName}`, { field: 'full_name' });
  const settings = profile.settings === undefined ? null : jsonProblem(profile.settings);
  if (settings !== null) throw authError('auth.user.invalid_settings', `settings ${settings}`, { field: 'settings' });
  for (const key of profile.unset ?? []) {
    const problem = textProblem(key);
    if (problem !== null) throw authError('auth.user.invalid_settings', `a settings key ${problem}`, { field: 'settings' });
  }
}

/**
 * A name taken from the input (a field, a column) as a message shows it: in JSON quotes, so a line
 * break or a terminal escape in it stays visible text and the message one line, and cut at 60
 * characters (a header line can be a megabyte).
 */
export function quotedName(name: string): string {
  return JSON.stringify(name.length > 60 ? `${name.slice(0, 60)}...` : name);
}
