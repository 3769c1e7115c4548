/**
 * Issue 4 benchmarks for `user import`, both against PostgreSQL:
 *
 * 1. Plain-password users at bcrypt cost BENCH_IMPORT_ROUNDS (default 10): import throughput as a
 *    ratio to the bcrypt limit of this machine, measured in the same run (the same number of
 *    hashes on all cores, no database). Target >= 0.9.
 * 2. 100k pre-hashed users: import time as a ratio to `psql \copy` of the same rows into the same
 *    table. Target <= 2x.
 *
 * Server: KAIJU_AUTH_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); the
 * bench works in a database of its own, dropped afterwards. Needs `psql` on PATH for (2).
 */
import { spawnSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';

// Size libuv's pool as the CLI launcher does; it is fixed at first use, so re-run ourselves.
const { ensureThreadPool } = await import('./lib.mjs');
ensureThreadPool(import.meta.url);

const { default: knexFactory } = await import('knex');
const { openDatabase } = await import('../dist/src/db/open.js');
const { migrateLatest } = await import('../dist/src/db/migrator.js');
const { MIGRATIONS } = await import('../dist/migrations/index.js');
const { importUsers } = await import('../dist/src/core/bulk/import.js');
const { HashQueue } = await import('../dist/src/core/hash-queue.js');
const { resolveSettings } = await import('../dist/src/core/context.js');
const { recordResult, adminUrlFor, BENCH_ADMIN_URL } = await import('./lib.mjs');

const ADMIN = BENCH_ADMIN_URL;
const ROUNDS = Number(process.env.BENCH_IMPORT_ROUNDS || 10);
const PLAIN_USERS = Number(process.env.BENCH_IMPORT_PLAIN_USERS || 0) || Math.max(200, 150 * os.availableParallelism());
const PREHASHED_USERS = Number(process.env.BENCH_IMPORT_PREHASHED_USERS || 100_000);
const BATCH = Number(process.env.BENCH_IMPORT_BATCH || 5000);
const CORES = os.availableParallelism();
const HASH = '$2b$13$/MqmjCLV6kXOWbpryr0yROcQdgZvIO45fZwChL.lK2VBNcrRChtOG';

const name = `kaiju_bench_${randomBytes(4).toString('hex')}`;
const url = adminUrlFor(ADMIN, name);
const admin = knexFactory({ client: 'pg', connection: ADMIN, pool: { min: 0, max: 1 } });
await admin.raw(`CREATE DATABASE ${name}`);
const db = await openDatabase({ kind: 'postgres', url });
const work = await mkdtemp(path.join(os.tmpdir(), 'kaiju-bench-import-'));
const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;

async function writeLines(file, count, line) {
  const out = createWriteStream(file);
  for (let i = 0; i < count; i++) if (!out.write(line(i))) await once(out, 'drain');
  out.end();
  await once(out, 'finish');
}

try {
  const k = db.knex;
  await migrateLatest(k, MIGRATIONS);
  await k('groups').insert([{ id: 'staff' }, { id: 'customers' }]);
  const ctx = { db: k, settings: resolveSettings({ actor: 'bench', bcryptRounds: ROUNDS }) };

  // 1. Plain passwords vs the bcrypt limit.
  const plain = path.join(work, 'plain.jsonl');
  await writeLines(plain, PLAIN_USERS, (i) => `${JSON.stringify({ username: `plain${i}`, email: `plain${i}@example.com`, password: `plain password ${i}`, groups: i % 3 ? ['customers'] : ['staff', 'customers'] })}\n`);
  // The limit: the same hashes on all cores, no database; measured before and after the import
  // (the machine may be shared), the faster of the two counts.
  const queue = new HashQueue({ rounds: ROUNDS });
  const limit = async () => {
    const start = process.hrtime.bigint();
    await Promise.all(Array.from({ length: PLAIN_USERS }, (_, i) => queue.hash(`plain password ${i}`)));
    return seconds(start);
  };
  const before = await limit();
  let s = process.hrtime.bigint();
  const report = await importUsers(ctx, plain, { format: 'jsonl', rounds: ROUNDS, batchSize: 100 });
  const importSeconds = seconds(s);
  const limitSeconds = Math.min(before, await limit());
  if (report.created.users !== PLAIN_USERS) throw new Error(`plain import created ${report.created.users} of ${PLAIN_USERS}`);
  const ratio1 = limitSeconds / importSeconds;
  console.log(`import bench: ${PLAIN_USERS} plain-password users at cost ${ROUNDS} on ${CORES} cores: bcrypt alone ${limitSeconds.toFixed(2)}s (${(PLAIN_USERS / limitSeconds).toFixed(1)}/s), import ${importSeconds.toFixed(2)}s (${(PLAIN_USERS / importSeconds).toFixed(1)}/s)`);
  console.log(`import bench: throughput ratio to the bcrypt limit ${ratio1.toFixed(3)} (target >= 0.9) ${ratio1 >= 0.9 ? 'OK' : 'MISSED'}`);
  await recordResult('import_plain_passwords', {
    users: PLAIN_USERS, rounds: ROUNDS, cores: CORES, bcrypt_limit_s: limitSeconds, import_s: importSeconds, ratio: ratio1, target: 0.9, met: ratio1 >= 0.9,
  });

  // 2. Pre-hashed users vs psql \copy of the same rows into the same table.
  const prehashed = path.join(work, 'prehashed.csv');
  await writeLines(prehashed, PREHASHED_USERS + 1, (i) => (i === 0 ? 'username,email,password_hash,full_name\n' : `user${i},user${i}@example.com,${HASH},User ${i}\n`));
  const copyFile = path.join(work, 'copy.csv');
  const hex = `\\x${Buffer.from(HASH).toString('hex')}`;
  const saltHex = `\\x${Buffer.from(HASH.slice(0, 29)).toString('hex')}`;
  const created = new Date().toISOString().replace('T', ' ').replace('Z', '');
  await writeLines(copyFile, PREHASHED_USERS, (j) => {
    const i = j + 1;
    return `${randomUUID()},user${i},user${i}@example.com,User ${i},${hex},${saltHex},true,false,{},${created}\n`;
  });
  const reset = () => k.raw('truncate users, user_groups, sessions cascade');
  const copyTimes = [];
  const importTimes = [];
  const phases = [];
  for (let round = 0; round < 2; round++) {
    await reset();
    await k.raw('checkpoint');
    s = process.hrtime.bigint();
    // The baseline is the rows alone: the session says it keeps the look-alike keys, as the tool's
    // import does, so the triggers that note other writers' rows stay out of it.
    const r = spawnSync('psql', [url, '-v', 'ON_ERROR_STOP=1', '-qc', "set kaiju_auth.user_keys = 'kept'", '-qc', `\\copy users (id, username, email, full_name, password, salt, is_active, is_blocked, settings, created) from '${copyFile}' with (format csv)`], { stdio: ['ignore', 'inherit', 'inherit'] });
    copyTimes.push(seconds(s));
    if (r.status !== 0) throw new Error('psql \\copy failed');
    await reset();
    await k.raw('checkpoint');
    s = process.hrtime.bigint();
    let validated = null;
    const rep = await importUsers(ctx, prehashed, {
      format: 'csv',
      batchSize: BATCH,
      onProgress: (p) => {
        if (p.phase === 'import' && validated === null) validated = seconds(s);
      },
    });
    importTimes.push(seconds(s));
    phases.push({ validate_s: validated, write_s: seconds(s) - validated });
    if (rep.created.users !== PREHASHED_USERS) throw new Error(`pre-hashed import created ${rep.created.users}`);
  }
  const copyS = Math.min(...copyTimes);
  const importS = Math.min(...importTimes);
  const phase = phases[importTimes.indexOf(importS)];
  const ratio2 = importS / copyS;
  console.log(`import bench: ${PREHASHED_USERS} pre-hashed users: psql \\copy ${copyS.toFixed(2)}s, import ${importS.toFixed(2)}s = validation pass ${phase.validate_s.toFixed(2)}s + write pass ${phase.write_s.toFixed(2)}s (batch ${BATCH}, best of 2)`);
  console.log(`import bench: time ratio to \\copy ${ratio2.toFixed(2)}x (target <= 2x) ${ratio2 <= 2 ? 'OK' : 'MISSED'}`);
  await recordResult('import_prehashed_vs_copy', {
    users: PREHASHED_USERS, batch_size: BATCH, copy_s: copyS, import_s: importS, ...phase, ratio: ratio2, target: 2, met: ratio2 <= 2,
  });
} finally {
  await db.close();
  await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.destroy();
  await rm(work, { recursive: true, force: true });
}
