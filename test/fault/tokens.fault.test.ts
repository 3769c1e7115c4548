/**
 * Hostile tokens, generated (issue 12 fault suite): random text, JWT-shaped junk, and mutations of
 * a valid token (a flipped character, a cut, a swapped part, a forged header, a high-S signature,
 * a duplicate member, a future iat, an exp beyond the key, padding past the size limit). Through
 * the core's `verifyToken` in-process (thousands of cases), then a smaller number through
 * `kaiju-auth token verify --jwks`, one by one and in one `--batch`. Every case gets its
 * documented outcome: valid for the genuine tokens only; otherwise exit 3 with a documented
 * `auth.token.*` code (exit 2 `auth.token.missing` for a blank argument); never exit 1, never a
 * stack trace. Counts are printed; fewer cases under CI=true.
 */
import { sign as cryptoSign } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyMaterial, type KeyMaterial } from '../../src/core/keys/key-material.js';
import { jwksResolver, parseJwks, type KeyResolver } from '../../src/core/keys/jwks.js';
import { verifyToken } from '../../src/core/tokens/verify.js';
import { MAX_TOKEN_LENGTH } from '../../src/core/tokens/settings.js';
import { isHighS, lowS } from '../../src/core/tokens/strict.js';
import { ERROR_KINDS, isKaijuAuthError } from '../../src/errors.js';
import { removeTempDirs, runCli, tempDir } from '../support/cli.js';

const CI = process.env.CI === 'true';
const RUNS = CI ? 2000 : 6000;
const CLI_SINGLE = CI ? 10 : 30;
const CLI_BATCH = CI ? 300 : 1000;
const counts: Record<string, number> = {};
const count = (name: string, n = 1) => (counts[name] = (counts[name] ?? 0) + n);

/** The codes `token verify` documents for a token it refuses (exit 3). */
const TOKEN_CODES = new Set(Object.keys(ERROR_KINDS).filter((c) => c.startsWith('auth.token.') && c !== 'auth.token.missing'));
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const b64 = (v: string | Buffer) => Buffer.from(v).toString('base64url');

let key: KeyMaterial;
let other: KeyMaterial;
let resolver: KeyResolver;
let jwksFile: string;
let now: number;
const VERIFIES_FOR = 3600;

afterAll(async () => {
  console.log(`fault/tokens: ${Object.entries(counts).map(([k, n]) => `${n} ${k}`).join(', ')}`);
  await removeTempDirs();
});

function signRaw(m: KeyMaterial, header: string, claims: string, high = false): string {
  const input = `${b64(header)}.${b64(claims)}`;
  let sig: Uint8Array = cryptoSign('sha256', Buffer.from(input), { key: m.privateKey, dsaEncoding: 'ieee-p1363' });
  sig = lowS(sig);
  if (high) {
    const s = BigInt(`0x${Buffer.from(sig.subarray(32)).toString('hex')}`);
    sig = Buffer.concat([sig.subarray(0, 32), Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex')]);
  }
  return `${input}.${b64(Buffer.from(sig))}`;
}

/** A token case: the text and what must come of it ('valid', a code, or 'any refusal'). */
interface Case {
  kind: string;
  token: string;
  expect: 'valid' | 'refused' | string;
}

function header(extra: Record<string, unknown> = {}) {
  return JSON.stringify({ typ: 'JWT', alg: 'ES256', kid: key.publicJwk.kid, ...extra });
}
function claims(extra: Record<string, unknown> = {}) {
  return JSON.stringify({ id: 'u1', sub: 'u1', permissions: ['p'], iat: now, exp: now + 600, jti: 'j', typ: 'access', ...extra });
}

const junk = fc.oneof(fc.string({ unit: 'binary', maxLength: 200 }), fc.string({ unit: 'grapheme-ascii', maxLength: 300 }));
const part = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }).map((v) => b64(JSON.stringify(v))),
  fc.base64String({ maxLength: 60 }).map((s) => s.replace(/=/g, '')),
  fc.string({ unit: 'grapheme-ascii', maxLength: 40 }),
);

