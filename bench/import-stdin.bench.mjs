/**
 * What `user import -` pays for reading stdin through an encrypted spool (AES-256-CTR under a key
 * held only in memory, so no password is ever on disk in clear), against PostgreSQL:
 *
 * 1. The CLI importing 100k pre-hashed users from stdin (`user import - < FILE`) as a ratio to the
 *    same CLI importing the same file by name (`user import FILE`): the spool write, then two
 *    decrypting reads. Best of BENCH_RUNS (default 2) each, interleaved. Target <= 1.1.
 * 2. The cipher alone: encrypting the file once and decrypting it twice, against reading it twice
 *    (the in-process cost the spool adds, without the database).
 *
 * Server: KAIJU_AUTH_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); the
 * bench works in a database of its own, dropped afterwards.
 */
import { spawnSync } from 'node:child_process';
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream, openSync, closeSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';

const { default: knexFactory } = await import('knex');
const { recordResult, adminUrlFor, BENCH_ADMIN_URL } = await import('./lib.mjs');

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const BIN = path.join(ROOT, 'bin', 'kaiju-auth.js');
const USERS = Number(process.env.BENCH_IMPORT_STDIN_USERS || 100_000);
const RUNS = Number(process.env.BENCH_RUNS || 2);
const BATCH = 5000;
const HASH = '$2b$13$/MqmjCLV6kXOWbpryr0yROcQdgZvIO45fZwChL.lK2VBNcrRChtOG';

const name = `kaiju_bench_${randomBytes(4).toString('hex')}`;
const url = adminUrlFor(BENCH_ADMIN_URL, name);
const admin = knexFactory({ client: 'pg', connection: BENCH_ADMIN_URL, pool: { min: 0, max: 1 } });
await admin.raw(`CREATE DATABASE ${name}`);
const work = await mkdtemp(path.join(os.tmpdir(), 'kaiju-bench-stdin-'));
const seconds = (start) => Number(process.hrtime.bigint() - start) / 1e9;
const env = { ...process.env, KAIJU_AUTH_DATABASE_URL: url, TMPDIR: work };

function cli(args, stdinFile) {
  const fd = stdinFile ? openSync(stdinFile, 'r') : 'ignore';
  try {
    const start = process.hrtime.bigint();
    const r = spawnSync(process.execPath, [BIN, '-q', ...args], { env, stdio: [fd, 'ignore', 'inherit'] });
    if (r.status !== 0) throw new Error(`kaiju-auth ${args.join(' ')}: exit ${r.status}`);
    return seconds(start);
  } finally {
    if (typeof fd === 'number') closeSync(fd);
  }
}

try {
  cli(['migrate']);
  const file = path.join(work, 'users.csv');
  const out = createWriteStream(file);
  for (let i = 0; i <= USERS; i++) {
    const line = i === 0 ? 'username,email,password_hash,full_name\n' : `user${i},user${i}@example.com,${HASH},User ${i}\n`;
    if (!out.write(line)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');

  const db = knexFactory({ client: 'pg', connection: url, pool: { min: 0, max: 1 } });
  const reset = async () => {
    await db.raw('truncate users, user_groups, sessions, audit_log cascade');
    await db.raw('checkpoint');
  };
  const fromFile = [];
  const fromStdin = [];
  try {
    for (let run = 0; run < RUNS; run++) {
      await reset();
      fromFile.push(cli(['user', 'import', file, '--batch-size', String(BATCH)]));
      await reset();
      fromStdin.push(cli(['user', 'import', '-', '--format', 'csv', '--batch-size', String(BATCH)], file));
    }
  } finally {
    await db.destroy();
  }
  const fileS = Math.min(...fromFile);
  const stdinS = Math.min(...fromStdin);
  const ratio = stdinS / fileS;
  console.log(`import-stdin bench: ${USERS} pre-hashed users through the CLI: from the file ${fileS.toFixed(2)}s, from stdin (encrypted spool) ${stdinS.toFixed(2)}s (best of ${RUNS})`);
  console.log(`import-stdin bench: stdin/file time ratio ${ratio.toFixed(3)} (target <= 1.1) ${ratio <= 1.1 ? 'OK' : 'MISSED'}`);

  // The cipher alone: spool (encrypt once) + two decrypting reads, against two plain reads.
  const drain = async (stream) => {
    for await (const chunk of stream) void chunk;
  };
  const plainStart = process.hrtime.bigint();
  for (let i = 0; i < 2; i++) await drain(createReadStream(file));
  const plainS = seconds(plainStart);
  const key = randomBytes(32);
  const iv = randomBytes(16);
  const spool = path.join(work, 'spool');
  const cipherStart = process.hrtime.bigint();
  await pipeline(createReadStream(file), createCipheriv('aes-256-ctr', key, iv), createWriteStream(spool, { mode: 0o600 }));
  for (let i = 0; i < 2; i++) await drain(createReadStream(spool).pipe(createDecipheriv('aes-256-ctr', key, iv)));
  const cipherS = seconds(cipherStart);
  console.log(`import-stdin bench: cipher alone: two plain reads of the ${USERS}-row file ${(plainS * 1000).toFixed(0)} ms, spool + two decrypting reads ${(cipherS * 1000).toFixed(0)} ms`);

  await recordResult('import_stdin_vs_file', {
    users: USERS,
    batch_size: BATCH,
    runs: RUNS,
    file_s: fileS,
    stdin_s: stdinS,
    ratio,
    target: 1.1,
    met: ratio <= 1.1,
    plain_reads_s: plainS,
    spool_and_decrypting_reads_s: cipherS,
  });
} finally {
  await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
  await admin.destroy();
  await rm(work, { recursive: true, force: true });
}
