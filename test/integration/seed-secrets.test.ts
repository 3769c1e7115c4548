/**
 * Secrets by reference in fixtures (issue 16 item 4), in the core on both backends:
 * `password_env` reads the environment the caller passes (never process.env), `password_file` a
 * file relative to the fixture directory (staying inside it) or absolute. Every way of not having
 * the secret is a problem naming the variable or file (exit 6 in the CLI), never the value; at
 * most one password field; the password works for the user made with it.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KaijuAuth } from '../../src/core/auth.js';
import { describeOnBackends } from '../support/db.js';
import { testAuth } from '../support/auth.js';
import { fixtureDir, removeFixtureDirs } from '../support/fixtures.js';

const SECRET = 'from the vault 7 sigma';
const user = (username: string, secret: Record<string, unknown>) => ({ data: { username, email: `${username}@example.com`, ...secret }, groups: [] });

describeOnBackends('fixture secrets by reference', { fresh: true }, (t) => {
  let auth: KaijuAuth;
  let outside: string;
  beforeAll(async () => {
    auth = testAuth(t);
    outside = await mkdtemp(path.join(os.tmpdir(), 'kaiju-secret-outside-'));
  });
  afterAll(async () => {
    await removeFixtureDirs();
    await rm(outside, { recursive: true, force: true });
  });

  it('password_env and password_file (relative, with a trailing newline; absolute) make users that sign in with them', async () => {
    const absolute = path.join(outside, 'mounted');
    await writeFile(absolute, `${SECRET} abs`);
    const dir = await fixtureDir({
      users: [user('alice', { password_env: 'ALICE_PW' }), user('bobby', { password_file: 'secrets/bobby' }), user('carol', { password_file: absolute })],
    });
    await mkdir(path.join(dir, 'secrets'));
    await writeFile(path.join(dir, 'secrets', 'bobby'), `${SECRET} file\n`);
    const r = await auth.fixtures.seed(dir, { env: { ALICE_PW: `${SECRET} env` } });
    expect(r.errors).toEqual([]);
    expect(r.created.users).toEqual(['alice', 'bobby', 'carol']);
    await expect(auth.users.authenticate('alice', `${SECRET} env`)).resolves.toMatchObject({ username: 'alice' });
    await expect(auth.users.authenticate('bobby', `${SECRET} file`)).resolves.toMatchObject({ username: 'bobby' });
    await expect(auth.users.authenticate('carol', `${SECRET} abs`)).resolves.toMatchObject({ username: 'carol' });
    expect(JSON.stringify(r)).not.toContain(SECRET);
    const audit = await auth.audit.list({});
    expect(audit.length).toBeGreaterThan(0);
    expect(JSON.stringify(audit)).not.toContain(SECRET);
  });

  it('every way of not having the secret is a problem naming the variable or file, never the value; nothing written', async () => {
    const dir = await fixtureDir({
      users: [
        user('user01', { password_env: 'NOT_SET' }),
        user('user02', { password_env: 'EMPTY_PW' }),
        user('user03', { password_env: 'BLANK_PW' }),
        user('user04', { password_env: 'SHORT_PW' }),
        user('user05', { password_file: 'missing.txt' }),
        user('user06', { password_file: 'empty.txt' }),
        user('user07', { password_file: 'latin1.txt' }),
        user('user08', { password_file: 'nul.txt' }),
        user('user09', { password_file: '../escape.txt' }),
        user('user10', { password_file: 'subdir' }),
        user('user11', { password_file: 'huge.txt' }),
        user('user12', { password_env: 'NOT A NAME' }),
        user('user13', { password_env: 'GOOD_PW', password: `${SECRET} 2` }),
        user('user14', { password_file: 42 }),
        user('user15', { password_file: 'fifo' }),
        user('user16', { password_env: 'GOOD_PW' }),
      ],
    });
    await writeFile(path.join(dir, 'empty.txt'), '\n');
    await writeFile(path.join(dir, 'latin1.txt'), Buffer.from([0x6a, 0xf6, 0x72, 0x67, 0x31, 0x32, 0x33, 0x34, 0x35, 0x36, 0x37, 0x38, 0x39]));
    await writeFile(path.join(dir, 'nul.txt'), `${SECRET}\u0000 nul`);
    await writeFile(path.join(path.dirname(dir), 'escape.txt'), `${SECRET} escaped`);
    await mkdir(path.join(dir, 'subdir'));
    await writeFile(path.join(dir, 'huge.txt'), `${SECRET} `.repeat(1000));
    execFileSync('mkfifo', [path.join(dir, 'fifo')]);
    const env = { EMPTY_PW: '', BLANK_PW: '  \t ', SHORT_PW: 'short1', GOOD_PW: `${SECRET} good` };
    const r = await auth.fixtures.seed(dir, { env });
    const got = r.errors.map((e) => [e.path, e.code, e.value]);
    expect(got).toEqual([
      ['$[11].data.password_env', 'data.invalid', 'NOT A NAME'],
      ['$[12].data', 'data.invalid', undefined],
      ['$[13].data.password_file', 'data.invalid', 42],
      ['$[0].data.password_env', 'data.secret_missing', 'NOT_SET'],
      ['$[1].data.password_env', 'data.secret_missing', 'EMPTY_PW'],
      ['$[2].data.password_env', 'data.secret_missing', 'BLANK_PW'],
      ['$[3].data.password_env', 'auth.user.invalid_password', 'SHORT_PW'],
      ['$[4].data.password_file', 'data.secret_missing', 'missing.txt'],
      ['$[5].data.password_file', 'data.secret_missing', 'empty.txt'],
      ['$[6].data.password_file', 'data.file_invalid', 'latin1.txt'],
      ['$[7].data.password_file', 'data.file_invalid', 'nul.txt'],
      ['$[8].data.password_file', 'data.invalid', '../escape.txt'],
      ['$[9].data.password_file', 'data.file_unreadable', 'subdir'],
      ['$[10].data.password_file', 'data.invalid', 'huge.txt'],
      ['$[14].data.password_file', 'data.file_unreadable', 'fifo'],
    ]);
    for (const e of r.errors) expect(e.message).toMatch(e.path.endsWith('password_env') ? /environment variable|password_env/ : /password file|password_file|give one of/);
    const text = JSON.stringify(r);
    for (const secret of [SECRET, 'short1', 'jörg']) expect(text).not.toContain(secret);
    expect(Number((await t.knex('users').count({ n: '*' }).first())?.n)).toBe(0);
  });

  it('the core reads no process.env: without an env map a password_env is not set', async () => {
    process.env.KAIJU_TEST_SEED_PW = `${SECRET} process`;
    try {
      const dir = await fixtureDir({ users: [user('alice', { password_env: 'KAIJU_TEST_SEED_PW' })] });
      const r = await auth.fixtures.seed(dir);
      expect(r.errors.map((e) => e.code)).toEqual(['data.secret_missing']);
    } finally {
      delete process.env.KAIJU_TEST_SEED_PW;
    }
  });

  it('an existing user with a referenced secret: the secret must still be there (checked on every run), its password is not touched', async () => {
    const dir = await fixtureDir({ users: [user('alice', { password_env: 'ALICE_PW' })] });
    expect((await auth.fixtures.seed(dir, { env: { ALICE_PW: `${SECRET} one` } })).errors).toEqual([]);
    const again = await auth.fixtures.seed(dir, { env: { ALICE_PW: `${SECRET} two` } });
    expect(again.errors).toEqual([]);
    expect(again.unchanged.users).toEqual(['alice']);
    await expect(auth.users.authenticate('alice', `${SECRET} one`)).resolves.toMatchObject({ username: 'alice' });
    expect((await auth.fixtures.plan(dir, { env: {} })).errors.map((e) => e.code)).toEqual(['data.secret_missing']);
  });
});
