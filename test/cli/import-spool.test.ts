/**
 * `user import -` spools stdin to a private temporary file (the import reads its input twice).
 * That spool never holds a password in clear: it is encrypted with a random key that only the
 * importing process has. SIGKILL leaves it behind, unreadable, and the next import from stdin
 * removes it; SIGHUP (a dropped ssh session) is handled like SIGTERM: the batch in progress rolls
 * back, the lock is released, the spool is removed, exit 129.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, spawnCli, tempDir, type CliTarget } from '../support/cli.js';

const USERS = 300;
const BATCH = 25;
/** Slow enough hashing that a signal lands mid-import (a few hundred ms a batch on two cores). */
const ROUNDS = '9';
const password = (i: number) => `Spool-Secret-${i}-pw`;

function csv(n: number, prefix = 'spool'): string {
  const rows = Array.from({ length: n }, (_, i) => `${prefix}${i},${prefix}${i}@example.com,${password(i)},,${i % 2 ? 'a;b' : 'b'}`);
  return `username,email,password,password_hash,groups\n${rows.join('\n')}\n`;
}

/** The spool directories (and what is in them) under `tmp`. */
async function spools(tmp: string): Promise<{ dir: string; files: { name: string; bytes: Buffer }[] }[]> {
  const out = [];
  for (const name of await readdir(tmp)) {
    if (!name.startsWith('kaiju-auth-import-')) continue;
    const dir = path.join(tmp, name);
    const files = [];
    for (const f of await readdir(dir).catch(() => [])) files.push({ name: f, bytes: await readFile(path.join(dir, f)) });
    out.push({ dir, files });
  }
  return out;
}

/** Resolves once a spool under `tmp` holds `bytes` bytes (stdin fully spooled). */
async function spooled(tmp: string, bytes: number): Promise<void> {
  for (let i = 0; i < 1200; i++) {
    for (const s of await spools(tmp)) if (s.files.some((f) => f.bytes.length >= bytes)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error('stdin was never spooled');
}

describe.each(BACKENDS)('user import - (stdin) on %s', (backend) => {
  let t: CliTarget;
  let tmp: string;
  const input = csv(USERS);
  const env = () => ({ TMPDIR: tmp });

  const state = () =>
    t.withKnex(async (k) => ({
      users: Number((await k('users').count({ n: '*' }).first())?.n),
      withoutGroups: Number((await k('users as u').whereNotExists(k('user_groups as ug').whereRaw('ug.user_id = u.id')).count({ n: '*' }).first())?.n),
    }));

  beforeAll(async () => {
    t = await cliTarget(backend);
    expect((await runCli([...t.args, 'group', 'create', 'a', '-q'])).code).toBe(0);
    expect((await runCli([...t.args, 'group', 'create', 'b', '-q'])).code).toBe(0);
  });
  afterAll(async () => {
    await t?.cleanup();
    await removeTempDirs();
  });

  it('SIGKILL mid-import: the spool left behind holds no password; the next import from stdin removes it', { timeout: 180_000 }, async () => {
    tmp = await tempDir('kaiju-spool-');
    const run = await spawnCli([...t.args, '-q', 'user', 'import', '-', '--format', 'csv', '--batch-size', String(BATCH), '--rounds', ROUNDS], {
      input,
      env: env(),
      timeoutMs: 170_000,
    });
    await spooled(tmp, Buffer.byteLength(input));
    run.child.kill('SIGKILL');
    expect((await run.result).signal).toBe('SIGKILL');

    const left = await spools(tmp);
    expect(left).toHaveLength(1);
    const [spool] = left;
    expect((await stat(spool!.dir)).mode & 0o777).toBe(0o700);
    const bytes = Buffer.concat(spool!.files.map((f) => f.bytes));
    expect(bytes.length).toBeGreaterThanOrEqual(Buffer.byteLength(input));
    for (const needle of [password(0), password(USERS - 1), 'Spool-Secret', 'spool0@example.com', 'username,email']) {
      expect(bytes.includes(needle), `"${needle}" in the spool`).toBe(false);
    }

    // The dead import's spool goes with the next import from stdin.
    const next = await runCli([...t.args, '-q', 'user', 'import', '-', '--format', 'csv', '--on-conflict', 'skip', '--rounds', '4'], {
      input: csv(2, 'other'),
      env: env(),
    });
    expect(next.code, next.stderr).toBe(0);
    expect(await spools(tmp)).toEqual([]);
    const s = await state();
    expect(s.withoutGroups).toBe(0);
  });

  it('SIGHUP mid-import: exit 129, whole batches only, the spool removed, the lock released; a rerun converges', { timeout: 180_000 }, async () => {
    tmp = await tempDir('kaiju-spool-');
    await t.withKnex((k) => k.raw('truncate users, user_groups cascade'));
    const run = await spawnCli([...t.args, '-q', 'user', 'import', '-', '--format', 'csv', '--batch-size', String(BATCH), '--rounds', ROUNDS], {
      input,
      env: env(),
      timeoutMs: 170_000,
    });
    await spooled(tmp, Buffer.byteLength(input));
    if (t.url !== null) {
      // PostgreSQL: wait for a couple of batches to commit.
      for (let i = 0; i < 600 && (await state()).users < 2 * BATCH; i++) await new Promise((r) => setTimeout(r, 50));
    } else {
      await new Promise((r) => setTimeout(r, 3000));
    }
    run.child.kill('SIGHUP');
    const r = await run.result;
    expect(r.code, r.stderr).toBe(129);
    expect(await spools(tmp)).toEqual([]);

    // The lock is free (the next opener does not wait), and what was written is whole batches.
    const after = await state();
    expect(after.users % BATCH).toBe(0);
    expect(after.users).toBeLessThan(USERS);
    expect(after.withoutGroups).toBe(0);
    const rerun = await runCli([...t.args, '-q', '--lock-timeout', '0s', '--json', 'user', 'import', '-', '--format', 'csv', '--on-conflict', 'skip', '--rounds', '4'], {
      input,
      env: env(),
    });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.json().created.users).toBe(USERS - after.users);
    expect(await state()).toEqual({ users: USERS, withoutGroups: 0 });
    expect(await spools(tmp)).toEqual([]);
  });
});
