/**
 * The import's first pass: read the whole file (streaming) and list every problem before anything
 * is written: unreadable records, field rules, duplicate or look-alike usernames and emails inside
 * the file, groups that do not exist. Memory holds the usernames and emails seen, by look-alike
 * key (for duplicates, and then for the check against existing users), never the rows; unknown
 * groups are looked up one chunk of rows at a time, each group name once.
 */
import type { Knex } from 'knex';
import { keyHashes, keysOf, lookalikeKeys, looksAlike } from '../lookalike.js';
import { inJsonList } from '../set-sql.js';
import { readRecords } from './records.js';
import type { ImportSource } from './source.js';
import { Utf8Checker } from '../utf8.js';
import { checkRecord, detached } from './row-rules.js';
import type { ImportFormat, ImportProblem } from './types.js';

export interface ValidationResult {
  rows: number;
  valid: number;
  problems: ImportProblem[];
  /** Rows with at least one problem (skipped by --skip-invalid). */
  invalidRows: Set<number>;
  /** The file itself is unusable past some point (bad header, broken JSON array). */
  fatal: boolean;
  /** Valid-looking rows with a plain password (to hash) rather than a hash. */
  plainPasswords: number;
  /** The file's usernames and emails by look-alike key, each with the first row that has it. */
  identities: { names: FileIdentities; emails: FileIdentities };
}

/** A row's username and email (detached from the file's text), by the look-alike keys they have. */
export interface FileIdentity {
  row: number;
  line?: number;
  username: string;
  email: string;
}

/**
 * One field's identities (usernames or emails) by look-alike key, for duplicates inside the file.
 * Keys are compared as hashes (lookalike.ts `keyHashes`: no key text is made for 100k rows); two
 * rows whose hashes meet are compared by their texts, and a row whose hash only collided with
 * another's is kept by its key texts.
 */
export class FileIdentities {
  private readonly hashed = new Map<number, FileIdentity>();
  private readonly collided = new Map<string, FileIdentity>();

  constructor(private readonly field: 'username' | 'email') {}

  private text(who: FileIdentity): string {
    return this.field === 'username' ? who.username : who.email;
  }

  /** The first row whose value is, or looks like, this one's; else this row is recorded. */
  firstOrHold(who: FileIdentity): FileIdentity | undefined {
    const value = this.text(who);
    const h = keyHashes(value);
    const hashes = h.alt === null ? [h.key] : [h.key, h.alt];
    for (const k of hashes) {
      const first = this.hashed.get(k);
      if (first !== undefined && looksAlike(this.text(first), value)) return first;
    }
    if (this.collided.size > 0) {
      for (const k of keysOf(lookalikeKeys(value))) {
        const first = this.collided.get(k);
        if (first !== undefined) return first;
      }
    }
    for (const k of hashes) {
      if (!this.hashed.has(k)) this.hashed.set(k, who);
      else for (const t of keysOf(lookalikeKeys(value))) this.collided.set(t, who);
    }
    return undefined;
  }

  /** Every recorded row, by its key texts (for the check against existing users). */
  byKeyText(): Map<string, FileIdentity> {
    const out = new Map<string, FileIdentity>(this.collided);
    for (const who of new Set(this.hashed.values())) for (const k of keysOf(lookalikeKeys(this.text(who)))) out.set(k, who);
    return out;
  }

  clear(): void {
    this.hashed.clear();
    this.collided.clear();
  }
}

const GROUP_CHUNK = 1000;

const where = (r: { row: number; line?: number }) => ({ row: r.row, ...(r.line !== undefined ? { line: r.line } : {}) });

