/**
 * Every `--out FILE` (user export, keys jwks) replaces FILE only when the whole output is written:
 * it goes to a temporary file beside FILE that is fsynced and renamed over it at the end. Whatever
 * cuts an export short (a signal, the database going away, a full disk) leaves the previous FILE
 * byte-identical and no temporary file; a path that cannot be written is a usage error (exit 2).
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Knex } from 'knex';
import { ADMIN_URL, BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, spawnCli, tempDir, type CliTarget } from '../support/cli.js';
import { KAIJU_HASH, KAIJU_SALT } from '../support/kaiju-ddl.js';

/** Enough users that an export takes a while (pages of 1000), so a fault can land mid-way. */
const USERS = 30_000;
const OLD = 'the previous backup: 204,400 lines that must survive a failed export\n'.repeat(500);
const SECRET = 'out file test key secret, long enough';

async function insertUsers(k: Knex, n: number): Promise<void> {
  await k.raw(
    `insert into users (id, username, email, full_name, password, salt, is_active, is_blocked, settings, created)
     select gen_random_uuid(), 'bulk' || lpad(i::text, 6, '0'), 'bulk' || i || '@example.com', 'Bulk User ' || i,
            convert_to(?, 'UTF8'), convert_to(?, 'UTF8'), true, false, '{"locale": "en"}'::jsonb, now() at time zone 'utc'
     from generate_series(1, ?::int) i`,
    [KAIJU_HASH, KAIJU_SALT, n],
  );
}

const sha256 = (text: string | Buffer) => createHash('sha256').update(text).digest('hex');
/** The file's SHA-256 (a mismatch reads better than a diff of two big files). */
const digest = async (file: string) => sha256(await readFile(file));

/** Names in `dir` other than `keep`. */
async function others(dir: string, keep: string[]): Promise<string[]> {
  return (await readdir(dir)).filter((n) => !keep.includes(n));
}

/**
 * Resolves once the export has started writing: a new file beside `file` holds bytes, or `file`
 * itself no longer holds `old` (the way the tool wrote before: truncating the target at once).
 */
async function writingStarted(file: string, old: string, timeoutMs = 60_000): Promise<void> {
  const dir = path.dirname(file);
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    for (const name of await others(dir, [path.basename(file)])) {
      const s = await stat(path.join(dir, name)).catch(() => null);
      if (s && s.size > 0) return;
    }
    const s = await stat(file).catch(() => null);
    if (!s || s.size !== Buffer.byteLength(old)) return;
    await new Promise((r) => setTimeout(r, 5));
  }
  throw new Error('the export never started writing');
}

