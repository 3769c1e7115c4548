/**
 * The first minutes (issue 13 item 11): what `kaiju-auth init` costs on a new embedded data
 * directory, and how soon a command that takes seconds puts something on screen. Measured in the
 * same run, interleaved, against baselines:
 *
 *   kaiju-auth init (quick start: seeds       a bare script (baselines/pglite-initdb.mjs) that
 *   the repository's ./fixtures/users)        creates a PGlite cluster the way the tool does, then
 *                                             hashes as many passwords as init does at the same
 *                                             bcrypt cost
 *     peak memory (max RSS)                     target <= 1.3x
 *     wall time                                 target <= 1.5x
 *   time to the first byte on stderr of       node -e 0 (its whole run)  target <= 2.5x (0.3 s
 *   init and of status                        where node starts in ~0.11 s); ms printed as well
 *
 * Every run is a process of its own under /usr/bin/time (bench/lib/run-measured.mjs: wall, first
 * stderr byte, %M). Medians; results under "first_minutes" in bench/results.json. `status` against
 * a bare open + query is in startup.bench.mjs.
 */
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { BENCH_DIR, ROOT, WORK_DIR, interleaved, machine, mergeResults, runsFromEnv, summarize } from './lib/measure.mjs';

const BIN = path.join(ROOT, 'bin', 'kaiju-auth.js');
const BARE = path.join(BENCH_DIR, 'baselines', 'pglite-initdb.mjs');
const MEASURE = path.join(BENCH_DIR, 'lib', 'run-measured.mjs');
const node = process.execPath;
/** kaiju's default bcrypt cost, what the quick start hashes at (given explicitly to both sides). */
const COST = 13;

if (!existsSync(path.join(ROOT, 'dist', 'cli', 'main.js'))) {
  console.error('first-minutes bench: dist/ is missing; run `npm run bench` (it builds) or `npm run build`');
  process.exit(2);
}
if (!existsSync('/usr/bin/time')) {
  console.error('first-minutes bench: needs GNU time at /usr/bin/time (apt-get install time) for peak memory');
  process.exit(2);
}

const work = path.join(WORK_DIR, 'first-minutes');
rmSync(work, { recursive: true, force: true });
// init runs where the quick start runs it: a directory holding the repository's ./fixtures/users.
const cwd = path.join(work, 'project');
mkdirSync(cwd, { recursive: true });
cpSync(path.join(ROOT, 'fixtures'), path.join(cwd, 'fixtures'), { recursive: true });

const env = { ...process.env };
for (const k of Object.keys(env)) if (/^(KAIJU_AUTH_|DATABASE_URL$|PG[A-Z]+$)/.test(k)) delete env[k];
env.KAIJU_AUTH_BCRYPT_ROUNDS = String(COST);

// The passwords init hashes: users given one (a `password`, or by reference); a `password_hash`
// is stored as it is. Variables named by `password_env` get a password of their own.
const usersFile = path.join(cwd, 'fixtures', 'users', 'users.json');
const users = existsSync(usersFile) ? JSON.parse(readFileSync(usersFile, 'utf8')) : [];
let hashes = 0;
for (const u of users) {
  const d = u.data ?? {};
  if (typeof d.password_env === 'string') env[d.password_env] = `first-minutes bench password of ${d.username}`;
  if (d.password !== undefined || d.password_env !== undefined || d.password_file !== undefined) hashes += 1;
}

let fresh = 0;
const newDir = () => {
  const dir = path.join(work, `data-${(fresh += 1)}`);
  rmSync(dir, { recursive: true, force: true });
  return dir;
};

/** One measured process: {wall_ms, first_stderr_ms, maxrss_kb}; fails loudly unless it exits 0. */
function measured(args, options = {}) {
  const r = spawnSync(node, [MEASURE, node, ...args], { cwd: options.cwd ?? ROOT, env, encoding: 'utf8' });
  const line = r.stdout.trim().split('\n').pop() ?? '';
  let doc;
  try {
    doc = JSON.parse(line);
  } catch {
    throw new Error(`${args.join(' ')}: no measurement (${r.stderr})`);
  }
  if (doc.code !== 0) throw new Error(`${args.join(' ')} exited ${doc.code}: ${doc.stderr}`);
  options.after?.();
  return doc;
}

const memory = { 'bare initdb + hashes': [], 'kaiju-auth init': [] };
const firstByte = { 'kaiju-auth init': [], 'kaiju-auth status': [] };
const statusDir = newDir();
measured([BIN, 'init', '-q', '--data-dir', statusDir], { cwd: path.join(work) });

