/**
 * `dump` (issue 16 item 1) in the core: the whole auth data as a fixture directory that `seed`
 * reads back. dump -> seed into an empty database -> dump gives the same bytes; the restored users
 * sign in with their passwords; without hashes, seed keeps existing users and refuses to create
 * them; `password_hash` is checked as `user import` checks it; and (PostgreSQL) a writer that
 * commits while a dump reads does not tear the snapshot.
 */
import { readFile, readdir } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KaijuAuth } from '../../src/core/auth.js';
import { KaijuAuth as Auth } from '../../src/core/auth.js';
import { resolveSettings } from '../../src/core/context.js';
import { BACKENDS, destroyTest, initTest, truncateAll, type TestDb } from '../support/db.js';
import { TEST_SETTINGS, testAuth } from '../support/auth.js';
import { fixtureDir, removeFixtureDirs } from '../support/fixtures.js';

const PW = 'fixture password 1';
const HASH = '$2b$04$5yRUL0TBqNdpYJhN6qzFgeG97ZDXdAaZbg8FQF1OZgYbK4KOyga1a';

const fixtures = () => ({
  permissions: [
    { id: 'docs.read', tag: 'docs', description: 'Read documents' },
    { id: 'docs.write', tag: 'docs' },
    { id: 'admin.all', enabled: false },
    { id: 'zz.ungranted', description: 'granted to nobody: «ünïcode» 😀' },
  ],
  groups: [
    { data: { id: 'readers', description: 'Readers' }, permissions: ['docs.read'] },
    { data: { id: 'writers', tag: 'staff' }, permissions: ['docs.write', 'docs.read'] },
    { data: { id: 'admins' }, permissions: ['admin.all', 'docs.write'] },
    { data: { id: 'empty' }, permissions: [] },
  ],
  users: [
    { data: { username: 'alice', email: 'alice@example.com', password: PW, full_name: 'Alice Ærø', settings: { lang: 'en', ui: { theme: 'dark', n: [1, 2] } } }, groups: ['readers'] },
    { data: { username: 'bobby', email: 'bobby@example.com', password: PW, is_blocked: true }, groups: ['writers', 'admins'] },
    { data: { username: 'carol', email: 'carol@example.com', password_hash: HASH, is_active: false }, groups: [] },
  ],
});

async function files(dir: string): Promise<Record<string, string>> {
  const names = (await readdir(dir)).sort();
  return Object.fromEntries(await Promise.all(names.map(async (n) => [n, await readFile(path.join(dir, n), 'utf8')] as const)));
}

let n = 0;
const outDir = () => path.join(os.tmpdir(), `kaiju-dump-test-${process.pid}-${Date.now()}-${(n += 1)}`);

