import { generateKeyPairSync } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { openPrivateKey, resolveSecret, sealPrivateKey } from '../../src/core/keys/key-crypto.js';
import { codeOf } from '../support/errors.js';

/** Cheap scrypt for tests of the envelope's logic (the default cost is covered once below). */
const CHEAP = { n: 1024, r: 8, p: 1 };
const SECRET = Buffer.from('correct horse battery staple 42');
const BINDING = { kid: 'k1', alg: 'ES256' };

function der(): Buffer {
  const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return privateKey.export({ format: 'der', type: 'pkcs8' });
}

describe('key envelope (AES-256-GCM under scrypt)', () => {
  it('round-trips with the default cost, and the ciphertext does not contain the key', async () => {
    const plain = der();
    const sealed = await sealPrivateKey(plain, SECRET, BINDING);
    expect(sealed.params).toMatchObject({ v: 1, kdf: 'scrypt', n: 32768, r: 8, p: 1, cipher: 'aes-256-gcm' });
    expect(sealed.ciphertext.length).toBe(plain.length + 16);
    expect(sealed.ciphertext.includes(plain.subarray(-32))).toBe(false);
    expect(await openPrivateKey(sealed, SECRET, BINDING)).toEqual(plain);
  });

  it('uses a fresh salt and IV every time', async () => {
    const plain = der();
    const a = await sealPrivateKey(plain, SECRET, BINDING, CHEAP);
    const b = await sealPrivateKey(plain, SECRET, BINDING, CHEAP);
    expect(a.params.salt).not.toBe(b.params.salt);
    expect(a.params.iv).not.toBe(b.params.iv);
    expect(a.ciphertext.equals(b.ciphertext)).toBe(false);
  });

  it('a wrong secret is auth.key.secret_invalid, never garbage', async () => {
    const sealed = await sealPrivateKey(der(), SECRET, BINDING, CHEAP);
    expect(await codeOf(openPrivateKey(sealed, Buffer.from('another secret of enough length'), BINDING))).toBe('auth.key.secret_invalid');
  });

  it('is bound to the kid and algorithm (a ciphertext moved to another row does not open)', async () => {
    const sealed = await sealPrivateKey(der(), SECRET, BINDING, CHEAP);
    expect(await codeOf(openPrivateKey(sealed, SECRET, { kid: 'k2', alg: 'ES256' }))).toBe('auth.key.secret_invalid');
    expect(await codeOf(openPrivateKey(sealed, SECRET, { kid: 'k1', alg: 'RS256' }))).toBe('auth.key.secret_invalid');
  });

  it('detects a tampered ciphertext', async () => {
    const sealed = await sealPrivateKey(der(), SECRET, BINDING, CHEAP);
    const bad = Buffer.from(sealed.ciphertext);
    bad[5] = (bad[5] ?? 0) ^ 1;
    expect(await codeOf(openPrivateKey({ params: sealed.params, ciphertext: bad }, SECRET, BINDING))).toBe('auth.key.secret_invalid');
    expect(await codeOf(openPrivateKey({ params: sealed.params, ciphertext: bad.subarray(0, 10) }, SECRET, BINDING))).toBe(
      'auth.key.invalid',
    );
  });

  it('refuses parameters it does not know', async () => {
    const sealed = await sealPrivateKey(der(), SECRET, BINDING, CHEAP);
    for (const params of [null, {}, { ...sealed.params, v: 2 }, { ...sealed.params, kdf: 'pbkdf2' }, { ...sealed.params, n: -1 }]) {
      expect(await codeOf(openPrivateKey({ params, ciphertext: sealed.ciphertext }, SECRET, BINDING))).toBe('auth.key.invalid');
    }
  });
});

describe('resolveSecret', () => {
  it('takes a string, bytes or a (lazy) function', async () => {
    expect(Buffer.from(await resolveSecret('0123456789abcdef')).toString()).toBe('0123456789abcdef');
    expect(Buffer.from(await resolveSecret(Buffer.from('0123456789abcdefX'))).toString()).toBe('0123456789abcdefX');
    expect(Buffer.from(await resolveSecret(async () => 'from a function, long')).toString()).toBe('from a function, long');
  });

  it('no secret or a short one is auth.key.secret_missing (a usage error)', async () => {
    expect(await codeOf(resolveSecret(null))).toBe('auth.key.secret_missing');
    expect(await codeOf(resolveSecret('short'))).toBe('auth.key.secret_missing');
    expect(await codeOf(resolveSecret(() => ''))).toBe('auth.key.secret_missing');
  });
});
