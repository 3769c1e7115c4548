import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { generateKeyMaterial, importPemKeyMaterial } from '../../src/core/keys/key-material.js';
import { parseJwks } from '../../src/core/keys/jwks.js';
import { codeOf } from '../support/errors.js';

const pem = (k: KeyObject, type: 'pkcs8' | 'pkcs1' | 'sec1' = 'pkcs8') => String(k.export({ format: 'pem', type } as never));

describe('key material', () => {
  it.each(['ES256', 'RS256', 'EdDSA'] as const)('generates %s with a public JWK and a 32-hex kid', async (alg) => {
    const m = await generateKeyMaterial(alg);
    expect(m.alg).toBe(alg);
    expect(m.publicJwk).toMatchObject({ alg, use: 'sig' });
    expect(m.publicJwk.kid).toMatch(/^[0-9a-f]{32}$/);
    expect(m.publicJwk).not.toHaveProperty('d');
    expect(m.privateDer.length).toBeGreaterThan(40);
  });

  it('the kid is stable for a key (thumbprint) and differs between keys', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const a = await importPemKeyMaterial(pem(privateKey));
    const b = await importPemKeyMaterial(pem(privateKey, 'sec1'));
    const c = await generateKeyMaterial('ES256');
    expect(a.publicJwk.kid).toBe(b.publicJwk.kid);
    expect(a.publicJwk.kid).not.toBe(c.publicJwk.kid);
  });

  it('imports RSA >= 2048 (PKCS#8 and PKCS#1), EC P-256 (PKCS#8 and SEC1) and Ed25519', async () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey;
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    const ed = generateKeyPairSync('ed25519').privateKey;
    expect((await importPemKeyMaterial(pem(rsa))).alg).toBe('RS256');
    expect((await importPemKeyMaterial(pem(rsa, 'pkcs1'))).alg).toBe('RS256');
    expect((await importPemKeyMaterial(pem(ec))).alg).toBe('ES256');
    expect((await importPemKeyMaterial(pem(ec, 'sec1'))).alg).toBe('ES256');
    expect((await importPemKeyMaterial(pem(ed))).alg).toBe('EdDSA');
    expect((await importPemKeyMaterial(pem(ed), { kid: 'legacy-2024.1' })).publicJwk.kid).toBe('legacy-2024.1');
  });

  it('refuses weak, unsupported, public, encrypted and malformed keys', async () => {
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const p384 = generateKeyPairSync('ec', { namedCurve: 'P-384' });
    const ed448 = generateKeyPairSync('ed448');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const encrypted = String(
      ec.privateKey.export({ format: 'pem', type: 'pkcs8', cipher: 'aes-256-cbc', passphrase: 'pass phrase' }),
    );
    for (const text of [
      pem(rsa1024.privateKey),
      pem(p384.privateKey),
      pem(ed448.privateKey),
      String(ec.publicKey.export({ format: 'pem', type: 'spki' })),
      encrypted,
      'not a key',
      '-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n',
    ]) {
      expect(await codeOf(importPemKeyMaterial(text))).toBe('auth.key.invalid');
    }
    expect(await codeOf(importPemKeyMaterial(pem(ec.privateKey), { kid: 'has space' }))).toBe('auth.key.invalid');
    expect(await codeOf(importPemKeyMaterial(pem(ec.privateKey), { kid: '' }))).toBe('auth.key.invalid');
  });
});

describe('parseJwks', () => {
  it('accepts public signing keys, infers EC/OKP algorithms, skips encryption keys', async () => {
    const m = await generateKeyMaterial('ES256');
    const { alg: _alg, ...noAlg } = m.publicJwk;
    const jwks = parseJwks({ keys: [noAlg, { ...m.publicJwk, kid: 'enc', use: 'enc' }] });
    expect(jwks.keys).toHaveLength(1);
    expect(jwks.keys[0]).toMatchObject({ kid: m.publicJwk.kid, alg: 'ES256', use: 'sig' });
  });

  it('refuses non-JWKS documents, private members, HMAC keys, missing kid, RSA without alg', async () => {
    const ec = await generateKeyMaterial('ES256');
    const rsa = await generateKeyMaterial('RS256');
    const { alg: _alg, ...rsaNoAlg } = rsa.publicJwk;
    for (const doc of [
      null,
      [],
      { keys: 'x' },
      { keys: [{ ...ec.publicJwk, d: 'secret' }] },
      { keys: [{ kty: 'oct', k: 'c2VjcmV0', kid: 'h', alg: 'HS256' }] },
      { keys: [{ kty: 'oct', kid: 'h', alg: 'HS256' }] },
      { keys: [{ ...ec.publicJwk, kid: undefined }] },
      { keys: [rsaNoAlg] },
      { keys: [{ ...ec.publicJwk, alg: 'none' }] },
      { keys: [42] },
    ]) {
      expect(await codeOf(() => parseJwks(doc))).toBe('data.file_invalid');
    }
  });
});
