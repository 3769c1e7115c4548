/**
 * Issue 5 benchmark: `kaiju-auth token verify --batch --jwks FILE` over 100k valid ES256 tokens,
 * as a ratio of throughput to a bare script that verifies the same tokens with jose concurrently
 * in one process (same input file on stdin, same JWKS). Target >= 0.8. Both are whole processes,
 * timed from spawn to exit, so start-up counts on both sides; the CLI also writes one JSON line
 * per token (drained by this script), the bare script only counts.
 *
 * The machine may be shared: runs alternate between the two, medians are reported, and each
 * process's own CPU time (user + system, read at its exit) is reported too, as a ratio that
 * other load on the machine disturbs less than wall time does.
 *
 * Env: BENCH_TOKENS (default 100000), BENCH_RUNS (default 5).
 */
import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { createReadStream } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { generateKeyMaterial } from '../dist/src/core/keys/key-material.js';
import { signTokenPair } from '../dist/src/core/tokens/issue.js';
import { resolveTokenSettings } from '../dist/src/core/tokens/settings.js';
import { median, recordResult } from './lib.mjs';

const TOKENS = Number(process.env.BENCH_TOKENS || 100_000);
const RUNS = Number(process.env.BENCH_RUNS || 5);
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

// Preloaded into both processes: their CPU time, written to stderr as they exit.
const CPU_PROBE = `data:text/javascript,${encodeURIComponent(
  "process.on('exit', () => { const u = process.cpuUsage(); process.stderr.write('\\n@@cpu ' + (u.user + u.system) / 1000 + '\\n'); });",
)}`;

/** Run a process with the tokens on stdin: wall and CPU time in ms; output drained and counted. */
function timed(args) {
  return new Promise((resolve, reject) => {
    const start = process.hrtime.bigint();
    const child = spawn(process.execPath, ['--import', CPU_PROBE, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1' } });
    let lines = 0;
    let last = '';
    let stderr = '';
    child.stdout.on('data', (c) => {
      for (let i = 0; i < c.length; i += 1) if (c[i] === 10) lines += 1;
      last = c.toString('utf8').slice(-200);
    });
    child.stderr.on('data', (c) => (stderr += c));
    child.on('error', reject);
    child.on('close', (code) => {
      const ms = Number(process.hrtime.bigint() - start) / 1e6;
      const cpu = Number(/@@cpu ([\d.]+)/.exec(stderr)?.[1] ?? NaN);
      if (code !== 0) reject(new Error(`${args.join(' ')} exited ${code}: ${stderr.slice(0, 500)}`));
      else resolve({ ms, cpu, lines, last });
    });
    createReadStream(TOKENS_FILE).pipe(child.stdin);
  });
}

console.log(`token verify: preparing ${TOKENS} ES256 tokens...`);
await prepare();
const ours = [];
const bare = [];
const runBare = async () => {
  const b = await timed([BARE, JWKS_FILE]);
  if (Number(b.last.trim()) !== TOKENS) throw new Error(`bare script verified ${b.last.trim()} of ${TOKENS}`);
  bare.push(b);
  return b;
};
const runOurs = async () => {
  const o = await timed([BIN, 'token', 'verify', '--batch', '--jwks', JWKS_FILE, '-q']);
  if (o.lines !== TOKENS) throw new Error(`kaiju-auth printed ${o.lines} lines for ${TOKENS} tokens`);
  ours.push(o);
  return o;
};
for (let run = 0; run < RUNS; run += 1) {
  // Alternate which goes first, so drift in machine load hits both sides alike.
  let o;
  let b;
  if (run % 2 === 0) {
    b = await runBare();
    o = await runOurs();
  } else {
    o = await runOurs();
    b = await runBare();
  }
  console.log(
    `  run ${run + 1}: kaiju-auth ${(o.ms / 1000).toFixed(2)} s (cpu ${(o.cpu / 1000).toFixed(2)} s), ` +
      `bare jose ${(b.ms / 1000).toFixed(2)} s (cpu ${(b.cpu / 1000).toFixed(2)} s)`,
  );
}
const oursMs = median(ours.map((r) => r.ms));
const bareMs = median(bare.map((r) => r.ms));
const oursTps = TOKENS / (oursMs / 1000);
const bareTps = TOKENS / (bareMs / 1000);
const ratio = oursTps / bareTps;
const cpuRatio = median(bare.map((r) => r.cpu)) / median(ours.map((r) => r.cpu));
console.log(`token verify --batch --jwks: ${Math.round(oursTps)} tokens/s; bare jose script: ${Math.round(bareTps)} tokens/s`);
console.log(`ratio ${ratio.toFixed(3)} (target >= 0.8): ${ratio >= 0.8 ? 'met' : 'NOT met'}; CPU-time ratio ${cpuRatio.toFixed(3)}`);
await recordResult('token_verify_batch', {
  tokens: TOKENS,
  runs: RUNS,
  kaiju_auth_median_ms: oursMs,
  bare_jose_median_ms: bareMs,
  kaiju_auth_tokens_per_s: oursTps,
  bare_jose_tokens_per_s: bareTps,
  ratio,
  cpu_ratio: cpuRatio,
  target: 0.8,
  met: ratio >= 0.8,
});
