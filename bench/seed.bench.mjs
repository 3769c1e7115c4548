/**
 * Issue 4 benchmark for `seed`, against PostgreSQL: a large fixture set (5k permissions, 500 groups
 * x 50 permissions, 2k users, bcrypt cost 4 for this run). The rerun of an applied seed as a ratio
 * of the first run's time (target <= 0.2), and the SQL statement counts of both runs for two sizes
 * (full and a tenth), which must not grow with the size.
 *
 * Server: KAIJU_AUTH_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); a
 * database of its own per size, dropped afterwards.
 */
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const { ensureThreadPool } = await import('./lib.mjs');
ensureThreadPool(import.meta.url);

const { default: knexFactory } = await import('knex');
const { openDatabase } = await import('../dist/src/db/open.js');
const { migrateLatest } = await import('../dist/src/db/migrator.js');
const { MIGRATIONS } = await import('../dist/migrations/index.js');
const { seedFixtures } = await import('../dist/src/core/fixtures/seed.js');
const { resolveSettings } = await import('../dist/src/core/context.js');
const { recordResult, adminUrlFor, BENCH_ADMIN_URL } = await import('./lib.mjs');

const ADMIN = BENCH_ADMIN_URL;
const FULL = { permissions: 5000, groups: 500, grants: 50, users: 2000 };

function fixtures(size) {
  const permissions = Array.from({ length: size.permissions }, (_, i) => ({ id: `perm.${i}`, tag: `tag${i % 40}`, description: `Permission number ${i}` }));
  const groups = Array.from({ length: size.groups }, (_, g) => ({
    data: { id: `group.${g}`, tag: g % 2 ? 'staff' : 'customers', description: `Group ${g}` },
    permissions: Array.from({ length: size.grants }, (_, j) => `perm.${(g * 97 + j * 101) % size.permissions}`),
  }));
  const users = Array.from({ length: size.users }, (_, u) => ({
    data: { username: `user${u}`, email: `user${u}@example.com`, password: `seed password ${u}`, full_name: `User ${u}` },
    groups: [`group.${u % size.groups}`, `group.${(u * 7 + 3) % size.groups}`],
  }));
  return { permissions, groups: groups.map((g) => ({ ...g, permissions: [...new Set(g.permissions)] })), users };
}

async function run(size, label) {
  const name = `kaiju_bench_${randomBytes(4).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: ADMIN, pool: { min: 0, max: 1 } });
  await admin.raw(`CREATE DATABASE ${name}`);
  const db = await openDatabase({ kind: 'postgres', url: adminUrlFor(ADMIN, name) });
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kaiju-bench-seed-'));
  try {
    const k = db.knex;
    await migrateLatest(k, MIGRATIONS);
    const set = fixtures(size);
    for (const kind of ['permissions', 'groups', 'users']) await writeFile(path.join(dir, `${kind}.json`), JSON.stringify(set[kind]));
    const ctx = { db: k, settings: resolveSettings({ actor: 'bench', bcryptRounds: 4 }) };
    let statements = 0;
    k.on('query', () => (statements += 1));
    const timed = async () => {
      statements = 0;
      const s = process.hrtime.bigint();
      const report = await seedFixtures(ctx, dir);
      if (report.errors.length > 0) throw new Error(`seed problems: ${JSON.stringify(report.errors.slice(0, 3))}`);
      return { seconds: Number(process.hrtime.bigint() - s) / 1e9, statements, report };
    };
    const first = await timed();
    if (first.report.created.users.length !== size.users) throw new Error('first run did not create every user');
    const reruns = [await timed(), await timed(), await timed()];
    for (const r of reruns) if (r.report.unchanged.users.length !== size.users) throw new Error('rerun changed something');
    const rerun = reruns.sort((a, b) => a.seconds - b.seconds)[1];
    console.log(
      `seed bench (${label}: ${size.permissions} permissions, ${size.groups} groups x ${size.grants}, ${size.users} users, cost 4): ` +
        `first ${first.seconds.toFixed(2)}s / ${first.statements} statements, rerun ${rerun.seconds.toFixed(3)}s / ${rerun.statements} statements`,
    );
    return { first_s: first.seconds, rerun_s: rerun.seconds, first_statements: first.statements, rerun_statements: rerun.statements };
  } finally {
    await db.close();
    await admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

const small = await run({ permissions: FULL.permissions / 10, groups: FULL.groups / 10, grants: FULL.grants, users: FULL.users / 10 }, 'tenth');
const full = await run(FULL, 'full');
const ratio = full.rerun_s / full.first_s;
const sameCounts = small.first_statements === full.first_statements && small.rerun_statements === full.rerun_statements;
console.log(`seed bench: rerun / first run ${ratio.toFixed(3)} (target <= 0.2) ${ratio <= 0.2 ? 'OK' : 'MISSED'}`);
console.log(`seed bench: statements first ${small.first_statements} -> ${full.first_statements}, rerun ${small.rerun_statements} -> ${full.rerun_statements} for 10x the items: ${sameCounts ? 'constant OK' : 'GREW'}`);
await recordResult('seed_rerun', { sizes: { tenth: small, full }, ratio, target: 0.2, met: ratio <= 0.2, statements_constant: sameCounts });
