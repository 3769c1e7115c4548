/**
 * Secrets by reference through the built binary (issue 16 item 4), on both backends: the CLI
 * passes its environment to the core for `password_env`; a missing variable or file is exit 6
 * naming it; and the secret is nowhere in what the tool says or keeps: every output of
 * `seed --dry-run [--json]`, `seed --check [--json]`, `seed [--json]`, `audit list --json`,
 * `dump` (without hashes), and every audit row, grepped for the value.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliTarget } from '../support/cli.js';

const ENV_SECRET = 'env secret 4 never shown';
const FILE_SECRET = 'file secret 5 never shown';

afterAll(removeTempDirs);

describe.each(BACKENDS)('seed with secrets by reference on %s', (backend) => {
  let t: CliTarget;
  let dir: string;
  const outputs: string[] = [];
  const cli = async (args: string[], env: Record<string, string> = { KAIJU_SEED_ALICE: ENV_SECRET }) => {
    const r = await runCli([...t.args, ...args], { env });
    outputs.push(r.stdout, r.stderr);
    return r;
  };
  beforeAll(async () => {
    t = await cliTarget(backend);
    dir = path.join(t.tmp, 'fixtures');
    await mkdir(path.join(dir, 'secrets'), { recursive: true });
    await writeFile(path.join(dir, 'secrets', 'bobby.txt'), `${FILE_SECRET}\n`, { mode: 0o600 });
    await writeFile(path.join(dir, 'groups.json'), JSON.stringify([{ data: { id: 'staff' }, permissions: [] }]));
    await writeFile(
      path.join(dir, 'users.json'),
      JSON.stringify([
        { data: { username: 'alice', email: 'alice@example.com', password_env: 'KAIJU_SEED_ALICE' }, groups: ['staff'] },
        { data: { username: 'bobby', email: 'bobby@example.com', password_file: 'secrets/bobby.txt' }, groups: [] },
      ]),
    );
  }, 180_000);
  afterAll(async () => t?.cleanup());

  it('plans, checks, applies; the users sign in with the referenced secrets; no output and no audit row holds them', async () => {
    expect((await cli(['seed', dir, '--dry-run'])).code).toBe(0);
    const plan = await cli(['seed', dir, '--dry-run', '--json', '-q']);
    expect(plan.json().created.users).toEqual(['alice', 'bobby']);
    expect((await cli(['seed', dir, '--check'])).code).toBe(9);
    expect((await cli(['seed', dir, '--check', '--json'])).code).toBe(9);
    const applied = await cli(['seed', dir, '--json']);
    expect(applied.code, applied.stderr).toBe(0);
    expect((await cli(['seed', dir])).code).toBe(0);
    expect((await cli(['seed', dir, '--check', '--json'])).code).toBe(0);
    expect((await cli(['audit', 'list', '--json'])).code).toBe(0);
    const dumped = path.join(t.tmp, 'dump');
    expect((await cli(['dump', dumped])).code).toBe(0);
    for (const f of await readdir(dumped)) outputs.push(await readFile(path.join(dumped, f), 'utf8'));

    const { default: bcrypt } = await import('bcrypt');
    const rows = await t.withKnex(async (k) => ({
      users: (await k('users').select('username', 'password').orderBy('username')) as { username: string; password: Buffer }[],
      audit: JSON.stringify(await k('audit_log').select('*')),
    }));
    expect(await bcrypt.compare(ENV_SECRET, rows.users[0]?.password.toString('latin1') as string)).toBe(true);
    expect(await bcrypt.compare(FILE_SECRET, rows.users[1]?.password.toString('latin1') as string)).toBe(true);
    expect(rows.audit).toMatch(/seed/);
    outputs.push(rows.audit);
    const all = outputs.join('\n');
    expect(all.length).toBeGreaterThan(1000);
    expect(all).not.toContain(ENV_SECRET);
    expect(all).not.toContain(FILE_SECRET);
    expect(all).not.toContain('never shown');
  });

  it('a missing variable or file: exit 6 naming it (not the value), nothing written', async () => {
    const before = await t.withKnex(async (k) => Number((await k('audit_log').count({ n: '*' }).first())?.n));
    const unset = await cli(['seed', dir, '--check'], {});
    expect(unset.code).toBe(6);
    expect(unset.stderr).toMatch(/users\.json: \$\[0\]\.data\.password_env: environment variable KAIJU_SEED_ALICE is not set \(data\.secret_missing\)/);
    const other = path.join(t.tmp, 'other');
    await mkdir(other);
    await writeFile(path.join(other, 'users.json'), JSON.stringify([{ data: { username: 'carol', email: 'carol@example.com', password_file: 'nope.txt' }, groups: [] }]));
    const missing = await cli(['seed', other, '--json']);
    expect(missing.code).toBe(6);
    expect(missing.json().errors).toEqual([
      expect.objectContaining({ path: '$[0].data.password_file', code: 'data.secret_missing', value: 'nope.txt', message: 'password file nope.txt does not exist' }),
    ]);
    expect(await t.withKnex(async (k) => Number((await k('audit_log').count({ n: '*' }).first())?.n))).toBe(before);
    expect(outputs.join('\n')).not.toContain(ENV_SECRET);
  });
});
