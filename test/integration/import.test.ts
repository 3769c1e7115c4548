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
import { countQueries } from '../support/fixtures.js';
import { codeOf } from '../support/errors.js';
import { KAIJU_HASH, KAIJU_PASSWORD, KAIJU_SALT } from '../support/kaiju-ddl.js';

const PW = 'import password 1';
let dir: string;
let n = 0;
async function file(name: string, content: string | Buffer): Promise<string> {
  const p = path.join(dir, `${n++}-${name}`);
  await writeFile(p, content);
  return p;
}

/** A hasher that counts what it is asked to do. */
function countingHasher() {
  const calls = { hash: 0, verify: 0 };
  const hasher: PasswordHasher = {
    hash: (p, r) => ((calls.hash += 1), bcryptHasher.hash(p, r)),
    verify: (p, s) => ((calls.verify += 1), bcryptHasher.verify(p, s)),
  };
  return { hasher, calls };
}

const where = (errors: ImportProblem[]) => errors.map((e) => `${e.row}:${e.field ?? ''}:${e.code}`);

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kaiju-import-'));
});
afterAll(async () => rm(dir, { recursive: true, force: true }));

describeOnBackends('user import', { fresh: true }, (t) => {
  let auth: KaijuAuth;
  const importFile = (f: string, o: Partial<UserImportOptions> = {}) =>
    auth.bulk.import(f, { format: (path.extname(f).slice(1) || 'csv') as UserImportOptions['format'], rounds: 4, ...o });

  beforeAll(async () => {
    auth = testAuth(t);
  });
  beforeEach(async () => {
    for (const g of ['readers', 'writers', 'admins']) await auth.groups.create(g);
  });

  it('CSV: BOM, CRLF, quoting (commas, quotes, newlines), empty lines, ;-separated groups', async () => {
    const csv =
      '\uFEFFusername,email,password,password_hash,full_name,groups\r\n' +
      `alice,alice@example.com,${PW},,"Liddell, Alice",readers;writers\r\n` +
      '\r\n' +
      `bobby,bobby@example.com,${PW},,"Bob ""the builder""\r\nSmith", admins \r\n` +
      '\r\n\r\n' +
      `carol,carol@example.com,${PW},,,\r\n`;
    const r = await importFile(await file('q.csv', csv));
    expect(r).toMatchObject({ created: { users: 3 }, updated: { users: 0 }, unchanged: { users: 0 }, errors: [], rows: 3, skipped: 0, stopped: null });
    expect(await auth.users.show('alice')).toMatchObject({ fullName: 'Liddell, Alice', groups: ['readers', 'writers'], isActive: true, isBlocked: false, settings: {} });
    expect(await auth.users.show('bobby')).toMatchObject({ fullName: 'Bob "the builder"\r\nSmith', groups: ['admins'] });
    expect(await auth.users.show('carol')).toMatchObject({ fullName: null, groups: [] });
    await auth.users.authenticate('alice', PW);
  });

  it('JSON Lines and JSON arrays give the same users; optional is_active, is_blocked, settings', async () => {
    const users = [
      { username: 'alice', email: 'alice@example.com', password: PW, full_name: 'Alice', groups: ['readers'] },
      { username: 'bobby', email: 'bobby@example.com', password: PW, groups: 'writers;admins', is_blocked: true, settings: { lang: 'fr' } },
      { username: 'carol', email: 'carol@example.com', password: PW, is_active: false },
    ];
    const jsonl = await file('u.jsonl', `\uFEFF${users.map((u) => JSON.stringify(u)).join('\r\n')}\r\n\r\n`);
    const json = await file('u.json', JSON.stringify(users, null, 2));
    expect(await importFile(jsonl)).toMatchObject({ created: { users: 3 }, errors: [] });
    const fromJsonl = (await auth.users.list()).users.map(({ id: _id, created: _c, ...u }) => u);
    await t.knex('users').delete();
    expect(await importFile(json)).toMatchObject({ created: { users: 3 }, errors: [] });
    expect((await auth.users.list()).users.map(({ id: _id, created: _c, ...u }) => u)).toEqual(fromJsonl);
    expect(await auth.users.show('bobby')).toMatchObject({ isBlocked: true, isActive: true, settings: { lang: 'fr' }, groups: ['admins', 'writers'] });
    expect(await auth.users.show('carol')).toMatchObject({ isActive: false });
  });

  it('a Python-made $2b$ hash is stored as kaiju stores it and authenticates', async () => {
    const csv = `username,email,password_hash,groups\npyuser,py@example.com,${KAIJU_HASH},readers\n`;
    expect(await importFile(await file('h.csv', csv))).toMatchObject({ created: { users: 1 }, errors: [] });
    const row = await t.knex('users').where({ username: 'pyuser' }).first();
    expect(row.password.toString('latin1')).toBe(KAIJU_HASH);
    expect(row.salt.toString('latin1')).toBe(KAIJU_SALT);
    const user = await testAuth(t, { bcryptRounds: 13 }).users.authenticate('pyuser', KAIJU_PASSWORD);
    expect(user.username).toBe('pyuser');
  });

  it('a library caller passing a bcrypt cost or a batch size out of range gets a coded error before anything is read or written', async () => {
    const f = await file('r.jsonl', `{"username": "alice", "email": "alice@example.com", "password": "${PW}"}\n`);
    for (const rounds of [99, 3, 32, 4.5, Number.NaN]) {
      await expect(importFile(f, { rounds })).rejects.toMatchObject({ code: 'settings.out_of_range', details: { setting: 'rounds', min: 4, max: 31 } });
    }
    for (const batchSize of [0, -1, 100_001, 1.5]) {
      expect(await codeOf(importFile(f, { batchSize }))).toBe('settings.out_of_range');
    }
    // A missing file is not even looked at: the options are checked first.
    expect(await codeOf(importFile(path.join(dir, 'absent.jsonl'), { rounds: 99 }))).toBe('settings.out_of_range');
    expect(Number(((await t.knex('users').count({ n: '*' }).first()) as { n: string | number }).n)).toBe(0);
    expect(Number(((await t.knex('audit_log').where({ command: 'user.import' }).count({ n: '*' }).first()) as { n: string | number }).n)).toBe(0);
    // In range, the same file imports.
    expect((await importFile(f, { rounds: 4, batchSize: 1 })).created.users).toBe(1);
  });

  it('lists every invalid row with row, field and code, and writes nothing', async () => {
    const csv = [
      'username,email,password,password_hash,full_name,groups,is_active,settings',
      `ok_user,ok@example.com,${PW},,,readers,,`,
      `ab,short@example.com,${PW},,,,,`,
      `bad_email,nope,${PW},,,,,`,
      `weak_pw,weak@example.com,short,,,,,`,
      `both,both@example.com,${PW},${KAIJU_HASH},,,,`,
      `neither,neither@example.com,,,,,,`,
      `badhash,bh@example.com,,$2b$13$short,,,,`,
      `ghost,ghost@example.com,${PW},,,readers;ghosts,,`,
      `ok_user,dupname@example.com,${PW},,,,,`,
      `dupmail,ok@example.com,${PW},,,,,`,
      `flag,flag@example.com,${PW},,,,maybe,`,
      `settings_x,set@example.com,${PW},,,,,"[1,2]"`,
      `fields,f@example.com,${PW},,,`,
    ].join('\n');
    const r = await importFile(await file('bad.csv', csv));
    expect(where(r.errors)).toEqual([
      '2:username:auth.user.invalid_username',
      '3:email:auth.user.invalid_email',
      '4:password:auth.user.invalid_password',
      '5:password:data.invalid',
      '6:password:data.invalid',
      '7:password_hash:auth.user.invalid_password',
      '8:groups:auth.group.not_found',
      '9:username:data.duplicate',
      '10:email:data.duplicate',
      '11:is_active:data.invalid',
      '12:settings:auth.user.invalid_settings',
      '13::data.file_invalid',
    ]);
    expect(r.errors.find((e) => e.row === 8)).toMatchObject({ value: 'ghosts', line: 9 });
    expect(JSON.stringify(r.errors)).not.toContain('short,');
    expect(JSON.stringify(r.errors)).not.toContain(KAIJU_HASH);
    expect(r).toMatchObject({ created: { users: 0 }, rows: 13, skipped: 13 });
    expect(await t.knex('users').count({ n: '*' }).first()).toMatchObject({ n: 0 });

    const partial = await importFile(await file('bad.csv', csv), { skipInvalid: true });
    expect(partial).toMatchObject({ created: { users: 1 }, rows: 13, skipped: 12 });
    expect(partial.errors).toHaveLength(12);
    expect((await auth.users.show('ok_user')).groups).toEqual(['readers']);
  });

  it('unreadable files: bad CSV header, unclosed quote, JSON syntax with line and column, not an array', async () => {
    const header = await importFile(await file('h.csv', 'username,mail,password\nx,y,z\n'));
    expect(header.errors).toEqual([expect.objectContaining({ row: 0, code: 'data.file_invalid', line: 1 })]);
    const quote = await importFile(await file('q.csv', `username,email,password\nalice,a@example.com,${PW}\nbobby,"b@example.com,${PW}\n`));
    expect(where(quote.errors)).toEqual(['2::data.file_invalid']);
    const jsonl = await importFile(await file('s.jsonl', `{"username": "alice", "email": "a@example.com", "password": "${PW}"}\n\n{"username": "bobby",, }\n[1]\n`));
    expect(jsonl.errors).toEqual([
      expect.objectContaining({ row: 2, line: 3, column: 22, code: 'data.file_invalid' }),
      expect.objectContaining({ row: 3, line: 4, code: 'data.file_invalid' }),
    ]);
    const arr = await importFile(await file('s.json', `[\n  {"username": "alice", "email": "a@example.com", "password": "${PW}"},\n  {"username" "bobby"}\n]`));
    expect(arr.errors).toEqual([expect.objectContaining({ row: 0, line: 3, column: 15, code: 'data.file_invalid' })]);
    const obj = await importFile(await file('o.json', '{"username": "alice"}'));
    expect(where(obj.errors)).toEqual(['0::data.file_invalid']);
    expect(await t.knex('users').count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it('--on-conflict fail stops at the conflicting batch: earlier batches stay, that batch is not written', async () => {
    await auth.users.register({ username: 'user07', email: 'user07@old.example.com', password: PW });
    const rows = Array.from({ length: 12 }, (_, i) => `user${String(i).padStart(2, '0')},user${i}@example.com,${PW},readers`);
    const r = await importFile(await file('c.csv', `username,email,password,groups\n${rows.join('\n')}\n`), { batchSize: 5 });
    expect(r.stopped).toMatchObject({ row: 8, field: 'username', code: 'auth.user.exists' });
    expect(r.created.users).toBe(5);
    expect((await t.knex('users').pluck('username')).sort()).toEqual(['user00', 'user01', 'user02', 'user03', 'user04', 'user07']);
  });

  it('skip leaves existing users alone without hashing; update converges and a rerun changes nothing', async () => {
    await auth.users.register({ username: 'alice', email: 'alice@example.com', password: 'old password 1', fullName: 'Old', groups: ['admins'] });
    const csv = `username,email,password,full_name,groups\nalice,alice@new.example.com,${PW},Alice,readers\nbobby,bobby@example.com,${PW},,writers\n`;
    const f = await file('s.csv', csv);
    const skip = countingHasher();
    const skipped = await importFile(f, { onConflict: 'skip', hasher: skip.hasher });
    expect(skipped).toMatchObject({ created: { users: 1 }, updated: { users: 0 }, unchanged: { users: 1 } });
    expect(skip.calls).toEqual({ hash: 1, verify: 0 });
    expect(await auth.users.show('alice')).toMatchObject({ email: 'alice@example.com', fullName: 'Old', groups: ['admins'] });

    const updated = await importFile(f, { onConflict: 'update' });
    expect(updated).toMatchObject({ created: { users: 0 }, updated: { users: 1 }, unchanged: { users: 1 } });
    expect(await auth.users.show('alice')).toMatchObject({ email: 'alice@new.example.com', fullName: 'Alice', groups: ['readers'] });
    await auth.users.authenticate('alice', PW);

    const again = countingHasher();
    const rerun = await importFile(f, { onConflict: 'update', hasher: again.hasher });
    expect(rerun).toMatchObject({ created: { users: 0 }, updated: { users: 0 }, unchanged: { users: 2 } });
    expect(again.calls.hash).toBe(0);
  });

  it('an email that belongs to another user is a conflict for that row only', async () => {
    await auth.users.register({ username: 'owner', email: 'taken@example.com', password: PW });
    const csv = `username,email,password\nnewbie,taken@example.com,${PW}\nother,other@example.com,${PW}\n`;
    const r = await importFile(await file('e.csv', csv), { onConflict: 'skip' });
    expect(where(r.errors)).toEqual(['1:email:auth.user.exists']);
    expect(r).toMatchObject({ created: { users: 1 }, skipped: 1, stopped: null });
  });

  it('statements per batch do not depend on the batch size', async () => {
    const make = (count: number) =>
      `username,email,password_hash,groups\n${Array.from({ length: count }, (_, i) => `user${i},user${i}@example.com,${KAIJU_HASH},readers;writers`).join('\n')}\n`;
    const a = await file('a.csv', make(30));
    const b = await file('b.csv', make(300));
    await t.knex('users').delete();
    const ra = await countQueries(t.knex, () => importFile(a, { batchSize: 10 }));
    await t.knex('users').delete();
    const rb = await countQueries(t.knex, () => importFile(b, { batchSize: 100 }));
    expect(ra.result.created.users).toBe(30);
    expect(rb.result.created.users).toBe(300);
    expect(rb.statements.length).toBe(ra.statements.length);
  });

  it('export with hashes then import into an empty database round-trips (JSON Lines and CSV)', async () => {
    await auth.users.register({ username: 'alice', email: 'alice@example.com', password: PW, fullName: 'Alice, "A"', groups: ['readers', 'writers'], settings: { theme: 'dark', n: 3 } });
    await auth.users.register({ username: 'bobby', email: 'bobby@example.com', password: 'bobby password 2' });
    await auth.users.setFlag('bobby', 'block');
    await t.knex('users').insert({ id: '6f2c1f9e-0d8a-4c7e-9a51-2b8f0e6d7c11', username: 'pyuser', email: 'py@example.com', password: Buffer.from(KAIJU_HASH), salt: Buffer.from(KAIJU_SALT), is_active: false, is_blocked: false, settings: '{}', created: '2024-01-01 00:00:00' });
    const { encodeExportPage } = await import('../../src/core/bulk/export.js');
    const snapshot = async () =>
      (await t.knex('users').orderBy('username').select('username', 'email', 'full_name', 'password', 'salt', 'is_active', 'is_blocked', 'settings')).map((u) => ({
        ...u,
        password: u.password.toString('latin1'),
        salt: u.salt.toString('latin1'),
      }));
    const groups = () => t.knex('user_groups as ug').join('users as u', 'u.id', 'ug.user_id').select('u.username', 'ug.group_id').orderBy(['username', 'group_id']);
    const before = await snapshot();
    const beforeGroups = await groups();
    for (const format of ['jsonl', 'csv'] as const) {
      let text = '';
      let first = true;
      for await (const page of auth.bulk.export({ withHashes: true, pageSize: 2 })) {
        text += await encodeExportPage(format, page, true, first);
        first = false;
      }
      const f = await file(`export.${format}`, text);
      await t.knex('users').delete();
      const r = await importFile(f);
      expect(r).toMatchObject({ created: { users: 3 }, errors: [] });
      expect(await snapshot()).toEqual(before);
      expect(await groups()).toEqual(beforeGroups);
    }
    await auth.users.authenticate('alice', PW);
  });
});
