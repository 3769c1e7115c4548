/**
 * Checking one import record: field names and types, kaiju's rules for username, email and
 * password (validation.ts), the bcrypt format of a pre-made hash, group ids. CSV cells are text:
 * empty means absent, groups are `;`-separated, booleans are true/false/1/0/yes/no, settings is
 * JSON text. Every problem of the row is reported, never the password or hash itself.
 */
import { isKaijuAuthError } from '../errors.js';
import { storedFormOf } from '../passwords.js';
import { validateEmail, validateGroupId, validatePassword, validateUsername } from '../validation.js';
import type { RawRecord } from './records.js';
import { IMPORT_COLUMNS, type ImportProblem, type ImportRow } from './types.js';

export type RowCheck = { row: ImportRow; problems?: undefined } | { row?: undefined; problems: ImportProblem[] };

const SECRET_FIELDS = new Set(['password', 'password_hash']);

function present(v: unknown): boolean {
  return v !== undefined && v !== null && v !== '';
}

/**
 * Check a record and build its row. `trusted`: the record passed this check in the validation pass
 * of an unchanged file, so only the conversions run (the import pass reads every row again).
 */
export function checkRecord(rec: RawRecord, csv: boolean, trusted = false): RowCheck {
  const problems: ImportProblem[] = [];
  const where = { row: rec.row, ...(rec.line !== undefined ? { line: rec.line } : {}) };
  const add = (field: string | undefined, code: string, message: string, value?: unknown) => {
    const shown = typeof value === 'string' && field !== undefined && !SECRET_FIELDS.has(field) ? value.slice(0, 200) : undefined;
    problems.push({ ...where, ...(field ? { field } : {}), code, message, ...(shown !== undefined ? { value: shown } : {}) });
  };
  if (rec.problem || !rec.fields) {
    problems.push({
      ...where,
      ...(rec.problem?.line !== undefined ? { line: rec.problem.line } : {}),
      ...(rec.problem?.column !== undefined ? { column: rec.problem.column } : {}),
      code: 'data.file_invalid',
      message: rec.problem?.message ?? 'unreadable record',
    });
    return { problems };
  }
  const f = rec.fields;
  for (const key of Object.keys(f)) {
    if (!(IMPORT_COLUMNS as readonly string[]).includes(key)) add(key, 'data.invalid', `unknown field "${key}" (allowed: ${IMPORT_COLUMNS.join(', ')})`);
  }
  const text = (field: string): string | undefined => {
    const v = f[field];
    if (!present(v)) return undefined;
    if (typeof v === 'string') return v;
    add(field, 'data.invalid', `${field} must be a string`);
    return undefined;
  };
  const rule = (field: string, check: (v: string) => string, required: boolean): string | undefined => {
    const v = text(field);
    if (v === undefined) {
      if (required && !problems.some((p) => p.field === field)) add(field, 'data.invalid', `${field} is required`);
      return undefined;
    }
    if (trusted && check !== validatePassword) return v;
    try {
      return check(v);
    } catch (err) {
      if (!isKaijuAuthError(err)) throw err;
      add(field, err.code, err.message, v);
      return undefined;
    }
  };
  const bool = (field: string): boolean | undefined => {
    const v = f[field];
    if (!present(v)) return undefined;
    if (typeof v === 'boolean') return v;
    if (csv && typeof v === 'string') {
      const s = v.trim().toLowerCase();
      if (['true', '1', 'yes', 't', 'y'].includes(s)) return true;
      if (['false', '0', 'no', 'f', 'n'].includes(s)) return false;
    }
    add(field, 'data.invalid', `${field} must be true or false`, typeof v === 'string' ? v : undefined);
    return undefined;
  };

  const username = rule('username', validateUsername, true);
  const email = rule('email', validateEmail, true);
  const hasPassword = present(f.password);
  const hasHash = present(f.password_hash);
  let password: string | undefined;
  let passwordHash: string | undefined;
  if (hasPassword && hasHash) add('password', 'data.invalid', 'give either password or password_hash, not both');
  else if (!hasPassword && !hasHash) add('password', 'data.invalid', 'password or password_hash is required');
  else if (hasPassword) password = rule('password', validatePassword, true);
  else {
    passwordHash = rule('password_hash', (h) => storedFormOf(h) && h, true);
  }
  const fullName = text('full_name') ?? null;
  let groups: string[] = [];
  const rawGroups = f.groups;
  if (present(rawGroups)) {
    const list = typeof rawGroups === 'string' ? rawGroups.split(';').map((g) => g.trim()).filter((g) => g !== '') : rawGroups;
    if (!Array.isArray(list) || list.some((g) => typeof g !== 'string')) {
      add('groups', 'data.invalid', csv ? 'groups must be group ids separated by ;' : 'groups must be an array of group ids (or a ;-separated string)');
    } else {
      groups = [...new Set(list as string[])];
      for (const g of trusted ? [] : groups) {
        try {
          validateGroupId(g);
        } catch (err) {
          if (!isKaijuAuthError(err)) throw err;
          add('groups', err.code, err.message, g);
        }
      }
    }
  }
  const isActive = bool('is_active');
  const isBlocked = bool('is_blocked');
  let settings: Record<string, unknown> | undefined;
  const rawSettings = f.settings;
  if (present(rawSettings)) {
    let value = rawSettings;
    if (typeof rawSettings === 'string') {
      try {
        value = JSON.parse(rawSettings);
      } catch {
        value = undefined;
      }
    }
    if (typeof value === 'object' && value !== null && !Array.isArray(value)) settings = value as Record<string, unknown>;
    else add('settings', 'auth.user.invalid_settings', 'settings must be a JSON object');
  }
  if (problems.length > 0 || username === undefined || email === undefined) return { problems };
  return {
    row: {
      ...where,
      username,
      email,
      fullName,
      ...(password !== undefined ? { password } : {}),
      ...(passwordHash !== undefined ? { passwordHash } : {}),
      groups,
      ...(isActive !== undefined ? { isActive } : {}),
      ...(isBlocked !== undefined ? { isBlocked } : {}),
      ...(settings !== undefined ? { settings } : {}),
    },
  };
}
