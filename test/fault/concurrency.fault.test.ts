/**
 * Concurrency (issue 12 fault suite): writers that race must end in a state some serial order of
 * them gives. Each actor has its own connection on PostgreSQL (on PGlite they share the one
 * connection, so the same code runs them one transaction after another). Per round:
 *
 * - registrations: four of one username with different emails, two of one email with different
 *   usernames: exactly one of each wins, the others get `auth.user.exists`, the stored row is the
 *   winner's;
 * - seeds: two random fixture sets over shared permissions, groups and users, seeded at once; the
 *   end state (and which seeds failed) equals seeding them A then B or B then A;
 * - rotations: `keys rotate --now` four times at once gives four new keys and exactly one that
 *   signs; `keys rotate --if-older-than 0s` four times at once publishes exactly one `next` key;
 * - migrations: four `migrate` at once on an empty database apply every migration exactly once;
 * - prunes: session prunes with random batch sizes and audit prunes at once delete every expired
 *   session and old audit row exactly once, and nothing else.
 *
 * (Grants, revokes, replaced sets, enable and disable are raced in grants-race.fault.test.ts.)
 * Counts are printed; fewer rounds under CI=true; FAULT_SEED=N replays a run.
 */
import type { Knex } from 'knex';
import { afterAll, describe, expect, it } from 'vitest';
import { KaijuAuth } from '../../src/core/auth.js';
import { resolveSettings, type AuthSettingsInput } from '../../src/core/context.js';
import { isKaijuAuthError } from '../../src/errors.js';
import { migrateSchema } from '../../src/core/migrate.js';
import { openDatabase, type Database } from '../../src/db/open.js';
import { MIGRATIONS } from '../../migrations/index.js';
import { BACKENDS, destroyTest, initTest, truncateAll, type Backend, type TestDb } from '../support/db.js';
import { PASSWORD, TEST_SETTINGS } from '../support/auth.js';
import { KEY_SECRET } from '../support/keys.js';
import { fixtureDir, removeFixtureDirs } from '../support/fixtures.js';
import { epoch, insertKaijuSessions } from '../support/kaiju-rows.js';
import { recordAudit } from '../../src/core/audit.js';

const CI = process.env.CI === 'true';
const ROUNDS = CI ? 6 : 20;
const MIGRATION_ROUNDS = CI ? 2 : 5;
const ACTORS = 4;
const SEED = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);

const counts = { cases: 0, races: 0, states_checked: 0, mismatches: 0 };
const perKind: Record<string, number> = {};

afterAll(async () => {
  console.log(
    `fault/concurrency: ${counts.cases} cases (${Object.entries(perKind)
      .map(([k, n]) => `${n} ${k}`)
      .join(', ')}), ${counts.races} concurrent calls, ${counts.states_checked} states checked, ${counts.mismatches} mismatches (seed ${SEED})`,
  );
  await removeFixtureDirs();
});

function rng(seed: number) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n: number) => Math.floor(next() * n),
    pick: <T>(list: readonly T[]): T => list[Math.floor(next() * list.length)] as T,
    some: <T>(list: readonly T[]): T[] => list.filter(() => next() < 0.5),
  };
}
type Rng = ReturnType<typeof rng>;

/** The outcome of a call: 'ok' or the error code (an error without one fails the test). */
async function outcome(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (isKaijuAuthError(err)) return err.code;
    throw err;
  }
}

/** `ACTORS` KaijuAuths, each on a connection of its own on PostgreSQL (on PGlite, the test's one). */
async function actors(t: TestDb, overrides: AuthSettingsInput = {}) {
  const dbs: Database[] = [];
  const auths: KaijuAuth[] = [];
  for (let i = 0; i < ACTORS; i++) {
    let knex = t.knex;
    if (t.backend === 'postgres') {
      const db = await openDatabase(t.target);
      dbs.push(db);
      knex = db.knex;
    }
    auths.push(new KaijuAuth(knex, resolveSettings({ ...TEST_SETTINGS, keySecret: KEY_SECRET, ...overrides })));
  }
  return { auths, close: async () => Promise.all(dbs.map((d) => d.close())) };
}

function check(ok: boolean, what: unknown): void {
  counts.states_checked += 1;
  if (!ok) {
    counts.mismatches += 1;
    expect.soft(ok, JSON.stringify(what)).toBe(true);
  }
}

// ---- seeds --------------------------------------------------------------------------------------

const PERMS = ['c.p0', 'c.p1', 'c.p2', 'c.p3'];
const GROUPS = ['cg0', 'cg1', 'cg2'];
const NAMES = ['seeder0', 'seeder1', 'seeder2', 'seeder3'];

