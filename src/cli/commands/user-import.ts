/**
 * `user import FILE|-`: provisioning from CSV, JSON Lines or a JSON array. Every problem of the file
 * is listed (stderr, or the report's `errors` with --json) with its row, field and code. Exit 6
 * for invalid rows (nothing written, or with --skip-invalid the valid rows imported), 5 for
 * conflicts (with --on-conflict fail: where it stopped and how much was imported before).
 *
 * `-` reads the rows from stdin (`--format` then required). The import reads its input twice
 * (all of it is checked before the first write), so stdin is first spooled to a temporary file,
 * encrypted under a key only this process holds (stdin-spool.ts), removed when the command ends.
 */
import { authError } from '../../errors.js';
import { cliError } from '../cli-errors.js';
import type { ImportSource } from '../../core/bulk/source.js';
import type { ImportFormat, ImportProblem, ImportReport } from '../../core/bulk/types.js';
import { progressBar } from '../progress.js';
import type { Runtime } from '../runtime.js';
import type { OptionsOf } from '../command-table.js';
import type * as def from './user.def.js';

export type ImportFlags = OptionsOf<typeof def.importUsers>;

/** The JSON document of an import. */
export function importJson(r: ImportReport) {
  return { created: r.created, updated: r.updated, unchanged: r.unchanged, errors: r.errors, rows: r.rows, skipped: r.skipped, stopped: r.stopped };
}

export function formatImportProblem(file: string, p: ImportProblem): string {
  const where = p.row === 0 ? file : `${file}: row ${p.row}`;
  const line = p.line !== undefined ? ` (line ${p.line}${p.column !== undefined ? `, column ${p.column}` : ''})` : '';
  // A field named by the file (an unknown one) may hold a line break or an escape: quoted then.
  const field = p.field ? `${/^[\w.-]+$/.test(p.field) ? p.field : JSON.stringify(p.field)}: ` : '';
  return `${where}${line}: ${field}${p.message} (${p.code})`;
}

export async function runImport(rt: Runtime, opts: ImportFlags, input: string): Promise<void> {
  const { formatOf } = await import('../../core/bulk/records.js');
  const fromStdin = input === '-';
  const format = fromStdin ? opts.format : formatOf(input, opts.format);
  if (!format) {
    throw cliError('cli.usage', fromStdin ? 'user import - needs --format csv, jsonl or json' : `cannot tell the format of ${input} from its name: pass --format csv, jsonl or json`);
  }
  if (fromStdin && rt.io.stdin.isTTY) {
    throw cliError('cli.usage', 'user import - reads the rows from stdin: pipe them in (e.g. `generate-users | kaiju-auth user import - --format jsonl`)');
  }
  const spooled = fromStdin ? await (await import('../stdin-spool.js')).spoolStdin(rt.io.stdin) : null;
  try {
    await importFile(rt, opts, format, spooled?.input ?? input, fromStdin ? 'stdin' : input);
  } finally {
    spooled?.remove();
  }
}

async function importFile(rt: Runtime, opts: ImportFlags, format: ImportFormat, source: ImportSource, file: string): Promise<void> {
  const auth = await rt.auth({ rounds: opts.rounds });
  const validating = await progressBar(rt, 'validating', 'bytes');
  const importing = await progressBar(rt, 'importing ', 'users');
  const report = await auth.bulk.import(source, {
    format,
    onConflict: opts.onConflict ?? 'fail',
    ...(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {}),
    skipInvalid: !!opts.skipInvalid,
    onProgress: (p) => {
      if (p.phase === 'validate') validating.update(p.done, p.total);
      else {
        validating.stop();
        importing.update(p.done, p.total);
      }
    },
  });
  validating.stop();
  importing.stop();

  const { out } = rt;
  const imported = report.created.users + report.updated.users;
  if (report.stopped) {
    // One line says it all: where it stopped, what earlier batches imported, what to rerun with.
    // The rolled-back batch's conflicts are in the --json report; on a terminal they were a
    // thousand lines about rows that were never the problem of the rerun.
    if (!out.json) for (const p of report.errors.filter((e) => e.code !== 'auth.user.exists')) out.errorLine(formatImportProblem(file, p));
    if (out.json) out.writeJson(importJson(report));
    const stop = report.stopped;
    throw authError(
      'auth.user.exists',
      `${file}: stopped at row ${stop.row} (${stop.message}) with --on-conflict fail; its batch was rolled back, ` +
        `${imported} user(s) of earlier batches were imported; rerun with --on-conflict skip to import the rest (or update to overwrite)`,
      { row: stop.row, imported },
    );
  }
  if (!out.json) for (const p of report.errors) out.errorLine(formatImportProblem(file, p));
  await out.result(importJson(report), () => {
    out.line(
      `${file}: ${report.rows} row(s): ${out.c.green(`${report.created.users} created`)}, ${report.updated.users} updated, ` +
        `${report.unchanged.users} unchanged, ${report.skipped} not imported`,
    );
  });
  if (report.errors.length === 0) return;
  const invalid = report.errors.filter((e) => e.code !== 'auth.user.exists').length;
  const conflicts = report.errors.length - invalid;
  if (invalid > 0) {
    const what = opts.skipInvalid && imported + report.unchanged.users > 0 ? 'the valid rows were imported' : 'nothing was written';
    // A user export carries no groups or permissions: importing one into an empty database finds
    // every group unknown. The whole backup and restore is dump + seed.
    const groupsMissing = report.errors.some((e) => e.code === 'auth.group.not_found');
    const hint = groupsMissing ? ' (groups are not in a user export: for a whole backup and restore use `kaiju-auth dump DIR --with-hashes`, then `kaiju-auth seed DIR`)' : '';
    throw authError('data.invalid', `${invalid} problem(s) in ${file}${conflicts > 0 ? ` and ${conflicts} conflict(s)` : ''}; ${what}${hint}`, { problems: invalid, conflicts });
  }
  throw authError('auth.user.exists', `${conflicts} row(s) conflict with existing users (an email taken, or a username or email that looks like another user's); the other rows were imported`, { conflicts });
}
