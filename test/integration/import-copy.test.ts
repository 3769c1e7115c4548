/**
 * The COPY path of `user import` (batches of new users) and its fallback to writeBatch (a batch
 * in which some user exists), on both backends: same users, same reports, same conflicts.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { KaijuAuth } from '../../src/core/auth.js';
import type { UserImportOptions } from '../../src/core/bulk/import.js';
import type { ImportProblem } from '../../src/core/bulk/types.js';
import { bcryptHasher, type PasswordHasher } from '../../src/core/passwords.js';
import { describeOnBackends } from '../support/db.js';
import { testAuth } from '../support/auth.js';
import { KAIJU_HASH, KAIJU_PASSWORD } from '../support/kaiju-ddl.js';

const HASH_2 = '$2b$04$abcdefghijklmnopqrstuu5e9GdyG0d5yMXD2JKJtpPhYy5FwYxNm';
let dir: string;
let n = 0;
async function file(name: string, content: string): Promise<string> {
  const p = path.join(dir, `${n++}-${name}`);
  await writeFile(p, content);
  return p;
}

const where = (errors: ImportProblem[]) => errors.map((e) => `${e.row}:${e.field ?? ''}:${e.code}`);

/** Twelve pre-hashed users; names, settings and groups with text COPY must escape. */
function users(change: (i: number) => Record<string, unknown> = () => ({})) {
  return Array.from({ length: 12 }, (_, i) => ({
    username: `user${String(i).padStart(2, '0')}`,
    email: `user${i}@example.com`,
    password_hash: i % 2 ? KAIJU_HASH : HASH_2,
    full_name: [`Tab\there ${i}`, `Back\\slash ${i}`, `Line\nfeed ${i}`, `Ünïcødé 日本 😀 ${i}`, null][i % 5],
    groups: i % 3 === 0 ? [] : i % 3 === 1 ? ['readers'] : ['readers', 'back\\slash'],
    is_active: i % 4 !== 0,
    is_blocked: i === 5,
    ...(i % 2 ? { settings: { theme: 'dark', quote: 'say "hi"\\n', n: i } } : {}),
    ...change(i),
  }));
}

