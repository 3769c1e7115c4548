/**
 * Verification without a database: tokens signed with in-memory keys, verified through a JWKS
 * resolver (as `token verify --jwks` does) and through jose's own JWKS helper (as an outside
 * service would).
 */
import { createHmac, createPublicKey } from 'node:crypto';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { generateKeyMaterial, type KeyMaterial } from '../../src/core/keys/key-material.js';
import { jwksResolver, parseJwks, type Jwks } from '../../src/core/keys/jwks.js';
import type { SigningKey } from '../../src/core/keys/keystore.js';
import { signToken, signTokenPair } from '../../src/core/tokens/issue.js';
import { verifyToken } from '../../src/core/tokens/verify.js';
import { resolveTokenSettings } from '../../src/core/tokens/settings.js';
import { inspectToken } from '../../src/core/tokens/inspect.js';
import type { TokenClaims } from '../../src/core/tokens/claims.js';
import { codeOf } from '../support/errors.js';

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

function signer(m: KeyMaterial, signsUntil = new Date(Date.now() + 86400_000)): SigningKey {
  return { kid: m.publicJwk.kid, alg: m.alg, privateKey: m.privateKey, signsUntil };
}

const SETTINGS = resolveTokenSettings();
const USER = { id: '7b0c3a4e-1f2d-4c5b-8a9e-0d1c2b3a4f5e', permissions: ['users.write', 'users.read'] };

describe.each(['ES256', 'RS256', 'EdDSA'] as const)('tokens signed with %s', (alg) => {
  let key: KeyMaterial;
  let jwks: Jwks;
  beforeAll(async () => {
    key = await generateKeyMaterial(alg);
    jwks = parseJwks({ keys: [key.publicJwk] });
  });

  it('round trip: header {typ, alg, kid}; claims verified by our resolver and by jose createLocalJWKSet', async () => {
    const now = new Date();
    const pair = await signTokenPair(signer(key), USER, SETTINGS, now);
    const [h] = pair.access.split('.');
    expect(JSON.parse(Buffer.from(h as string, 'base64url').toString())).toEqual({ typ: 'JWT', alg, kid: key.publicJwk.kid });
    const claims = await verifyToken(pair.access, jwksResolver(jwks));
    const iat = Math.floor(now.getTime() / 1000);
    expect(claims).toMatchObject({ id: USER.id, sub: USER.id, permissions: ['users.read', 'users.write'], typ: 'access', iat, exp: iat + 1000 });
    expect(await verifyToken(pair.refresh, jwksResolver(jwks), { type: 'refresh' })).toMatchObject({
      typ: 'refresh',
      permissions: [],
      exp: iat + 86400,
    });
    const outside = await jwtVerify(pair.access, createLocalJWKSet(JSON.parse(JSON.stringify(jwks))));
    expect(outside.payload.id).toBe(USER.id);
    expect(outside.protectedHeader.kid).toBe(key.publicJwk.kid);
  });
});