function randomFixtures(r: Rng) {
  const permissions = r.some(PERMS).map((id) => ({ id, enabled: r.next() < 0.7, tag: r.pick(['a', 'b', null]), description: null }));
  const known = permissions.map((p) => p.id);
  const groups = r.some(GROUPS).map((id) => ({ data: { id, tag: r.pick(['x', null]) }, permissions: known.filter(() => r.next() < 0.5) }));
  const groupIds = groups.map((g) => g.data.id);
  const users = r.some(NAMES).map((username) => ({
    // Sometimes the same email for two usernames (or another email for one): the second seed to
    // register it is refused (exit 6) in any order.
    data: { username, email: `${r.next() < 0.2 ? 'shared' : username}${r.int(2)}@example.com`, password: PASSWORD, full_name: r.pick(['A', 'B', null]) },
    groups: groupIds.filter(() => r.next() < 0.5),
  }));
  return { permissions, groups, users };
}

/** Everything a seed writes, without ids, hashes and times; audit rows by command. */
async function seedState(knex: Knex) {
  const [permissions, groups, grants, users, members, audit] = await Promise.all([
    knex('permissions').orderBy('id').select('id', 'enabled', 'tag', 'description'),
    knex('groups').orderBy('id').select('id', 'tag', 'description'),
    knex('group_permissions').orderBy(['group_id', 'permission_id']).select('group_id', 'permission_id'),
    knex('users').orderBy('username').select('username', 'email', 'full_name', 'settings'),
    knex('user_groups as ug').join('users as u', 'u.id', 'ug.user_id').orderBy(['u.username', 'ug.group_id']).select('u.username', 'ug.group_id'),
    knex('audit_log').select('command').count({ n: '*' }).groupBy('command').orderBy('command'),
  ]);
  const byCommand = (audit as { command: string; n: string | number }[]).map((a) => [a.command, Number(a.n)]);
  return JSON.stringify({ permissions, groups, grants, users, members, audit: byCommand });
}

async function seedRound(t: TestDb, auths: KaijuAuth[], r: Rng): Promise<void> {
  const [a, b] = [randomFixtures(r), randomFixtures(r)];
  const [dirA, dirB] = [await fixtureDir(a), await fixtureDir(b)];
  const seed = async (auth: KaijuAuth, dir: string) => {
    const report = await auth.fixtures.seed(dir);
    return report.errors.length === 0 ? 'ok' : [...new Set(report.errors.map((e) => e.code))].join(',');
  };
  const serial = async (first: string, second: string) => {
    await truncateAll(t);
    const results = [await seed(auths[0] as KaijuAuth, first), await seed(auths[0] as KaijuAuth, second)];
    return { state: await seedState(t.knex), results: first === dirA ? results : [results[1], results[0]] };
  };
  const orders = [await serial(dirA, dirB), await serial(dirB, dirA)];
  await truncateAll(t);
  const results = await Promise.all([seed(auths[0] as KaijuAuth, dirA), seed(auths[1] as KaijuAuth, dirB)]);
  counts.races += 2;
  const state = await seedState(t.knex);
  check(
    orders.some((o) => o.state === state && JSON.stringify(o.results) === JSON.stringify(results)),
    { kind: 'seeds', a, b, results, state, orders },
  );
}

// ---- registrations ------------------------------------------------------------------------------

async function registrationRound(t: TestDb, auths: KaijuAuth[], round: number): Promise<void> {
  const username = `same_${round}`;
  const sameName = await Promise.all(
    auths.map((auth, i) => outcome(auth.users.register({ username, email: `same${round}_${i}@example.com`, password: PASSWORD }))),
  );
  const email = `shared_${round}@example.com`;
  const sameEmail = await Promise.all(
    auths.slice(0, 2).map((auth, i) => outcome(auth.users.register({ username: `mail_${round}_${i}`, email, password: PASSWORD }))),
  );
  counts.races += auths.length + 2;
  const winner = sameName.indexOf('ok');
  const stored = await t.knex('users').where({ username }).select('email');
  check(
    sameName.filter((o) => o === 'ok').length === 1 &&
      sameName.every((o) => o === 'ok' || o === 'auth.user.exists') &&
      stored.length === 1 &&
      stored[0]?.email === `same${round}_${winner}@example.com`,
    { kind: 'registrations', sameName, stored },
  );
  const owners = await t.knex('users').where({ email }).pluck('username');
  check(
    sameEmail.filter((o) => o === 'ok').length === 1 && sameEmail.every((o) => o === 'ok' || o === 'auth.user.exists') && owners.length === 1,
    { kind: 'registrations', sameEmail, owners },
  );
}

// ---- rotations ----------------------------------------------------------------------------------

