/**
 * `keys rekey` (issue 15 item 2): every private key and the verifier re-encrypted from the current
 * secret to a new one in one transaction; refused with nothing written unless the current secret
 * opens every key; a second run is a no-op; hosts that still have the old secret keep working
 * through the new secret while it is rolled out.
 */
import { beforeEach, expect, it } from 'vitest';
import { openPrivateKey } from '../../src/core/keys/key-crypto.js';
import { toBuffer } from '../../src/db/values.js';
import { describeOnBackends } from '../support/db.js';
import { Clock, KEY_SECRET, codeOf, keyAuth } from '../support/keys.js';
import { toErrorReport } from '../../src/cli/exit-codes.js';

const NEW_SECRET = 'the new key secret, long enough too';
const OTHER = 'some other secret, long enough again';

describeOnBackends('keys rekey', (t) => {
  let clock: Clock;
  beforeEach(async () => {
    await t.knex.raw('truncate keystore, keystore_verifier, audit_log');
    clock = new Clock();
  });

  const rows = () => t.knex('keystore').orderBy('kid').select('kid', 'alg', 'private_key_enc', 'enc_params');
  const sealedState = async () => JSON.stringify([await rows(), await t.knex('keystore_verifier').select('*')]);
  const opensAll = async (secret: string) => {
    for (const r of await rows()) {
      await openPrivateKey({ params: r.enc_params, ciphertext: toBuffer(r.private_key_enc) }, Buffer.from(secret), { kid: r.kid, alg: r.alg });
    }
    return true;
  };

  async function twoKeys() {
    const auth = keyAuth(t, clock);
    await auth.keys.rotate({ alg: 'ES256' });
    await auth.keys.rotate({ alg: 'EdDSA', now: true });
    return auth;
  }

  it('re-encrypts every key and the verifier; the old secret no longer opens; audited without secrets; a rerun does nothing', async () => {
    const auth = await twoKeys();
    const signing = (await auth.keys.signingKey()).privateKey.export({ format: 'jwk' });
    expect(await auth.keys.rekey(NEW_SECRET)).toEqual({ rekeyed: true, keys: 2 });
    expect(await opensAll(NEW_SECRET)).toBe(true);
    expect(await codeOf(opensAll(KEY_SECRET))).toBe('auth.key.secret_invalid');
    const after = keyAuth(t, clock, { keySecret: NEW_SECRET });
    expect((await after.keys.signingKey()).privateKey.export({ format: 'jwk' })).toEqual(signing);
    expect(await codeOf(keyAuth(t, clock).keys.signingKey())).toBe('auth.key.secret_invalid');
    // Run again by a host that still has the old secret as current: already done, nothing written.
    const before = await sealedState();
    expect(await keyAuth(t, clock).keys.rekey(NEW_SECRET)).toEqual({ rekeyed: false, keys: 2 });
    expect(await sealedState()).toBe(before);
    const audit = await t.knex('audit_log').where({ command: 'keys.rekey' }).select('summary', 'target');
    expect(audit).toEqual([{ summary: { keys: 2 }, target: null }]);
    const everything = JSON.stringify(await t.knex('audit_log').select('*'));
    for (const s of [KEY_SECRET, NEW_SECRET]) expect(everything).not.toContain(s);
  });

  it('a wrong current secret, or a key the current secret does not open: refused, nothing written', async () => {
    await twoKeys();
    const before = await sealedState();
    expect(await codeOf(keyAuth(t, clock, { keySecret: OTHER }).keys.rekey(NEW_SECRET))).toBe('auth.key.secret_invalid');
    expect(await sealedState()).toBe(before);
    // One key sealed under another secret (a mixed keystore): the whole re-key is refused.
    const [victim] = await rows();
    const { sealPrivateKey } = await import('../../src/core/keys/key-crypto.js');
    const der = await openPrivateKey({ params: victim.enc_params, ciphertext: toBuffer(victim.private_key_enc) }, Buffer.from(KEY_SECRET), victim);
    const env = await sealPrivateKey(der, Buffer.from(OTHER), victim);
    await t.knex('keystore').where({ kid: victim.kid }).update({ private_key_enc: env.ciphertext, enc_params: JSON.stringify(env.params) });
    const mixed = await sealedState();
    expect(await codeOf(keyAuth(t, clock).keys.rekey(NEW_SECRET))).toBe('auth.key.secret_invalid');
    expect(await sealedState()).toBe(mixed);
    expect(Number((await t.knex('audit_log').where({ command: 'keys.rekey' }).count('* as n').first())?.n)).toBe(0);
    // The library names the failure exactly; the command line reports it as it always has.
    const same = await keyAuth(t, clock).keys.rekey(KEY_SECRET).catch((err: unknown) => err);
    expect(await codeOf(Promise.reject(same))).toBe('auth.key.secret_unchanged');
    expect(toErrorReport(same)).toMatchObject({ code: 'cli.usage', exit: 2 });
  });

  it('while a new secret is rolled out, a host with the old one keeps signing and rotating through the new one', async () => {
    await twoKeys();
    await keyAuth(t, clock).keys.rekey(NEW_SECRET);
    const host = keyAuth(t, clock, { keySecret: KEY_SECRET, newKeySecret: NEW_SECRET });
    expect((await host.keys.signingKey()).kid).toBeDefined();
    const r = await host.keys.rotate({ now: true });
    expect(r.action).toBe('created');
    expect(await opensAll(NEW_SECRET)).toBe(true); // the new key is sealed under the new secret
    // Without the new secret, the old one is refused, as any wrong secret.
    expect(await codeOf(keyAuth(t, clock).keys.rotate({ now: true }))).toBe('auth.key.secret_invalid');
    // A wrong new secret does not help either.
    expect(await codeOf(keyAuth(t, clock, { newKeySecret: OTHER }).keys.signingKey())).toBe('auth.key.secret_invalid');
  });

  it('an empty keystore: the verifier is sealed under the new secret', async () => {
    expect(await keyAuth(t, clock).keys.rekey(NEW_SECRET)).toEqual({ rekeyed: true, keys: 0 });
    expect(await codeOf(keyAuth(t, clock).keys.rotate())).toBe('auth.key.secret_invalid');
    expect((await keyAuth(t, clock, { keySecret: NEW_SECRET }).keys.rotate()).action).toBe('created');
  });
});
