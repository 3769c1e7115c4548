/**
 * A wrong key secret never seals or uses a key (issue 11 item 1): every operation that writes or
 * uses a private key proves the secret against the keystore's verifier first, also when every key
 * has expired or been pruned, and otherwise fails with `auth.key.secret_invalid` having written
 * nothing. A keystore from before the verifier gets one from the first secret that opens its
 * signing key.
 */
import { generateKeyPairSync } from 'node:crypto';
import { beforeEach, expect, it } from 'vitest';
import type { KaijuAuth } from '../../src/core/auth.js';
import { checkKeySecret } from '../../src/core/keys/secret-verifier.js';
import { describeOnBackends } from '../support/db.js';
import { Clock, HOUR, KEY_SECRET, codeOf, keyAuth } from '../support/keys.js';

const WRONG = 'not the key secret, but long enough';
const PEM = String(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }));

describeOnBackends('the key secret is proven before use', (t) => {
  let clock: Clock;
  let good: KaijuAuth;
  const wrong = () => keyAuth(t, clock, { keySecret: WRONG });
  const snapshot = async () => ({
    keys: await t.knex('keystore').select('kid', 'state', 'signs_until', 'verifies_until', 'private_key_enc').orderBy('kid'),
    verifier: await t.knex('keystore_verifier').select('sealed', 'enc_params'),
    audit: await t.knex('audit_log').select('id', 'command').orderBy('id'),
  });
  /** Every operation that seals or opens a private key, with the wrong secret: refused, nothing written. */
  async function expectAllRefused(label: string) {
    const before = await snapshot();
    const ops: [string, () => Promise<unknown>][] = [
      ['rotate', () => wrong().keys.rotate()],
      ['rotate --if-older-than', () => wrong().keys.rotate({ ifOlderThan: 12 * 3600 })],
      ['import', () => wrong().keys.importPem(PEM, { kid: 'imported-wrong' })],
      ['ensureSigningKey (init)', () => wrong().keys.ensureSigningKey()],
      ['signingKey (token issue)', () => wrong().keys.signingKey()],
      ['tokens.issueWithoutPassword', () => wrong().tokens.issueWithoutPassword('nobody')],
      ['tokens.refresh', () => wrong().tokens.refresh('not.a.token')],
      ['proveSecret', () => wrong().keys.proveSecret()],
    ];
    for (const [name, op] of ops) expect(await codeOf(op()), `${label}: ${name}`).toBe('auth.key.secret_invalid');
    expect(await snapshot(), label).toEqual(before);
  }

  beforeEach(async () => {
    await t.knex.raw('truncate keystore, keystore_verifier, audit_log');
    clock = new Clock();
    good = keyAuth(t, clock);
  });

  it('the first key seals the verifier with it; a wrong secret is refused with a key in place', async () => {
    const first = await good.keys.rotate();
    expect(Number((await t.knex('keystore_verifier').count({ n: '*' }).first())?.n)).toBe(1);
    await expectAllRefused('signing key in place');
    expect((await good.keys.signingKey()).kid).toBe(first.key.kid);
  });

  it('every key expired, then every key pruned: still refused; the right secret still rotates', async () => {
    await good.keys.rotate({ lifetime: 3600 });
    clock.advance(2 * HOUR);
    expect((await good.keys.list()).map((k) => k.state)).toEqual(['expired']);
    await expectAllRefused('all keys expired');
    await good.keys.prune();
    expect(await good.keys.list()).toEqual([]);
    await expectAllRefused('all keys pruned');
    const next = await keyAuth(t, clock).keys.rotate();
    expect(next.rotated).toBe(true);
  });

  it('a keystore without a verifier (made before it) is proven against its signing key, and then gets one', async () => {
    await good.keys.rotate();
    await good.keys.rotate();
    await t.knex('keystore_verifier').delete();
    await expectAllRefused('no verifier');
    expect(await t.knex('keystore_verifier').select('id')).toEqual([]);
    // The right secret opens the signing key: the verifier is sealed then (here by token signing).
    await keyAuth(t, clock).keys.signingKey();
    expect(await t.knex('keystore_verifier').select('id')).toEqual([{ id: 1 }]);
    await expectAllRefused('verifier sealed from the signing key');
  });

  it('an expired keystore without a verifier is proven against its newest key', async () => {
    await good.keys.rotate({ lifetime: 3600 });
    clock.advance(2 * HOUR);
    await t.knex('keystore_verifier').delete();
    await expectAllRefused('expired, no verifier');
    const r = await keyAuth(t, clock).keys.rotate();
    expect(r.rotated).toBe(true);
    expect(await t.knex('keystore_verifier').select('id')).toEqual([{ id: 1 }]);
  });

  it('two processes proving a keystore without a verifier at once seal exactly one', async () => {
    await good.keys.rotate();
    await t.knex('keystore_verifier').delete();
    await Promise.all(Array.from({ length: 4 }, () => keyAuth(t, clock).keys.proveSecret()));
    expect(await t.knex('keystore_verifier').select('id')).toEqual([{ id: 1 }]);
    await expectAllRefused('after concurrent proofs');
  });

  it('on an empty keystore a wrong secret has nothing to contradict; the first key decides', async () => {
    expect(await codeOf(wrong().keys.signingKey())).toBe('auth.key.no_signing_key');
    await wrong().keys.rotate();
    expect(await codeOf(keyAuth(t, clock).keys.rotate())).toBe('auth.key.secret_invalid');
  });

  it('checkKeySecret (status): opens, wrong, missing, unchecked; reads only', async () => {
    expect(await checkKeySecret(t.knex, KEY_SECRET, clock.now())).toBe('unchecked');
    expect(await checkKeySecret(t.knex, null, clock.now())).toBe('missing');
    await good.keys.rotate({ lifetime: 3600 });
    const before = await snapshot();
    expect(await checkKeySecret(t.knex, KEY_SECRET, clock.now())).toBe('opens');
    expect(await checkKeySecret(t.knex, WRONG, clock.now())).toBe('wrong');
    clock.advance(2 * HOUR);
    expect(await checkKeySecret(t.knex, KEY_SECRET, clock.now())).toBe('opens');
    expect(await checkKeySecret(t.knex, WRONG, clock.now())).toBe('wrong');
    expect(await snapshot()).toEqual(before);
  });
});