async function rotationRound(t: TestDb, auths: KaijuAuth[]): Promise<void> {
  await t.knex('keystore').delete();
  const first = auths[0] as KaijuAuth;
  await first.keys.ensureSigningKey();
  const results = await Promise.all(auths.map((auth) => auth.keys.rotate({ now: true })));
  counts.races += auths.length;
  const keys = (await t.knex('keystore').select('kid')).map((k: { kid: string }) => k.kid);
  const signing = new Set(results.map((r) => r.key.kid));
  const listed = await first.keys.list();
  const active = listed.filter((k) => k.state === 'active');
  check(
    keys.length === 1 + auths.length && signing.size === auths.length && active.length === 1 && results.every((r) => r.rotated),
    { kind: 'rotations --now', keys, results: results.map((r) => [r.action, r.key.kid]), active },
  );
  // Due (if older than 0 s): exactly one publishes the next key; the others find it published.
  const due = await Promise.all(auths.map((auth) => auth.keys.rotate({ ifOlderThan: 0 })));
  counts.races += auths.length;
  const published = due.filter((r) => r.action === 'published').length;
  const next = (await first.keys.list()).filter((k) => k.state === 'next');
  check(published === 1 && next.length === 1 && due.every((r) => r.action === 'published' || r.action === 'none'), {
    kind: 'rotations due',
    due: due.map((r) => r.action),
    next,
  });
}

// ---- prunes -------------------------------------------------------------------------------------

async function pruneRound(t: TestDb, auths: KaijuAuth[], r: Rng): Promise<void> {
  await truncateAll(t);
  const now = epoch(new Date());
  const expired = 50 + r.int(400);
  const live = 20 + r.int(50);
  await insertKaijuSessions(t.knex, [
    ...Array.from({ length: expired }, (_, i) => ({ userId: null, expires: now - 10 - i })),
    ...Array.from({ length: live }, (_, i) => ({ userId: null, expires: now + 3600 + i })),
  ]);
  const old = 5 + r.int(30);
  for (let i = 0; i < old; i++) {
    await recordAudit(t.knex, 'old', { command: 'user.register', targetType: 'user', target: `u${i}` }, new Date(Date.now() - 40 * 86400_000));
  }
  const before = new Date(Date.now() - 30 * 86400_000);
  const [sessionReports, auditReports] = await Promise.all([
    Promise.all(auths.map((auth) => auth.sessions.prune({ batchSize: 1 + r.int(100) }))),
    Promise.all(auths.slice(0, 2).map((auth) => auth.audit.prune(before))),
  ]);
  counts.races += auths.length + 2;
  const left = (await t.knex('sessions').select('expires')).map((s: { expires: number }) => s.expires);
  const oldLeft = Number((await t.knex('audit_log').where('at', '<', before).count({ n: '*' }).first())?.n ?? -1);
  check(
    sessionReports.reduce((n, rep) => n + rep.deleted, 0) === expired &&
      left.length === live &&
      left.every((e) => e > now) &&
      auditReports.reduce((n, rep) => n + rep.deleted, 0) === old &&
      oldLeft === 0,
    { kind: 'prunes', expired, live, deleted: sessionReports.map((x) => x.deleted), audit: auditReports.map((x) => x.deleted), left: left.length, oldLeft },
  );
}

// ---- migrations ---------------------------------------------------------------------------------

async function migrationRound(backend: Backend): Promise<void> {
  const t = await initTest(backend, { migrate: false });
  const dbs: Database[] = [];
  try {
    const knexes = [t.knex];
    if (backend === 'postgres') {
      for (let i = 1; i < ACTORS; i++) {
        const db = await openDatabase(t.target);
        dbs.push(db);
        knexes.push(db.knex);
      }
    } else {
      for (let i = 1; i < ACTORS; i++) knexes.push(t.knex);
    }
    const runs = await Promise.all(knexes.map((k) => migrateSchema(k)));
    counts.races += knexes.length;
    const applied = runs.flatMap((run) => run.migrations).sort();
    const rows = await t.knex('kaiju_auth_migrations').select('name', 'batch');
    check(
      JSON.stringify(applied) === JSON.stringify(MIGRATIONS.map((m) => m.name).sort()) &&
        runs.filter((run) => run.migrations.length > 0).length === 1 &&
        rows.length === MIGRATIONS.length &&
        rows.every((row: { batch: number }) => row.batch === 1),
      { kind: 'migrations', runs: runs.map((run) => run.migrations.length), rows: rows.length },
    );
  } finally {
    for (const db of dbs) await db.close();
    await destroyTest(t);
  }
}

describe.each(BACKENDS)('fault/concurrency on %s', (backend) => {
  it('racing writers end in a state some serial order of them gives', async () => {
    const t = await initTest(backend);
    const { auths, close } = await actors(t);
    const r = rng(SEED);
    try {
      for (let round = 0; round < ROUNDS; round++) {
        for (const [kind, run] of [
          ['registrations', () => registrationRound(t, auths, round)],
          ['seeds', () => seedRound(t, auths, r)],
          ['rotations', () => rotationRound(t, auths)],
          ['prunes', () => pruneRound(t, auths, r)],
        ] as const) {
          await run();
          counts.cases += 1;
          perKind[kind] = (perKind[kind] ?? 0) + 1;
        }
      }
      for (let round = 0; round < MIGRATION_ROUNDS; round++) {
        await migrationRound(backend);
        counts.cases += 1;
        perKind.migrations = (perKind.migrations ?? 0) + 1;
      }
    } finally {
      await close();
      await destroyTest(t);
    }
    expect(counts.mismatches).toBe(0);
  });
});