const jsonl = (rows: object[]) => `${rows.map((r) => JSON.stringify(r)).join('\n')}\n`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kaiju-import-copy-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describeOnBackends('user import by COPY', { fresh: true }, (t) => {
  let auth: KaijuAuth;
  const importFile = (f: string, o: Partial<UserImportOptions> = {}) => auth.bulk.import(f, { format: 'jsonl', rounds: 4, batchSize: 5, ...o });

  /** Every user as stored, with groups: what an import must leave, whichever way it wrote. */
  const snapshot = async () => {
    const rows = await t.knex('users').orderBy('username').select('id', 'username', 'email', 'full_name', 'password', 'salt', 'is_active', 'is_blocked', 'settings');
    const groups = await t.knex('user_groups').select('user_id', 'group_id').orderBy(['user_id', 'group_id']);
    return rows.map(({ id, password, salt, ...u }) => ({
      ...u,
      password: (password as Buffer).toString('latin1'),
      salt: (salt as Buffer).toString('latin1'),
      groups: groups.filter((g) => g.user_id === id).map((g) => g.group_id as string),
    }));
  };

  beforeAll(async () => {
    auth = testAuth(t);
  });
  beforeEach(async () => {
    for (const g of ['readers', 'back\\slash']) await auth.groups.create(g);
  });

  it('stores exactly what the row-by-row path stores (escapes, UTF-8, nulls, flags, settings, groups, kaiju hash and salt)', async () => {
    const f = await file('u.jsonl', jsonl(users()));
    expect(await importFile(f)).toMatchObject({ created: { users: 12 }, updated: { users: 0 }, errors: [] });
    const copied = await snapshot();
    expect(copied[2]).toMatchObject({ username: 'user02', full_name: 'Line\nfeed 2', groups: ['back\\slash', 'readers'], is_active: true });
    expect(copied[1]).toMatchObject({ full_name: 'Back\\slash 1', password: KAIJU_HASH, salt: KAIJU_HASH.slice(0, 29), settings: { theme: 'dark', quote: 'say "hi"\\n', n: 1 } });
    expect(copied[0]).toMatchObject({ full_name: 'Tab\there 0', is_active: false, settings: {}, groups: [] });
    expect(copied[3]?.full_name).toBe('Ünïcødé 日本 😀 3');
    expect(copied[4]?.full_name).toBeNull();
    expect(copied[5]?.is_blocked).toBe(true);
    // One batch per five rows, each audited.
    expect(await t.knex('audit_log').where({ command: 'user.import' }).count({ n: '*' }).first()).toMatchObject({ n: 3 });
    await testAuth(t, { bcryptRounds: 13 }).users.authenticate('user01', KAIJU_PASSWORD);

    // The same file where one user of the single batch exists: the batch goes row by row.
    await t.knex('users').delete();
    await auth.users.register({ username: 'user11', email: 'user11@example.com', password: 'another password 1' });
    const r = await importFile(f, { onConflict: 'update', batchSize: 100 });
    expect(r).toMatchObject({ created: { users: 11 }, updated: { users: 1 }, unchanged: { users: 0 }, errors: [] });
    expect(await snapshot()).toEqual(copied);
  });

  it('reruns of a pre-hashed file (tried by COPY, then row by row): skip and update converge, fail stops at once', async () => {
    const f = await file('u.jsonl', jsonl(users()));
    await importFile(f);
    const before = await snapshot();
    expect(await importFile(f, { onConflict: 'skip' })).toMatchObject({ created: { users: 0 }, updated: { users: 0 }, unchanged: { users: 12 }, errors: [], stopped: null });
    expect(await importFile(f, { onConflict: 'update' })).toMatchObject({ created: { users: 0 }, updated: { users: 0 }, unchanged: { users: 12 }, errors: [] });
    expect(await snapshot()).toEqual(before);

    const failed = await importFile(f);
    expect(failed.stopped).toMatchObject({ row: 1, field: 'username', code: 'auth.user.exists' });
    expect(failed.created.users).toBe(0);

    const edited = await file('e.jsonl', jsonl(users((i) => (i === 7 ? { full_name: 'Renamed', groups: [] } : {}))));
    expect(await importFile(edited, { onConflict: 'update' })).toMatchObject({ created: { users: 0 }, updated: { users: 1 }, unchanged: { users: 11 } });
    expect((await auth.users.show('user07')).groups).toEqual([]);
    expect(await t.knex('users').count({ n: '*' }).first()).toMatchObject({ n: 12 });
  });

  it('a batch with an existing user or a taken email goes row by row; the batches around it still go by COPY', async () => {
    await auth.users.register({ username: 'owner', email: 'user3@example.com', password: 'owner password 1' });
    await auth.users.register({ username: 'user07', email: 'user7@example.com', password: 'old password 1' });
    const r = await importFile(await file('u.jsonl', jsonl(users())), { onConflict: 'skip' });
    expect(where(r.errors)).toEqual(['4:email:auth.user.exists']);
    expect(r).toMatchObject({ created: { users: 10 }, updated: { users: 0 }, unchanged: { users: 1 }, skipped: 1, stopped: null });
    expect(await auth.users.show('user07')).toMatchObject({ fullName: null, groups: [] });
    expect((await auth.users.show('user10')).groups).toEqual(['readers']);
    expect(await t.knex('users').count({ n: '*' }).first()).toMatchObject({ n: 12 });

    await t.knex('users').whereNot({ username: 'owner' }).delete();
    const stopped = await importFile(await file('u.jsonl', jsonl(users())));
    expect(stopped.stopped).toMatchObject({ row: 4, field: 'email', code: 'auth.user.exists' });
    expect(stopped.created.users).toBe(0);
  });

  it('a group deleted after validation is an error naming it, and that batch is not written', async () => {
    const rows = users().map(({ password_hash: _h, ...u }, i) => ({ ...u, password: `import password ${i}` }));
    let deleted = false;
    const hasher: PasswordHasher = {
      // The first hash of the first batch: the group goes before that batch is written.
      async hash(password, rounds) {
        if (!deleted) {
          deleted = true;
          await t.knex('groups').where({ id: 'back\\slash' }).delete();
        }
        return bcryptHasher.hash(password, rounds);
      },
      verify: (password, stored) => bcryptHasher.verify(password, stored),
    };
    await expect(importFile(await file('p.jsonl', jsonl(rows)), { hasher })).rejects.toMatchObject({ code: 'auth.group.not_found' });
    expect(await t.knex('users').count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });
});
