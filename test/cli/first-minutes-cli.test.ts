/**
 * The first minutes (issue 13 item 11): a command that opens the embedded database says which one
 * before it loads PGlite (whose start takes seconds, initdb on a new directory more), so something
 * is on screen at once, piped or on a terminal. Not timed: the order of events on stderr, with a
 * hook (test/support/mark-pglite-load.mjs) that writes a marker the moment PGlite is loaded.
 * Failures that come before the open's slow part (no database, a lock) still say only that.
 */
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { KaijuAuth } from '../../src/core/auth.js';
import { resolveSettings } from '../../src/core/context.js';
import { openDatabase } from '../../src/db/open.js';
import { PASSWORD, PASSWORD_2, TEST_SETTINGS } from '../support/auth.js';
import { BACKENDS } from '../support/db.js';
import { writeFixtures } from '../support/fixtures.js';
import { ROOT, cliTarget, emptyDataDir, makeDataDir, removeTempDirs, runCli, tempDir, type CliTarget } from '../support/cli.js';

const HOOK = ['--import', path.join(ROOT, 'test', 'support', 'mark-pglite-load.mjs')];
const MARKER = /^\[test hook: PGlite loading\]/;
/** initdb takes seconds alone, minutes on a loaded 2-core host: more than runCli's default 60 s. */
const SLOW = 170_000;

afterAll(removeTempDirs);

/** stderr's lines, and the index of the hook's marker (-1: PGlite was never loaded). */
function lines(stderr: string): { lines: string[]; pglite: number } {
  const all = stderr.split('\n').filter((l) => l !== '');
  return { lines: all, pglite: all.findIndex((l) => MARKER.test(l)) };
}

describe('the embedded database is named before PGlite loads', () => {
  it('status: the notice, then PGlite; --quiet: nothing', async () => {
    const dir = await makeDataDir();
    const r = await runCli(['status', '--data-dir', dir], { nodeArgs: HOOK });
    expect(r.code, r.stderr).toBe(0);
    const { lines: l, pglite } = lines(r.stderr);
    expect(l[0]).toBe(`kaiju-auth: using embedded database at ${dir}`);
    expect(pglite).toBe(1);
    expect(l.filter((x) => x.includes('using '))).toHaveLength(1);

    const quiet = await runCli(['status', '-q', '--data-dir', dir], { nodeArgs: HOOK });
    expect(quiet.code, quiet.stderr).toBe(0);
    expect(lines(quiet.stderr).lines).toEqual([expect.stringMatching(MARKER)]);
  });

  it('init on a new directory: the notice comes before PGlite (and its initdb); the users it seeds (hashed meanwhile) log in', async () => {
    const dir = await emptyDataDir();
    const cwd = await tempDir();
    await mkdir(path.join(cwd, 'fixtures', 'users'), { recursive: true });
    await writeFixtures(path.join(cwd, 'fixtures', 'users'), {
      groups: [{ data: { id: 'staff' }, permissions: [] }],
      users: [{ data: { username: 'first_admin', email: 'first@example.com', password_env: 'FIRST_ADMIN_PW' }, groups: ['staff'] }],
    });
    const r = await runCli(['init', '--data-dir', dir], { nodeArgs: HOOK, cwd, timeoutMs: SLOW, env: { FIRST_ADMIN_PW: PASSWORD } });
    expect(r.code, r.stderr).toBe(0);
    const { lines: l, pglite } = lines(r.stderr);
    expect(l[0]).toBe(`kaiju-auth: using embedded database at ${dir}`);
    expect(pglite).toBe(1);
    expect(r.stdout).toContain('seeded ./fixtures/users: 2 created');
    expect(r.stdout).toContain(`ready: embedded database at ${dir}`);
    const db = await openDatabase({ kind: 'embedded', dataDir: dir });
    try {
      const auth = new KaijuAuth(db.knex, resolveSettings(TEST_SETTINGS));
      await expect(auth.users.authenticate('first_admin', PASSWORD)).resolves.toMatchObject({ username: 'first_admin' });
      await expect(auth.users.authenticate('first_admin', PASSWORD_2)).rejects.toThrow();
    } finally {
      await db.close();
    }
  });

  it('a dry run where there is no database: both notices, then PGlite (the scratch copy)', async () => {
    const dir = await emptyDataDir();
    const r = await runCli(['migrate', '--dry-run', '--data-dir', dir], { nodeArgs: HOOK, timeoutMs: SLOW });
    expect(r.code, r.stderr).toBe(0);
    const { lines: l, pglite } = lines(r.stderr);
    expect(l.slice(0, 2)).toEqual([
      `kaiju-auth: no database at ${dir} yet; working on a scratch copy in memory`,
      'kaiju-auth: using embedded database (in memory)',
    ]);
    expect(pglite).toBe(2);
  });

  it('no database there: only the error, and PGlite is never loaded', async () => {
    const dir = await emptyDataDir();
    const r = await runCli(['status', '--data-dir', dir], { nodeArgs: HOOK });
    expect(r.code).toBe(7);
    const { lines: l, pglite } = lines(r.stderr);
    expect(l).toEqual([expect.stringContaining(`kaiju-auth: there is no embedded database at ${dir}`)]);
    expect(pglite).toBe(-1);
  });
});

describe.each(BACKENDS)('which database, said once, on %s', (backend) => {
  let target: CliTarget | undefined;
  afterEach(async () => {
    await target?.cleanup();
    target = undefined;
  });

  it('one notice, first; PGlite loads only for the embedded database, after it', async () => {
    target = await cliTarget(backend);
    const r = await runCli(['user', 'list', ...target.args], { nodeArgs: HOOK });
    expect(r.code, r.stderr).toBe(0);
    const { lines: l, pglite } = lines(r.stderr);
    expect(l[0]).toMatch(/^kaiju-auth: using (embedded database at|PostgreSQL postgres:\/\/)/);
    expect(l.filter((x) => x.includes('using '))).toHaveLength(1);
    expect(pglite).toBe(backend === 'postgres' ? -1 : 1);
  });

  it('seed names the database before it checks its files (a large set holds the thread), then seeds them', async () => {
    target = await cliTarget(backend);
    const dir = await tempDir();
    // ~0.5 MB of permissions: checking them takes a while, and must come after the first line.
    const permissions = Array.from({ length: 6000 }, (_, i) => ({ id: `first.minutes.${i}`, tag: 'bench', description: `a permission among many, number ${i}` }));
    await writeFixtures(dir, { permissions });
    const r = await runCli(['seed', dir, ...target.args], { nodeArgs: ['--import', path.join(ROOT, 'test', 'support', 'mark-big-json-parse.mjs')] });
    expect(r.code, r.stderr).toBe(0);
    const l = r.stderr.split('\n').filter((x) => x !== '');
    expect(l[0]).toMatch(/^kaiju-auth: using (embedded database at|PostgreSQL postgres:\/\/)/);
    expect(l.findIndex((x) => x.startsWith('[test hook: parsing a large JSON text]'))).toBeGreaterThan(0);
    expect(r.stdout).toContain('6000');
  });
});
