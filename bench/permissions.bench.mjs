/**
 * Issue 3 benchmark: effective-permission resolution (`resolveUserPermissions`, what login and
 * token issue use) for a user in 5 groups, in a PostgreSQL database of 100k users, 1k groups and
 * 10k permissions (10% of them disabled), as a ratio of median latencies to a `SELECT 1` round
 * trip on the same connection, interleaved. Target <= 2x.
 *
 * Two grant densities, each in a fresh database: 10 grants a group (every permission granted by
 * one group: ~45 permissions a user) is the scenario the target is judged on; 50 grants a group
 * (~225 permissions a user) is printed as a stress figure. BENCH_GRANTS_PER_GROUP=N runs one.
 *
 * Needs PostgreSQL: KAIJU_AUTH_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres);
 * works in databases of its own, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import knexFactory from 'knex';
import { openDatabase } from '../dist/src/db/open.js';
import { migrateLatest } from '../dist/src/db/migrator.js';
import { MIGRATIONS } from '../dist/migrations/index.js';
import { resolveUserPermissions } from '../dist/src/core/user-permissions.js';
import { recordResult, median, adminUrlFor, BENCH_ADMIN_URL } from './lib.mjs';

const ADMIN = BENCH_ADMIN_URL;
const USERS = 100_000, GROUPS = 1_000, PERMISSIONS = 10_000, GROUPS_PER_USER = 5;
const DENSITIES = process.env.BENCH_GRANTS_PER_GROUP ? [Number(process.env.BENCH_GRANTS_PER_GROUP)] : [10, 50];
const ROUNDS = Number(process.env.BENCH_ITERATIONS || 3000);

async function load(k, grantsPerGroup) {
  await k.raw(`insert into permissions (id, enabled, tag) select 'perm.' || i, i % 10 <> 0, 'tag' || (i % 50) from generate_series(1, ${PERMISSIONS}) i`);
  await k.raw(`insert into groups (id) select 'group.' || i from generate_series(1, ${GROUPS}) i`);
  // 10 a group: group g grants permissions 10(g-1)+1 .. 10g; more: spread pseudo-randomly.
  await k.raw(
    grantsPerGroup * GROUPS === PERMISSIONS
      ? `insert into group_permissions select 'group.' || (1 + (i - 1) / ${grantsPerGroup}), 'perm.' || i from generate_series(1, ${PERMISSIONS}) i`
      : `insert into group_permissions select 'group.' || g, 'perm.' || (1 + ((g * 7919 + j * 104729) % ${PERMISSIONS}))
           from generate_series(1, ${GROUPS}) g, generate_series(1, ${grantsPerGroup}) j on conflict do nothing`,
  );
  await k.raw(
    `insert into users (id, username, email, password, salt, is_active, is_blocked, settings, created)
       select gen_random_uuid(), 'user' || i, 'user' || i || '@example.com', '\\x00', '\\x00', true, false, '{}', now()
         from generate_series(1, ${USERS}) i`,
  );
  await k.raw(
    `insert into user_groups select distinct 'group.' || (1 + ((u.n * 31 + j * 997) % ${GROUPS})), u.id
       from (select id, row_number() over () as n from users) u, generate_series(1, ${GROUPS_PER_USER}) j`,
  );
  // As autovacuum would have: statistics, and the visibility map that lets index-only scans skip the heap.
  await k.raw('vacuum analyze');
}

async function measure(grantsPerGroup) {
  const name = `kaiju_bench_${randomBytes(4).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: ADMIN, pool: { min: 0, max: 1 } });
  await admin.raw(`CREATE DATABASE ${name}`);
  // Loading 100k users and their groups can outlast the library's 30 s statement timeout on a busy
  // host: the schema commands' limits, as migrate has them.
  const timeouts = { statementMs: 30 * 60_000, lockMs: 120_000, idleInTransactionMs: 5 * 60_000 };
  const db = await openDatabase({ kind: 'postgres', url: adminUrlFor(ADMIN, name), poolMax: 1, timeouts });
  try {
    const k = db.knex;
    await migrateLatest(k, MIGRATIONS);
    const t0 = Date.now();
    await load(k, grantsPerGroup);
    console.log(`permissions bench (${grantsPerGroup} grants a group): data loaded in ${((Date.now() - t0) / 1000).toFixed(1)}s`);
    const ids = (await k('users').select('id').orderByRaw('random()').limit(500)).map((r) => r.id);
    for (let i = 0; i < 300; i++) {
      await k.raw('select 1');
      await resolveUserPermissions(k, ids[i % ids.length], null);
    }
    const base = [], perm = [];
    let count = 0;
    for (let i = 0; i < ROUNDS; i++) {
      let s = process.hrtime.bigint();
      await k.raw('select 1');
      base.push(Number(process.hrtime.bigint() - s) / 1e6);
      s = process.hrtime.bigint();
      const r = await resolveUserPermissions(k, ids[i % ids.length], null);
      perm.push(Number(process.hrtime.bigint() - s) / 1e6);
      count += r.permissions.length;
    }
    const mb = median(base), mp = median(perm);
    // The same ratio per block of 500 rounds: how much the machine's noise moved it during the run
    // (a busy host adds latency to both sides, which lowers the ratio; a quiet one raises it).
    const blocks = [];
    for (let b = 0; b + 500 <= ROUNDS; b += 500) blocks.push(median(perm.slice(b, b + 500)) / median(base.slice(b, b + 500)));
    const spread = blocks.length > 0 ? [Math.min(...blocks), Math.max(...blocks)] : [mp / mb, mp / mb];
    const result = {
      grants_per_group: grantsPerGroup, permissions_per_user: Math.round(count / ROUNDS), select1_median_ms: mb, resolve_median_ms: mp,
      ratio: mp / mb, block_ratio_range: spread,
    };
    console.log(
      `permissions bench (${grantsPerGroup} grants a group, ~${result.permissions_per_user} permissions a user): ` +
        `SELECT 1 median ${mb.toFixed(3)} ms, effective permissions median ${mp.toFixed(3)} ms, ratio ${result.ratio.toFixed(2)}x ` +
        `(blocks of 500: ${spread[0].toFixed(2)}..${spread[1].toFixed(2)}x)`,
    );
    return result;
  } finally {
    await db.close();
    await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.destroy();
  }
}

const runs = [];
for (const density of DENSITIES) runs.push(await measure(density));
const judged = runs.find((r) => r.grants_per_group === 10) ?? runs[0];
console.log(`permissions bench: ratio ${judged.ratio.toFixed(2)}x at ${judged.grants_per_group} grants a group (target <= 2x) ${judged.ratio <= 2 ? 'OK' : 'MISSED'}`);
await recordResult('effective_permissions', {
  users: USERS, groups: GROUPS, permissions: PERMISSIONS, groups_per_user: GROUPS_PER_USER, iterations: ROUNDS,
  runs, ratio: judged.ratio, target: 2, met: judged.ratio <= 2,
});
