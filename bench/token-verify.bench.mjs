/**
 * Issue 15 item 4 benchmark: `kaiju-auth token verify --batch --jwks FILE` over 100k valid ES256
 * tokens, against the hardware: `openssl speed -multi $(nproc) ecdsap256`, the verifications per
 * second OpenSSL itself does on every core (target: ours >= 0.7 of it), and, as before, a bare
 * script that verifies the same tokens with jose concurrently in one process (issue 5's peer).
 *
 * Ours and the bare script are whole processes, timed from spawn to exit, so start-up counts; ours
 * also writes one JSON line per token (drained here). OpenSSL's figure is its own count of
 * verifications in `-seconds` seconds (it signs for as long first; only the verify figure is used).
 *
 * The machine may be shared: each round runs every case, in a rotating order, and the ratio is
 * taken within each round as well as between medians; the load average is printed with them.
 * Each process's CPU time (user + system, its worker threads included) is reported too, and
 * compared with `openssl speed ecdsap256` alone, which counts verifications per second of its own
 * CPU time: a ratio that load on the machine disturbs far less than the one by the clock.
 *
 * Env: BENCH_TOKENS (default 100000), BENCH_RUNS (default 5), BENCH_OPENSSL_SECONDS (default 3).
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import os from 'node:os';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { generateKeyMaterial } from '../dist/src/core/keys/key-material.js';
import { signTokenPair } from '../dist/src/core/tokens/issue.js';
import { resolveTokenSettings } from '../dist/src/core/tokens/settings.js';
import { median, recordResult } from './lib.mjs';

const TOKENS = Number(process.env.BENCH_TOKENS || 100_000);
const RUNS = Number(process.env.BENCH_RUNS || 5);
const OPENSSL_SECONDS = Number(process.env.BENCH_OPENSSL_SECONDS || 3);
const TARGET = 0.7;
const CPUS = os.availableParallelism();
const ROOT = fileURLToPath(new URL('..', import.meta.url));
const WORK = path.join(ROOT, 'bench', '.work', 'token-verify');
const BIN = path.join(ROOT, 'bin', 'kaiju-auth.js');
const TOKENS_FILE = path.join(WORK, 'tokens.txt');
const JWKS_FILE = path.join(WORK, 'jwks.json');
const BARE = path.join(WORK, 'bare-verify.mjs');

// The peer: what a service would write with jose alone. Reads all tokens, verifies them all at
// once (jose + WebCrypto run the signatures on libuv's threads), prints the count of valid ones.
const BARE_SCRIPT = `
import { readFileSync } from 'node:fs';
import { createLocalJWKSet, jwtVerify } from ${JSON.stringify(path.join(ROOT, 'node_modules', 'jose', 'dist', 'webapi', 'index.js'))};
const jwks = createLocalJWKSet(JSON.parse(readFileSync(process.argv[2], 'utf8')));
const chunks = [];
for await (const c of process.stdin) chunks.push(c);
const tokens = Buffer.concat(chunks).toString('utf8').split('\\n').filter((l) => l !== '');
const results = await Promise.allSettled(tokens.map((t) => jwtVerify(t, jwks, { algorithms: ['ES256'] })));
const valid = results.filter((r) => r.status === 'fulfilled').length;
process.stdout.write(valid + '\\n');
process.exit(valid === tokens.length ? 0 : 3);
`;

async function prepare() {
  await mkdir(WORK, { recursive: true });
  const key = await generateKeyMaterial('ES256');
  const signing = { kid: key.publicJwk.kid, alg: key.alg, privateKey: key.privateKey, signsUntil: new Date(Date.now() + 86400_000) };
  const settings = resolveTokenSettings({ accessTtl: 3600 });
  const lines = [];
  const now = new Date();
  for (let i = 0; i < TOKENS; i += 1000) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(1000, TOKENS - i) }, (_, j) =>
        signTokenPair(signing, { id: `00000000-0000-4000-8000-${String(i + j).padStart(12, '0')}`, permissions: ['users.read', 'users.write'] }, settings, now),
      ),
    );
    for (const pair of batch) lines.push(pair.access);
  }
  await writeFile(TOKENS_FILE, `${lines.join('\n')}\n`);
  await writeFile(JWKS_FILE, JSON.stringify({ keys: [key.publicJwk] }));
  await writeFile(BARE, BARE_SCRIPT);
}

// Preloaded into both node processes: their CPU time (process-wide: worker threads included),
// written to stderr as the main thread exits.
const CPU_PROBE = `data:text/javascript,${encodeURIComponent(
  "import { isMainThread } from 'node:worker_threads'; if (isMainThread) process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('\\n@@cpu ' + (u.user + u.system) / 1000 + '\\n'); });",
)}`;

/** Run a node process with the tokens on stdin: wall and CPU time in ms; output drained and its lines counted. */
function timed(args) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--import', CPU_PROBE, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let lines = 0;
    let tail = Buffer.alloc(0);
    let stderr = '';
    // Drained cheaply (this process shares the CPUs with the one measured).
    child.stdout.on('data', (c) => {
      for (let i = c.indexOf(10); i !== -1; i = c.indexOf(10, i + 1)) lines += 1;
      tail = c.length >= 200 ? c.subarray(c.length - 200) : Buffer.concat([tail, c]).subarray(-200);
    });
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const cpu = Number(/@@cpu ([\d.]+)/.exec(stderr)?.[1] ?? NaN);
      if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`));
      else resolve({ ms, cpu, lines, last: tail.toString('utf8') });
    });
    createReadStream(TOKENS_FILE).pipe(child.stdin);
  });
}

/**
 * `openssl speed [-multi N] ecdsap256`: its ECDSA P-256 verifications a second. With `-multi` the
 * sum over N processes by the clock; alone, per second of its own CPU time (OpenSSL's default).
 */
function opensslVerifyRate(multi) {
  const args = ['speed', '-seconds', String(OPENSSL_SECONDS), ...(multi ? ['-multi', String(CPUS)] : []), 'ecdsap256'];
  const r = spawnSync('openssl', args, { encoding: 'utf8' });
  const m = /ecdsa\s*\(nistp256\)\s+\S+s\s+\S+s\s+([\d.]+)\s+([\d.]+)/.exec(r.stdout);
  if (r.status !== 0 || !m) throw new Error(`openssl ${args.join(' ')}: no ecdsa (nistp256) figures (exit ${r.status}): ${r.stdout.slice(-300)}${r.stderr.slice(-300)}`);
  return Number(m[2]);
}

const hasOpenssl = !spawnSync('openssl', ['version']).error;
if (!hasOpenssl) console.log('token verify: openssl not found: the ratio to the hardware is skipped (install openssl for it)');
console.log(`token verify: preparing ${TOKENS} ES256 tokens (${CPUS} CPUs; load average ${os.loadavg().map((l) => l.toFixed(2)).join(' ')})...`);
await prepare();
const ours = [];
const bare = [];
const openssl = [];
const opensslCpu = [];
const roundRatios = [];
const cpuRatios = [];
const cases = {
  openssl: () => {
    const rate = opensslVerifyRate(true);
    openssl.push(rate);
    return rate;
  },
  opensslCpu: () => {
    const rate = opensslVerifyRate(false);
    opensslCpu.push(rate);
    return rate;
  },
  ours: async () => {
    const o = await timed([BIN, 'token', 'verify', '--batch', '--jwks', JWKS_FILE, '-q']);
    if (o.lines !== TOKENS) throw new Error(`kaiju-auth printed ${o.lines} lines for ${TOKENS} tokens`);
    ours.push(o);
    return o;
  },
  bare: async () => {
    const b = await timed([BARE, JWKS_FILE]);
    if (Number(b.last.trim()) !== TOKENS) throw new Error(`bare script verified ${b.last.trim()} of ${TOKENS}`);
    bare.push(b);
    return b;
  },
};
const names = hasOpenssl ? ['openssl', 'ours', 'opensslCpu', 'bare'] : ['ours', 'bare'];
for (let run = 0; run < RUNS; run += 1) {
  // A rotating order, so drift in machine load hits every side alike.
  const order = [...names.slice(run % names.length), ...names.slice(0, run % names.length)];
  const got = {};
  for (const name of order) got[name] = await cases[name]();
  const oursTps = TOKENS / (got.ours.ms / 1000);
  const vsOpenssl = got.openssl ? oursTps / got.openssl : null;
  // Per second of CPU time on both sides: what load on the machine disturbs least.
  const cpuRatio = got.opensslCpu ? TOKENS / (got.ours.cpu / 1000) / got.opensslCpu : null;
  if (vsOpenssl !== null) roundRatios.push(vsOpenssl);
  if (cpuRatio !== null) cpuRatios.push(cpuRatio);
  console.log(
    `  run ${run + 1}: kaiju-auth ${(got.ours.ms / 1000).toFixed(2)} s = ${Math.round(oursTps)}/s (cpu ${(got.ours.cpu / 1000).toFixed(2)} s), ` +
      `bare jose ${(got.bare.ms / 1000).toFixed(2)} s (cpu ${(got.bare.cpu / 1000).toFixed(2)} s)` +
      (got.openssl ? `, openssl -multi ${Math.round(got.openssl)} verify/s: ratio ${vsOpenssl.toFixed(3)}` : '') +
      (got.opensslCpu ? `; per CPU-second: openssl ${Math.round(got.opensslCpu)}, ours ${Math.round(TOKENS / (got.ours.cpu / 1000))}: ratio ${cpuRatio.toFixed(3)}` : '') +
      `; load ${os.loadavg()[0].toFixed(2)}`,
  );
}
const oursMs = median(ours.map((r) => r.ms));
const bareMs = median(bare.map((r) => r.ms));
const oursTps = TOKENS / (oursMs / 1000);
const bareTps = TOKENS / (bareMs / 1000);
const opensslRate = hasOpenssl ? median(openssl) : null;
const ratio = opensslRate ? oursTps / opensslRate : null;
const roundRatio = roundRatios.length ? median(roundRatios) : null;
const cpuEfficiency = cpuRatios.length ? median(cpuRatios) : null;
const bareRatio = oursTps / bareTps;
const cpuRatio = median(bare.map((r) => r.cpu)) / median(ours.map((r) => r.cpu));
const load = os.loadavg();
console.log(
  `token verify --batch --jwks: ${Math.round(oursTps)} tokens/s; bare jose script: ${Math.round(bareTps)} tokens/s (ratio ${bareRatio.toFixed(3)}, CPU-time ratio ${cpuRatio.toFixed(3)})`,
);
if (opensslRate) {
  console.log(`openssl speed -multi ${CPUS} ecdsap256: ${Math.round(opensslRate)} verify/s`);
  console.log(
    `ratio to openssl ${ratio.toFixed(3)} (medians; per round: median ${roundRatio.toFixed(3)}, ${Math.min(...roundRatios).toFixed(3)}-${Math.max(...roundRatios).toFixed(3)}) ` +
      `(target >= ${TARGET}): ${roundRatio >= TARGET ? 'met' : 'NOT met'}; load average ${load.map((l) => l.toFixed(2)).join(' ')}`,
  );
  console.log(
    `per CPU-second (openssl speed alone, ${Math.round(median(opensslCpu))} verify/s): ratio ${cpuEfficiency.toFixed(3)} ` +
      `(${Math.min(...cpuRatios).toFixed(3)}-${Math.max(...cpuRatios).toFixed(3)}): the ratio a quiet machine would show, less start-up`,
  );
}
await recordResult('token_verify_batch', {
  tokens: TOKENS,
  runs: RUNS,
  cpus: CPUS,
  kaiju_auth_median_ms: oursMs,
  kaiju_auth_tokens_per_s: oursTps,
  bare_jose_median_ms: bareMs,
  bare_jose_tokens_per_s: bareTps,
  ratio_to_bare_jose: bareRatio,
  cpu_ratio_to_bare_jose: cpuRatio,
  openssl_verify_per_s: opensslRate,
  ratio_to_openssl: ratio,
  ratio_to_openssl_per_round: roundRatios,
  openssl_verify_per_cpu_s: hasOpenssl ? median(opensslCpu) : null,
  cpu_ratio_to_openssl: cpuEfficiency,
  cpu_ratio_to_openssl_per_round: cpuRatios,
  target: TARGET,
  met: roundRatio === null ? null : roundRatio >= TARGET,
  load_average: load,
});
