/**
 * `init`, `status`, `migrate`, `migrate status`, `migrate --dry-run`, `migrate down` through the
 * built binary, on a fresh embedded data dir and (with KAIJU_AUTH_TEST_DATABASE_URL) on a fresh
 * PostgreSQL database: output in text and --json, and what each run changes or leaves alone.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../migrations/index.js';
import { BACKENDS } from '../support/db.js';
import { cliTarget, emptyDataDir, exists, removeTempDirs, runCli, type CliTarget } from '../support/cli.js';

const NAMES = MIGRATIONS.map((m) => m.name);
const LATEST = NAMES[NAMES.length - 1];

afterAll(removeTempDirs);

/** `migrate status --json` as name -> applied. */
async function appliedSet(target: CliTarget): Promise<Record<string, boolean>> {
  const r = await runCli(['migrate', 'status', '--json', '-q', ...target.args]);
  expect(r.code, r.stderr).toBe(0);
  return Object.fromEntries((r.json() as { name: string; applied: boolean }[]).map((m) => [m.name, m.applied]));
}

/** Tables in the target's schema, read in-process after the CLI has exited. */
async function tablesOf(target: CliTarget): Promise<string[]> {
  return target.withKnex(async (knex) => {
    const r = await knex.raw("select tablename from pg_tables where schemaname = current_schema() order by 1");
    return r.rows.map((row: { tablename: string }) => row.tablename);
  });
}

const allApplied = Object.fromEntries(NAMES.map((n) => [n, true]));
const nonePending = Object.fromEntries(NAMES.map((n) => [n, false]));

