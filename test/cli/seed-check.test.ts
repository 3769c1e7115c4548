/**
 * `seed --check` (issue 16 item 2): a CI drift check. Compares the database with the fixtures and
 * changes nothing: exit 0 when they match, exit 9 with the plan (the `--dry-run` document) when
 * they differ; a broken fixture is still exit 6.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliTarget } from '../support/cli.js';

afterAll(removeTempDirs);

describe.each(BACKENDS)('seed --check on %s', (backend) => {
  let db: CliTarget;
  let dir: string;
  const cli = (args: string[]) => runCli([...db.args, ...args], { env: { KAIJU_AUTH_BCRYPT_ROUNDS: '4', KAIJU_AUTH_LOCK_TIMEOUT: '120s' } });
  const counts = () =>
    db.withKnex(async (k) => ({
      users: Number((await k('users').count({ n: '*' }).first())?.n),
      audit: Number((await k('audit_log').count({ n: '*' }).first())?.n),
      enabled: (await k('permissions').where({ id: 'docs.read' }).first())?.enabled ?? null,
    }));
  beforeAll(async () => {
    db = await cliTarget(backend);
    dir = path.join(db.tmp, 'fixtures');
    await mkdir(dir);
    await writeFile(path.join(dir, 'permissions.json'), JSON.stringify([{ id: 'docs.read' }]));
    await writeFile(path.join(dir, 'groups.json'), JSON.stringify([{ data: { id: 'editors' }, permissions: ['docs.read'] }]));
    await writeFile(
      path.join(dir, 'users.json'),
      JSON.stringify([{ data: { username: 'alice', email: 'alice@example.com', password: 'correct horse 1' }, groups: ['editors'] }]),
    );
  }, 180_000);
  afterAll(async () => db.cleanup());

  it('exit 9 with the plan while the database differs, 0 once it matches; never writes', async () => {
    const before = await counts();
    const first = await cli(['seed', dir, '--check', '--json', '-q']);
    expect(first.code, first.stderr).toBe(9);
    expect(first.json()).toMatchObject({ dry_run: true, created: { permissions: ['docs.read'], groups: ['editors'], users: ['alice'] } });
    expect(first.errorJson().error).toMatchObject({ code: 'seed.drift', exit: 9 });
    expect(await counts()).toEqual(before);

    expect((await cli(['seed', dir, '-q'])).code).toBe(0);
    const clean = await cli(['seed', dir, '--check', '-q']);
    expect([clean.code, clean.stderr]).toEqual([0, '']);
    expect(clean.stdout).toMatch(/nothing would change/);

    // Someone changed the database by hand: drift, named in the plan; still nothing written.
    await db.withKnex((k) => k('permissions').where({ id: 'docs.read' }).update({ enabled: false }));
    const drifted = await counts();
    const hand = await cli(['seed', dir, '--check', '--json', '-q']);
    expect(hand.code).toBe(9);
    expect(hand.json()).toMatchObject({ updated: { permissions: ['docs.read'] }, changes: { permissions: { 'docs.read': ['enabled'] } } });
    const text = await cli(['seed', dir, '--check']);
    expect(text.code).toBe(9);
    expect(text.stdout).toMatch(/permission\s+docs\.read\s+update\s+enabled/);
    expect(text.stderr).toMatch(/differs from the fixtures/);
    expect(await counts()).toEqual(drifted);

    // A broken fixture is a broken fixture (exit 6), not drift.
    const broken = path.join(db.tmp, 'broken');
    await mkdir(broken);
    await writeFile(path.join(broken, 'permissions.json'), '[{"id": ');
    expect((await cli(['seed', broken, '--check', '-q'])).code).toBe(6);
  });
});
