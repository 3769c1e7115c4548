/**
 * Crashes (issue 12 fault suite): the built CLI is killed with SIGKILL at random points of `seed`,
 * `migrate`, `user import`, `keys rotate` and `session prune`, again and again with different
 * delays. After each kill the database holds the state from before the command or the one after it
 * (an import: whole batches; a prune: whole batches of expired sessions, never a live one; a
 * rotation: exactly one key that signs), the embedded data directory opens again (no corruption,
 * the lock taken over), and rerunning the command converges to the state a clean run gives.
 *
 * Each command first runs once unkilled: its end state is the "after" to compare with, and its
 * duration scales the random kill delays (from before the database is opened to past the end).
 * Counts are printed; fewer kills under CI=true; FAULT_SEED=N replays the delays.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';
import { afterAll, describe, expect, it } from 'vitest';
import { KaijuAuth } from '../../src/core/auth.js';
import { resolveSettings } from '../../src/core/context.js';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, spawnCli, tempDir, type CliTarget } from '../support/cli.js';
import { fixtureDir, removeFixtureDirs } from '../support/fixtures.js';
import { epoch, insertKaijuSessions } from '../support/kaiju-rows.js';

const CI = process.env.CI === 'true';
const KILLS = CI ? 3 : 8;
const KILLS_EMBEDDED = CI ? 2 : 6;
const SEED = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);
const SECRET = 'crash test key secret, long enough';
const ENV = { KAIJU_AUTH_SECRET: SECRET, KAIJU_AUTH_LOCK_TIMEOUT: '120s' };

const counts = { cases: 0, kills: 0, finished_first: 0, states_checked: 0, mismatches: 0 };
const perCommand: Record<string, number> = {};
/** Where the kills left the database: as before, as after, or between (whole batches). */
const landed = { before: 0, between: 0, after: 0 };

afterAll(async () => {
  console.log(
    `fault/crash: ${counts.cases} cases (${Object.entries(perCommand)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')}), ${counts.kills} faults injected (SIGKILL; ${counts.finished_first} runs ended before their kill; ` +
      `left ${landed.before} as before, ${landed.between} between, ${landed.after} as after), ` +
      `${counts.states_checked} states checked, ${counts.mismatches} mismatches (seed ${SEED})`,
  );
  await removeTempDirs();
  await removeFixtureDirs();
});

function rng(seed: number) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function check(ok: boolean, what: unknown): void {
  counts.states_checked += 1;
  if (!ok) counts.mismatches += 1;
  expect(ok, JSON.stringify(what)).toBe(true);
}

const json = (v: unknown) => JSON.stringify(v);
const count = async (q: Knex.QueryBuilder) => Number(((await q.count({ n: '*' }).first()) as { n: string | number } | undefined)?.n ?? 0);

/** One command under test: how to set up its "before", run it, and read the state it is judged on. */
interface Scenario {
  name: string;
  args: (t: CliTarget) => string[];
  /** Put an existing database back in the "before" state; without it, each case gets a new database. */
  reset?: (k: Knex) => Promise<void>;
  state: (k: Knex) => Promise<unknown>;
  /** Whether a state after a kill is acceptable, given the states before and after a clean run. */
  acceptable: (state: unknown, before: unknown, after: unknown) => boolean;
  /** Whether the state after a rerun is the converged one (default: the clean run's). */
  converged?: (state: unknown, after: unknown) => boolean;
}

const KAIJU_TABLES = 'permissions, groups, group_permissions, users, user_groups, audit_log, sessions';

/** Empty kaiju's tables, then `fill`. */
function emptied(fill: (k: Knex) => Promise<void> = async () => undefined) {
  return async (k: Knex) => {
    await k.raw(`truncate ${KAIJU_TABLES} cascade`);
    await fill(k);
  };
}

function seedScenario(dir: string): Scenario {
  return {
    name: 'seed',
    args: (t) => [...t.args, '-q', 'seed', dir],
    reset: emptied(),
    state: async (k) =>
      json({
        permissions: await k('permissions').orderBy('id').select('id', 'enabled', 'tag'),
        groups: await k('groups').orderBy('id').select('id', 'tag'),
        grants: await count(k('group_permissions')),
        users: await count(k('users')),
        members: await count(k('user_groups')),
        derived: await k('kaiju_auth_group_grants').orderBy('group_id').select('group_id', 'permissions'),
        audit: await count(k('audit_log').where({ command: 'seed' })),
      }),
    acceptable: (s, before, after) => s === before || s === after,
  };
}