describe('init on a fresh data directory', () => {
  it('creates the embedded database, migrates it, frees the directory; a second init has nothing to do', async () => {
    const dir = await emptyDataDir();
    const first = await runCli(['init', '--data-dir', dir]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toContain(`applied ${NAMES.length} migration(s)`);
    expect(first.stderr).toContain(`using embedded database at ${dir}`);
    expect(await exists(`${dir}/pgdata/PG_VERSION`)).toBe(true);
    expect(await exists(`${dir}/lock`)).toBe(false);

    const again = await runCli(['init', '--json', '-q', '--data-dir', dir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).toBe('');
    const doc = again.json();
    expect(doc).toMatchObject({
      database: `embedded database at ${dir}`,
      migrations: { migrations: [], batch: null, dry_run: false, grants_rebuilt: 0 },
      schema: { version: LATEST, applied: NAMES.length, pending: [], current: true },
      counts: { users: 0, groups: 0, permissions: 0 },
    });
  });

  it('takes its directory from KAIJU_AUTH_DATA_DIR, and --data-dir wins over it', async () => {
    const fromEnv = await emptyDataDir();
    const fromFlag = await emptyDataDir();
    const r = await runCli(['init', '-q'], { env: { KAIJU_AUTH_DATA_DIR: fromEnv } });
    expect(r.code, r.stderr).toBe(0);
    expect(await exists(`${fromEnv}/pgdata/PG_VERSION`)).toBe(true);
    const status = await runCli(['status', '--json', '-q', '--data-dir', fromFlag], { env: { KAIJU_AUTH_DATA_DIR: fromEnv } });
    expect(status.code).toBe(7);
    expect(status.errorJson().error.code).toBe('db.schema_missing');
    expect(await exists(fromFlag)).toBe(false);
  });
});

describe.each(BACKENDS)('schema commands on %s', (backend) => {
  let target: CliTarget | undefined;
  afterEach(async () => {
    await target?.cleanup();
    target = undefined;
  });

  it('init on an empty database applies every migration', async () => {
    target = await cliTarget(backend, { migrate: false });
    // init also makes a signing key: on PostgreSQL that needs the key secret (exit 2 without one).
    const env = backend === 'postgres' ? { KAIJU_AUTH_SECRET: 'schema test key secret, long enough' } : {};
    const r = await runCli(['init', ...target.args], { env });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`applied ${NAMES.length} migration(s): ${NAMES.join(', ')}`);
    expect(await appliedSet(target)).toEqual(allApplied);
  });

  it('migrate applies pending migrations once; a second run has nothing to do', async () => {
    target = await cliTarget(backend, { migrate: false });
    const first = await runCli(['migrate', '--json', ...target.args]);
    expect(first.code, first.stderr).toBe(0);
    expect(first.json()).toEqual({ migrations: NAMES, batch: 1, dry_run: false, grants_rebuilt: 0 });
    const second = await runCli(['migrate', ...target.args]);
    expect(second.code, second.stderr).toBe(0);
    expect(second.stdout.trim()).toBe('schema is up to date');
  });

  it('migrate status lists applied and pending, as text and as JSON', async () => {
    target = await cliTarget(backend, { migrate: false });
    const pending = await runCli(['migrate', 'status', ...target.args]);
    expect(pending.code, pending.stderr).toBe(0);
    const lines = pending.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^MIGRATION\s+STATE\s+BATCH\s+APPLIED AT$/);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual(NAMES.map((n) => [n, 'pending']));

    expect((await runCli(['migrate', '-q', ...target.args])).code).toBe(0);
    const r = await runCli(['migrate', 'status', '--json', ...target.args]);
    expect(r.code, r.stderr).toBe(0);
    const rows = r.json() as { name: string; applied: boolean; batch: number; applied_at: string }[];
    expect(rows.map((m) => [m.name, m.applied, m.batch])).toEqual(NAMES.map((n) => [n, true, 1]));
    for (const m of rows) expect(Number.isNaN(Date.parse(m.applied_at))).toBe(false);
  });

  it('migrate --dry-run prints the SQL of every pending migration and changes nothing', async () => {
    target = await cliTarget(backend, { migrate: false });
    const r = await runCli(['migrate', '--dry-run', ...target.args]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`-- dry run: would apply ${NAMES.join(', ')}`);
    expect(r.stdout).toMatch(/CREATE TABLE users \(/);
    expect(r.stdout).toMatch(/create table "keystore"/i);
    expect(r.stdout.trim().endsWith('ROLLBACK;')).toBe(true);
    expect(await appliedSet(target)).toEqual(nonePending);

    const json = await runCli(['migrate', '--dry-run', '--json', '-q', ...target.args]);
    expect(json.code, json.stderr).toBe(0);
    const doc = json.json();
    expect(doc).toMatchObject({ migrations: NAMES, dry_run: true });
    expect(doc.sql.length).toBeGreaterThan(NAMES.length);
    expect(await tablesOf(target)).toEqual([]);
  });

  it('migrate --dry-run on an up-to-date database says there is nothing to do', async () => {
    target = await cliTarget(backend);
    const r = await runCli(['migrate', '--dry-run', ...target.args]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('-- dry run: nothing to do');
    expect(r.stdout).not.toMatch(/CREATE TABLE (users|permissions)|create table "keystore"/i);
  });

  it('migrate down refuses without -y when stdin is not a terminal (exit 8) and changes nothing', async () => {
    target = await cliTarget(backend);
    const r = await runCli(['migrate', 'down', ...target.args]);
    expect(r.code).toBe(8);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/not confirmed.*-y/);
    const json = await runCli(['migrate', 'down', '--json', '-q', ...target.args]);
    expect(json.code).toBe(8);
    expect(json.stdout).toBe('');
    expect(json.errorJson().error).toMatchObject({ code: 'cli.not_confirmed', exit: 8 });
    expect(await appliedSet(target)).toEqual(allApplied);
  });

  it('migrate down --dry-run shows the rollback SQL without asking and changes nothing', async () => {
    target = await cliTarget(backend);
    const r = await runCli(['migrate', 'down', '--dry-run', ...target.args]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`would roll back ${[...NAMES].reverse().join(', ')}`);
    expect(r.stdout).toMatch(/drop table if exists "keystore"/i);
    expect(await appliedSet(target)).toEqual(allApplied);
    expect(await tablesOf(target)).toEqual(expect.arrayContaining(['users', 'keystore', 'audit_log']));
  });

  it('migrate down -y rolls back the last batch; migrate then restores it', async () => {
    target = await cliTarget(backend);
    const down = await runCli(['migrate', 'down', '-y', ...target.args]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain(`rolled back ${NAMES.length} migration(s) (batch 1)`);
    expect(await appliedSet(target)).toEqual(nonePending);
    const nothing = await runCli(['migrate', 'down', '-y', '--json', ...target.args]);
    expect(nothing.code, nothing.stderr).toBe(0);
    expect(nothing.json()).toEqual({ migrations: [], batch: null, dry_run: false, grants_rebuilt: 0, dropped: [] });
    expect((await runCli(['migrate', '-q', ...target.args])).code).toBe(0);
    expect(await appliedSet(target)).toEqual(allApplied);
  });

  it('migrate down states the rows each dropped table holds; rows need --drop-data, -y alone is refused (exit 8)', async () => {
    target = await cliTarget(backend);
    await target.withKnex(async (knex) => {
      await knex('groups').insert([{ id: 'staff' }, { id: 'ops' }, { id: 'dev' }]);
      await knex('permissions').insert({ id: 'read', enabled: true });
    });
    const dry = await runCli(['migrate', 'down', '--dry-run', ...target.args]);
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/^-- would drop 15 table\(s\):$/m);
    expect(dry.stdout).toMatch(/^--\s+groups\s+3 rows$/m);
    expect(dry.stdout).toMatch(/^--\s+permissions\s+1 row$/m);
    expect(dry.stdout).toMatch(/^--\s+users\s+0 rows$/m);
    const dryJson = await runCli(['migrate', 'down', '--dry-run', '--json', '-q', ...target.args]);
    expect(dryJson.json().dropped).toEqual(expect.arrayContaining([{ table: 'groups', rows: 3, derived: false }]));

    for (const args of [['-y'], ['-y', '--json']]) {
      const r = await runCli(['migrate', 'down', ...args, ...target.args]);
      expect(r.code, r.stderr).toBe(8);
      expect(r.stdout).toBe('');
      if (args.includes('--json')) {
        expect(r.errorJson().error).toMatchObject({ code: 'db.drop_refused', exit: 8, details: { tables: [{ table: 'groups', rows: 3 }, { table: 'permissions', rows: 1 }] } });
      } else {
        expect(r.stderr).toMatch(/groups \(3 rows\), permissions \(1 row\).*--drop-data/);
      }
    }
    expect(await appliedSet(target)).toEqual(allApplied);
    expect(Number(await target.withKnex(async (knex) => (await knex('groups').count({ n: '*' }))[0]!.n))).toBe(3);

    // --drop-data without -y still asks (refused without a terminal).
    const noYes = await runCli(['migrate', 'down', '--drop-data', ...target.args]);
    expect(noYes.code).toBe(8);
    expect(noYes.stderr).toMatch(/not confirmed/);

    const down = await runCli(['migrate', 'down', '-y', '--drop-data', ...target.args]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toMatch(/^dropped 15 table\(s\):$/m);
    expect(down.stdout).toMatch(/^\s+groups\s+3 rows$/m);
    expect(await appliedSet(target)).toEqual(nonePending);
  });

  it.runIf(backend === 'postgres')('init without a key secret on PostgreSQL exits 2 before writing anything', async () => {
    target = await cliTarget(backend, { migrate: false });
    for (const args of [[], ['--json']]) {
      const r = await runCli(['init', ...args, ...target.args]);
      expect(r.code, r.stderr).toBe(2);
      expect(r.stdout).toBe('');
      if (args.length > 0) expect(r.errorJson().error.code).toBe('auth.key.secret_missing');
    }
    expect(await tablesOf(target)).toEqual([]);
    const missingFile = await runCli(['init', '--secret-file', `${target.tmp}/no-such-secret`, ...target.args]);
    expect(missingFile.code, missingFile.stderr).toBe(2);
    expect(await tablesOf(target)).toEqual([]);
    const ok = await runCli(['init', '-q', ...target.args], { env: { KAIJU_AUTH_SECRET: 'a key secret, long enough for init' } });
    expect(ok.code, ok.stderr).toBe(0);
    expect(await tablesOf(target)).toEqual(expect.arrayContaining(['users', 'keystore']));
  });

  it('status shows database, schema, pending and counts, as text and as JSON', async () => {
    target = await cliTarget(backend);
    const r = await runCli(['status', ...target.args]);
    expect(r.code, r.stderr).toBe(0);
    const text = Object.fromEntries(
      r.stdout
        .trim()
        .split('\n')
        .map((l) => {
          const m = /^(\w+(?: \w+)?):\s+(.*)$/.exec(l);
          return [m?.[1], m?.[2]];
        }),
    );
    expect(Object.keys(text)).toEqual(['database', 'schema', 'pending', 'users', 'groups', 'permissions', 'sessions', 'grants', 'signing key']);
    expect(text.grants).toBe("consistent with kaiju's tables");
    // No key yet, and no key secret in this environment: status says both (signing would exit 2).
    expect(text['signing key']).toBe('none can sign (run kaiju-auth keys rotate); no key secret configured (signing exits 2)');
    expect(text.schema).toBe(LATEST);
    expect(text.pending).toBe('none');
    expect(text.users).toBe('0 (0 blocked, 0 inactive)');
    expect(text.sessions).toBe('0 live, 0 expired');
    if (target.url) expect(text.database).toContain('PostgreSQL postgres://');
    else expect(text.database).toBe(`embedded database at ${target.dataDir}`);

    const json = await runCli(['status', '--json', ...target.args]);
    expect(json.code, json.stderr).toBe(0);
    expect(json.json()).toEqual({
      database: text.database,
      backend: target.url ? 'postgres' : 'embedded',
      schema: { version: LATEST, applied: NAMES.length, pending: [], current: true },
      counts: {
        users: 0,
        blocked_users: 0,
        inactive_users: 0,
        groups: 0,
        permissions: 0,
        live_sessions: 0,
        expired_sessions: 0,
      },
      grants: { drifted: [] },
      keys: { active: null, next: null, verifying: 0, expired: 0, secret: 'missing' },
    });
  });

  it('status reports derived grants that differ from kaiju tables, --check fails on them (exit 9), migrate rebuilds them', async () => {
    target = await cliTarget(backend);
    await target.withKnex(async (k) => {
      await k.raw(`insert into permissions values ('docs.read', true, null, null), ('docs.write', false, null, null)`);
      await k.raw(`insert into groups values ('editors', null, null), ('viewers', null, null)`);
      await k.raw(`insert into group_permissions values ('editors', 'docs.read'), ('editors', 'docs.write')`);
      // What the race of an older build left behind: a disabled permission in a group's row, and
      // a group whose row is missing a grant.
      await k.raw(`update kaiju_auth_group_grants set permissions = '{docs.read,docs.write}' where group_id = 'editors'`);
      await k.raw(`insert into group_permissions values ('viewers', 'docs.read')`);
      await k.raw(`update kaiju_auth_group_grants set permissions = '{}' where group_id = 'viewers'`);
    });
    const ok = await runCli(['status', '-q', ...target.args]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^grants:\s+2 group\(s\) differ from kaiju's tables: editors, viewers/m);
    expect((await runCli(['status', '--json', '-q', ...target.args])).json().grants).toEqual({ drifted: ['editors', 'viewers'] });
    const grantsCheck = (r: { json(): { checks: { name: string; ok: boolean }[] } }) => r.json().checks.find((c) => c.name === 'grants');
    const check = await runCli(['status', '--check', '--json', ...target.args]);
    expect(check.code).toBe(9);
    expect(grantsCheck(check)).toMatchObject({ ok: false, message: expect.stringContaining('2 group(s)') });
    expect(check.errorJson().error).toMatchObject({ code: 'status.check_failed', exit: 9 });
    const migrate = await runCli(['migrate', '--json', '-q', ...target.args]);
    expect(migrate.code, migrate.stderr).toBe(0);
    expect(migrate.json()).toEqual({ migrations: [], batch: null, dry_run: false, grants_rebuilt: 2 });
    // (No signing key in this database: --check still fails on that, not on the grants.)
    const after = await runCli(['status', '--check', '--json', '-q', ...target.args]);
    expect(grantsCheck(after)).toMatchObject({ ok: true });
    const rows = await target.withKnex((k) => k('kaiju_auth_group_grants').orderBy('group_id').select('group_id', 'permissions'));
    expect(rows).toEqual([
      { group_id: 'editors', permissions: ['docs.read'] },
      { group_id: 'viewers', permissions: ['docs.read'] },
    ]);
  });

  it('status on an unmigrated database exits 7 saying to run migrate', async () => {
    target = await cliTarget(backend, { migrate: false });
    const r = await runCli(['status', ...target.args]);
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/run `kaiju-auth migrate`/);
    const json = await runCli(['status', '--json', '-q', ...target.args]);
    expect(json.code).toBe(7);
    expect(json.stdout).toBe('');
    expect(json.errorJson()).toEqual({ error: { code: 'db.schema_missing', message: expect.stringMatching(/run `kaiju-auth migrate`/), exit: 7 } });
  });

  it('says once on stderr which database it uses, and --quiet silences it', async () => {
    target = await cliTarget(backend);
    const loud = await runCli(['status', ...target.args]);
    expect(loud.code, loud.stderr).toBe(0);
    expect(loud.stderr.match(/using /g)).toHaveLength(1);
    expect(loud.stderr).toMatch(/^kaiju-auth: using (embedded database at|PostgreSQL postgres:\/\/)/);
    for (const flag of ['-q', '--quiet']) {
      const quiet = await runCli(['status', flag, ...target.args]);
      expect(quiet.code, quiet.stderr).toBe(0);
      expect(quiet.stderr).toBe('');
      expect(quiet.stdout).toBe(loud.stdout);
    }
    const after = await runCli([...target.args, '--quiet', 'migrate', 'status']);
    expect(after.code, after.stderr).toBe(0);
    expect(after.stderr).toBe('');
  });
});

describe('migrate --dry-run on a directory without a database', () => {
  it('works on a scratch copy in memory and creates nothing', async () => {
    const dir = await emptyDataDir();
    const r = await runCli(['migrate', '--dry-run', '--json', '--data-dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ migrations: NAMES, dry_run: true });
    expect(await exists(dir)).toBe(false);
  });
});
