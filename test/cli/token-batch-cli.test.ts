/**
 * `token verify --batch --jwks` on worker threads (issue 15 item 4): a batch of more than one
 * batch of lines goes to a pool of workers; its output is byte for byte the single-threaded one
 * (`--threads 1`): every line answered in input order, each with its code, too-long lines refused
 * without being kept, exit 3 when any failed and 0 when none did; a slow reader is waited for;
 * the workers load no database driver; Ctrl-C, SIGTERM and SIGHUP while workers run exit
 * 130 / 143 / 129; `--threads` and KAIJU_AUTH_VERIFY_THREADS are checked (exit 2). Against the
 * keystore (no `--jwks`) the workers are handed its keys' public sides and states: the same
 * answers as on one thread, a revoked key's tokens refused, on both databases.
 */
import { createPrivateKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { existsSync, readdirSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyMaterial, type KeyMaterial } from '../../src/core/keys/key-material.js';
import { signTokenPair } from '../../src/core/tokens/issue.js';
import { resolveTokenSettings } from '../../src/core/tokens/settings.js';
import { lowS } from '../../src/core/tokens/strict.js';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, spawnCli, tempDir, type CliOptions, type CliTarget } from '../support/cli.js';

const FORBID = fileURLToPath(new URL('../support/forbid-db-modules.mjs', import.meta.url));
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
/** Lines in a batch (token-batch.ts BATCH_LINES): inputs here span several. */
const BATCH = 512;

interface BatchLine {
  line: number;
  valid: boolean;
  claims?: { jti: string };
  error?: { code: string };
}
const jsonLines = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as BatchLine);
const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64url');

afterAll(removeTempDirs);