describe.each(BACKENDS)('dump on %s', (backend) => {
  let t: TestDb;
  let t2: TestDb;
  let auth: KaijuAuth;
  let auth2: KaijuAuth;
  const dirs: string[] = [];
  const out = () => {
    const d = outDir();
    dirs.push(d);
    return d;
  };
  beforeAll(async () => {
    t = await initTest(backend);
    t2 = await initTest(backend);
    auth = testAuth(t);
    auth2 = testAuth(t2);
  });
  afterAll(async () => {
    await destroyTest(t);
    await destroyTest(t2);
    await removeFixtureDirs();
    const { rm } = await import('node:fs/promises');
    await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
  });
  beforeEach(async () => {
    await truncateAll(t);
    await truncateAll(t2);
  });

  it('round trip: dump --with-hashes, seed into an empty database, dump again: the same bytes; passwords, flags and settings restored', async () => {
    expect((await auth.fixtures.seed(await fixtureDir(fixtures()))).errors).toEqual([]);
    // Changes made outside the fixtures are part of the data too.
    await auth.users.setFlag('alice', 'deactivate');
    await auth.groups.grant('empty', ['zz.ungranted']);
    await auth.groups.revoke('empty', ['zz.ungranted']);
    const first = out();
    const report = await auth.fixtures.dump(first, { withHashes: true });
    expect(report).toMatchObject({ withHashes: true, replaced: false, counts: { permissions: 4, groups: 4, grants: 5, users: 3, memberships: 3 } });
    const dumped = await files(first);
    expect(Object.keys(dumped)).toEqual(['groups.json', 'permissions.json', 'users.json']);
    const users = JSON.parse(dumped['users.json'] as string);
    expect(users.map((u: { data: { username: string } }) => u.data.username)).toEqual(['alice', 'bobby', 'carol']);
    expect(users[2].data).toEqual({ username: 'carol', email: 'carol@example.com', password_hash: HASH, is_active: false, is_blocked: false });

    const seeded = await auth2.fixtures.seed(first);
    expect(seeded.errors).toEqual([]);
    const second = out();
    await auth2.fixtures.dump(second, { withHashes: true });
    expect(await files(second)).toEqual(dumped);

    await expect(auth2.users.authenticate('bobby', PW)).rejects.toMatchObject({ code: 'auth.user.authentication_failed' }); // blocked
    await auth2.users.setFlag('bobby', 'unblock');
    await expect(auth2.users.authenticate('bobby', PW)).resolves.toMatchObject({ username: 'bobby' });
    expect(await auth2.users.show('alice')).toMatchObject({ isActive: false, fullName: 'Alice Ærø', settings: { lang: 'en', ui: { theme: 'dark', n: [1, 2] } } });
    // A rerun of the restore writes nothing.
    const rerun = await auth2.fixtures.seed(first);
    expect(rerun.created).toEqual({ permissions: [], groups: [], users: [] });
    expect(rerun.updated).toEqual({ permissions: [], groups: [], users: [] });
  });

  it('without hashes: no password field; seed keeps existing users and refuses to create them (auth.user.not_found)', async () => {
    await auth.fixtures.seed(await fixtureDir(fixtures()));
    const dir = out();
    const report = await auth.fixtures.dump(dir);
    expect(report.withHashes).toBe(false);
    const text = (await files(dir))['users.json'] as string;
    expect(text).not.toMatch(/password/);
    expect(text).not.toContain('$2b$');
    // Against the database it came from: nothing to do.
    const same = await auth.fixtures.plan(dir);
    expect(same.errors).toEqual([]);
    expect([...same.created.users, ...same.updated.users, ...same.created.groups, ...same.updated.permissions]).toEqual([]);
    // Into an empty database: the users cannot be made; nothing is written.
    const empty = await auth2.fixtures.seed(dir);
    expect(empty.errors.map((e) => [e.path, e.code])).toEqual([
      ['$[0].data', 'auth.user.not_found'],
      ['$[1].data', 'auth.user.not_found'],
      ['$[2].data', 'auth.user.not_found'],
    ]);
    expect(await t2.knex('permissions').count({ n: '*' }).first()).toMatchObject({ n: expect.anything() });
    expect(Number((await t2.knex('permissions').count({ n: '*' }).first())?.n)).toBe(0);
  });

  it('password_hash: checked as user import checks it, never shown; one secret at most', async () => {
    const dir = await fixtureDir({
      users: [
        { data: { username: 'dave1', email: 'dave1@example.com', password_hash: 'not a hash' }, groups: [] },
        { data: { username: 'dave2', email: 'dave2@example.com', password_hash: `${HASH.slice(0, -1)}` }, groups: [] },
        { data: { username: 'dave3', email: 'dave3@example.com', password_hash: HASH, password: PW }, groups: [] },
        { data: { username: 'dave4', email: 'dave4@example.com', password_hash: 42 }, groups: [] },
        { data: { username: 'dave5', email: 'dave5@example.com', is_blocked: 'yes' }, groups: [] },
      ],
    });
    const r = await auth.fixtures.seed(dir);
    expect(r.errors.map((e) => [e.path, e.code])).toEqual([
      ['$[0].data.password_hash', 'auth.user.invalid_password'],
      ['$[1].data.password_hash', 'auth.user.invalid_password'],
      ['$[2].data', 'data.invalid'],
      ['$[3].data.password_hash', 'data.invalid'],
      ['$[4].data.is_blocked', 'data.invalid'],
    ]);
    expect(JSON.stringify(r.errors)).not.toContain(HASH.slice(10));
    expect(Number((await t.knex('users').count({ n: '*' }).first())?.n)).toBe(0);
  });

  it('a dump is in the audit log, committed before anything is read', async () => {
    const dir = out();
    let auditedRows = -1;
    await auth.fixtures.dump(dir, {
      withHashes: true,
      onAudited: () => {
        auditedRows = 0;
      },
    });
    expect(auditedRows).toBe(0);
    const rows = await auth.audit.list({ command: 'fixtures.dump' });
    expect(rows.map((r) => [r.command, r.target, r.summary])).toEqual([['fixtures.dump', dir, { destination: dir, fields: ['password_hash'] }]]);
  });

  it('an existing DIR is refused (dump.exists) unless replace; the refusal writes nothing', async () => {
    await auth.fixtures.seed(await fixtureDir(fixtures()));
    const dir = out();
    await auth.fixtures.dump(dir);
    const before = await files(dir);
    await auth.permissions.create('late.perm');
    await expect(auth.fixtures.dump(dir)).rejects.toMatchObject({ code: 'dump.exists', kind: 'refused' });
    expect(await files(dir)).toEqual(before);
    const r = await auth.fixtures.dump(dir, { replace: true });
    expect(r.replaced).toBe(true);
    expect((await files(dir))['permissions.json']).toContain('late.perm');
    expect((await readdir(path.dirname(dir))).filter((f) => f.startsWith(`.${path.basename(dir)}.kaiju-auth-`))).toEqual([]);
  });
});