export async function validateImportFile(
  db: Knex,
  file: ImportSource,
  format: ImportFormat,
  onBytes?: (n: number) => void,
): Promise<ValidationResult> {
  const identities = { names: new FileIdentities('username'), emails: new FileIdentities('email') };
  const result: ValidationResult = { rows: 0, valid: 0, problems: [], invalidRows: new Set(), fatal: false, plainPasswords: 0, identities };
  const knownGroups = new Map<string, boolean>();
  let pending: { row: number; line?: number; groups: string[] }[] = [];

  const fail = (p: ImportProblem) => {
    result.problems.push(p);
    if (p.row > 0) result.invalidRows.add(p.row);
  };

  const checkGroups = async () => {
    const unseen = [...new Set(pending.flatMap((p) => p.groups))].filter((g) => !knownGroups.has(g));
    if (unseen.length > 0) {
      const found = new Set((await db('groups').whereRaw(...inJsonList('id', unseen)).pluck('id')) as string[]);
      for (const g of unseen) knownGroups.set(detached(g), found.has(g));
    }
    for (const p of pending) {
      for (const g of p.groups) {
        if (!knownGroups.get(g)) {
          const name = detached(g);
          fail({ row: p.row, ...(p.line !== undefined ? { line: p.line } : {}), field: 'groups', code: 'auth.group.not_found', message: `unknown group ${name}`, value: name });
        }
      }
    }
    pending = [];
  };

  // The bytes are checked as they are read, before their records are made: at the first chunk
  // that is not UTF-8 the pass stops, so no U+FFFD ever gets into a name (or a problem).
  const utf8 = new Utf8Checker();
  const seeBytes = (bytes: Buffer) => {
    utf8.push(bytes);
    onBytes?.(bytes.length);
  };
  read: for await (const chunk of readRecords(file, format, seeBytes)) {
    if (utf8.badLine !== null) break;
    for (const rec of chunk) {
      if (rec.fatal) {
        result.fatal = true;
        fail({ row: 0, ...(rec.line !== undefined ? { line: rec.line } : {}), ...(rec.problem?.line !== undefined ? { line: rec.problem.line } : {}), ...(rec.problem?.column !== undefined ? { column: rec.problem.column } : {}), code: 'data.file_invalid', message: rec.problem?.message ?? 'unreadable file' });
        break read;
      }
      result.rows += 1;
      const checked = checkRecord(rec, format === 'csv');
      if (!checked.row) {
        checked.problems.forEach(fail);
        continue;
      }
      const { row } = checked;
      if (row.password !== undefined) result.plainPasswords += 1;
      // Duplicates: the same username or email, or one that looks like it (lookalike.ts).
      const who: FileIdentity = { row: row.row, line: row.line, username: detached(row.username), email: detached(row.email) };
      const firstName = identities.names.firstOrHold(who);
      const firstEmail = identities.emails.firstOrHold(who);
      if (firstName !== undefined) {
        const message = firstName.username === who.username ? `same username as row ${firstName.row}` : `username looks like ${JSON.stringify(firstName.username)} of row ${firstName.row}`;
        fail({ ...where(row), field: 'username', code: 'data.duplicate', message, value: who.username });
      }
      if (firstEmail !== undefined) {
        const message = firstEmail.email === who.email ? `same email as row ${firstEmail.row}` : `email looks like ${JSON.stringify(firstEmail.email)} of row ${firstEmail.row}`;
        fail({ ...where(row), field: 'email', code: 'data.duplicate', message, value: who.email });
      }
      // Rows whose groups are all known to exist need no lookup.
      if (row.groups.some((g) => knownGroups.get(g) !== true)) pending.push({ ...where(row), groups: row.groups });
    }
    if (pending.length >= GROUP_CHUNK) await checkGroups();
  }
  const badLine = utf8.badLine ?? utf8.end();
  if (badLine !== null) {
    // What was read from the bad line on (as U+FFFD) is no problem of its own: the line is.
    result.problems = result.problems.filter((p) => p.line !== undefined && p.line < badLine);
    result.invalidRows = new Set(result.problems.map((p) => p.row));
    result.fatal = true;
    fail({ row: 0, line: badLine, code: 'data.file_invalid', message: `line ${badLine} is not valid UTF-8` });
  }
  await checkGroups();
  result.problems.sort((a, b) => a.row - b.row);
  result.valid = result.rows - result.invalidRows.size;
  return result;
}
