/**
 * Tokens stricter than jose's defaults (issue 11 item 9): each of these verified before, each is
 * now refused with its own code: `iat` in the future, `exp` beyond the signing key's
 * `verifies_until`, a duplicate member in the header (or claims), a high-S ECDSA signature, a
 * token over the size limit. Offline here (a JWKS resolver); the keystore and the CLI in
 * test/cli/token-strict-cli.test.ts.
 */
import { sign as cryptoSign } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyMaterial, type KeyMaterial } from '../../src/core/keys/key-material.js';
import { jwksResolver, parseJwks } from '../../src/core/keys/jwks.js';
import { signToken, signTokenPair } from '../../src/core/tokens/issue.js';
import { verifyToken } from '../../src/core/tokens/verify.js';
import { MAX_TOKEN_LENGTH, resolveTokenSettings } from '../../src/core/tokens/settings.js';
import { duplicateMember, isHighS, isPlainObjectText, lowS } from '../../src/core/tokens/strict.js';
import fc from 'fast-check';
import { isKaijuAuthError } from '../../src/errors.js';
import type { TokenClaims } from '../../src/core/tokens/claims.js';
import { codeOf } from '../support/errors.js';

const b64 = (text: string) => Buffer.from(text).toString('base64url');
const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');

/** A compact JWS over exactly these header and claims texts (duplicates and all), low-S. */
function signRaw(m: KeyMaterial, header: string, claims: string): string {
  const input = `${b64(header)}.${b64(claims)}`;
  const signature = cryptoSign(m.alg === 'EdDSA' ? null : 'sha256', Buffer.from(input), { key: m.privateKey, dsaEncoding: 'ieee-p1363' });
  return `${input}.${Buffer.from(m.alg === 'ES256' ? lowS(signature) : signature).toString('base64url')}`;
}

