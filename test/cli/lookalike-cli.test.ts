/**
 * Issue 11 item 8 through the binary, with few spawns: a look-alike registration is exit 5 naming
 * the existing user; `user list` tells `admin` from `аdmin` and `--collisions` groups them (rows the
 * kaiju app wrote, never changed); import and seed files with look-alike rows, or not UTF-8, are
 * exit 6 with the row or line.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliTarget } from '../support/cli.js';
import { KAIJU_HASH } from '../support/kaiju-ddl.js';

const PW = 'correct horse 1';

afterAll(removeTempDirs);

describe.each(BACKENDS)('look-alike users through the binary on %s', (backend) => {
  let db: CliTarget;
  const cli = (args: string[], options: Parameters<typeof runCli>[1] = {}) => runCli([...db.args, ...args], options);

  beforeAll(async () => {
    db = await cliTarget(backend);
    const r = await cli(['user', 'register', '--username', 'admin', '--email', 'admin@example.com', '--password-stdin', '-q'], { input: `${PW}\n` });
    expect(r.code, r.stderr).toBe(0);
  });
  afterAll(async () => db.cleanup());

  it('register: a look-alike username is exit 5 naming the existing user; nothing is written', async () => {
    const r = await cli(['user', 'register', '--username', '\u0430dmin', '--email', 'x@example.com', '--password-stdin', '--json'], { input: `${PW}\n` });
    expect([r.code, r.errorJson().error.code, r.errorJson().error.details]).toEqual([5, 'auth.user.exists', { field: 'username', existing: 'admin', lookalike: true }]);
    expect(await db.withKnex((k) => k('users').pluck('username'))).toEqual(['admin']);
  });

  it('user list shows non-ASCII names spelt out; --collisions groups the kaiju app’s look-alikes without changing them', async () => {
    const row = {
      id: randomUUID(), username: '\u0430dmin', email: 'cyrillic@example.com', full_name: null, password: Buffer.from(KAIJU_HASH),
      salt: Buffer.from(KAIJU_HASH.slice(0, 29)), is_active: true, is_blocked: false, settings: '{}', created: '2024-01-01 00:00:00',
    };
    await db.withKnex((k) => k('users').insert(row));
    const list = await cli(['user', 'list']);
    expect(list.code).toBe(0);
    expect(list.stdout).toContain('\u0430dmin [\\u0430dmin]');
    const groups = await cli(['user', 'list', '--collisions', '--json']);
    expect(groups.code, groups.stderr).toBe(0);
    expect(groups.json()).toEqual([{ field: 'username', users: [expect.objectContaining({ username: 'admin' }), expect.objectContaining({ username: '\u0430dmin', email: 'cyrillic@example.com' })] }]);
    expect(await db.withKnex((k) => k('users').where({ id: row.id }).first())).toMatchObject({ username: '\u0430dmin', email: 'cyrillic@example.com' });
  });

  it('import and seed: look-alike rows, or a file that is not UTF-8, are exit 6 with the row or line', async () => {
    const lookalikes = path.join(db.tmp, 'lookalikes.csv');
    await writeFile(lookalikes, `username,email,password_hash\ncarol,carol@example.com,${KAIJU_HASH}\nCAROL,other@example.com,${KAIJU_HASH}\n`);
    const a = await cli(['user', 'import', lookalikes, '--json']);
    expect([a.code, a.json().errors]).toEqual([6, [expect.objectContaining({ row: 2, line: 3, field: 'username', code: 'data.duplicate' })]]);
    const latin1 = path.join(db.tmp, 'latin1.csv');
    await writeFile(latin1, Buffer.concat([Buffer.from(`username,email,password_hash\nj`), Buffer.from([0xf6]), Buffer.from(`rg,j@example.com,${KAIJU_HASH}\n`)]));
    const b = await cli(['user', 'import', latin1]);
    expect(b.code).toBe(6);
    expect(b.stderr).toContain('line 2 is not valid UTF-8');
    const fixtures = path.join(db.tmp, 'fixtures');
    await mkdir(fixtures);
    await writeFile(path.join(fixtures, 'users.json'), JSON.stringify([{ data: { username: 'Admin', email: 'new@example.com', password: PW }, groups: [] }]));
    const c = await cli(['seed', fixtures, '--json']);
    expect(c.code).toBe(6);
    expect(c.json().errors).toEqual([expect.objectContaining({ path: '$[0].data.username', code: 'auth.user.exists' })]);
    expect(await db.withKnex((k) => k('users').orderBy('username').pluck('username'))).toEqual(['admin', '\u0430dmin']);
  });
});
