/**
 * The import's first pass: read the whole file (streaming) and list every problem before anything
 * is written: unreadable records, field rules, duplicate usernames and emails inside the file,
 * groups that do not exist. Memory holds the usernames and emails seen (for duplicates), never
 * the rows; unknown groups are looked up one chunk of rows at a time, each group name once.
 */
import type { Knex } from 'knex';
import { inJsonList } from '../set-sql.js';
import { readRecords } from './records.js';
import type { ImportSource } from './source.js';
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
}

const GROUP_CHUNK = 1000;

const where = (r: { row: number; line?: number }) => ({ row: r.row, ...(r.line !== undefined ? { line: r.line } : {}) });

export async function validateImportFile(
  db: Knex,
  file: ImportSource,
  format: ImportFormat,
  onBytes?: (n: number) => void,
): Promise<ValidationResult> {
  const result: ValidationResult = { rows: 0, valid: 0, problems: [], invalidRows: new Set(), fatal: false, plainPasswords: 0 };
  const usernames = new Map<string, number>();
  const emails = new Map<string, number>();
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

  read: for await (const chunk of readRecords(file, format, onBytes)) {
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
      const firstName = usernames.get(row.username);
      const firstEmail = emails.get(row.email);
      if (firstName !== undefined) fail({ ...where(row), field: 'username', code: 'data.duplicate', message: `same username as row ${firstName}`, value: detached(row.username) });
      else usernames.set(detached(row.username), row.row);
      if (firstEmail !== undefined) fail({ ...where(row), field: 'email', code: 'data.duplicate', message: `same email as row ${firstEmail}`, value: detached(row.email) });
      else emails.set(detached(row.email), row.row);
      // Rows whose groups are all known to exist need no lookup.
      if (row.groups.some((g) => knownGroups.get(g) !== true)) pending.push({ ...where(row), groups: row.groups });
    }
    if (pending.length >= GROUP_CHUNK) await checkGroups();
  }
  await checkGroups();
  result.problems.sort((a, b) => a.row - b.row);
  result.valid = result.rows - result.invalidRows.size;
  return result;
}