const cases = {
  'node -e 0': () => measured(['-e', '0']).wall_ms,
  'bare initdb + hashes': () => {
    const dir = newDir();
    const m = measured([BARE, path.join(dir, 'pgdata'), String(hashes), String(COST)], { after: () => rmSync(dir, { recursive: true, force: true }) });
    memory['bare initdb + hashes'].push(m.maxrss_kb);
    return m.wall_ms;
  },
  'kaiju-auth init': () => {
    const dir = newDir();
    const m = measured([BIN, 'init', '--data-dir', dir], { cwd, after: () => rmSync(dir, { recursive: true, force: true }) });
    memory['kaiju-auth init'].push(m.maxrss_kb);
    firstByte['kaiju-auth init'].push(m.first_stderr_ms);
    return m.wall_ms;
  },
  'kaiju-auth status': () => {
    const m = measured([BIN, 'status', '--data-dir', statusDir]);
    firstByte['kaiju-auth status'].push(m.first_stderr_ms);
    return m.wall_ms;
  },
};

const runs = runsFromEnv(7);
console.log(`first minutes: ${runs} interleaved runs each of ${Object.keys(cases).join(', ')} (init seeds ${hashes} password(s) at cost ${COST}) ...`);
const wall = interleaved(cases, { runs, warmup: 1, onRound: (n) => process.stdout.write(`  round ${n}/${runs}\r`) });
rmSync(work, { recursive: true, force: true });

const median = (values) => summarize(values).median_ms;
const round2 = (x) => Math.round(x * 100) / 100;
const summary = {
  wall: Object.fromEntries(Object.entries(wall).map(([k, v]) => [k, summarize(v)])),
  max_rss_mb: Object.fromEntries(Object.entries(memory).map(([k, v]) => [k, Math.round(median(v) / 102.4) / 10])),
  first_stderr: Object.fromEntries(Object.entries(firstByte).map(([k, v]) => [k, summarize(v)])),
};
const nodeMs = summary.wall['node -e 0'].median_ms;
const comparisons = [
  { name: 'init_memory', subject: 'kaiju-auth init max RSS', baseline: 'bare initdb + hashes max RSS', value: median(memory['kaiju-auth init']) / median(memory['bare initdb + hashes']), target: 1.3 },
  { name: 'init_wall', subject: 'kaiju-auth init', baseline: 'bare initdb + hashes', value: summary.wall['kaiju-auth init'].median_ms / summary.wall['bare initdb + hashes'].median_ms, target: 1.5 },
  { name: 'init_first_stderr', subject: 'init: first stderr byte', baseline: 'node -e 0', value: summary.first_stderr['kaiju-auth init'].median_ms / nodeMs, target: 2.5 },
  { name: 'status_first_stderr', subject: 'status: first stderr byte', baseline: 'node -e 0', value: summary.first_stderr['kaiju-auth status'].median_ms / nodeMs, target: 2.5 },
].map((c) => ({ ...c, ratio: round2(c.value), met: round2(c.value) <= c.target }));

const pad = (s, n) => String(s).padEnd(n);
console.log(`\n${pad('case', 24)} ${pad('median ms', 10)} ${pad('p25..p75 ms', 18)} ${pad('max RSS', 9)} first stderr byte (median)`);
for (const [name, s] of Object.entries(summary.wall)) {
  const rss = summary.max_rss_mb[name] !== undefined ? `${summary.max_rss_mb[name]} MB` : '';
  const fb = summary.first_stderr[name] ? `${summary.first_stderr[name].median_ms} ms` : '';
  console.log(`${pad(name, 24)} ${pad(s.median_ms, 10)} ${pad(`${s.p25_ms}..${s.p75_ms}`, 18)} ${pad(rss, 9)} ${fb}`);
}
console.log(`\n${pad('ratio', 58)} ${pad('value', 7)} ${pad('target', 8)} result`);
for (const c of comparisons) {
  console.log(`${pad(`${c.subject} / ${c.baseline}`, 58)} ${pad(`${c.ratio}x`, 7)} ${pad(`<= ${c.target}x`, 8)} ${c.met ? 'met' : 'MISSED'}`);
}

mergeResults('first_minutes', {
  measured_at: new Date().toISOString(),
  machine: machine(),
  passwords_hashed: hashes,
  bcrypt_cost: COST,
  ...summary,
  ratios: Object.fromEntries(comparisons.map((c) => [c.name, { subject: c.subject, baseline: c.baseline, ratio: c.ratio, target: c.target, met: c.met }])),
  all_met: comparisons.every((c) => c.met),
});