function cases(): fc.Arbitrary<Case> {
  const good = fc.nat({ max: 10_000 }).map((i): Case => ({ kind: 'genuine', token: signRaw(key, header(), claims({ jti: `j${i}` })), expect: 'valid' }));
  const random = junk.map((token): Case => ({ kind: 'random text', token, expect: 'refused' }));
  const shaped = fc.tuple(part, part, part).map(([h, c, s]): Case => ({ kind: 'JWT-shaped junk', token: `${h}.${c}.${s}`, expect: 'refused' }));
  const mutated = fc.tuple(fc.nat(), fc.constantFrom(...'AZaz09-_.= \t%'.split(''))).map(([at, ch]): Case => {
    const token = signRaw(key, header(), claims());
    const i = at % token.length;
    const changed = `${token.slice(0, i)}${ch}${token.slice(i + 1)}`;
    return { kind: 'one character changed', token: changed, expect: changed.trim() === token ? 'valid' : 'refused' };
  });
  const cut = fc.nat().map((at): Case => {
    const token = signRaw(key, header(), claims());
    return { kind: 'cut short', token: token.slice(0, 1 + (at % (token.length - 1))), expect: 'refused' };
  });
  const targeted = fc
    .constantFrom(
      (): Case => ({ kind: 'iat in the future', token: signRaw(key, header(), claims({ iat: now + 3600 })), expect: 'auth.token.iat_future' }),
      (): Case => ({ kind: 'exp beyond the key', token: signRaw(key, header(), claims({ exp: now + VERIFIES_FOR + 3600 })), expect: 'auth.token.exp_beyond_key' }),
      (): Case => ({ kind: 'duplicate member', token: signRaw(key, header().replace('}', ',"alg":"ES256"}'), claims()), expect: 'auth.token.duplicate_member' }),
      (): Case => ({ kind: 'high-S', token: signRaw(key, header(), claims(), true), expect: 'auth.token.non_canonical_signature' }),
      (): Case => ({ kind: 'too large', token: signRaw(key, header(), claims({ pad: 'x'.repeat(MAX_TOKEN_LENGTH) })), expect: 'auth.token.too_large' }),
      (): Case => ({ kind: 'expired', token: signRaw(key, header(), claims({ iat: now - 4000, exp: now - 3000 })), expect: 'auth.token.expired' }),
      (): Case => ({ kind: 'unknown key', token: signRaw(other, header({ kid: 'stranger' }), claims()), expect: 'auth.token.unknown_key' }),
      (): Case => ({ kind: 'another key under our kid', token: signRaw(other, header(), claims()), expect: 'auth.token.bad_signature' }),
      (): Case => ({ kind: 'alg none', token: `${b64(header({ alg: 'none' }))}.${b64(claims())}.`, expect: 'auth.token.invalid' }),
      (): Case => ({ kind: 'refresh as access', token: signRaw(key, header(), claims({ typ: 'refresh' })), expect: 'auth.token.wrong_type' }),
    )
    .map((make) => make());
  return fc.oneof(
    { arbitrary: good, weight: 1 },
    { arbitrary: random, weight: 3 },
    { arbitrary: shaped, weight: 3 },
    { arbitrary: mutated, weight: 4 },
    { arbitrary: cut, weight: 1 },
    { arbitrary: targeted, weight: 3 },
  );
}

/** What verifying `c` must give: 'valid', or the code (for 'refused': any documented token code). */
function check(c: Case, outcome: { valid: true } | { valid: false; code: string }): void {
  if (c.expect === 'valid') {
    expect(outcome, c.kind).toEqual({ valid: true });
  } else {
    expect(outcome.valid, `${c.kind}: ${JSON.stringify(c.token.slice(0, 80))}`).toBe(false);
    const code = (outcome as { code: string }).code;
    if (c.expect === 'refused') expect(TOKEN_CODES.has(code), `${c.kind}: ${code}`).toBe(true);
    else expect(code, c.kind).toBe(c.expect);
  }
}

beforeAll(async () => {
  key = await generateKeyMaterial('ES256');
  other = await generateKeyMaterial('ES256');
  now = Math.floor(Date.now() / 1000);
  const jwks = { keys: [{ ...key.publicJwk, exp: now + VERIFIES_FOR }] };
  resolver = jwksResolver(parseJwks(jwks));
  jwksFile = path.join(await tempDir(), 'jwks.json');
  await writeFile(jwksFile, JSON.stringify(jwks));
});

describe('token verification under generated input', () => {
  it('in-process (verifyToken): the documented outcome for every case, never another exception', async () => {
    await fc.assert(
      fc.asyncProperty(cases(), async (c) => {
        count('in-process cases');
        let outcome: { valid: true } | { valid: false; code: string };
        try {
          await verifyToken(c.token, resolver);
          outcome = { valid: true };
        } catch (err) {
          if (!isKaijuAuthError(err)) throw new Error(`${c.kind}: not a coded error: ${String(err)}`);
          expect(err.kind).toBe('auth');
          outcome = { valid: false, code: err.code };
        }
        check(c, outcome);
      }),
      { numRuns: RUNS },
    );
    // The generator reaches the strict checks, not only jose's.
    expect(isHighS(Buffer.from(signRaw(key, header(), claims(), true).split('.')[2] as string, 'base64url'))).toBe(true);
  });

  it('through the CLI, one argument at a time: exit 0 / 2 / 3 as documented, never 1, no stack', { timeout: 600_000 }, async () => {
    const samples = fc.sample(cases().filter((c) => !c.token.includes('\0') && c.token.length < 100_000), { numRuns: CLI_SINGLE });
    for (const c of samples) {
      count('CLI single-token runs');
      const r = await runCli(['token', 'verify', '--jwks', jwksFile, '--json', '--', c.token]);
      expect(r.stderr).not.toMatch(/\n\s+at /);
      if (c.token.trim() === '' || c.token === '-') {
        expect([r.code, r.errorJson().error.code], c.kind).toEqual([2, 'auth.token.missing']);
        continue;
      }
      expect([0, 3], `${c.kind}: ${r.stderr}`).toContain(r.code);
      check(c, r.code === 0 ? { valid: true } : { valid: false, code: r.errorJson().error.code });
    }
  });

  it('through the CLI in one --batch: one line out per line in, each with its documented outcome', { timeout: 600_000 }, async () => {
    const samples = fc.sample(cases().filter((c) => !/[\n\r]/.test(c.token)), { numRuns: CLI_BATCH });
    count('CLI batch lines', samples.length);
    const r = await runCli(['token', 'verify', '--batch', '--jwks', jwksFile], { input: `${samples.map((c) => c.token).join('\n')}\n` });
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { line: number; valid: boolean; error?: { code: string } });
    expect(lines).toHaveLength(samples.length);
    lines.forEach((l, i) => {
      expect(l.line).toBe(i + 1);
      const c = samples[i] as Case;
      // A blank line is an invalid token in a batch (not a missing argument).
      const expected = c.token.trim() === '' ? { ...c, expect: 'auth.token.invalid' } : c;
      check(expected, l.valid ? { valid: true } : { valid: false, code: l.error?.code as string });
    });
    expect(r.code).toBe(lines.every((l) => l.valid) ? 0 : 3);
  });
});
