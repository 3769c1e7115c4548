/**
 * Checking one import record: field names and types, kaiju's rules for username, email and
 * password (validation.ts), the bcrypt format of a pre-made hash, group ids. CSV cells are text:
 * empty means absent, groups are `;`-separated, booleans are true/false/1/0/yes/no, settings is
 * JSON text. Every problem of the row is reported, never the password or hash itself.
 */
import { isKaijuAuthError } from '../../errors.js';
import { normalizeIdentity } from '../lookalike.js';
import { isBcryptHash, storedFormOf } from '../passwords.js';
import { jsonProblem, quotedName, textProblem } from '../storable.js';
import { validateEmail, validateGroupId, validatePassword, validateUsername } from '../validation.js';
import type { RawRecord } from './records.js';
import { IMPORT_COLUMNS, type ImportProblem, type ImportRow } from './types.js';

export type RowCheck = { row: ImportRow; problems?: undefined } | { row?: undefined; problems: ImportProblem[] };

const SECRET_FIELDS = new Set(['password', 'password_hash']);

const COLUMNS: ReadonlySet<string> = new Set(IMPORT_COLUMNS);
const TRUE_WORDS = new Set(['true', '1', 'yes', 't', 'y']);
const FALSE_WORDS = new Set(['false', '0', 'no', 'f', 'n']);
const NO_GROUPS: string[] = [];

/**
 * A copy of a string that does not hold on to the text it was cut from: V8 makes a substring a
 * view into its parent (a chunk of the file), so keeping a value from each row (duplicate
 * detection, problems) would keep the whole file in memory.
 */
export function detached(s: string): string {
  // V8 copies substrings shorter than 13 characters anyway.
  return s.length < 13 ? s : (' ' + s).slice(1);
}

function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

/** The format check of a pre-made hash (storedFormOf throws the coded error), without copying it. */
function checkBcryptHash(hash: string): string {
  if (!isBcryptHash(hash)) storedFormOf(hash);
  return hash;
}

/**
 * The checks of one record. A class rather than closures: one object per row, which matters when
 * a pass checks a hundred thousand rows.
 */
class RowChecker {
  readonly problems: ImportProblem[] = [];

  constructor(
    private readonly rec: RawRecord,
    private readonly f: Record<string, unknown>,
    private readonly csv: boolean,
    private readonly trusted: boolean,
  ) {}

  add(field: string | undefined, code: string, message: string, value?: unknown): void {
    const shown = typeof value === 'string' && field !== undefined && !SECRET_FIELDS.has(field) ? detached(value.slice(0, 200)) : undefined;
    this.problems.push({ ...where(this.rec), ...(field ? { field } : {}), code, message, ...(shown !== undefined ? { value: shown } : {}) });
  }

  text(field: string): string | undefined {
    const v = this.f[field];
    if (v === undefined || v === null || v === '') return undefined;
    if (typeof v !== 'string') {
      this.add(field, 'data.invalid', `${field} must be a string`);
      return undefined;
    }
    // What PostgreSQL would refuse in the middle of writing (storable.ts); checked in both passes.
    const problem = textProblem(v);
    if (problem === null) return v;
    this.add(field, 'data.invalid', `${field} ${problem}`);
    return undefined;
  }

  /**
   * A required field checked by one of kaiju's rules (which throw a coded error and return the
   * value as stored); `always`: in both passes, else the import pass only applies `trustedForm`.
   */
  rule(field: string, check: (v: string) => string, always: boolean, trustedForm: (v: string) => string = (v) => v): string | undefined {
    const v = this.text(field);
    if (v === undefined) {
      if (!this.problems.some((p) => p.field === field)) this.add(field, 'data.invalid', `${field} is required`);
      return undefined;
    }
    if (this.trusted && !always) return trustedForm(v);
    try {
      return check(v);
    } catch (err) {
      if (!isKaijuAuthError(err)) throw err;
      this.add(field, err.code, err.message, v);
      return undefined;
    }
  }

  bool(field: string): boolean | undefined {
    const v = this.f[field];
    if (!present(v)) return undefined;
    if (typeof v === 'boolean') return v;
    if (this.csv && typeof v === 'string') {
      const s = v.trim().toLowerCase();
      if (TRUE_WORDS.has(s)) return true;
      if (FALSE_WORDS.has(s)) return false;
    }
    this.add(field, 'data.invalid', `${field} must be true or false`, typeof v === 'string' ? v : undefined);
    return undefined;
  }

