/**
 * Issue 11 item 8 for bulk writes: `user import` and `seed` refuse look-alike usernames and emails,
 * within the file (data.duplicate: a problem of the file, exit 6) and against existing users
 * (auth.user.exists: a conflict of that row, exit 5 for imports, a problem for seeds), and read no
 * file that is not UTF-8 (data.file_invalid with its line, nothing written).
 */
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KaijuAuth } from '../../src/core/auth.js';
import type { UserImportOptions } from '../../src/core/bulk/import.js';
import type { ImportProblem } from '../../src/core/bulk/types.js';
import { describeOnBackends } from '../support/db.js';
import { PASSWORD, testAuth } from '../support/auth.js';
import { fixtureDir, removeFixtureDirs } from '../support/fixtures.js';
import { KAIJU_HASH } from '../support/kaiju-ddl.js';

let dir: string;
let n = 0;
async function file(name: string, content: string | Buffer): Promise<string> {
  const p = path.join(dir, `${n++}-${name}`);
  await writeFile(p, content);
  return p;
}
const where = (errors: ImportProblem[]) => errors.map((e) => `${e.row}:${e.line ?? ''}:${e.field ?? ''}:${e.code}`);
const csv = (rows: [string, string][]) => `username,email,password_hash\n${rows.map(([u, e]) => `${u},${e},${KAIJU_HASH}`).join('\n')}\n`;

beforeAll(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'kaiju-lookalike-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
  await removeFixtureDirs();
});

