/**
 * Outages, injected (issue 12 fault suite): the CLI reaches PostgreSQL through a proxy that, at a
 * random point of the conversation (a number of bytes from the server, drawn from a clean run's
 * total), cuts every connection or freezes them (a stopped server, a partitioned network: nothing
 * more comes and no close is answered). Each case of each command must end with exit 0 (the fault
 * came after everything was said) or exit 7 with one line on stderr; leave the database as it was
 * before or as a clean run leaves it (an import: whole batches only, each user with its groups);
 * and the next run, the outage over, must work and leave it as a clean run does. Commands: an
 * import in batches, a seed, a group's grants replaced, a session prune in batches, a migration.
 * PostgreSQL only (the embedded database has no connection to lose). Counts are printed; fewer
 * cases under CI=true; FAULT_SEED=N replays a run's choice of faults.
 */
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrateDown, migrateLatest } from '../../src/db/migrator.js';
import { MIGRATIONS } from '../../migrations/index.js';
import { ADMIN_URL, POOLER_URL } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliTarget } from '../support/cli.js';
import { epoch, insertKaijuSessions, insertKaijuUser } from '../support/kaiju-rows.js';
import { TcpProxy, type Fault } from '../support/tcp-proxy.js';

const CI = process.env.CI === 'true';
const CASES = CI ? 2 : 6;
const SEED = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);
const HASH = `$2b$04$${'a'.repeat(53)}`;
const tally = { cases: 0, faults: 0, states: 0, mismatches: 0 };

afterAll(async () => {
  console.log(`fault/outages: ${tally.cases} cases, ${tally.faults} faults injected, ${tally.states} states checked, ${tally.mismatches} mismatches (seed ${SEED})`);
  await removeTempDirs();
});

interface Scenario {
  name: string;
  /** The command after the target flags. */
  args: (t: CliTarget) => string[];
  /** Put the database in the state before the command. */
  setup: (k: Knex) => Promise<void>;
  /** The state the command is about, as a comparable value. */
  state: (k: Knex) => Promise<unknown>;
  /** A state between before and after that is still whole (an import's committed batches). */
  partial?: (state: unknown) => boolean;
}

const count = async (k: Knex, table: string) => Number((await k(table).count({ n: '*' }).first())?.n);

function scenarios(t: CliTarget): Scenario[] {
  const importFile = path.join(t.tmp, 'people.csv');
  const fixtures = path.join(t.tmp, 'fixtures');
  return [
    {
      name: 'user import in batches of 5',
      args: () => ['user', 'import', importFile, '--batch-size', '5', '--on-conflict', 'skip'],
      setup: async (k) => {
        await k.raw('truncate users, user_groups, audit_log cascade');
        await k('groups').insert({ id: 'staff' }).onConflict('id').ignore();
      },
      state: async (k) => ({
        users: await count(k, 'users'),
        withoutGroups: Number((await k('users as u').whereNotExists(k('user_groups as ug').whereRaw('ug.user_id = u.id')).count({ n: '*' }).first())?.n),
      }),
      partial: (s) => {
        const { users, withoutGroups } = s as { users: number; withoutGroups: number };
        return users % 5 === 0 && withoutGroups === 0;
      },
    },
    {
      name: 'seed',
      args: () => ['seed', fixtures],
      setup: (k) => k.raw('truncate permissions, groups, group_permissions, users, user_groups, audit_log cascade').then(() => undefined),
      state: async (k) => Promise.all(['permissions', 'groups', 'group_permissions', 'users', 'user_groups', 'audit_log'].map((tb) => count(k, tb))),
    },
    {
      name: 'group set-permissions',
      args: () => ['group', 'set-permissions', 'editors', 'p1', 'p2', 'p3'],
      setup: async (k) => {
        await k.raw('truncate permissions, groups, group_permissions, audit_log cascade');
        await k('permissions').insert(['p0', 'p1', 'p2', 'p3'].map((id) => ({ id, enabled: true })));
        await k('groups').insert({ id: 'editors' });
        await k('group_permissions').insert({ group_id: 'editors', permission_id: 'p0' });
      },
      state: async (k) => ({
        grants: (await k('group_permissions').where({ group_id: 'editors' }).orderBy('permission_id').pluck('permission_id')) as string[],
        audit: await count(k, 'audit_log'),
      }),
    },
    {
      name: 'session prune in batches of 10',
      args: () => ['session', 'prune', '--batch-size', '10'],
      setup: async (k) => {
        await k.raw('truncate sessions, users, audit_log cascade');
        const user = await insertKaijuUser(k, 'sessionowner');
        const now = epoch(new Date());
        await insertKaijuSessions(k, Array.from({ length: 45 }, (_, i) => ({ userId: user.id, expires: i < 40 ? now - 3600 : now + 3600 })));
      },
      state: async (k) => count(k, 'sessions'),
      partial: (s) => typeof s === 'number' && s >= 5 && s <= 45 && (45 - s) % 10 === 0,
    },
    {
      // Reads on three connections at once: when one is frozen, the others sit idle in the pool,
      // and closing them must not wait for an answer that never comes.
      name: 'group matrix (three connections)',
      args: () => ['group', 'matrix'],
      setup: async (k) => {
        await k('groups').insert({ id: 'matrix' }).onConflict('id').ignore();
      },
      state: async (k) => count(k, 'groups'),
    },
    {
      name: 'migrate',
      args: () => ['migrate'],
      setup: async (k) => {
        await migrateLatest(k, MIGRATIONS);
        await migrateDown(k, MIGRATIONS, { dropData: true });
      },
      state: async (k) => ({
        tables: Number((await k.raw("select count(*)::int as n from pg_tables where schemaname = 'public'")).rows[0].n),
        applied: (await k.raw("select to_regclass('kaiju_auth_migrations') is not null as has")).rows[0].has
          ? Number((await k.raw('select count(*)::int as n from kaiju_auth_migrations')).rows[0].n)
          : 0,
      }),
    },
  ];
}