  groups(): string[] {
    const raw = this.f.groups;
    if (!present(raw)) return NO_GROUPS;
    const list = typeof raw === 'string' ? raw.split(';').map((g) => g.trim()).filter((g) => g !== '') : raw;
    if (!Array.isArray(list) || list.some((g) => typeof g !== 'string')) {
      this.add('groups', 'data.invalid', this.csv ? 'groups must be group ids separated by ;' : 'groups must be an array of group ids (or a ;-separated string)');
      return NO_GROUPS;
    }
    const groups = list.length > 1 ? [...new Set(list as string[])] : (list as string[]);
    for (const g of this.trusted ? NO_GROUPS : groups) {
      try {
        validateGroupId(g);
      } catch (err) {
        if (!isKaijuAuthError(err)) throw err;
        this.add('groups', err.code, err.message, g);
      }
    }
    return groups;
  }

  settings(): Record<string, unknown> | undefined {
    const raw = this.f.settings;
    if (!present(raw)) return undefined;
    let value = raw;
    if (typeof raw === 'string') {
      try {
        value = JSON.parse(raw);
      } catch {
        value = undefined;
      }
    }
    if (typeof value !== 'object' || value === null || Array.isArray(value)) {
      this.add('settings', 'auth.user.invalid_settings', 'settings must be a JSON object');
      return undefined;
    }
    const problem = jsonProblem(value);
    if (problem === null) return value as Record<string, unknown>;
    this.add('settings', 'auth.user.invalid_settings', `settings ${problem}`);
    return undefined;
  }
}

function where(rec: RawRecord): { row: number; line?: number } {
  return { row: rec.row, ...(rec.line !== undefined ? { line: rec.line } : {}) };
}

/**
 * Check a record and build its row. `trusted`: the record passed this check in the validation pass
 * of an unchanged file, so only the conversions run (the import pass reads every row again).
 */
export function checkRecord(rec: RawRecord, csv: boolean, trusted = false): RowCheck {
  const f = rec.fields;
  if (rec.problem || !f) {
    const problem: ImportProblem = {
      ...where(rec),
      ...(rec.problem?.line !== undefined ? { line: rec.problem.line } : {}),
      ...(rec.problem?.column !== undefined ? { column: rec.problem.column } : {}),
      code: 'data.file_invalid',
      message: rec.problem?.message ?? 'unreadable record',
    };
    return { problems: [problem] };
  }
  const c = new RowChecker(rec, f, csv, trusted);
  // A CSV header was checked once for the whole file.
  if (!csv) {
    for (const key of Object.keys(f)) {
      if (!COLUMNS.has(key)) c.add(key, 'data.invalid', `unknown field ${quotedName(key)} (allowed: ${IMPORT_COLUMNS.join(', ')})`);
    }
  }
  // Stored NFKC-normalised (validation.ts), in both passes.
  const username = c.rule('username', validateUsername, false, normalizeIdentity);
  const email = c.rule('email', validateEmail, false, normalizeIdentity);
  const hasPassword = present(f.password);
  const hasHash = present(f.password_hash);
  let password: string | undefined;
  let passwordHash: string | undefined;
  if (hasPassword && hasHash) c.add('password', 'data.invalid', 'give either password or password_hash, not both');
  else if (!hasPassword && !hasHash) c.add('password', 'data.invalid', 'password or password_hash is required');
  // The password is validated in both passes: validation also strips it, as kaiju does.
  else if (hasPassword) password = c.rule('password', validatePassword, true);
  else passwordHash = c.rule('password_hash', checkBcryptHash, false);
  const fullName = c.text('full_name') ?? null;
  const groups = c.groups();
  const isActive = c.bool('is_active');
  const isBlocked = c.bool('is_blocked');
  const settings = c.settings();
  if (c.problems.length > 0 || username === undefined || email === undefined) return { problems: c.problems };
  // One shape for every row (absent optional fields are undefined): cheap to build and to read.
  return {
    row: { row: rec.row, line: rec.line, username, email, fullName, password, passwordHash, groups, isActive, isBlocked, settings },
  };
}