describe.runIf(BACKENDS.includes('postgres'))('dump snapshot against a concurrent writer on PostgreSQL', () => {
  let t: TestDb;
  let writer: TestDb;
  beforeAll(async () => {
    t = await initTest('postgres');
    // A second connection pool on the same database: the writer.
    const { openDatabase } = await import('../../src/db/open.js');
    const db = await openDatabase(t.target);
    writer = { ...t, db, knex: db.knex };
  });
  afterAll(async () => {
    await writer?.db.close();
    await destroyTest(t);
  });

  /**
   * A handle whose transactions pause after their `after`-th statement until `between` is done:
   * another connection commits while the dump is half read.
   */
  function pausing(knex: Knex, after: number, between: () => Promise<void>): Knex {
    return new Proxy(knex, {
      get(target, prop, receiver) {
        if (prop !== 'transaction') return Reflect.get(target, prop, receiver);
        return (work: (trx: Knex.Transaction) => Promise<unknown>, config?: Knex.TransactionConfig) =>
          target.transaction(async (trx) => {
            let count = 0;
            const inner = new Proxy(trx, {
              get(tt, p, r) {
                if (p !== 'raw') return Reflect.get(tt, p, r);
                return async (...args: Parameters<Knex['raw']>) => {
                  const result = await tt.raw(...args);
                  if ((count += 1) === after) await between();
                  return result;
                };
              },
            });
            return work(inner);
          }, config);
      },
    }) as Knex;
  }

  it('a permission, a group granting it and a membership committed between the dump statements are all out of the dump', async () => {
    const seedAuth = testAuth(t);
    await seedAuth.fixtures.seed(await fixtureDir({ ...fixtures(), users: fixtures().users.slice(0, 2) }));
    let wrote = false;
    const between = async () => {
      if (wrote) return;
      await writer.knex.transaction(async (trx) => {
        await trx('permissions').insert({ id: 'late.perm', enabled: true });
        await trx('groups').insert({ id: 'late' });
        await trx('group_permissions').insert({ group_id: 'late', permission_id: 'late.perm' });
        const alice = await trx('users').where({ username: 'alice' }).first('id');
        await trx('user_groups').insert({ group_id: 'late', user_id: alice.id });
        await trx('user_groups').where({ group_id: 'readers', user_id: alice.id }).delete();
      });
      wrote = true;
    };
    // Statement 1 reads the permissions: pause after it.
    const auth = new Auth(pausing(t.knex, 1, between), resolveSettings(TEST_SETTINGS));
    const dir = outDir();
    try {
      await auth.fixtures.dump(dir, { withHashes: true });
      expect(wrote).toBe(true);
      const f = await files(dir);
      expect(f['permissions.json']).not.toContain('late.perm');
      expect(f['groups.json']).not.toContain('"late"');
      const users = JSON.parse(f['users.json'] as string) as { data: { username: string }; groups: string[] }[];
      expect(users.find((u) => u.data.username === 'alice')?.groups).toEqual(['readers']);
      // The next dump sees the writer's work whole.
      await auth.fixtures.dump(dir, { replace: true });
      const after = await files(dir);
      expect(after['groups.json']).toContain('"late"');
      expect(JSON.parse(after['users.json'] as string)[0].groups).toEqual(['late']);
    } finally {
      const { rm } = await import('node:fs/promises');
      await rm(dir, { recursive: true, force: true });
      await removeFixtureDirs();
    }
  });
});