describe.each(BACKENDS)('--out files on %s', (backend) => {
  let t: CliTarget;
  const env = { KAIJU_AUTH_SECRET: SECRET };
  const cli = (args: string[], opts: Parameters<typeof runCli>[1] = {}) => runCli([...t.args, ...args], { env, ...opts });
  const auditExports = () => t.withKnex(async (k) => Number((await k('audit_log').where({ command: 'user.export' }).count({ n: '*' }).first())?.n));

  beforeAll(async () => {
    t = await cliTarget(backend);
    await t.withKnex((k) => insertUsers(k, USERS));
    expect((await cli(['keys', 'rotate', '-q'])).code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await t?.cleanup();
    await removeTempDirs();
  });

  it('an --out in a directory that does not exist is exit 2 with one line, before anything is read or audited', async () => {
    const before = await auditExports();
    for (const args of [
      ['user', 'export', '--out', path.join(t.tmp, 'nodir', 'x.jsonl')],
      ['user', 'export', '--with-hashes', '--out', path.join(t.tmp, 'nodir', 'x.jsonl')],
      ['keys', 'jwks', '--out', path.join(t.tmp, 'nodir', 'jwks.json')],
    ]) {
      const r = await cli([...args, '-q']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/--out .*nodir.*: cannot write it \(ENOENT/);
      const json = await cli([...args, '-q', '--json']);
      expect(json.code).toBe(2);
      expect(json.errorJson().error).toMatchObject({ code: 'cli.output_failed', exit: 2 });
    }
    // An --out that is a directory is refused the same way.
    const r = await cli(['user', 'export', '--out', t.tmp, '-q']);
    expect(r.code, r.stderr).toBe(2);
    expect(await auditExports()).toBe(before);
  });

  for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
    it(`${signal} mid-export: exit ${code}, the previous file byte-identical, no temporary file`, async () => {
      const dir = await tempDir('kaiju-out-');
      const file = path.join(dir, 'backup.jsonl');
      await writeFile(file, OLD);
      const run = await spawnCli([...t.args, '-q', 'user', 'export', '--with-hashes', '--out', file], { env });
      await writingStarted(file, OLD);
      run.child.kill(signal);
      const r = await run.result;
      expect(r.code, r.stderr).toBe(code);
      expect(await digest(file)).toBe(sha256(OLD));
      expect(await others(dir, ['backup.jsonl'])).toEqual([]);
    });
  }

  it('SIGKILL mid-export leaves the previous file byte-identical; the next export to it clears the dead run\'s temporary file', async () => {
    const dir = await tempDir('kaiju-out-');
    const file = path.join(dir, 'backup.jsonl');
    await writeFile(file, OLD);
    const run = await spawnCli([...t.args, '-q', 'user', 'export', '--out', file], { env });
    await writingStarted(file, OLD);
    run.child.kill('SIGKILL');
    expect((await run.result).signal).toBe('SIGKILL');
    expect(await digest(file)).toBe(sha256(OLD));
    // An unrelated file beside it is never touched.
    await writeFile(path.join(dir, 'notes.txt'), 'mine');
    const again = await cli(['user', 'export', '--out', file, '-q']);
    expect(again.code, again.stderr).toBe(0);
    expect((await readFile(file, 'utf8')).split('\n')).toHaveLength(USERS + 1);
    expect(await others(dir, ['backup.jsonl', 'notes.txt'])).toEqual([]);
  });

  it.runIf(backend === 'postgres')('the server ends the session mid-export: exit 7, the previous file byte-identical, no temporary file', async () => {
    const dir = await tempDir('kaiju-out-');
    const file = path.join(dir, 'backup.jsonl');
    await writeFile(file, OLD);
    const run = await spawnCli([...t.args, '-q', 'user', 'export', '--with-hashes', '--out', file], { env });
    await writingStarted(file, OLD);
    const { default: knex } = await import('knex');
    const admin = knex({ client: 'pg', connection: ADMIN_URL as string, pool: { min: 0, max: 1 } });
    const name = new URL(t.url as string).pathname.slice(1);
    let r;
    try {
      // As a server going down: the session ends and no new one can start (a pool would
      // otherwise just reconnect between two pages).
      await admin.raw(`alter database ${name} allow_connections false`);
      await admin.raw('select pg_terminate_backend(pid) from pg_stat_activity where datname = ? and pid <> pg_backend_pid()', [name]);
      r = await run.result;
    } finally {
      await admin.raw(`alter database ${name} allow_connections true`);
      await admin.destroy();
    }
    expect(r.code, r.stderr).toBe(7);
    expect(await digest(file)).toBe(sha256(OLD));
    expect(await others(dir, ['backup.jsonl'])).toEqual([]);
  });

  it('a successful export replaces the file: 0600 with hashes, the umask\'s mode without; JWKS 0644', async () => {
    const dir = await tempDir('kaiju-out-');
    const file = path.join(dir, 'users.jsonl');
    await writeFile(file, OLD, { mode: 0o644 });
    const r = await cli(['user', 'export', '--out', file, '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect((await readFile(file, 'utf8')).split('\n')).toHaveLength(USERS + 1);
    expect((await stat(file)).mode & 0o777).toBe(0o666 & ~process.umask());
    const hashes = await cli(['user', 'export', '--with-hashes', '--out', file, '-q']);
    expect(hashes.code, hashes.stderr).toBe(0);
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const jwks = path.join(dir, 'jwks.json');
    const j = await cli(['keys', 'jwks', '--out', jwks, '-q']);
    expect(j.code, j.stderr).toBe(0);
    expect((await stat(jwks)).mode & 0o777).toBe(0o644 & ~process.umask());
    expect(JSON.parse(await readFile(jwks, 'utf8')).keys).toHaveLength(1);
    expect(await others(dir, ['users.jsonl', 'jwks.json'])).toEqual([]);
  });
});

/** A 64 KiB tmpfs (root only; skipped, saying so, elsewhere). */
function mountTinyFs(dir: string): boolean {
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', dir], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('--out on a full disk', () => {
  let t: CliTarget;
  let mnt: string;
  let mounted = false;

  beforeAll(async () => {
    mnt = path.join(await tempDir('kaiju-tiny-'), 'fs');
    await mkdir(mnt);
    mounted = mountTinyFs(mnt);
    if (!mounted) console.warn('skipping the full-disk tests: cannot mount a tmpfs (not root?)');
    t = await cliTarget(BACKENDS[0] as 'pglite');
    await t.withKnex((k) => insertUsers(k, 2000));
    expect((await runCli([...t.args, 'keys', 'rotate', '-q'], { env: { KAIJU_AUTH_SECRET: SECRET } })).code).toBe(0);
  }, 120_000);
  afterAll(async () => {
    if (mounted) execFileSync('umount', [mnt]);
    await t?.cleanup();
    await removeTempDirs();
  });

  it('ENOSPC mid-export: exit 2 naming the file, the previous file byte-identical, no temporary file', async (ctx) => {
    if (!mounted) ctx.skip();
    const file = path.join(mnt, 'backup.jsonl');
    const old = 'old backup line\n'.repeat(1000);
    await writeFile(file, old);
    const r = await runCli([...t.args, '-q', 'user', 'export', '--with-hashes', '--out', file]);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/ENOSPC/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(await digest(file)).toBe(sha256(old));
    expect(await others(mnt, ['backup.jsonl'])).toEqual([]);
    // Room made: the same command works.
    await rm(file);
    const small = await runCli([...t.args, '-q', 'keys', 'jwks', '--out', path.join(mnt, 'jwks.json')], { env: { KAIJU_AUTH_SECRET: SECRET } });
    expect(small.code, small.stderr).toBe(0);
  });
});
