/**
 * Values PostgreSQL would refuse in the middle of writing (issue 12, item 5) are refused by the
 * validation pass instead: exit 6 naming the row (or JSON path) and the field, nothing written,
 * never exit 1. NUL raw in a CSV cell and escaped (`\u0000`) in JSON, an unpaired surrogate,
 * settings nested 100 000 deep, a JSON Lines record longer than 1 MiB, and a fixture with NUL.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliTarget } from '../support/cli.js';

const HASH = `$2b$04$${'a'.repeat(53)}`;

afterAll(removeTempDirs);

interface Problem {
  row?: number;
  field?: string;
  code: string;
  message: string;
  file?: string;
  path?: string;
}

describe.each(BACKENDS)('values PostgreSQL cannot store, on %s', (backend) => {
  let t: CliTarget;
  const cli = (args: string[]) => runCli([...t.args, '-q', '--json', ...args], { env: { KAIJU_AUTH_SECRET: 'unstorable test secret, long enough' } });
  const users = () => t.withKnex(async (k) => Number((await k('users').count({ n: '*' }).first())?.n));

  beforeAll(async () => {
    t = await cliTarget(backend);
  });
  afterAll(async () => t?.cleanup());

  it('a 3,000-row CSV with NUL in row 2501\'s full_name: exit 6 naming row 2501 and full_name; no user written', async () => {
    const rows = Array.from({ length: 3000 }, (_, i) => `user${i + 1},user${i + 1}@example.com,${HASH},${i + 1 === 2501 ? 'Nul\u0000Name' : `Name ${i + 1}`},`);
    const file = path.join(t.tmp, 'nul.csv');
    await writeFile(file, `username,email,password_hash,full_name,groups\n${rows.join('\n')}\n`);
    const r = await cli(['user', 'import', file]);
    expect(r.code, r.stderr).toBe(6);
    const problems = r.json<{ errors: Problem[] }>().errors;
    expect(problems.map((p) => [p.row, p.field, p.code])).toEqual([[2501, 'full_name', 'data.invalid']]);
    expect(problems[0]?.message).toMatch(/NUL/);
    expect(await users()).toBe(0);
  });

  it('JSON Lines: \\u0000 in a text field, in settings, an unpaired surrogate, settings 100,000 deep, a 2 MiB record: exit 6, each row named', async () => {
    const deep = `${'{"a":'.repeat(100_000)}1${'}'.repeat(100_000)}`;
    const line = (i: number, extra: string) => `{"username":"json${i}","email":"json${i}@example.com","password_hash":"${HASH}"${extra}}`;
    const lines = [
      line(1, ',"full_name":"A\\u0000B"'),
      line(2, ',"settings":{"theme":"dark\\u0000"}'),
      line(3, ',"settings":{"k\\u0000":1}'),
      line(4, ',"full_name":"\\ud800x"'),
      line(5, `,"settings":${deep}`),
      line(6, `,"full_name":"${'x'.repeat(2 << 20)}"`),
      line(7, ',"password":"long enough pw 1\\u0000"'),
      line(8, ',"full_name":"fine"'),
    ];
    const file = path.join(t.tmp, 'bad.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);
    const r = await cli(['user', 'import', file]);
    expect(r.code, r.stderr.slice(0, 2000)).toBe(6);
    const problems = r.json<{ errors: Problem[] }>().errors;
    expect(problems.map((p) => [p.row, p.field ?? null, p.code])).toEqual([
      [1, 'full_name', 'data.invalid'],
      [2, 'settings', 'auth.user.invalid_settings'],
      [3, 'settings', 'auth.user.invalid_settings'],
      [4, 'full_name', 'data.invalid'],
      [5, 'settings', 'auth.user.invalid_settings'],
      [6, null, 'data.file_invalid'],
      [7, 'password', 'data.invalid'],
    ]);
    expect(problems[4]?.message).toMatch(/nested more than 100 levels/);
    expect(problems[5]?.message).toMatch(/longer than 1048576 bytes/);
    expect(JSON.stringify(problems)).not.toContain('long enough pw');
    expect(await users()).toBe(0);
  });

  it('a fixture with NUL in a description and in settings: exit 6 with file and path, nothing written', async () => {
    const dir = path.join(t.tmp, 'fixtures');
    await mkdir(dir, { recursive: true });
    await writeFile(path.join(dir, 'permissions.json'), '[{"id": "docs.read", "description": "read\\u0000docs"}]');
    await writeFile(
      path.join(dir, 'users.json'),
      JSON.stringify([{ data: { username: 'fixture1', email: 'f1@example.com', password: 'fixture password 1', settings: { a: '\u0000' } }, groups: [] }]),
    );
    const r = await cli(['seed', dir]);
    expect(r.code, r.stderr).toBe(6);
    const problems = r.json<{ errors: Problem[] }>().errors;
    expect(problems.map((p) => [path.basename(p.file ?? ''), p.path, p.code])).toEqual([
      ['permissions.json', '$[0].description', 'data.invalid'],
      ['users.json', '$[0].data.settings', 'auth.user.invalid_settings'],
    ]);
    expect(r.stderr).not.toMatch(/insert|select|internal/i);
    expect(await t.withKnex(async (k) => Number((await k('permissions').count({ n: '*' }).first())?.n))).toBe(0);
    expect(await users()).toBe(0);
  });
});
