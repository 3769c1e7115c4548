/**
 * The worker pool of `token verify --batch` in-process (the built one: its workers run dist/), so
 * that what the workers answer is checked whatever the timing of a CLI run (where the main thread
 * may verify a small input alone before a worker is up): for a JWKS's imported keys and for the
 * keystore's rows (an active key, a revoked one, one past its verifies_until), every batch a
 * worker verifies is byte for byte what the main thread's verifyBatch gives; a batch a worker
 * cannot verify is rejected rather than waited for.
 */
import { generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { BatchSplitter, verifyBatch, type LineBatch } from '../../dist/src/cli/token-batch.js';
import { VerifyPool, type VerifyWorkerData } from '../../dist/src/cli/token-verify-pool.js';
import { importJwks, importedJwksResolver, parseJwks } from '../../dist/src/core/keys/jwks.js';
import { verifyingKeysResolver, type VerifyingKeyRow } from '../../dist/src/core/keys/key-queries.js';
import { TokenVerifier } from '../../dist/src/core/tokens/token-verifier.js';
import { lowS } from '../../dist/src/core/tokens/strict.js';
import type { KeyResolver } from '../../dist/src/core/keys/jwks.js';

const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64url');
const NOW = Math.floor(Date.now() / 1000);
const OPTIONS = { type: 'access' as const, clockSkew: 60, issuer: null, audience: null };

const keys: Record<string, KeyObject> = {};
let rows: VerifyingKeyRow[];
let lines: string[];

function sign(kid: string, key: KeyObject, claims: Record<string, unknown>): string {
  const input = `${b64(JSON.stringify({ typ: 'JWT', alg: 'ES256', kid }))}.${b64(JSON.stringify({ id: 'u', sub: 'u', permissions: ['p'], iat: NOW, exp: NOW + 600, jti: 'j', typ: 'access', ...claims }))}`;
  return `${input}.${b64(Buffer.from(lowS(cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' }))))}`;
}

function batches(text: string): LineBatch[] {
  const out: LineBatch[] = [];
  const splitter = new BatchSplitter(16 * 1024, 100);
  splitter.push(Buffer.from(text, 'latin1'), out);
  const last = splitter.end();
  if (last) out.push(last);
  return out;
}

/** What the workers must give: the main thread's own answer for each batch. */
async function compare(data: VerifyWorkerData, resolver: KeyResolver): Promise<number> {
  const text = `${lines.join('\n')}\n`;
  const expected = await Promise.all(batches(text).map((b) => verifyBatch(b, new TokenVerifier(resolver, OPTIONS))));
  const pool = new VerifyPool(2, data);
  try {
    while (!pool.hasRoom) await new Promise((r) => setTimeout(r, 10));
    const got = await Promise.all(batches(text).map((b) => pool.run(b)));
    got.forEach((g, i) => {
      expect(Buffer.from(g.output as Uint8Array).toString('utf8')).toBe(expected[i]?.output);
      expect(g.failed).toBe(expected[i]?.failed);
    });
    return got.reduce((n, g) => n + g.failed, 0);
  } finally {
    await pool.close();
  }
}

beforeAll(() => {
  for (const kid of ['active', 'revoked', 'retired']) keys[kid] = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  const jwk = (kid: string) => ({ ...(keys[kid] as KeyObject).export({ format: 'jwk' }), d: undefined, kid, alg: 'ES256', use: 'sig' });
  const row = (kid: string, state: VerifyingKeyRow['state'], verifiesUntil: number): VerifyingKeyRow =>
    ({ kid, alg: 'ES256', publicJwk: JSON.parse(JSON.stringify(jwk(kid))), verifiesUntil: new Date(verifiesUntil * 1000), state }) as VerifyingKeyRow;
  rows = [row('active', 'active', NOW + 3600), row('revoked', 'revoked', NOW + 3600), row('retired', 'retired', NOW - 10)];
  lines = [];
  for (let i = 0; i < 450; i += 1) {
    const kind = i % 10;
    if (kind === 1) lines.push(sign('revoked', keys.revoked as KeyObject, { jti: `r${i}` }));
    else if (kind === 2) lines.push(sign('retired', keys.retired as KeyObject, { jti: `t${i}` }));
    else if (kind === 3) lines.push(sign('active', keys.active as KeyObject, { exp: NOW - 3600, iat: NOW - 4000 }));
    else if (kind === 4) lines.push(`  garbage ${i}\r`);
    else if (kind === 5) lines.push('');
    else lines.push(sign('active', keys.active as KeyObject, { jti: `a${i}` }));
  }
});

describe('the verify pool (built) answers as the main thread does', () => {
  it('with the keystore rows: revoked and retired keys refused, each with its code', async () => {
    const failed = await compare({ keys: { keystore: rows }, options: OPTIONS }, verifyingKeysResolver(rows, () => new Date()));
    expect(failed).toBe(lines.filter((_, i) => [1, 2, 3, 4, 5].includes(i % 10)).length);
  });

  it("with a JWKS's imported keys", async () => {
    const jwks = parseJwks({ keys: rows.map((r) => r.publicJwk) });
    const imported = await importJwks(jwks);
    const failed = await compare({ keys: { jwks: imported }, options: OPTIONS }, importedJwksResolver(imported));
    // Offline there are no states: the revoked and retired keys' tokens verify.
    expect(failed).toBe(lines.filter((_, i) => [3, 4, 5].includes(i % 10)).length);
  });

  it('a batch a worker cannot verify is rejected, never waited for', async () => {
    const pool = new VerifyPool(1, { keys: { keystore: rows }, options: OPTIONS });
    try {
      while (!pool.hasRoom) await new Promise((r) => setTimeout(r, 10));
      const broken = { first: 1n, data: new Uint8Array(4), ends: new Float64Array([1]) } as unknown as LineBatch;
      await expect(pool.run(broken)).rejects.toThrow(/token verify worker/);
    } finally {
      await pool.close();
    }
  });
});
