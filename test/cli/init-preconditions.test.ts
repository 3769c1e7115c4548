/**
 * `init` checks what it can before its first write (issue 13 item 2): on a database with a
 * pending migration and a keystore sealed under secret A, an `init` with secret B, or with
 * fixtures that do not load, exits (3, 6) with the migration still pending and nothing written;
 * with secret A and good fixtures it migrates and seeds. And the repository's example fixtures,
 * which the quick start seeds, hold no account with a known password.
 */
import { mkdir, readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../migrations/index.js';
import { migrateDown, migrateLatest } from '../../src/db/migrator.js';
import { BACKENDS } from '../support/db.js';
import { ROOT, cliTarget, removeTempDirs, runCli, type CliTarget } from '../support/cli.js';

const SECRET_A = 'init preconditions: the right key secret';
const SECRET_B = 'init preconditions: some other key secret';
const LAST = MIGRATIONS[MIGRATIONS.length - 1]?.name as string;

afterAll(removeTempDirs);

describe.each(BACKENDS)('init checks before its first write on %s', (backend) => {
  let t: CliTarget;
  let fixtures: string;
  const init = (secret: string, ...args: string[]) => runCli(['init', ...t.args, ...args], { cwd: t.tmp, env: { KAIJU_AUTH_SECRET: secret } });
  const applied = () => t.withKnex(async (knex) => (await knex('kaiju_auth_migrations').pluck('name')) as string[]);
  const state = () =>
    t.withKnex(async (knex) => ({
      migrations: ((await knex('kaiju_auth_migrations').pluck('name')) as string[]).sort(),
      users: ((await knex('users').pluck('username')) as string[]).sort(),
      groups: ((await knex('groups').pluck('id')) as string[]).sort(),
      keys: await knex('keystore').select('kid', 'state').orderBy('kid'),
      audit: Number((await knex('audit_log').count({ n: '*' }))[0]?.n),
    }));

  beforeAll(async () => {
    t = await cliTarget(backend, { migrate: false });
    // Every migration but the last as batch 1, the last as batch 2; init seals the keystore under
    // secret A; then batch 2 is rolled back, so the last migration is pending again.
    await t.withKnex((knex) => migrateLatest(knex, MIGRATIONS.slice(0, -1)));
    await t.withKnex((knex) => migrateLatest(knex, MIGRATIONS));
    const first = await init(SECRET_A, '-q');
    expect(first.code, first.stderr).toBe(0);
    await t.withKnex((knex) => migrateDown(knex, MIGRATIONS));
    expect(await applied()).not.toContain(LAST);
    fixtures = path.join(t.tmp, 'fixtures', 'users');
    await mkdir(fixtures, { recursive: true });
    await writeFile(path.join(fixtures, 'groups.json'), JSON.stringify([{ data: { id: 'staff' }, permissions: [] }]));
    await writeFile(
      path.join(fixtures, 'users.json'),
      JSON.stringify([{ data: { username: 'first_admin', email: 'first@example.com', password_env: 'FIRST_ADMIN_PW' }, groups: ['staff'] }]),
    );
  });
  afterAll(async () => t?.cleanup());
  // Each test starts with the last migration pending (a test that fails may have applied it).
  beforeEach(async () => {
    if ((await applied()).includes(LAST)) await t.withKnex((knex) => migrateDown(knex, MIGRATIONS));
    expect(await applied()).not.toContain(LAST);
  });

  it('a wrong key secret: exit 3, the migration still pending, nothing written', async () => {
    const before = await state();
    const r = await runCli(['init', '--json', ...t.args], { cwd: t.tmp, env: { KAIJU_AUTH_SECRET: SECRET_B, FIRST_ADMIN_PW: 'a first admin password 1' } });
    expect(r.code, r.stderr).toBe(3);
    expect(r.errorJson().error.code).toBe('auth.key.secret_invalid');
    expect(r.stdout).toBe('');
    expect(await state()).toEqual(before);
  });

  it('fixtures that do not load (a missing password variable, bad JSON): exit 6 naming them, the migration still pending, nothing written', async () => {
    const before = await state();
    const missingVar = await init(SECRET_A);
    expect(missingVar.code, missingVar.stderr).toBe(6);
    expect(missingVar.stderr).toContain('FIRST_ADMIN_PW');
    expect(await state()).toEqual(before);

    await writeFile(path.join(fixtures, 'permissions.json'), '[{"id": "docs.read"},');
    const bad = await runCli(['init', '--json', ...t.args], { cwd: t.tmp, env: { KAIJU_AUTH_SECRET: SECRET_A, FIRST_ADMIN_PW: 'a first admin password 1' } });
    expect(bad.code, bad.stderr).toBe(6);
    expect(bad.errorJson().error.code).toBe('data.invalid');
    expect(await state()).toEqual(before);
    await writeFile(path.join(fixtures, 'permissions.json'), '[{"id": "docs.read"}]');
  });

  it('the right secret and good fixtures: migrates, seeds, keeps the key', async () => {
    const before = await state();
    const r = await runCli(['init', '--json', '-q', ...t.args], { cwd: t.tmp, env: { KAIJU_AUTH_SECRET: SECRET_A, FIRST_ADMIN_PW: 'a first admin password 1' } });
    expect(r.code, r.stderr).toBe(0);
    const doc = r.json<{ seed: { created: { users: string[] } }; key: { created: boolean } }>();
    expect(doc.seed.created.users).toEqual(['first_admin']);
    expect(doc.key.created).toBe(false);
    const after = await state();
    expect(after.migrations).toContain(LAST);
    expect(after.users).toEqual(['first_admin']);
    expect(after.keys).toEqual(before.keys);
  });
});

describe("the repository's example fixtures (what the quick start seeds)", () => {
  it('hold no account with a password written in them', async () => {
    const dir = path.join(ROOT, 'fixtures', 'users');
    for (const file of await readdir(dir)) {
      const text = await readFile(path.join(dir, file), 'utf8');
      expect(text, `${file} holds a password`).not.toMatch(/"password(_hash)?"\s*:/);
      if (file !== 'users.json') continue;
      const users = JSON.parse(text) as { data: Record<string, unknown> }[];
      for (const u of users) expect(Object.keys(u.data).filter((k) => k.startsWith('password'))).toEqual([]);
    }
  });
});