function importScenario(file: string, users: number, batch: number): Scenario {
  return {
    name: 'import',
    args: (t) => [...t.args, '-q', 'user', 'import', file, '--on-conflict', 'skip', '--batch-size', String(batch), '--rounds', '4'],
    reset: emptied(async (k) => {
      await k('groups').insert([{ id: 'a' }, { id: 'b' }]);
    }),
    state: async (k) => ({
      users: await count(k('users')),
      // Each user has exactly its groups (odd: a and b, even: b).
      wrong: Number(
        (
          await k.raw(
            `select count(*) as n from users u
              where (select count(*) from user_groups ug where ug.user_id = u.id) <> case when substring(u.username from 6)::int % 2 = 1 then 2 else 1 end`,
          )
        ).rows[0].n,
      ),
    }),
    acceptable: (s) => {
      const { users: n, wrong } = s as { users: number; wrong: number };
      return wrong === 0 && (n === users || n % batch === 0);
    },
  };
}

function pruneScenario(expired: number, live: number, batch: number): Scenario {
  return {
    name: 'prune',
    args: (t) => [...t.args, '-q', 'session', 'prune', '--batch-size', String(batch)],
    reset: emptied(async (k) => {
      const now = epoch(new Date());
      await insertKaijuSessions(k, [
        ...Array.from({ length: expired }, (_, i) => ({ userId: null, expires: now - 60 - i })),
        ...Array.from({ length: live }, (_, i) => ({ userId: null, expires: now + 86400 + i })),
      ]);
    }),
    state: async (k) => ({
      expired: await count(k('sessions').where('expires', '<', epoch(new Date()))),
      live: await count(k('sessions').where('expires', '>=', epoch(new Date()))),
    }),
    acceptable: (s) => {
      const { expired: e, live: l } = s as { expired: number; live: number };
      return l === live && (e === 0 || (expired - e) % batch === 0);
    },
  };
}

const rotateScenario: Scenario = {
  name: 'rotate',
  args: (t) => [...t.args, '-q', 'keys', 'rotate', '--now'],
  // One key that signs, made in-process with the secret the CLI gets.
  reset: async (k) => {
    await k('keystore').delete();
    await new KaijuAuth(k, resolveSettings({ keySecret: SECRET })).keys.rotate({ now: true });
  },
  state: async (k) => {
    const rows = (await k('keystore').select('state')) as { state: string }[];
    return { keys: rows.length, active: rows.filter((r) => r.state === 'active').length, verifier: await count(k('keystore_verifier')) };
  },
  // One key that signs, and either the key from before alone or it retired beside a new one.
  acceptable: (s) => {
    const { keys, active, verifier } = s as { keys: number; active: number; verifier: number };
    return active === 1 && verifier === 1 && (keys === 1 || keys === 2);
  },
  // A rerun rotates again: a rotation the kill did not stop is followed by one more.
  converged: (s) => {
    const { keys, active, verifier } = s as { keys: number; active: number; verifier: number };
    return active === 1 && verifier === 1 && (keys === 2 || keys === 3);
  },
};

const migrateScenario: Scenario = {
  name: 'migrate',
  args: (t) => [...t.args, '-q', 'migrate'],
  // No reset: a new database with no schema yet (what `init` or a first `migrate` finds) each time.
  state: async (k) => {
    const bookkeeping = (await k.raw("select to_regclass('kaiju_auth_migrations') as t")).rows[0]?.t;
    const applied = bookkeeping ? await count(k('kaiju_auth_migrations')) : 0;
    const tables = Number((await k.raw("select count(*) as n from pg_tables where schemaname = current_schema() and tablename in ('users', 'keystore', 'kaiju_auth_group_grants', 'kaiju_auth_permission_locks')")).rows[0].n);
    return { applied, tables };
  },
  acceptable: (s, before, after) => json(s) === json(before) || json(s) === json(after),
};