describeOnBackends('look-alikes in imports and seeds', { fresh: true }, (t) => {
  let auth: KaijuAuth;
  const importFile = (f: string, o: Partial<UserImportOptions> = {}) =>
    auth.bulk.import(f, { format: (path.extname(f).slice(1) || 'csv') as UserImportOptions['format'], rounds: 4, ...o });
  const usernames = () => t.knex('users').orderBy('username').pluck('username');

  beforeAll(async () => {
    auth = testAuth(t);
  });

  it('import: look-alike rows within a file are problems of the file; nothing is written', async () => {
    const f = await file('a.csv', csv([['admin', 'a@example.com'], ['ADMIN', 'b@example.com'], ['\u0430dmin', 'c@example.com'], ['carol', 'A@EXAMPLE.COM'], ['dave', 'd@example.com']]));
    const report = await importFile(f);
    expect(where(report.errors)).toEqual(['2:3:username:data.duplicate', '3:4:username:data.duplicate', '4:5:email:data.duplicate']);
    expect(report.errors[1]?.message).toContain('"admin" of row 1');
    expect(await usernames()).toEqual([]);
    const json = await file('a.jsonl', `${JSON.stringify({ username: 'b\uff4fbby', email: 'bob@example.com', password_hash: KAIJU_HASH })}\n${JSON.stringify({ username: 'bobby', email: 'x@example.com', password_hash: KAIJU_HASH })}\n`);
    expect(where((await importFile(json)).errors)).toEqual(['2:2:username:data.duplicate']);
  });

  it('import: a row that looks like an existing user (ours or the kaiju app’s) is a conflict under every policy', async () => {
    await auth.users.register({ username: 'admin', email: 'admin@example.com', password: PASSWORD });
    await t.knex('users').insert({
      id: randomUUID(), username: 'carol', email: 'carol@example.com', full_name: null, password: Buffer.from(KAIJU_HASH),
      salt: Buffer.from(KAIJU_HASH.slice(0, 29)), is_active: true, is_blocked: false, settings: '{}', created: '2024-01-01 00:00:00',
    });
    const f = await file('b.csv', csv([['eve-1', 'eve@example.com'], ['\uff21dmin', 'x@example.com'], ['CAROL', 'y@example.com'], ['frank', 'Admin@Example.com']]));
    const failed = await importFile(f, { batchSize: 2 });
    expect(failed.stopped).toMatchObject({ row: 2, field: 'username', code: 'auth.user.exists' });
    expect(failed.stopped?.message).toContain('admin');
    expect(await usernames()).toEqual(['admin', 'carol']);
    for (const onConflict of ['skip', 'update'] as const) {
      const r = await importFile(f, { onConflict });
      expect(where(r.errors)).toEqual(['2:3:username:auth.user.exists', '3:4:username:auth.user.exists', '4:5:email:auth.user.exists']);
      expect(r.created.users + r.unchanged.users).toBe(1);
    }
    expect(await usernames()).toEqual(['admin', 'carol', 'eve-1']);
  });

  it('import: names are stored NFKC-normalised; update refuses a new email like another user’s', async () => {
    const f = await file('c.csv', csv([['\uff22obby', 'b\uff4fb@example.com'], ['alice', 'alice@example.com']]));
    expect((await importFile(f)).created.users).toBe(2);
    expect(await t.knex('users').orderBy('username').select('username', 'email')).toEqual([
      { username: 'Bobby', email: 'bob@example.com' },
      { username: 'alice', email: 'alice@example.com' },
    ]);
    const g = await file('d.csv', csv([['alice', 'B0B@example.com']]));
    const r = await importFile(g, { onConflict: 'update' });
    expect(where(r.errors)).toEqual(['1:2:email:auth.user.exists']);
    expect(r.errors[0]?.message).toContain('Bobby');
  });

  it('import: a file that is not UTF-8 is one problem with its line (CSV, JSON Lines, JSON); nothing is written', async () => {
    const latin1 = Buffer.from('j\xf6rg', 'latin1');
    const csvBad = Buffer.concat([Buffer.from(`username,email,password_hash\nalice,alice@example.com,${KAIJU_HASH}\n`), latin1, Buffer.from(`,j@example.com,${KAIJU_HASH}\n`)]);
    const jsonlBad = Buffer.concat([Buffer.from(`{"username":"alice","email":"alice@example.com","password_hash":"${KAIJU_HASH}"}\n{"username":"`), latin1, Buffer.from(`","email":"j@example.com","password_hash":"${KAIJU_HASH}"}\n`)]);
    const jsonBad = Buffer.concat([Buffer.from(`[\n{"username":"alice","email":"alice@example.com","password_hash":"${KAIJU_HASH}"},\n\n{"username":"`), latin1, Buffer.from(`","email":"j@example.com","password_hash":"${KAIJU_HASH}"}]\n`)]);
    const truncated = Buffer.concat([Buffer.from(`username,email,password_hash\nalice,alice@example.com,${KAIJU_HASH}\nj`), Buffer.from([0xc3])]);
    for (const [name, content, line] of [['bad.csv', csvBad, 3], ['bad.jsonl', jsonlBad, 2], ['bad.json', jsonBad, 4], ['cut.csv', truncated, 3]] as const) {
      const r = await importFile(await file(name, content));
      expect(where(r.errors), name).toEqual([`0:${line}::data.file_invalid`]);
      expect(r.errors[0]?.message).toContain('UTF-8');
      expect(JSON.stringify(r)).not.toContain('\ufffd');
    }
    expect(await usernames()).toEqual([]);
  });

  it('seed: look-alike users within the fixtures, against existing users, and a file that is not UTF-8 are problems; nothing is written', async () => {
    await auth.users.register({ username: 'admin', email: 'admin@example.com', password: PASSWORD });
    const user = (username: string, email: string) => ({ data: { username, email, password: PASSWORD }, groups: [] });
    const within = await fixtureDir({ users: [user('bob-1', 'bob@example.com'), user('BOB-1', 'b@example.com'), user('carol', 'BOB@example.com')] });
    const r1 = await auth.fixtures.seed(within);
    expect(r1.errors.map((e) => [e.path, e.code])).toEqual([
      ['$[1].data.username', 'data.duplicate'],
      ['$[2].data.email', 'data.duplicate'],
    ]);
    const against = await fixtureDir({ users: [user('\u0430dmin', 'x@example.com'), user('dave', 'ADMIN@example.com')] });
    const r2 = await auth.fixtures.seed(against);
    expect(r2.errors.map((e) => [e.path, e.code])).toEqual([
      ['$[0].data.username', 'auth.user.exists'],
      ['$[1].data.email', 'auth.user.exists'],
    ]);
    expect(r2.errors[0]?.message).toContain('admin');
    const broken = await fixtureDir({});
    await writeFile(path.join(broken, 'users.json'), Buffer.concat([Buffer.from('[\n  {"data": {"username": "'), Buffer.from('j\xf6rg', 'latin1'), Buffer.from('"}}\n]\n')]));
    const r3 = await auth.fixtures.seed(broken);
    expect(r3.errors).toEqual([expect.objectContaining({ path: '$', code: 'data.file_invalid', line: 2 })]);
    expect(await usernames()).toEqual(['admin']);
    // NFKC: a fullwidth fixture name is stored as its plain form.
    expect((await auth.fixtures.seed(await fixtureDir({ users: [user('\uff25velyn', 'eve@example.com')] }))).created.users).toEqual(['Evelyn']);
  });
});