/** The other signature of the same token: (r, n - s). */
function flipS(token: string): string {
  const dot = token.lastIndexOf('.');
  const sig = Buffer.from(token.slice(dot + 1), 'base64url');
  const s = BigInt(`0x${sig.subarray(32).toString('hex')}`);
  const flipped = Buffer.concat([sig.subarray(0, 32), Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex')]);
  return `${token.slice(0, dot + 1)}${flipped.toString('base64url')}`;
}

describe('strict token checks', () => {
  let key: KeyMaterial;
  let now: number;
  let claims: TokenClaims;
  const verifiesUntil = () => now + 3600;
  const resolver = () => jwksResolver(parseJwks({ keys: [{ ...key.publicJwk, exp: verifiesUntil() }] }));
  const verify = (token: string, options = {}) => verifyToken(token, resolver(), options);
  const header = () => JSON.stringify({ typ: 'JWT', alg: 'ES256', kid: key.publicJwk.kid });

  beforeAll(async () => {
    key = await generateKeyMaterial('ES256');
    now = Math.floor(Date.now() / 1000);
    claims = { id: 'u1', sub: 'u1', permissions: ['a'], iat: now, exp: now + 600, jti: 'j1', typ: 'access' };
  });

  it('a well-formed token of ours verifies (the control)', async () => {
    expect(await codeOf(verify(signRaw(key, header(), JSON.stringify(claims))))).toBe('ok');
  });

  it('iat an hour in the future: auth.token.iat_future; within the clock skew: fine', async () => {
    const future = signRaw(key, header(), JSON.stringify({ ...claims, iat: now + 3600 }));
    expect(await codeOf(verify(future))).toBe('auth.token.iat_future');
    const skewed = signRaw(key, header(), JSON.stringify({ ...claims, iat: now + 30 }));
    expect(await codeOf(verify(skewed))).toBe('ok');
    expect(await codeOf(verify(skewed, { clockSkew: 0 }))).toBe('auth.token.iat_future');
  });

  it("exp beyond the key's verifies_until (JWKS exp): auth.token.exp_beyond_key; without exp in the JWKS it cannot be known", async () => {
    const far = signRaw(key, header(), JSON.stringify({ ...claims, exp: now + 10 * 365 * 86400 }));
    expect(await codeOf(verify(far))).toBe('auth.token.exp_beyond_key');
    const atDeadline = signRaw(key, header(), JSON.stringify({ ...claims, exp: verifiesUntil() }));
    expect(await codeOf(verify(atDeadline))).toBe('ok');
    const bare = jwksResolver(parseJwks({ keys: [key.publicJwk] }));
    expect(await codeOf(verifyToken(far, bare))).toBe('ok');
  });

  it.each([
    ['a repeated header member', '{"typ":"JWT","alg":"ES256","kid":"KID","kid":"KID"}', null],
    ['a repeated header member, escaped', '{"typ":"JWT","alg":"ES256","kid":"KID","\\u006bid":"KID"}', null],
    ['a repeated alg', '{"typ":"JWT","alg":"ES256","kid":"KID","alg":"ES256"}', null],
    ['a repeated claim', null, '{"id":"u1","sub":"u1","permissions":[],"iat":NOW,"exp":EXP,"jti":"j","typ":"refresh","typ":"access"}'],
    ['a repeated member of a nested object', null, '{"id":"u1","sub":"u1","permissions":[],"iat":NOW,"exp":EXP,"jti":"j","typ":"access","x":{"a":1,"a":2}}'],
  ])('%s: auth.token.duplicate_member', async (_name, h, c) => {
    const headerText = (h ?? header()).replace(/KID/g, key.publicJwk.kid);
    const claimsText = (c ?? JSON.stringify(claims)).replace('NOW', String(now)).replace('EXP', String(now + 600));
    expect(await codeOf(verify(signRaw(key, headerText, claimsText)))).toBe('auth.token.duplicate_member');
  });

  it('the same members in different objects are no duplicates', () => {
    expect(duplicateMember('{"a":{"a":1,"b":[{"a":2},{"a":3}]},"b":"\\"a\\""}')).toBeNull();
    expect(duplicateMember('{"a":1,"b":{"c":2},"a":3}')).toBe('a');
    expect(duplicateMember('{"a\\"":1,"a\\u0022":2}')).toBe('a"');
    expect(duplicateMember('["a","a"]')).toBeNull();
  });

  it('a high-S ECDSA signature: auth.token.non_canonical_signature; its low-S twin verifies', async () => {
    const token = signRaw(key, header(), JSON.stringify(claims));
    const sig = Buffer.from(token.split('.')[2] as string, 'base64url');
    const high = isHighS(sig) ? token : flipS(token);
    const low = isHighS(sig) ? flipS(token) : token;
    expect(await codeOf(verify(high))).toBe('auth.token.non_canonical_signature');
    expect(await codeOf(verify(low))).toBe('ok');
    expect(isHighS(lowS(Buffer.from(high.split('.')[2] as string, 'base64url')))).toBe(false);
  });

  it('our signer only makes low-S ES256 signatures', async () => {
    const signer = { kid: key.publicJwk.kid, alg: key.alg, privateKey: key.privateKey, signsUntil: new Date((now + 3000) * 1000) };
    for (let i = 0; i < 200; i += 1) {
      const token = await signToken(signer, { ...claims, jti: `j${i}` });
      expect(isHighS(Buffer.from(token.split('.')[2] as string, 'base64url'))).toBe(false);
      expect(await codeOf(verify(token))).toBe('ok');
    }
  });

  it(`a token over ${MAX_TOKEN_LENGTH} bytes (a 10 MB one too): auth.token.too_large, nothing decoded`, async () => {
    const padded = signRaw(key, header(), JSON.stringify({ ...claims, pad: 'x'.repeat(MAX_TOKEN_LENGTH) }));
    expect(await codeOf(verify(padded))).toBe('auth.token.too_large');
    expect(await codeOf(verify(`${'A'.repeat(10 * 1024 * 1024)}.B.C`))).toBe('auth.token.too_large');
    // Just under the limit is judged on its merits.
    const base = signRaw(key, header(), JSON.stringify({ ...claims, pad: '' }));
    const room = MAX_TOKEN_LENGTH - base.length;
    const fits = signRaw(key, header(), JSON.stringify({ ...claims, pad: 'x'.repeat(Math.floor((room * 3) / 4) - 4) }));
    expect(fits.length).toBeLessThanOrEqual(MAX_TOKEN_LENGTH);
    expect(await codeOf(verify(fits))).toBe('ok');
  });

  it('issuing refuses a token over the limit instead of making one that cannot verify', async () => {
    const signer = { kid: key.publicJwk.kid, alg: key.alg, privateKey: key.privateKey, signsUntil: new Date((now + 3000) * 1000) };
    const many = Array.from({ length: 2000 }, (_, i) => `permission.number.${i}`);
    const err = await signTokenPair(signer, { id: 'u1', permissions: many }, resolveTokenSettings(), new Date()).catch((e: unknown) => e);
    expect(isKaijuAuthError(err) && err.code).toBe('data.invalid');
  });
});

describe('isPlainObjectText: text known to be its own JSON.stringify without writing it again', () => {
  const keysOf = (text: string) => Object.keys(JSON.parse(text) as object).length;
  const plain = (text: string) => isPlainObjectText(text, keysOf(text));

  it('claims as JWT libraries write them are plain', () => {
    for (const text of [
      '{}',
      '{"id":"00000000-0000-4000-8000-000000000000","permissions":["users.read","users.write"],"iat":1796424235,"exp":1796427835,"sub":"u","jti":"j","typ":"access"}',
      '{"a":[],"b":true,"c":false,"d":null,"e":0,"f":-5,"g":123456789012345,"h":"","i":" !#[]~"}',
    ]) {
      expect(plain(text)).toBe(true);
      expect(JSON.stringify(JSON.parse(text))).toBe(text);
    }
  });

  it.each([
    ['a repeated name', '{"a":1,"a":2}'],
    ['a repeated name hidden by a value that opens with a colon', '{"a":":","a":":"}'],
    ['-0', '{"a":-0}'],
    ['a fraction', '{"a":1.0}'],
    ['an exponent', '{"a":1e3}'],
    ['a 16-digit integer', '{"a":1234567890123456}'],
    ['a leading zero', '{"a":01}'],
    ['an index-like name', '{"b":1,"1":2}'],
    ['an escape', '{"a":"\\u0061"}'],
    ['an escaped slash', '{"a":"\\/"}'],
    ['whitespace', '{ "a":1}'],
    ['a nested object', '{"a":{"b":1,"b":2}}'],
    ['an array of arrays', '{"a":[[1]]}'],
    ['non-ASCII', '{"a":"é"}'],
    ['a control character', '{"a":"\t"}'],
    ['text after the object', '{"a":1}{'],
  ])('%s is not plain', (_what, text) => {
    let keys = 0;
    try {
      keys = keysOf(text);
    } catch {
      // Not JSON: any key count.
    }
    expect(isPlainObjectText(text, keys)).toBe(false);
  });

  it('whatever it calls plain is its JSON.stringify, for generated JSON objects in many spellings', () => {
    const member = fc.tuple(
      fc.oneof(fc.constantFrom('a', 'b', '1', '01', '__proto__', 'toJSON', ''), fc.string({ maxLength: 4 })),
      fc.oneof(
        fc.jsonValue({ maxDepth: 2 }),
        fc.constantFrom('-0', '1.0', '1e3', '1234567890123456', '"\\u0061"', '"\\/"', '[1 ]', ' 1', '-12', '0'),
      ),
    );
    let plainSeen = 0;
    fc.assert(
      fc.property(fc.array(member, { maxLength: 6 }), fc.constantFrom(',', ', '), (members, sep) => {
        const text = `{${members.map(([k, v]) => `${JSON.stringify(k)}:${typeof v === 'string' && /^[-\d"[ ]/.test(v) ? v : JSON.stringify(v)}`).join(sep)}}`;
        let parsed: object;
        try {
          parsed = JSON.parse(text) as object;
        } catch {
          return;
        }
        if (isPlainObjectText(text, Object.keys(parsed).length)) {
          plainSeen += 1;
          expect(JSON.stringify(parsed)).toBe(text);
        }
      }),
      { numRuns: 3000 },
    );
    expect(plainSeen).toBeGreaterThan(100);
  });
});
