/**
 * `user export`: every user with its groups as JSON Lines (default) or CSV, streamed. Hashes only
 * with --with-hashes, and then never to a terminal; a file written with hashes gets mode 0600.
 * With --json and no --out the users come as one JSON array. `--out FILE` is replaced only by a
 * complete export (output-file.ts): a failed one leaves the previous FILE as it was.
 */
import { once } from 'node:events';
import { cliError } from '../cli-errors.js';
import { openOutputFile } from '../output-file.js';
import { progressBar } from '../progress.js';
import type { Runtime } from '../runtime.js';
import type { OptionsOf } from '../command-table.js';
import type * as def from './user.def.js';

export type ExportFlags = OptionsOf<typeof def.exportUsers>;

export async function runExport(rt: Runtime, opts: ExportFlags): Promise<void> {
  const toStdout = opts.out === undefined || opts.out === '-';
  const withHashes = !!opts.withHashes;
  if (withHashes && toStdout && rt.io.stdout.isTTY) {
    throw cliError('cli.refused', 'refusing to print password hashes to a terminal: use --out FILE (created with mode 0600) or redirect stdout');
  }
  if (toStdout && rt.config.json && opts.format === 'csv') {
    throw cliError('cli.usage', '--json writes the users as one JSON array: it cannot be combined with --format csv without --out');
  }
  const format = toStdout && rt.config.json ? 'json' : (opts.format ?? 'jsonl');
  // The file first: a path that cannot be written fails before the database is even opened.
  const file = toStdout ? null : await openOutputFile(rt, opts.out as string, { mode: withHashes ? 0o600 : 0o666 });
  const auth = await rt.auth();
  const { countUsers, encodeExportPage } = await import('../../core/bulk/export.js');

  const write = async (text: string) => {
    if (text === '') return;
    if (file) await file.write(text);
    else if (!rt.io.stdout.write(text)) await once(rt.io.stdout, 'drain');
  };

  const total = await countUsers(auth.knex);
  const bar = toStdout ? null : await progressBar(rt, 'exporting', 'users');
  let count = 0;
  // Nothing, not even the opening bracket, is written before the export is audited.
  let started = false;
  const start = async () => {
    if (!started && format === 'json') await write('[\n');
    started = true;
  };
  const destination = toStdout ? 'stdout' : (opts.out as string);
  // Audited before the first page is read (a refused audit row: nothing goes out).
  for await (const page of auth.bulk.export({ withHashes, format, destination })) {
    await start();
    await write(await encodeExportPage(format, page, withHashes, count === 0));
    count += page.length;
    bar?.update(count, total);
  }
  await start();
  if (count === 0 && format === 'csv') await write(await encodeExportPage('csv', [], withHashes, true));
  if (format === 'json') await write('\n]\n');
  bar?.stop();
  await file?.commit();
  if (!toStdout) {
    await rt.out.result({ exported: count, file: destination, format, with_hashes: withHashes }, () =>
      rt.out.line(`exported ${count} user(s) to ${destination}${withHashes ? ' (with password hashes, mode 0600)' : ''}`),
    );
  } else {
    rt.out.notice(`exported ${count} user(s)`);
  }
}
