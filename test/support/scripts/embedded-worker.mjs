/**
 * A second process on an embedded data directory, for the lock tests: opens DIR through the
 * built library (dist/src/db/open.js), exactly as the CLI does, then
 *   hold              prints "ready", keeps the directory until stdin ends, closes
 *   insert N TAG      inserts N permissions (one statement each) and closes
 *   insert-forever TAG  inserts rows, one per statement, until killed
 *   ddl N             creates N tables with a row each (new relation files mid-run), then closes
 * Each line it prints is JSON: {event, pid, at} (plus counts), so a test can order the events of
 * two processes.
 */
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const { openDatabase } = await import(pathToFileURL(path.join(root, 'dist/src/db/open.js')).href);

const [mode, dir, ...rest] = process.argv.slice(2);
const say = (event, extra = {}) => process.stdout.write(`${JSON.stringify({ event, pid: process.pid, at: Date.now(), ...extra })}\n`);

say('start');
const db = await openDatabase(
  { kind: 'embedded', dataDir: dir, lockTimeoutMs: Number(process.env.LOCK_TIMEOUT_MS ?? 60_000) },
  { command: `embedded-worker ${mode}` },
);
say('opened');
try {
  if (mode === 'hold') {
    say('ready');
    process.stdin.resume();
    await new Promise((resolve) => process.stdin.on('end', resolve));
  } else if (mode === 'insert') {
    const [n, tag] = rest;
    for (let i = 0; i < Number(n); i++) {
      await db.knex('permissions').insert({ id: `${tag}-${i}`, enabled: true, tag });
    }
    say('inserted', { n: Number(n) });
  } else if (mode === 'insert-forever') {
    const [tag] = rest;
    for (let i = 0; ; i++) {
      await db.knex('permissions').insert({ id: `${tag}-${i}`, enabled: true, tag });
      if (i % 50 === 0) say('progress', { i });
    }
  } else if (mode === 'ddl') {
    const [n] = rest;
    for (let i = 0; i < Number(n); i++) {
      await db.knex.raw(`create table worker_t${i} (id serial primary key, v text)`);
      await db.knex.raw(`insert into worker_t${i} (v) values ('row ${i}')`);
    }
    say('created', { n: Number(n) });
  } else {
    throw new Error(`unknown mode ${mode}`);
  }
} finally {
  await db.close();
  say('closed');
}
