/**
 * What a Tab that completes a name costs: `kaiju-auth __complete users a` (what the completion
 * scripts run, see src/cli/commands/complete-names.ts) against the physical floor, in the same
 * run, interleaved:
 *
 *   embedded database   vs  a bare script that opens the same PGlite directory and runs one
 *                           query (baselines/pglite-one-query.mjs)              target <= 1.15x
 *   PostgreSQL          vs  a bare script that connects with pg, runs one query and ends
 *                           (baselines/pg-one-query.mjs)                        target <= 1.5x
 *
 * and, for the record (no target), `user list --limit 1` on the same PostgreSQL database: what
 * the same question costs through the runtime and knex. Server: KAIJU_AUTH_BENCH_DATABASE_URL
 * (default postgres://postgres@127.0.0.1:5432/postgres); the PostgreSQL half is skipped when it
 * cannot be reached. Medians; results under "complete" in bench/results.json.
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import pg from 'pg';
import { BENCH_DIR, ROOT, WORK_DIR, interleaved, machine, mergeResults, runsFromEnv, summarize, timeProcess } from './lib/measure.mjs';
import { BENCH_ADMIN_URL, adminUrlFor } from './lib.mjs';

const BIN = path.join(ROOT, 'bin', 'kaiju-auth.js');
const node = process.execPath;

if (!existsSync(path.join(ROOT, 'dist', 'src', 'cli', 'main.js'))) {
  console.error('complete bench: dist/ is missing; run `npm run bench` (it builds) or `npm run build`');
  process.exit(2);
}

const env = { ...process.env };
for (const k of Object.keys(env)) if (/^(KAIJU_AUTH_|DATABASE_URL$|PG[A-Z]+$)/.test(k)) delete env[k];
const run = (args) => () => timeProcess(node, args, { cwd: ROOT, env });
const runs = runsFromEnv(20);

const dataDir = path.join(WORK_DIR, 'complete-db');
rmSync(dataDir, { recursive: true, force: true });
timeProcess(node, [BIN, 'init', '--quiet', '--data-dir', dataDir], { cwd: ROOT, env });
console.log(`embedded: ${runs} interleaved runs each of the bare PGlite script and kaiju-auth __complete ...`);
const samples = interleaved(
  {
    'bare PGlite open + 1 query': run([path.join(BENCH_DIR, 'baselines', 'pglite-one-query.mjs'), path.join(dataDir, 'pgdata')]),
    '__complete (embedded)': run([BIN, '__complete', 'users', 'a', '--data-dir', dataDir]),
  },
  { runs, warmup: 2 },
);
rmSync(dataDir, { recursive: true, force: true });

const database = `kaiju_bench_complete_${process.pid}`;
const admin = new pg.Client({ connectionString: BENCH_ADMIN_URL });
let server = true;
try {
  await admin.connect();
  await admin.query(`create database ${database}`);
} catch (err) {
  server = false;
  console.log(`PostgreSQL: skipped (${err.message})`);
}
if (server) {
  const url = adminUrlFor(BENCH_ADMIN_URL, database);
  try {
    timeProcess(node, [BIN, 'migrate', '--quiet', '--database-url', url], { cwd: ROOT, env });
    console.log(`PostgreSQL: ${runs} interleaved runs each of the bare pg script, kaiju-auth __complete and user list --limit 1 ...`);
    Object.assign(
      samples,
      interleaved(
        {
          'bare pg connect + 1 query': run([path.join(BENCH_DIR, 'baselines', 'pg-one-query.mjs'), url]),
          '__complete (PostgreSQL)': run([BIN, '__complete', 'users', 'a', '--database-url', url]),
          'user list --limit 1 (PostgreSQL)': run([BIN, 'user', 'list', '--limit', '1', '--quiet', '--database-url', url]),
        },
        { runs, warmup: 2 },
      ),
    );
  } finally {
    await admin.query(`drop database if exists ${database} with (force)`);
  }
}
await admin.end().catch(() => undefined);

const cases = Object.fromEntries(Object.entries(samples).map(([k, v]) => [k, summarize(v)]));
const ratio = (a, b) => Math.round((cases[a].median_ms / cases[b].median_ms) * 100) / 100;
const comparisons = [
  { name: 'embedded', subject: '__complete (embedded)', baseline: 'bare PGlite open + 1 query', target: 1.15 },
  ...(server ? [{ name: 'postgres', subject: '__complete (PostgreSQL)', baseline: 'bare pg connect + 1 query', target: 1.5 }] : []),
].map((c) => {
  const r = ratio(c.subject, c.baseline);
  return { ...c, ratio: r, met: r <= c.target };
});

const pad = (s, n) => String(s).padEnd(n);
console.log(`\n${pad('case', 34)} ${pad('median ms', 10)} ${pad('p25..p75 ms', 16)} runs`);
for (const [name, s] of Object.entries(cases)) {
  console.log(`${pad(name, 34)} ${pad(s.median_ms, 10)} ${pad(`${s.p25_ms}..${s.p75_ms}`, 16)} ${s.runs}`);
}
console.log(`\n${pad('ratio', 56)} ${pad('value', 7)} ${pad('target', 8)} result`);
for (const c of comparisons) {
  console.log(`${pad(`${c.subject} / ${c.baseline}`, 56)} ${pad(`${c.ratio}x`, 7)} ${pad(`<= ${c.target}x`, 8)} ${c.met ? 'met' : 'MISSED'}`);
}
if (server) console.log(`(for the record: user list --limit 1 / __complete on PostgreSQL ${ratio('user list --limit 1 (PostgreSQL)', '__complete (PostgreSQL)')}x)`);

mergeResults('complete', {
  measured_at: new Date().toISOString(),
  machine: machine(),
  cases,
  ratios: Object.fromEntries(comparisons.map((c) => [c.name, { subject: c.subject, baseline: c.baseline, ratio: c.ratio, target: c.target, met: c.met }])),
  all_met: comparisons.every((c) => c.met),
});
