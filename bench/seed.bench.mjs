/**
 * Issue 4 benchmark for `seed`, against PostgreSQL: a large fixture set (5k permissions, 500 groups
 * x 50 permissions, 2k users, bcrypt cost 4 for this run). The rerun of an applied seed as a ratio
 * of the first run's time (target <= 0.2), and the SQL statement counts of both runs for two sizes
 * (full and a tenth), which must not grow with the size.
 *
 * Server: KAIJU_AUTH_BENCH_DATABASE_URL (default postgres://postgres@127.0.0.1:5432/postgres); a
 * database of its own per size, dropped afterwards.
 *
 * Then issue 16 item 5: the whole `kaiju-auth seed` process against kaiju_auth 2.1.0's own fixture
 * algorithm (the peer: ../shared/bench/peer_kaiju_seed.py, SQLAlchemy + psycopg2, query for query;
 * see that directory's README), on 5k permissions, 500 groups x 50 grants, 2k users x 3 groups at
 * bcrypt cost 4: the first run (into an empty database: ours migrated, the peer's with kaiju's own
 * tables, made by the peer itself and not timed) and the rerun, target <= 0.1x the peer's time
 * each; and `seed --check` on the seeded set, target no slower than the rerun. Ours is timed from
 * spawn to exit (start-up counts); the peer's own figure leaves out Python's start-up. Rounds
 * alternate who goes first, with the load average printed. The peer is skipped with a notice when
 * python3 lacks sqlalchemy, psycopg2 or bcrypt (Debian: python3-sqlalchemy python3-psycopg2
 * python3-bcrypt). In the same rounds, the floor (baselines/seed-floor.mjs: the work any seed of
 * these files must do and nothing else, whole process too) and its ratio to the peer: how far
 * below the peer a seed can get at all on this host. Env: BENCH_SEED_FIRST_ROUNDS (default 2),
 * BENCH_SEED_RERUNS (default 5),
 * KAIJU_AUTH_BENCH_PEER_SEED (the peer script), BENCH_SEED_PEER_ONLY=1 (this part alone).
 */
import { spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const { ensureThreadPool } = await import('./lib.mjs');
ensureThreadPool(import.meta.url);

const { default: knexFactory } = await import('knex');
const { openDatabase } = await import('../dist/src/db/open.js');
const { migrateLatest } = await import('../dist/src/db/migrator.js');
const { MIGRATIONS } = await import('../dist/migrations/index.js');
const { seedFixtures } = await import('../dist/src/core/fixtures/seed.js');
const { resolveSettings } = await import('../dist/src/core/context.js');
const { median, recordResult, adminUrlFor, BENCH_ADMIN_URL } = await import('./lib.mjs');

const ADMIN = BENCH_ADMIN_URL;
const FULL = { permissions: 5000, groups: 500, grants: 50, users: 2000 };

function fixtures(size, groupsPerUser = 2) {
  const permissions = Array.from({ length: size.permissions }, (_, i) => ({ id: `perm.${i}`, tag: `tag${i % 40}`, description: `Permission number ${i}` }));
  const groups = Array.from({ length: size.groups }, (_, g) => ({
    data: { id: `group.${g}`, tag: g % 2 ? 'staff' : 'customers', description: `Group ${g}` },
    permissions: Array.from({ length: size.grants }, (_, j) => `perm.${(g * 97 + j * 101) % size.permissions}`),
  }));
  const users = Array.from({ length: size.users }, (_, u) => ({
    data: { username: `user${u}`, email: `user${u}@example.com`, password: `seed password ${u}`, full_name: `User ${u}` },
    groups: [`group.${u % size.groups}`, `group.${(u * 7 + 3) % size.groups}`, `group.${(u * 13 + 5) % size.groups}`].slice(0, groupsPerUser),
  }));
  return {
    permissions,
    groups: groups.map((g) => ({ ...g, permissions: [...new Set(g.permissions)] })),
    users: users.map((u) => ({ ...u, groups: [...new Set(u.groups)] })),
  };
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

// BENCH_SEED_PEER_ONLY=1: only the comparison with the peer below.
if (!process.env.BENCH_SEED_PEER_ONLY) {
  const small = await run({ permissions: FULL.permissions / 10, groups: FULL.groups / 10, grants: FULL.grants, users: FULL.users / 10 }, 'tenth');
  const full = await run(FULL, 'full');
  const ratio = full.rerun_s / full.first_s;
  const sameCounts = small.first_statements === full.first_statements && small.rerun_statements === full.rerun_statements;
  console.log(`seed bench: rerun / first run ${ratio.toFixed(3)} (target <= 0.2) ${ratio <= 0.2 ? 'OK' : 'MISSED'}`);
  console.log(`seed bench: statements first ${small.first_statements} -> ${full.first_statements}, rerun ${small.rerun_statements} -> ${full.rerun_statements} for 10x the items: ${sameCounts ? 'constant OK' : 'GREW'}`);
  await recordResult('seed_rerun', { sizes: { tenth: small, full }, ratio, target: 0.2, met: ratio <= 0.2, statements_constant: sameCounts });
}

// ---- Issue 16 item 5: whole process against the peer (kaiju_auth 2.1.0's algorithm) ----

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const BIN = path.join(ROOT, 'bin', 'kaiju-auth.js');
const PEER =
  process.env.KAIJU_AUTH_BENCH_PEER_SEED ||
  [path.join(ROOT, '..', 'shared', 'bench', 'peer_kaiju_seed.py'), path.join(ROOT, '..', '..', 'shared', 'bench', 'peer_kaiju_seed.py')].find((f) => existsSync(f));
const PYTHON = '/usr/bin/python3';
const FIRST_ROUNDS = Number(process.env.BENCH_SEED_FIRST_ROUNDS || 2);
const RERUNS = Number(process.env.BENCH_SEED_RERUNS || 5);
const PEER_SET = { permissions: 5000, groups: 500, grants: 50, users: 2000 };
const load = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

function peerMissing() {
  if (!PEER) return 'the peer script (../shared/bench/peer_kaiju_seed.py) is not there';
  const r = spawnSync(PYTHON, ['-c', 'import sqlalchemy, psycopg2, bcrypt'], { encoding: 'utf8' });
  if (r.error || r.status !== 0) return `${PYTHON} lacks sqlalchemy, psycopg2 or bcrypt (Debian: apt-get install python3-sqlalchemy python3-psycopg2 python3-bcrypt)`;
  return null;
}

/** Run a process to its end: wall seconds from spawn to exit, and its stdout. */
function timedProcess(cmd, args, env) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(cmd, args, { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c) => (stdout += c));
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      if (code !== 0) reject(new Error(`${path.basename(cmd)} ${args.join(' ')} exited ${code}: ${stderr.slice(0, 800)}`));
      else resolve({ seconds, stdout });
    });
  });
}

async function scratchDatabases(admin, count) {
  const names = Array.from({ length: count }, () => `kaiju_bench_${randomBytes(4).toString('hex')}`);
  for (const n of names) await admin.raw(`CREATE DATABASE ${n}`);
  return names;
}

async function oursSeed(url, dir, extra = []) {
  const r = await timedProcess(process.execPath, [BIN, 'seed', dir, '--json', ...extra], {
    KAIJU_AUTH_DATABASE_URL: url,
    KAIJU_AUTH_BCRYPT_ROUNDS: '4',
    NO_COLOR: '1',
  });
  return { seconds: r.seconds, report: JSON.parse(r.stdout) };
}

/**
 * The floor (baselines/seed-floor.mjs): hashing, then one writing transaction (`first`), or reading
 * and comparing (`rerun`), with nothing else; whole process, as ours is timed. Its thread pool is
 * sized as the tool's launcher sizes it.
 */
async function floorSeed(mode, url, dir) {
  const args = [path.join(ROOT, 'bench', 'baselines', 'seed-floor.mjs'), mode, url, dir, ...(mode === 'first' ? ['4'] : [])];
  const r = await timedProcess(process.execPath, args, { UV_THREADPOOL_SIZE: String(Math.max(4, os.availableParallelism())) });
  const out = JSON.parse(r.stdout);
  if (mode === 'first' && out.created.users !== PEER_SET.users) throw new Error('seed floor: the first run did not create every user');
  if (mode === 'rerun' && out.differ !== 0) throw new Error(`seed floor: ${out.differ} item(s) differ on the rerun`);
  return r.seconds;
}