describe.runIf(ADMIN_URL && !POOLER_URL)('outages mid-command on PostgreSQL', () => {
  let t: CliTarget;
  let proxy: TcpProxy;
  let proxied: string[];
  const flags = ['--statement-timeout', '1s', '--connect-timeout', '1s', '-q', '--json'];
  const run = (args: string[]) => runCli([...proxied, ...flags, ...args], { env: { KAIJU_AUTH_SECRET: 'outage test secret, long enough' }, timeoutMs: 60_000 });

  beforeAll(async () => {
    t = await cliTarget('postgres');
    const url = new URL(t.url as string);
    proxy = await TcpProxy.start({ host: url.hostname, port: Number(url.port || 5432) });
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    proxied = ['--database-url', url.toString()];
    await writeFile(
      path.join(t.tmp, 'people.csv'),
      `username,email,password_hash,groups\n${Array.from({ length: 20 }, (_, i) => `outage${i},outage${i}@example.com,${HASH},staff`).join('\n')}\n`,
    );
    const fixtures = path.join(t.tmp, 'fixtures');
    await mkdir(fixtures);
    await writeFile(path.join(fixtures, 'permissions.json'), JSON.stringify([{ id: 'docs.read' }, { id: 'docs.write' }]));
    await writeFile(path.join(fixtures, 'groups.json'), JSON.stringify([{ data: { id: 'writers' }, permissions: ['docs.read', 'docs.write'] }]));
    await writeFile(
      path.join(fixtures, 'users.json'),
      JSON.stringify([1, 2].map((i) => ({ data: { username: `seeded${i}`, email: `seeded${i}@example.com`, password: `seeded password ${i}` }, groups: ['writers'] }))),
    );
  });
  afterAll(async () => {
    await proxy?.close();
    await t?.cleanup();
  });

  /** Until the server has no session of the CLI left (a frozen one ends when the proxy drops it). */
  async function settled(): Promise<void> {
    for (let i = 0; i < 100; i += 1) {
      const left = await t.withKnex(async (k) =>
        Number(
          (
            await k.raw(
              "select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name like 'kaiju-auth %' and application_name not like ?",
              [`kaiju-auth ${process.pid}.%`],
            )
          ).rows[0].n,
        ),
      );
      if (left === 0) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('the server still has sessions of the CLI');
  }

  it('every command: exit 0 or 7 with one line; the database before, after or whole batches; the next run works', { timeout: 900_000 }, async () => {
    for (const s of scenarios(t)) {
      // A clean run through the proxy: the state after, and how much the server says in all.
      await t.withKnex(s.setup);
      const before = await t.withKnex(s.state);
      proxy.reset();
      const clean = await run(s.args(t));
      expect(clean.code, `${s.name}: ${clean.stderr}`).toBe(0);
      const total = proxy.serverBytes;
      const after = await t.withKnex(s.state);
      if (s.name !== 'group matrix (three connections)') expect(after, s.name).not.toEqual(before);
      const cases = fc.sample(fc.tuple(fc.integer({ min: 0, max: total - 1 }), fc.constantFrom<Fault>('cut', 'freeze')), { numRuns: CASES, seed: SEED + s.name.length });
      for (const [at, fault] of cases) {
        tally.cases += 1;
        const what = `${s.name}, ${fault} after ${at} of ${total} bytes`;
        await t.withKnex(s.setup);
        const fired = proxy.fired;
        proxy.arm(at, fault);
        const r = await run(s.args(t));
        tally.faults += proxy.fired - fired;
        proxy.dropAll();
        proxy.reset();
        expect([0, 7], `${what}: ${r.stderr}`).toContain(r.code);
        if (r.code === 7) {
          expect(r.stderr.trim().split('\n'), what).toHaveLength(1);
          expect(['db.timeout', 'db.unavailable'], what).toContain(r.errorJson().error.code);
        }
        await settled();
        const state = await t.withKnex(s.state);
        tally.states += 1;
        const whole = JSON.stringify(state) === JSON.stringify(before) || JSON.stringify(state) === JSON.stringify(after) || (s.partial?.(state) ?? false);
        if (!whole) tally.mismatches += 1;
        expect(whole, `${what}: ${JSON.stringify(state)} is neither ${JSON.stringify(before)} nor ${JSON.stringify(after)}`).toBe(true);
        const again = await run(s.args(t));
        expect(again.code, `${what}, run again: ${again.stderr}`).toBe(0);
        tally.states += 1;
        expect(await t.withKnex(s.state), `${what}, run again`).toEqual(after);
      }
    }
  });
});
