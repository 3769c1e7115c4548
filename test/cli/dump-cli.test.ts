/**
 * `kaiju-auth dump DIR` (issue 16 item 1), as a user runs it, on both backends: the round trip
 * (dump --with-hashes -> seed into an empty database -> dump gives byte-identical files), the
 * modes (0600 files in a 0700 directory with hashes; the umask's without), an existing DIR refused
 * (exit 8) unless --force, a failure halfway through writing (a full disk) leaving no DIR or the
 * old DIR byte for byte and no temporary directory, and the audit row committed before any hash
 * reaches the disk (an audit log it cannot write: exit 7, no DIR at all).
 */
import { mkdir, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliOptions, type CliTarget } from '../support/cli.js';

const FAIL_WRITE = fileURLToPath(new URL('../support/fail-fixture-write.mjs', import.meta.url));
const PW = 'dump test password 1';

afterAll(removeTempDirs);

async function files(dir: string): Promise<Record<string, string>> {
  const names = (await readdir(dir)).sort();
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await readFile(path.join(dir, n), 'utf8')] as const)));
}

const mode = async (p: string) => (await stat(p)).mode & 0o777;
const leftovers = async (dir: string) => (await readdir(path.dirname(dir))).filter((n) => n.startsWith(`.${path.basename(dir)}.kaiju-auth-`));