async function peerSeed(url, dir, create) {
  const sqlalchemyUrl = url.replace(/^postgres(ql)?:/, 'postgresql:');
  const r = await timedProcess(PYTHON, [PEER, sqlalchemyUrl, dir, '4', ...(create ? ['--create-tables'] : [])], { SQLALCHEMY_SILENCE_UBER_WARNING: '1' });
  const out = JSON.parse(r.stdout.trim().split('\n').pop());
  return { seconds: out.seconds, queries: out.queries, process_seconds: r.seconds };
}

async function versusPeer() {
  const missing = peerMissing();
  if (missing) console.log(`seed vs peer: skipped the peer: ${missing}; kaiju-auth alone follows`);
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kaiju-bench-seed-peer-'));
  const admin = knexFactory({ client: 'pg', connection: ADMIN, pool: { min: 0, max: 1 } });
  const made = [];
  try {
    const set = fixtures(PEER_SET, 3);
    for (const kind of ['permissions', 'groups', 'users']) await writeFile(path.join(dir, `${kind}.json`), JSON.stringify(set[kind]));
    console.log(
      `seed vs peer: ${PEER_SET.permissions} permissions, ${PEER_SET.groups} groups x ${PEER_SET.grants}, ${PEER_SET.users} users x 3 groups, cost 4; ` +
        `${FIRST_ROUNDS} first run(s), ${RERUNS} rerun(s) each (load average ${load()})`,
    );
    const first = { ours: [], peer: [], floor: [] };
    let oursUrl = null;
    let peerUrl = null;
    for (let round = 0; round < FIRST_ROUNDS; round += 1) {
      const [o, p, f] = await scratchDatabases(admin, 3);
      made.push(o, p, f);
      oursUrl = adminUrlFor(ADMIN, o);
      peerUrl = adminUrlFor(ADMIN, p);
      const floorUrl = adminUrlFor(ADMIN, f);
      for (const url of [oursUrl, floorUrl]) {
        const db = await openDatabase({ kind: 'postgres', url });
        try {
          await migrateLatest(db.knex, MIGRATIONS);
        } finally {
          await db.close();
        }
      }
      const runOurs = async () => {
        const r = await oursSeed(oursUrl, dir);
        if (r.report.created.users.length !== PEER_SET.users) throw new Error('kaiju-auth seed: the first run did not create every user');
        first.ours.push(r.seconds);
        return r.seconds;
      };
      const runPeer = async () => {
        const r = await peerSeed(peerUrl, dir, true);
        first.peer.push(r.seconds);
        return r;
      };
      let o1;
      let p1 = null;
      if (missing) o1 = await runOurs();
      else if (round % 2 === 0) {
        p1 = await runPeer();
        o1 = await runOurs();
      } else {
        o1 = await runOurs();
        p1 = await runPeer();
      }
      const f1 = await floorSeed('first', floorUrl, dir);
      first.floor.push(f1);
      console.log(
        `  first run ${round + 1}: kaiju-auth ${o1.toFixed(2)} s, floor ${f1.toFixed(2)} s` +
          (p1 ? `, peer ${p1.seconds.toFixed(2)} s (${p1.queries} queries): ratio ${(o1 / p1.seconds).toFixed(3)}` : '') +
          `; load ${os.loadavg()[0].toFixed(2)}`,
      );
    }
    const rerun = { ours: [], peer: [], check: [], floor: [] };
    for (let round = 0; round < RERUNS; round += 1) {
      const cases = [
        async () => {
          const r = await oursSeed(oursUrl, dir);
          if (r.report.unchanged.users.length !== PEER_SET.users) throw new Error('kaiju-auth seed: the rerun changed something');
          rerun.ours.push(r.seconds);
        },
        async () => {
          // --check: the plan of a matching database, exit 0 (drift would be exit 9 and fail here).
          const r = await oursSeed(oursUrl, dir, ['--check']);
          if (r.report.unchanged.users.length !== PEER_SET.users) throw new Error('kaiju-auth seed --check: not all unchanged');
          rerun.check.push(r.seconds);
        },
        async () => {
          rerun.floor.push(await floorSeed('rerun', oursUrl, dir));
        },
        ...(missing
          ? []
          : [
              async () => {
                const r = await peerSeed(peerUrl, dir, false);
                rerun.peer.push(r.seconds);
              },
            ]),
      ];
      const order = [...cases.slice(round % cases.length), ...cases.slice(0, round % cases.length)];
      for (const c of order) await c();
      console.log(
        `  rerun ${round + 1}: kaiju-auth ${rerun.ours.at(-1).toFixed(3)} s, --check ${rerun.check.at(-1).toFixed(3)} s, floor ${rerun.floor.at(-1).toFixed(3)} s` +
          (missing ? '' : `, peer ${rerun.peer.at(-1).toFixed(2)} s: ratio ${(rerun.ours.at(-1) / rerun.peer.at(-1)).toFixed(3)}`) +
          `; load ${os.loadavg()[0].toFixed(2)}`,
      );
    }
    const m = (xs) => (xs.length ? median(xs) : null);
    const result = {
      set: { ...PEER_SET, groups_per_user: 3, bcrypt_cost: 4 },
      ours_first_s: m(first.ours),
      ours_rerun_s: m(rerun.ours),
      ours_check_s: m(rerun.check),
      peer_first_s: m(first.peer),
      peer_rerun_s: m(rerun.peer),
      floor_first_s: m(first.floor),
      floor_rerun_s: m(rerun.floor),
      // Pair by pair (each round runs both, one right after the other), then the median: the two do
      // the same work, so a ratio of medians of a few runs each mostly measures the host's drift.
      check_to_rerun: median(rerun.check.map((c, i) => c / rerun.ours[i])),
      target: 0.1,
      load_average: os.loadavg(),
    };
    console.log(`seed --check / rerun (median of the rounds' ratios): ${result.check_to_rerun.toFixed(3)} (target <= 1): ${result.check_to_rerun <= 1 ? 'met' : 'NOT met'}`);
    if (!missing) {
      result.first_ratio = result.ours_first_s / result.peer_first_s;
      result.rerun_ratio = result.ours_rerun_s / result.peer_rerun_s;
      result.met = result.first_ratio <= 0.1 && result.rerun_ratio <= 0.1;
      console.log(
        `seed vs peer (medians): first ${result.ours_first_s.toFixed(2)} s vs ${result.peer_first_s.toFixed(2)} s = ${result.first_ratio.toFixed(3)}, ` +
          `rerun ${result.ours_rerun_s.toFixed(3)} s vs ${result.peer_rerun_s.toFixed(2)} s = ${result.rerun_ratio.toFixed(3)} ` +
          `(target <= 0.1 each): ${result.met ? 'met' : 'NOT met'}; load average ${load()}`,
      );
      // The floor: the work any seed of these files must do, and nothing else (baselines/seed-floor.mjs).
      result.floor_first_ratio = result.floor_first_s / result.peer_first_s;
      result.floor_rerun_ratio = result.floor_rerun_s / result.peer_rerun_s;
      console.log(
        `seed floor vs peer (medians): first ${result.floor_first_s.toFixed(2)} s = ${result.floor_first_ratio.toFixed(3)}, ` +
          `rerun ${result.floor_rerun_s.toFixed(3)} s = ${result.floor_rerun_ratio.toFixed(3)} of the peer's; ` +
          `kaiju-auth / floor: first ${(result.ours_first_s / result.floor_first_s).toFixed(2)}x, rerun ${(result.ours_rerun_s / result.floor_rerun_s).toFixed(2)}x`,
      );
    }
    await recordResult('seed_vs_peer', result);
  } finally {
    for (const n of made) await admin.raw(`DROP DATABASE IF EXISTS ${n} WITH (FORCE)`);
    await admin.destroy();
    await rm(dir, { recursive: true, force: true });
  }
}

await versusPeer();
