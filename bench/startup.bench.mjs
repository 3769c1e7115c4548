/**
 * Startup cost of the CLI against the physical floor, measured in the same run, interleaved:
 *
 *   kaiju-auth --version, --help   vs  node -e 0            target <= 1.5x
 *   kaiju-auth status              vs  a bare script that opens the same PGlite directory
 *   (existing embedded database)       (its pgdata/) and runs one query    target <= 1.15x
 *
 * Medians of many runs; results under "startup" in bench/results.json.
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { BENCH_DIR, ROOT, WORK_DIR, interleaved, machine, mergeResults, runsFromEnv, summarize, timeProcess } from './lib/measure.mjs';

const BIN = path.join(ROOT, 'bin', 'kaiju-auth.js');
const BARE = path.join(BENCH_DIR, 'baselines', 'pglite-one-query.mjs');
const node = process.execPath;

if (!existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) {
  console.error('startup bench: dist/ is missing; run `npm run bench` (it builds) or `npm run build`');
  process.exit(2);
}

const dataDir = path.join(WORK_DIR, 'startup-db');
rmSync(dataDir, { recursive: true, force: true });
timeProcess(node, [BIN, 'init', '--quiet', '--data-dir', dataDir], { cwd: ROOT });

const env = { ...process.env };
for (const k of Object.keys(env)) if (/^(KAIJU_AUTH_|DATABASE_URL$|PG[A-Z]+$)/.test(k)) delete env[k];
const run = (args) => () => timeProcess(node, args, { cwd: ROOT, env });

const startupRuns = runsFromEnv(40);
console.log(`startup: ${startupRuns} interleaved runs each of node -e 0, kaiju-auth --version, kaiju-auth --help ...`);
const startup = interleaved(
  {
    'node -e 0': run(['-e', '0']),
    'kaiju-auth --version': run([BIN, '--version']),
    'kaiju-auth --help': run([BIN, '--help']),
  },
  { runs: startupRuns, warmup: 3 },
);

const statusRuns = runsFromEnv(20);
console.log(`status: ${statusRuns} interleaved runs each of the bare PGlite script and kaiju-auth status ...`);
const status = interleaved(
  {
    'bare PGlite open + 1 query': run([BARE, path.join(dataDir, 'pgdata')]),
    'kaiju-auth status': run([BIN, 'status', '--data-dir', dataDir]),
  },
  { runs: statusRuns, warmup: 2 },
);
rmSync(dataDir, { recursive: true, force: true });

const cases = Object.fromEntries(Object.entries({ ...startup, ...status }).map(([k, v]) => [k, summarize(v)]));
const median = (k) => cases[k].median_ms;
const ratio = (a, b) => Math.round((median(a) / median(b)) * 100) / 100;
const comparisons = [
  { name: 'version', subject: 'kaiju-auth --version', baseline: 'node -e 0', target: 1.5 },
  { name: 'help', subject: 'kaiju-auth --help', baseline: 'node -e 0', target: 1.5 },
  { name: 'status', subject: 'kaiju-auth status', baseline: 'bare PGlite open + 1 query', target: 1.15 },
].map((c) => {
  const r = ratio(c.subject, c.baseline);
  return { ...c, ratio: r, met: r <= c.target };
});

const pad = (s, n) => String(s).padEnd(n);
console.log(`\n${pad('case', 30)} ${pad('median ms', 10)} ${pad('p25..p75 ms', 16)} runs`);
for (const [name, s] of Object.entries(cases)) {
  console.log(`${pad(name, 30)} ${pad(s.median_ms, 10)} ${pad(`${s.p25_ms}..${s.p75_ms}`, 16)} ${s.runs}`);
}
console.log(`\n${pad('ratio', 44)} ${pad('value', 7)} ${pad('target', 8)} result`);
for (const c of comparisons) {
  console.log(`${pad(`${c.subject} / ${c.baseline}`, 44)} ${pad(`${c.ratio}x`, 7)} ${pad(`<= ${c.target}x`, 8)} ${c.met ? 'met' : 'MISSED'}`);
}

mergeResults('startup', {
  measured_at: new Date().toISOString(),
  machine: machine(),
  cases,
  ratios: Object.fromEntries(comparisons.map((c) => [c.name, { subject: c.subject, baseline: c.baseline, ratio: c.ratio, target: c.target, met: c.met }])),
  all_met: comparisons.every((c) => c.met),
});
