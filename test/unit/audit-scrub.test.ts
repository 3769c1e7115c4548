import { describe, expect, it } from 'vitest';
import { REDACTED, scrubSecrets } from '../../src/core/audit.js';

const HASH = '$2b$13$/MqmjCLV6kXOWbpryr0yROcQdgZvIO45fZwChL.lK2VBNcrRChtOG';
const PEM = '-----BEGIN PRIVATE KEY-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END PRIVATE KEY-----\n';
const JWT = 'eyJhbGciOiJFUzI1NiIsInR5cCI6IkpXVCJ9.eyJpZCI6IjEyMyJ9.c2lnbmF0dXJl';

describe('scrubSecrets', () => {
  it('redacts password, hash, salt and private key fields at any depth', () => {
    const input = {
      username: 'alice',
      password: 'hunter2 hunter2',
      fields: ['email', 'full_name'],
      user: {
        email: 'a@example.com',
        passwordHash: HASH,
        salt: '$2b$13$/MqmjCLV6kXOWbpryr0yRO',
        profile: { settings: { new_password: 'x1234567890ab', lang: 'en' } },
      },
      keys: [
        { kid: 'k1', alg: 'ES256', private_key: 'secret-ish', privateKeyPem: PEM, jwk: { d: 'x' } },
        { kid: 'k2', apiKey: 'abc', 'signing-key': 'def', key: 'ghi', keys_total: 2 },
      ],
      deep: [[{ hash: 'h', Salt: 's', PASSWORD: 'p', oldPassword: 'o', client_secret: 'c', refresh_token: 't' }]],
    };
    expect(scrubSecrets(input)).toEqual({
      username: 'alice',
      password: REDACTED,
      fields: ['email', 'full_name'],
      user: {
        email: 'a@example.com',
        passwordHash: REDACTED,
        salt: REDACTED,
        profile: { settings: { new_password: REDACTED, lang: 'en' } },
      },
      keys: [
        { kid: 'k1', alg: 'ES256', private_key: REDACTED, privateKeyPem: REDACTED, jwk: REDACTED },
        { kid: 'k2', apiKey: REDACTED, 'signing-key': REDACTED, key: REDACTED, keys_total: 2 },
      ],
      deep: [
        [
          {
            hash: REDACTED,
            Salt: REDACTED,
            PASSWORD: REDACTED,
            oldPassword: REDACTED,
            client_secret: REDACTED,
            refresh_token: REDACTED,
          },
        ],
      ],
    });
  });

  it('redacts values that are secrets whatever their field is called: bcrypt hashes, PEM, JWTs, bytes', () => {
    const out = scrubSecrets({ note: HASH, pem: PEM, value: PEM, t: JWT, list: [HASH, 'plain'], raw: Buffer.from('abc') });
    expect(out).toEqual({ note: REDACTED, pem: REDACTED, value: REDACTED, t: REDACTED, list: [REDACTED, 'plain'], raw: REDACTED });
    expect(JSON.stringify(out)).not.toMatch(/\$2b\$|BEGIN|eyJ/);
  });

  it('keeps everything else as it is, without touching the input', () => {
    const at = new Date('2026-01-01T00:00:00Z');
    const input = { kid: 'k1', count: 3, ok: true, none: null, at, ids: ['a', 'b'], monkey: 'm', keyboard: 'k' };
    expect(scrubSecrets(input)).toEqual(input);
    const nested = { password: 'p' };
    scrubSecrets({ nested });
    expect(nested.password).toBe('p');
    expect(scrubSecrets('plain')).toBe('plain');
    expect(scrubSecrets([1, 'two'])).toEqual([1, 'two']);
  });
});