async function scenarios(): Promise<Scenario[]> {
  const users = Array.from({ length: 120 }, (_, i) => ({
    data: { username: `seeded${i}`, email: `seeded${i}@example.com`, password: `seed password ${i}` },
    groups: [`g${i % 4}`],
  }));
  const seedDir = await fixtureDir({
    permissions: Array.from({ length: 8 }, (_, i) => ({ id: `crash.p${i}`, enabled: i % 3 !== 0, tag: 'crash' })),
    groups: Array.from({ length: 4 }, (_, i) => ({ data: { id: `g${i}` }, permissions: [`crash.p${i}`, `crash.p${(i + 3) % 8}`] })),
    users,
  });
  const dir = await tempDir('kaiju-crash-');
  const file = path.join(dir, 'users.jsonl');
  const lines = Array.from({ length: 600 }, (_, i) =>
    JSON.stringify({ username: `crash${i}`, email: `crash${i}@example.com`, password: `crash password ${i}`, groups: i % 2 ? ['a', 'b'] : ['b'] }),
  );
  await writeFile(file, `${lines.join('\n')}\n`);
  return [seedScenario(seedDir), migrateScenario, importScenario(file, 600, 50), rotateScenario, pruneScenario(6000, 100, 500)];
}

describe.each(BACKENDS)('fault/crash on %s', (backend) => {
  it('a SIGKILL anywhere leaves the state before or after (whole batches), and a rerun converges', { timeout: 900_000 }, async () => {
    const random = rng(SEED + (backend === 'postgres' ? 1 : 0));
    // The embedded database costs a start of PGlite per open: fewer kills there.
    const kills = backend === 'pglite' ? KILLS_EMBEDDED : KILLS;
    for (const s of await scenarios()) {
      const fresh = async () => cliTarget(backend, { migrate: s.name !== 'migrate' });
      let t = await fresh();
      try {
        if (s.reset) await t.withKnex(s.reset);
        // The clean run: the "after" state, and how long the command takes here.
        const before = await t.withKnex(s.state);
        const started = Date.now();
        const clean = await runCli(s.args(t), { env: ENV, timeoutMs: 170_000 });
        const duration = Date.now() - started;
        expect(clean.code, `${s.name}: ${clean.stderr}`).toBe(0);
        const after = await t.withKnex(async (k) => {
          const state = await s.state(k);
          if (s.reset) await s.reset(k);
          return state;
        });
        for (let i = 0; i < kills; i++) {
          if (!s.reset) {
            await t.cleanup();
            t = await fresh();
          }
          // From late in the start-up (which takes most of a run) to a little past the clean run's
          // end, spread over the kills.
          const delay = Math.round(duration * (0.4 + (0.75 * (i + random())) / kills));
          const run = await spawnCli(s.args(t), { env: ENV, timeoutMs: 170_000 });
          const timer = setTimeout(() => run.child.kill('SIGKILL'), delay);
          const result = await run.result;
          clearTimeout(timer);
          counts.cases += 1;
          perCommand[s.name] = (perCommand[s.name] ?? 0) + 1;
          if (result.signal === 'SIGKILL') counts.kills += 1;
          else {
            counts.finished_first += 1;
            expect(result.code, `${s.name}: ${result.stderr}`).toBe(0);
          }
          // The database opens again (the embedded directory is not corrupt, its lock is free).
          const state = await t.withKnex(s.state);
          if (result.signal === 'SIGKILL') landed[json(state) === json(before) ? 'before' : json(state) === json(after) ? 'after' : 'between'] += 1;
          check(s.acceptable(state, before, after), { command: s.name, delay, signal: result.signal, state, before, after });
          // Rerunning converges to the clean run's end state (then back to "before" for the next kill).
          const rerun = await runCli(s.args(t), { env: ENV, timeoutMs: 170_000 });
          expect(rerun.code, `${s.name} rerun: ${rerun.stderr}`).toBe(0);
          const converged = await t.withKnex(async (k) => {
            const state = await s.state(k);
            if (s.reset) await s.reset(k);
            return state;
          });
          check(s.converged ? s.converged(converged, after) : json(converged) === json(after), { command: s.name, rerun: true, converged, after });
        }
      } finally {
        await t.cleanup();
      }
    }
  });
});
