/**
 * `seed --prune` through the built binary (issue 16 item 3): the plan (--dry-run, --check, --json)
 * lists every deletion with counts; without a terminal it needs -y (exit 8, nothing written); on a
 * terminal (tmux) it shows the deletions and asks: n writes nothing, y prunes; --prune-users and
 * --keep only with --prune (exit 2). Both backends for the non-terminal runs; the terminal on the
 * embedded database.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliTarget } from '../support/cli.js';
import { TMUX_AVAILABLE, tmuxCli, type TmuxCli } from '../support/tmux.js';

const PW = 'prune cli password 1';
const u = (username: string, groups: string[]) => ({ data: { username, email: `${username}@example.com`, password: PW }, groups });

afterAll(removeTempDirs);

/** A database holding more than the fixtures: `all` seeded; `dir` the desired state. */
async function setUp(t: CliTarget): Promise<{ dir: string }> {
  const all = path.join(t.tmp, 'all');
  const dir = path.join(t.tmp, 'wanted');
  await mkdir(all);
  await mkdir(dir);
  const write = (d: string, name: string, v: unknown) => writeFile(path.join(d, `${name}.json`), JSON.stringify(v));
  await write(all, 'permissions', [{ id: 'docs.read' }, { id: 'old.perm' }, { id: 'legacy.perm', tag: 'legacy' }]);
  await write(all, 'groups', [
    { data: { id: 'readers' }, permissions: ['docs.read', 'old.perm'] },
    { data: { id: 'old-group' }, permissions: ['docs.read'] },
  ]);
  await write(all, 'users', [u('alice', ['readers']), u('carol', ['old-group'])]);
  await write(dir, 'permissions', [{ id: 'docs.read' }]);
  await write(dir, 'groups', [{ data: { id: 'readers' }, permissions: ['docs.read'] }]);
  await write(dir, 'users', [u('alice', ['readers'])]);
  const r = await runCli([...t.args, 'seed', all, '-q']);
  expect(r.code, r.stderr).toBe(0);
  return { dir };
}

describe.each(BACKENDS)('seed --prune on %s', (backend) => {
  let t: CliTarget;
  let dir: string;
  const cli = (args: string[]) => runCli([...t.args, ...args]);
  const state = () =>
    t.withKnex(async (k) => ({
      permissions: (await k('permissions').orderBy('id').pluck('id')) as string[],
      groups: (await k('groups').orderBy('id').pluck('id')) as string[],
      users: (await k('users').orderBy('username').pluck('username')) as string[],
      grants: Number((await k('group_permissions').count({ n: '*' }).first())?.n),
    }));
  beforeAll(async () => {
    t = await cliTarget(backend);
    ({ dir } = await setUp(t));
  }, 180_000);
  afterAll(async () => t?.cleanup());

  it('the plan lists every deletion with counts (--dry-run, --json, --check exit 9); nothing written', async () => {
    const before = await state();
    const text = await cli(['seed', dir, '--prune', '--prune-users', '--keep', 'legacy', '--dry-run']);
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).toMatch(/permission\s+old\.perm\s+delete\s+with 1 grant/);
    expect(text.stdout).toMatch(/group\s+old-group\s+delete\s+with 1 grant, 1 member/);
    expect(text.stdout).toMatch(/user\s+carol\s+delete\s+with 1 membership/);
    expect(text.stdout).toMatch(/WOULD DELETE|would delete/);
    expect(text.stdout).toMatch(/would remove with them: 2 grant\(s\), 1 membership\(s\), 0 session\(s\)/);
    expect(text.stdout).not.toMatch(/legacy\.perm/);
    const json = await cli(['seed', dir, '--prune', '--prune-users', '--keep', 'legacy', '--dry-run', '--json', '-q']);
    expect(json.json()).toMatchObject({
      dry_run: true,
      deleted: { permissions: ['old.perm'], groups: ['old-group'], users: ['carol'] },
      removed: { grants: 2, memberships: 1, sessions: 0 },
    });
    const check = await cli(['seed', dir, '--prune', '--check', '--json', '-q']);
    expect(check.code).toBe(9);
    expect(check.json().deleted).toEqual({ permissions: ['legacy.perm', 'old.perm'], groups: ['old-group'], users: [] });
    expect(check.errorJson().error.details).toMatchObject({ deleted: { permissions: 2, groups: 1, users: 0 } });
    // Without --prune the same fixtures are no drift in deletions (a seed never deletes).
    expect((await cli(['seed', dir, '--dry-run', '--json', '-q'])).json().deleted).toBeUndefined();
    expect(await state()).toEqual(before);
  });

  it('without a terminal: exit 8 and nothing written unless -y; --prune-users / --keep alone are usage errors', async () => {
    const before = await state();
    const refused = await cli(['seed', dir, '--prune', '--prune-users']);
    expect(refused.code).toBe(8);
    expect(refused.stderr).toMatch(/Delete 2 permissions, 1 group and 1 user \(with 2 grant\(s\), 1 membership\(s\), 0 session\(s\)\) that the fixtures in .* do not name: not confirmed; pass -y/);
    expect(await state()).toEqual(before);
    expect((await cli(['seed', dir, '--prune-users'])).code).toBe(2);
    expect((await cli(['seed', dir, '--keep', 'x'])).code).toBe(2);

    const done = await cli(['seed', dir, '--prune', '--prune-users', '--keep', 'legacy', '-y', '--json', '-q']);
    expect(done.code, done.stderr).toBe(0);
    expect(done.json().deleted).toEqual({ permissions: ['old.perm'], groups: ['old-group'], users: ['carol'] });
    expect(await state()).toEqual({ permissions: ['docs.read', 'legacy.perm'], groups: ['readers'], users: ['alice'], grants: 1 });
    // Nothing left to delete: no question, exit 0, even without -y.
    const again = await cli(['seed', dir, '--prune', '--prune-users', '--keep', 'legacy']);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/nothing to do/);
  });
});

describe.skipIf(!TMUX_AVAILABLE)('seed --prune on a terminal (tmux; skipped only when tmux is not installed)', () => {
  let t: CliTarget;
  let dir: string;
  let term: TmuxCli | undefined;
  const groups = () => t.withKnex(async (k) => (await k('groups').orderBy('id').pluck('id')) as string[]);
  beforeAll(async () => {
    t = await cliTarget('pglite');
    ({ dir } = await setUp(t));
  }, 180_000);
  afterAll(async () => t?.cleanup());
  afterEach(() => {
    term?.kill();
    term = undefined;
  });
  // The question may wrap at the terminal's width: [\s\S] across the break.
  const QUESTION = /delete group old-group with 1 grant, 1 member[\s\S]*Delete 2 permissions and 1 group \(with 2 grant\(s\), 1 membership\(s\), 0 session\(s\)\) that the fixtures in[\s\S]*do not name\? \(y\/N\)/;

  it('shows the deletions and asks; n writes nothing (exit 8), y prunes', async () => {
    term = await tmuxCli([...t.args, 'seed', dir, '--prune']);
    await term.waitFor(QUESTION);
    term.send('n', 'Enter');
    expect(await term.exitCode(), term.screen()).toBe(8);
    expect(await groups()).toEqual(['old-group', 'readers']);
    term.kill();
    term = await tmuxCli([...t.args, 'seed', dir, '--prune']);
    await term.waitFor(QUESTION);
    term.send('y', 'Enter');
    expect(await term.exitCode(), term.screen()).toBe(0);
    expect(term.screen()).toMatch(/old-group\s*│\s*deleted\s*│\s*with 1 grant, 1 member/);
    expect(await groups()).toEqual(['readers']);
  });
});