describe('verification refuses', () => {
  let key: KeyMaterial;
  let other: KeyMaterial;
  let jwks: Jwks;
  let access: string;
  let refresh: string;
  beforeAll(async () => {
    key = await generateKeyMaterial('ES256');
    other = await generateKeyMaterial('ES256');
    jwks = parseJwks({ keys: [key.publicJwk] });
    ({ access, refresh } = await signTokenPair(signer(key), USER, SETTINGS, new Date()));
  });
  const verify = (token: string, options = {}) => verifyToken(token, jwksResolver(jwks), options);

  it('alg none', async () => {
    const [, payload] = access.split('.');
    const none = `${b64({ alg: 'none', typ: 'JWT', kid: key.publicJwk.kid })}.${payload}.`;
    expect(await codeOf(verify(none))).toBe('auth.token.invalid');
  });

  it('HS256 keyed with the public key', async () => {
    const [, payload] = access.split('.');
    const header = b64({ alg: 'HS256', typ: 'JWT', kid: key.publicJwk.kid });
    for (const secret of [
      String(createPublicKey(key.privateKey).export({ format: 'pem', type: 'spki' })),
      JSON.stringify(key.publicJwk),
    ]) {
      const sig = createHmac('sha256', secret).update(`${header}.${payload}`).digest('base64url');
      expect(await codeOf(verify(`${header}.${payload}.${sig}`))).toBe('auth.token.invalid');
    }
  });

  it('a tampered payload or signature', async () => {
    const [h, p, s] = access.split('.') as [string, string, string];
    const claims = JSON.parse(Buffer.from(p, 'base64url').toString()) as TokenClaims;
    const forged = b64({ ...claims, permissions: [...claims.permissions, 'system'] });
    expect(await codeOf(verify(`${h}.${forged}.${s}`))).toBe('auth.token.bad_signature');
    const flipped = s.slice(0, 10) + (s[10] === 'A' ? 'B' : 'A') + s.slice(11);
    expect(await codeOf(verify(`${h}.${p}.${flipped}`))).toBe('auth.token.bad_signature');
  });

  it('an unknown kid, and a right kid signed by another key', async () => {
    const stranger = await signTokenPair(signer(other), USER, SETTINGS, new Date());
    expect(await codeOf(verify(stranger.access))).toBe('auth.token.unknown_key');
    const impostor = await signTokenPair({ ...signer(other), kid: key.publicJwk.kid }, USER, SETTINGS, new Date());
    expect(await codeOf(verify(impostor.access))).toBe('auth.token.bad_signature');
  });

  it('expired (beyond the clock skew), accepted within it', async () => {
    const old = await signTokenPair(signer(key), USER, SETTINGS, new Date(Date.now() - 1030_000));
    expect(await codeOf(verify(old.access, { clockSkew: 0 }))).toBe('auth.token.expired');
    expect((await verify(old.access, { clockSkew: 60 })).id).toBe(USER.id);
  });

  it('not yet valid (nbf)', async () => {
    const iat = Math.floor(Date.now() / 1000);
    const claims: TokenClaims = {
      id: USER.id,
      sub: USER.id,
      permissions: [],
      typ: 'access',
      iat,
      exp: iat + 1000,
      jti: 'j',
      nbf: iat + 600,
    };
    const token = await signToken(signer(key), claims);
    expect(await codeOf(verify(token))).toBe('auth.token.not_yet_valid');
    expect((await verify(token, { now: new Date((iat + 601) * 1000) })).jti).toBe('j');
  });

  it('the wrong type: refresh as access, access as refresh', async () => {
    expect(await codeOf(verify(refresh))).toBe('auth.token.wrong_type');
    expect(await codeOf(verify(access, { type: 'refresh' }))).toBe('auth.token.wrong_type');
    expect((await verify(refresh, { type: 'any' })).typ).toBe('refresh');
  });

  it('a wrong issuer or audience when configured', async () => {
    const s = resolveTokenSettings({ issuer: 'https://auth.example', audience: 'api' });
    const pair = await signTokenPair(signer(key), USER, s, new Date());
    expect((await verify(pair.access, { issuer: 'https://auth.example', audience: 'api' })).iss).toBe('https://auth.example');
    expect(await codeOf(verify(pair.access, { issuer: 'https://evil.example' }))).toBe('auth.token.claim_invalid');
    expect(await codeOf(verify(pair.access, { audience: 'other' }))).toBe('auth.token.claim_invalid');
    expect(await codeOf(verify(access, { issuer: 'https://auth.example' }))).toBe('auth.token.claim_invalid');
  });

  it('garbage, and a token without kid', async () => {
    for (const t of ['', 'abc', 'a.b', 'a.b.c.d', '!!.??.%%', `${b64({ alg: 'ES256' })}.${b64({})}.AAAA`]) {
      expect(await codeOf(verify(t))).toBe('auth.token.invalid');
    }
  });

  it('exp is capped at the key deadline', async () => {
    const deadline = new Date(Date.now() + 300_500);
    const pair = await signTokenPair(signer(key, deadline), USER, SETTINGS, new Date());
    const claims = await verify(pair.refresh, { type: 'refresh' });
    expect(claims.exp).toBe(Math.floor(deadline.getTime() / 1000));
  });
});

describe('inspectToken', () => {
  it('decodes without verifying, with the expiry in terms of now', async () => {
    const key = await generateKeyMaterial('ES256');
    const now = new Date();
    const { access } = await signTokenPair(signer(key), USER, SETTINGS, now);
    const seen = inspectToken(access, new Date(now.getTime() + 400_000));
    expect(seen.verified).toBe(false);
    expect(seen.header).toEqual({ typ: 'JWT', alg: 'ES256', kid: key.publicJwk.kid });
    expect(seen.type).toBe('access');
    expect(seen.expired).toBe(false);
    expect(seen.expiresInSeconds).toBeGreaterThan(590);
    expect(inspectToken(access, new Date(now.getTime() + 2000_000)).expired).toBe(true);
    expect(() => inspectToken('nope')).toThrow(/not a JWT/);
  });
});