describe.each(BACKENDS)('dump on %s', (backend) => {
  let a: CliTarget;
  let b: CliTarget;
  const cli = (t: CliTarget, args: string[], options: CliOptions = {}) => runCli([...t.args, ...args], options);
  beforeAll(async () => {
    [a, b] = await Promise.all([cliTarget(backend), cliTarget(backend)]);
    const fx = path.join(a.tmp, 'fixtures');
    await mkdir(fx);
    await writeFile(path.join(fx, 'permissions.json'), JSON.stringify([{ id: 'docs.read', tag: 'docs' }, { id: 'docs.write', enabled: false }]));
    await writeFile(path.join(fx, 'groups.json'), JSON.stringify([{ data: { id: 'editors', description: 'Éditeurs' }, permissions: ['docs.read', 'docs.write'] }, { data: { id: 'nobody' }, permissions: [] }]));
    await writeFile(
      path.join(fx, 'users.json'),
      JSON.stringify([
        { data: { username: 'alice', email: 'alice@example.com', password: PW, settings: { locale: 'fr' } }, groups: ['editors'] },
        { data: { username: 'bobby', email: 'bobby@example.com', password: PW }, groups: [] },
      ]),
    );
    const r = await cli(a, ['seed', fx, '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect((await cli(a, ['user', 'block', 'bobby', '-q'])).code).toBe(0);
  }, 180_000);
  afterAll(async () => {
    await a?.cleanup();
    await b?.cleanup();
  });

  it('round trip: dump --with-hashes, seed into an empty database, dump: byte-identical; 0600 files in a 0700 directory', async () => {
    const first = path.join(a.tmp, 'backup');
    const r = await cli(a, ['dump', first, '--with-hashes', '--json', '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ with_hashes: true, replaced: false, counts: { permissions: 2, groups: 2, grants: 2, users: 2, memberships: 1 } });
    expect(await mode(first)).toBe(0o700);
    for (const f of ['permissions.json', 'groups.json', 'users.json']) expect(await mode(path.join(first, f))).toBe(0o600);
    expect(r.stdout + r.stderr).not.toMatch(/\$2[aby]\$/);

    const restore = await cli(b, ['seed', first, '--json', '-q']);
    expect(restore.code, restore.stderr).toBe(0);
    expect(restore.json().created.users).toEqual(['alice', 'bobby']);
    const second = path.join(b.tmp, 'backup');
    expect((await cli(b, ['dump', second, '--with-hashes', '-q'])).code).toBe(0);
    expect(await files(second)).toEqual(await files(first));
    // The restored users are the same users: alice signs in with her password, bobby is blocked.
    expect((await cli(b, ['keys', 'rotate', '-q'], { env: { KAIJU_AUTH_SECRET: 'dump test key secret, long enough' } })).code).toBe(0);
    const token = await cli(b, ['token', 'issue', '--username', 'alice', '--password-stdin', '--json', '-q'], { input: `${PW}\n`, env: { KAIJU_AUTH_SECRET: 'dump test key secret, long enough' } });
    expect(token.code, token.stderr).toBe(0);
    const blocked = await cli(b, ['token', 'issue', '--username', 'bobby', '--password-stdin', '-q'], { input: `${PW}\n`, env: { KAIJU_AUTH_SECRET: 'dump test key secret, long enough' } });
    expect(blocked.code).toBe(3);
    // The restore is a no-op when run again, and the source has no drift from its own dump.
    expect((await cli(b, ['seed', first, '--check', '-q'])).code).toBe(0);
    expect((await cli(a, ['seed', first, '--check', '-q'])).code).toBe(0);
  });

  it('without hashes: the files take the umask (0644 / 0755 under 022), no password field, and say so', async () => {
    const dir = path.join(a.tmp, 'plain');
    const r = await cli(a, ['dump', dir]);
    expect(r.code, r.stderr).toBe(0);
    const umask = process.umask();
    expect(await mode(dir)).toBe(0o755 & ~umask);
    expect(await mode(path.join(dir, 'users.json'))).toBe(0o644 & ~umask);
    expect(await readFile(path.join(dir, 'users.json'), 'utf8')).not.toMatch(/password/);
    expect(r.stdout).toMatch(/2 users .*without passwords/);
    expect(r.stderr).toMatch(/cannot create them/);
  });

  it('an existing DIR: exit 8 and untouched; --force replaces it whole', async () => {
    const dir = path.join(a.tmp, 'existing');
    await mkdir(dir);
    await writeFile(path.join(dir, 'notes.txt'), 'mine\n');
    const refused = await cli(a, ['dump', dir, '-q']);
    expect(refused.code).toBe(8);
    expect(refused.stderr).toMatch(/already exists; pass --force/);
    expect(await files(dir)).toEqual({ 'notes.txt': 'mine\n' });
    const forced = await cli(a, ['dump', dir, '--force', '--json', '-q']);
    expect(forced.code, forced.stderr).toBe(0);
    expect(forced.json().replaced).toBe(true);
    expect(Object.keys(await files(dir))).toEqual(['groups.json', 'permissions.json', 'users.json']);
    expect(await leftovers(dir)).toEqual([]);
    const file = path.join(a.tmp, 'a-file');
    await writeFile(file, 'x');
    expect((await cli(a, ['dump', file, '--force', '-q'])).code).toBe(2);
  });

  it('a failure halfway through writing (disk full at users.json): exit 2, no DIR or the old DIR byte for byte, no temporary directory', async () => {
    const fresh = path.join(a.tmp, 'halfway-new');
    const r = await cli(a, ['dump', fresh, '--with-hashes', '-q'], { nodeArgs: ['--import', FAIL_WRITE] });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/ENOSPC/);
    await expect(stat(fresh)).rejects.toMatchObject({ code: 'ENOENT' });
    expect(await leftovers(fresh)).toEqual([]);

    const old = path.join(a.tmp, 'halfway-old');
    expect((await cli(a, ['dump', old, '-q'])).code).toBe(0);
    const before = await files(old);
    const again = await cli(a, ['dump', old, '--force', '--with-hashes', '-q'], { nodeArgs: ['--import', FAIL_WRITE] });
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/is unchanged/);
    expect(await files(old)).toEqual(before);
    expect(await mode(old)).toBe(0o755 & ~process.umask());
    expect(await leftovers(old)).toEqual([]);
  });

  it('audit before any hash: an audit log that refuses the row (SQLSTATE 42501) is exit 7 and no DIR at all', async () => {
    await a.withKnex(async (k) => {
      await k.raw(`create function refuse_audit() returns trigger language plpgsql as $$
        begin raise exception 'permission denied for table audit_log' using errcode = '42501'; end $$`);
      await k.raw('create trigger refuse_audit before insert on audit_log for each row execute function refuse_audit()');
    });
    try {
      const dir = path.join(a.tmp, 'unaudited');
      const r = await cli(a, ['dump', dir, '--with-hashes', '-q']);
      expect(r.code, r.stderr).toBe(7);
      expect(r.stderr).toMatch(/permission denied for table audit_log/);
      await expect(stat(dir)).rejects.toMatchObject({ code: 'ENOENT' });
      expect(await leftovers(dir)).toEqual([]);
    } finally {
      await a.withKnex(async (k) => {
        await k.raw('drop trigger refuse_audit on audit_log');
        await k.raw('drop function refuse_audit()');
      });
    }
    const rows = await a.withKnex((k) => k('audit_log').where({ command: 'fixtures.dump' }).select('summary'));
    expect(rows.some((row) => JSON.stringify(row.summary).includes('password_hash'))).toBe(true);
  });

  it('a user export imported into an empty database says that dump and seed are the whole backup', async () => {
    const file = path.join(a.tmp, 'users.jsonl');
    expect((await cli(a, ['user', 'export', '--with-hashes', '--out', file, '-q'])).code).toBe(0);
    const empty = await cliTarget(backend);
    try {
      const r = await cli(empty, ['user', 'import', file]);
      expect(r.code).toBe(6);
      expect(r.stderr).toMatch(/unknown group editors/);
      expect(r.stderr).toMatch(/groups are not in a user export: .*kaiju-auth dump DIR --with-hashes/);
    } finally {
      await empty.cleanup();
    }
  });

  it('seed: a user with both password and password_hash is exit 6, naming the path, never the hash', async () => {
    const dir = path.join(a.tmp, 'both');
    await mkdir(dir);
    const hash = '$2b$04$5yRUL0TBqNdpYJhN6qzFgeG97ZDXdAaZbg8FQF1OZgYbK4KOyga1a';
    await writeFile(path.join(dir, 'users.json'), JSON.stringify([{ data: { username: 'carol', email: 'carol@example.com', password: PW, password_hash: hash }, groups: [] }]));
    const r = await cli(a, ['seed', dir]);
    expect(r.code).toBe(6);
    expect(r.stderr).toMatch(/\$\[0\]\.data: give one of "password", "password_hash", not both/);
    expect(r.stdout + r.stderr).not.toContain(hash.slice(7));
  });
});