describe('token verify --batch --jwks on worker threads', () => {
  let jwks: string;
  /** [line text, expected outcome: 'ok' or an error code] */
  let kinds: [string, string][];
  let valid: string[];
  const verify = (args: string[], options: CliOptions = {}) => runCli(['token', 'verify', '--batch', '--jwks', jwks, ...args], options);

  beforeAll(async () => {
    const es: KeyMaterial = await generateKeyMaterial('ES256');
    const ed: KeyMaterial = await generateKeyMaterial('EdDSA');
    const stranger = await generateKeyMaterial('ES256');
    const now = Math.floor(Date.now() / 1000);
    jwks = path.join(await tempDir(), 'jwks.json');
    await writeFile(jwks, JSON.stringify({ keys: [{ ...es.publicJwk, exp: now + 7200 }, ed.publicJwk] }));
    const signer = (m: KeyMaterial) => ({ kid: m.publicJwk.kid, alg: m.alg, privateKey: m.privateKey, signsUntil: new Date((now + 3600) * 1000) });
    const settings = resolveTokenSettings();
    valid = [];
    for (let i = 0; i < 40; i += 1) valid.push((await signTokenPair(signer(i % 2 ? ed : es), { id: `u${i}`, permissions: ['p'] }, settings, new Date())).access);
    const { refresh } = await signTokenPair(signer(es), { id: 'r', permissions: [] }, settings, new Date());
    const raw = (claims: object, high = false, header: string = JSON.stringify({ typ: 'JWT', alg: 'ES256', kid: es.publicJwk.kid })) => {
      const input = `${b64(header)}.${b64(JSON.stringify({ id: 'u', sub: 'u', permissions: [], iat: now, exp: now + 600, jti: 'j', typ: 'access', ...claims }))}`;
      let sig = Buffer.from(lowS(cryptoSign('sha256', Buffer.from(input), { key: es.privateKey, dsaEncoding: 'ieee-p1363' })));
      if (high) sig = Buffer.concat([sig.subarray(0, 32), Buffer.from((P256_N - BigInt(`0x${sig.subarray(32).toString('hex')}`)).toString(16).padStart(64, '0'), 'hex')]);
      return `${input}.${b64(sig)}`;
    };
    const [h, p, s] = (valid[0] as string).split('.') as [string, string, string];
    kinds = [
      ['refresh', 'auth.token.wrong_type'],
      [refresh, 'auth.token.wrong_type'],
      [raw({ iat: now - 4000, exp: now - 3000 }), 'auth.token.expired'],
      [raw({ nbf: now + 3600 }), 'auth.token.not_yet_valid'],
      [raw({ iat: now + 3600 }), 'auth.token.iat_future'],
      [raw({ exp: now + 9000 }), 'auth.token.exp_beyond_key'],
      [raw({}, true), 'auth.token.non_canonical_signature'],
      [raw({}, false, `{"typ":"JWT","alg":"ES256","kid":"${es.publicJwk.kid}","kid":"x"}`), 'auth.token.duplicate_member'],
      [`${h}.${p}.${s.slice(0, 10)}${s[10] === 'A' ? 'B' : 'A'}${s.slice(11)}`, 'auth.token.bad_signature'],
      [(await signTokenPair(signer(stranger), { id: 's', permissions: [] }, settings, new Date())).access, 'auth.token.unknown_key'],
      ['garbage', 'auth.token.invalid'],
      ['', 'auth.token.invalid'],
      ['   \t', 'auth.token.invalid'],
      [`${valid[1]}\r`, 'ok'],
      [`  ${valid[2]}  `, 'ok'],
      [`${'A'.repeat(20_000)}.B.C`, 'auth.token.too_large'],
      [`${valid[3]}\u00e9`, 'auth.token.invalid'],
    ];
    kinds[0] = [valid[4] as string, 'ok'];
  }, 60_000);

  /** `count` lines: mostly valid tokens, every kind of refusal in between; what each must give. */
  function mixed(count: number): { lines: string[]; expected: string[] } {
    const lines: string[] = [];
    const expected: string[] = [];
    for (let i = 0; i < count; i += 1) {
      const [text, outcome] = i % 5 === 2 ? (kinds[(i / 5) % kinds.length | 0] as [string, string]) : [valid[i % valid.length] as string, 'ok'];
      lines.push(text);
      expected.push(outcome);
    }
    return { lines, expected };
  }

  it('several batches: the same bytes out as on one thread, in order, each line its code; a 10 MB line refused unkept; exit 3', async () => {
    const { lines, expected } = mixed(BATCH * 5 + 17);
    // A 10 MB line in the middle (not buffered), and a last line without its newline.
    lines.splice(BATCH * 2 + 3, 0, `${'x'.repeat(10 * 1024 * 1024)}`);
    expected.splice(BATCH * 2 + 3, 0, 'auth.token.too_large');
    const input = lines.join('\n');
    const one = await verify(['--threads', '1', '--json'], { input });
    const two = await verify(['--threads', '2', '--json'], { input });
    const env = await verify(['--json'], { input, env: { KAIJU_AUTH_VERIFY_THREADS: '3' } });
    for (const r of [one, two, env]) {
      expect(r.code, r.stderr).toBe(3);
      expect(r.errorJson().error.code).toBe('auth.token.invalid');
      expect(r.errorJson().error.details).toEqual({ total: lines.length, failed: expected.filter((e) => e !== 'ok').length });
    }
    expect(two.stdout).toBe(one.stdout);
    expect(env.stdout).toBe(one.stdout);
    const out = jsonLines(two.stdout);
    expect(out.map((l) => l.line)).toEqual(lines.map((_, i) => i + 1));
    expect(out.map((l) => (l.valid ? 'ok' : l.error?.code))).toEqual(expected);
  });

  it('all valid: exit 0, with a slow reader, and the workers load no database driver', async () => {
    const lines = Array.from({ length: BATCH * 4 }, (_, i) => valid[i % valid.length] as string);
    const r = await verify(['--threads', '2'], { input: `${lines.join('\n')}\n`, stdoutDelayMs: 1500, nodeArgs: ['--import', FORBID] });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe(`kaiju-auth: ${lines.length} token(s) verified\n`);
    const out = jsonLines(r.stdout);
    expect(out.map((l) => l.line)).toEqual(lines.map((_, i) => i + 1));
    expect(out.every((l) => l.valid)).toBe(true);
  });

  const tasks = (pid: number) => readdirSync(`/proc/${pid}/task`).length;

  it.each([
    ['SIGINT', 130, 1],
    ['SIGTERM', 143, 2],
    ['SIGHUP', 129, 3],
  ] as const)('%s while the workers run: exit %i', { timeout: 120_000 }, async (signal, code, threads) => {
    // Three batches and a part: the workers start; stdin stays open, so the command waits for more.
    const { lines } = mixed(BATCH * 3 + 100);
    const run = await spawnCli(['token', 'verify', '--batch', '--jwks', jwks, '--threads', String(threads)], {
      input: `${lines.join('\n')}\n`,
      keepStdinOpen: true,
    });
    const deadline = Date.now() + 60_000;
    while (run.output().stdout.split('\n').length <= BATCH * 3 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    expect(run.output().stdout.split('\n').length).toBeGreaterThan(BATCH * 3);
    if (existsSync('/proc/self/task')) {
      // Each worker is a thread of the process (over node's own: those of a --threads 1 run).
      baseline[signal] = tasks(run.child.pid as number);
    }
    run.child.kill(signal);
    const r = await run.result;
    expect(r.code, r.stderr).toBe(code);
    expect(r.stderr).toContain('interrupted');
  });

  const baseline: Record<string, number> = {};
  it('those runs had a thread per worker', () => {
    if (!existsSync('/proc/self/task')) return;
    // --threads 2: this thread and one worker; --threads 3: two workers.
    expect(baseline.SIGTERM).toBeGreaterThanOrEqual((baseline.SIGINT as number) + 1);
    expect(baseline.SIGHUP).toBeGreaterThanOrEqual((baseline.SIGINT as number) + 2);
  });

  it('--threads and KAIJU_AUTH_VERIFY_THREADS: a whole number from 1 (exit 2 otherwise, nothing read)', async () => {
    const flag = await verify(['--threads', '0', '--json'], { input: `${valid[0]}\n` });
    expect([flag.code, flag.stdout]).toEqual([2, '']);
    expect(flag.stderr).toMatch(/integer from 1 to 256/);
    const env = await verify(['--json'], { input: `${valid[0]}\n`, env: { KAIJU_AUTH_VERIFY_THREADS: '2x' } });
    expect([env.code, env.stdout]).toEqual([2, '']);
    expect(env.stderr).toMatch(/KAIJU_AUTH_VERIFY_THREADS.*integer from 1 to 256/);
  });
});

describe.each(BACKENDS)('token verify --batch against the keystore on %s, on worker threads', (backend) => {
  let db: CliTarget;
  const keys: Record<string, KeyObject> = {};
  const env = { KAIJU_AUTH_LOCK_TIMEOUT: '120s', KAIJU_AUTH_SECRET: 'batch workers test secret, long enough' };
  const cli = (args: string[], options: CliOptions = {}) => runCli([...db.args, ...args], { ...options, env: { ...env, ...options.env } });

  beforeAll(async () => {
    db = await cliTarget(backend, { create: false });
    expect((await cli(['migrate', '-q'])).code).toBe(0);
    for (const kid of ['kept', 'leaked']) {
      const pem = String(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
      const file = path.join(db.tmp, `${kid}.pem`);
      await writeFile(file, pem, { mode: 0o600 });
      const imported = await cli(['keys', 'import', file, '--kid', kid, '--lifetime', '1h', '-q']);
      expect(imported.code, imported.stderr).toBe(0);
      keys[kid] = createPrivateKey(pem);
    }
    const revoked = await cli(['keys', 'revoke', 'leaked', '-y', '-q']);
    expect(revoked.code, revoked.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => db?.cleanup());

  it('several batches: the same bytes out with --threads 2 as with 1; a revoked key refused on every thread', async () => {
    const now = Math.floor(Date.now() / 1000);
    const sign = (kid: string, key: KeyObject, i: number) => {
      const input = `${b64(JSON.stringify({ typ: 'JWT', alg: 'ES256', kid }))}.${b64(JSON.stringify({ id: `u${i}`, sub: `u${i}`, permissions: [], iat: now, exp: now + 600, jti: `j${i}`, typ: 'access' }))}`;
      return `${input}.${b64(Buffer.from(lowS(cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }))))}`;
    };
    const lines: string[] = [];
    const expected: string[] = [];
    for (let i = 0; i < BATCH * 2 + 200; i += 1) {
      const pick = i % 9;
      if (pick === 4) [lines[i], expected[i]] = [sign('leaked', keys.leaked as KeyObject, i), 'auth.token.key_revoked'];
      else if (pick === 7) [lines[i], expected[i]] = [sign('nobody', keys.kept as KeyObject, i), 'auth.token.unknown_key'];
      else [lines[i], expected[i]] = [sign('kept', keys.kept as KeyObject, i), 'ok'];
    }
    const input = `${lines.join('\n')}\n`;
    const one = await cli(['token', 'verify', '--batch', '--threads', '1'], { input });
    const two = await cli(['token', 'verify', '--batch', '--threads', '2'], { input });
    for (const r of [one, two]) expect(r.code, r.stderr).toBe(3);
    expect(two.stdout).toBe(one.stdout);
    expect(jsonLines(two.stdout).map((l) => (l.valid ? 'ok' : l.error?.code))).toEqual(expected);
  });
});
