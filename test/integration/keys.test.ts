import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open.js';
import { KaijuAuth } from '../../src/core/auth.js';
import { resolveSettings } from '../../src/core/context.js';
import { BACKENDS, destroyTest, initTest, type TestDb } from '../support/db.js';
import { TEST_SETTINGS } from '../support/auth.js';
import { Clock, HOUR, KEY_SECRET, codeOf, keyAuth } from '../support/keys.js';

const pem = (k: KeyObject, type: 'pkcs8' | 'pkcs1' | 'sec1' = 'pkcs8') => String(k.export({ format: 'pem', type } as never));

describe.each(BACKENDS)('keystore on %s', (backend) => {
  let t: TestDb;
  let clock: Clock;
  let auth: KaijuAuth;
  beforeAll(async () => {
    t = await initTest(backend);
  });
  afterAll(async () => destroyTest(t));
  beforeEach(async () => {
    await t.knex.raw('truncate keystore, audit_log');
    clock = new Clock();
    auth = keyAuth(t, clock);
  });

  it('rotate on an empty keystore makes the signing key: ES256, 24 h, verifying 5 min longer; audited', async () => {
    const r = await auth.keys.rotate();
    expect(r.rotated).toBe(true);
    expect(r.retired).toBeNull();
    expect(r.key).toMatchObject({ alg: 'ES256', state: 'active', source: 'generated' });
    expect(r.key.kid).toMatch(/^[0-9a-f]{32}$/);
    expect(r.key.created.getTime()).toBe(clock.t);
    expect(r.key.signs_until.getTime()).toBe(clock.t + 24 * HOUR);
    expect(r.key.verifies_until.getTime()).toBe(clock.t + 24 * HOUR + 300_000);
    expect(await auth.keys.list()).toEqual([r.key]);
    const audit = await t.knex('audit_log').select('command', 'target', 'summary', 'actor');
    expect(audit).toEqual([
      { command: 'keys.rotate', target: r.key.kid, actor: 'tester', summary: { alg: 'ES256', retired_kid: null, lifetime_s: 86400 } },
    ]);
  });

  it('--if-older-than is a no-op while the key is younger; rotation is due at half-life', async () => {
    const first = await auth.keys.rotate({ alg: 'EdDSA' });
    clock.advance(11 * HOUR);
    expect((await auth.keys.status()).active).toMatchObject({ kid: first.key.kid, rotation_due: false, age_seconds: 11 * 3600 });
    const noop = await auth.keys.rotate({ ifOlderThan: 12 * 3600 });
    expect(noop).toMatchObject({ rotated: false, retired: null });
    expect(noop.key.kid).toBe(first.key.kid);
    clock.advance(1 * HOUR);
    const status = await auth.keys.status();
    expect(status.active).toMatchObject({ rotation_due: true });
    expect(status.active?.rotation_due_at.getTime()).toBe(clock.t);
    const second = await auth.keys.rotate({ ifOlderThan: 12 * 3600 });
    expect(second).toMatchObject({ rotated: true, retired: first.key.kid });
    expect(second.key.alg).toBe('ES256');
    const [newest, old] = await auth.keys.list();
    expect(newest?.kid).toBe(second.key.kid);
    // The old key stops signing now but verifies until its tokens (exp <= its old deadline) expire.
    expect(old).toMatchObject({ kid: first.key.kid, state: 'retired' });
    expect(old?.signs_until.getTime()).toBe(clock.t);
    expect(old?.verifies_until.getTime()).toBe(first.key.verifies_until.getTime());
    expect((await auth.keys.status()).verifying).toBe(2);
  });

  it('a signing key past its deadline no longer signs: status says none, rotate/ensure make one', async () => {
    const first = await auth.keys.rotate({ lifetime: 3600 });
    clock.advance(2 * HOUR);
    expect((await auth.keys.status()).active).toBeNull();
    expect(await codeOf(auth.keys.signingKey())).toBe('auth.key.no_signing_key');
    const ensured = await auth.keys.ensureSigningKey();
    expect(ensured.rotated).toBe(true);
    expect(ensured.retired).toBe(first.key.kid);
    expect((await auth.keys.ensureSigningKey()).rotated).toBe(false);
    expect((await auth.keys.list()).map((k) => k.state)).toEqual(['active', 'expired']);
  });

  it('the JWKS has the keys that still verify, signing key first, public members only', async () => {
    const a = await auth.keys.rotate({ alg: 'RS256' });
    clock.advance(HOUR);
    const b = await auth.keys.rotate({ alg: 'EdDSA' });
    clock.advance(HOUR);
    const c = await auth.keys.rotate();
    let jwks = await auth.keys.jwks();
    expect(jwks.keys.map((k) => k.kid)).toEqual([c.key.kid, b.key.kid, a.key.kid]);
    for (const k of jwks.keys) {
      expect(k.use).toBe('sig');
      for (const member of ['d', 'p', 'q', 'dp', 'dq', 'qi']) expect(k).not.toHaveProperty(member);
    }
    expect(jwks.keys.map((k) => k.alg)).toEqual(['ES256', 'EdDSA', 'RS256']);
    clock.advance(23 * HOUR + 10 * 60_000); // a and b past verifies_until (their 24 h + 5 min)
    jwks = await auth.keys.jwks();
    expect(jwks.keys.map((k) => k.kid)).toEqual([c.key.kid]);
  });

  it('prune drops only keys that can verify nothing, never the signing key', async () => {
    const a = await auth.keys.rotate();
    clock.advance(HOUR);
    const b = await auth.keys.rotate();
    clock.advance(HOUR);
    const c = await auth.keys.rotate();
    expect((await auth.keys.prune()).pruned).toEqual([]);
    clock.advance(23 * HOUR + 10 * 60_000); // a and b past verifies_until (24 h + 5 min); c still signs
    const dry = await auth.keys.prune({ dryRun: true });
    expect(dry.pruned.map((k) => k.kid)).toEqual([a.key.kid, b.key.kid]);
    expect(await auth.keys.list()).toHaveLength(3);
    const done = await auth.keys.prune();
    expect(done.pruned.map((k) => k.kid)).toEqual([a.key.kid, b.key.kid]);
    expect((await auth.keys.list()).map((k) => k.kid)).toEqual([c.key.kid]);
    expect(await t.knex('audit_log').where({ command: 'keys.prune' }).count('* as n').first()).toMatchObject({ n: 1 });
    // Far in the future every key is expired: prune empties the keystore (none could sign anyway).
    clock.advance(48 * HOUR);
    expect((await auth.keys.prune()).pruned.map((k) => k.kid)).toEqual([c.key.kid]);
  });

  it('prune --kid: unknown is not found, the signing key is refused, a retired key goes now', async () => {
    const old = await auth.keys.rotate();
    const current = await auth.keys.rotate();
    expect(await codeOf(auth.keys.prune({ kids: ['nope'] }))).toBe('auth.key.not_found');
    expect(await codeOf(auth.keys.prune({ kids: [current.key.kid] }))).toBe('auth.key.last_signing_key');
    expect(await codeOf(auth.keys.prune({ kids: [old.key.kid, current.key.kid] }))).toBe('auth.key.last_signing_key');
    expect(await auth.keys.list()).toHaveLength(2);
    const r = await auth.keys.prune({ kids: [old.key.kid] });
    expect(r.pruned.map((k) => k.kid)).toEqual([old.key.kid]);
    expect((await auth.keys.list()).map((k) => k.kid)).toEqual([current.key.kid]);
  });

  it('the database never holds a private key in clear', async () => {
    for (const alg of ['ES256', 'RS256', 'EdDSA'] as const) await auth.keys.rotate({ alg });
    const key = await auth.keys.signingKey();
    const der = key.privateKey.export({ format: 'der', type: 'pkcs8' });
    const jwk = key.privateKey.export({ format: 'jwk' }) as { d: string };
    const dump = JSON.stringify(await t.knex.raw('select row_to_json(k)::text as r from keystore k')) +
      JSON.stringify(await t.knex('audit_log').select('*'));
    const raw = (await t.knex('keystore').where({ kid: key.kid }).first()) as { private_key_enc: Buffer; public_jwk: object };
    expect(Buffer.from(raw.private_key_enc).includes(der.subarray(-32))).toBe(false);
    expect(dump).not.toContain(jwk.d);
    expect(dump).not.toContain(der.toString('hex').slice(-64));
    expect(dump).not.toContain(der.toString('base64').slice(-40));
    expect(dump).not.toContain(KEY_SECRET);
    expect(raw.public_jwk).not.toHaveProperty('d');
  });

  it('a wrong secret is auth.key.secret_invalid; no secret is auth.key.secret_missing; verifying needs none', async () => {
    await auth.keys.rotate();
    const wrong = keyAuth(t, clock, { keySecret: 'not the secret the keys were made with' });
    expect(await codeOf(wrong.keys.signingKey())).toBe('auth.key.secret_invalid');
    const none = keyAuth(t, clock, { keySecret: null });
    expect(await codeOf(none.keys.signingKey())).toBe('auth.key.secret_missing');
    expect(await codeOf(none.keys.rotate())).toBe('auth.key.secret_missing');
    expect(await none.keys.list()).toHaveLength(1);
    expect((await none.keys.jwks()).keys).toHaveLength(1);
    const [kid] = (await none.keys.list()).map((k) => k.kid);
    expect((await (await none.keys.resolver()).resolve(kid as string)).alg).toBe('ES256');
  });

  it.each([
    ['RSA 2048', () => pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'pkcs1'), 'RS256'],
    ['EC P-256', () => pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'sec1'), 'ES256'],
    ['Ed25519', () => pem(generateKeyPairSync('ed25519').privateKey), 'EdDSA'],
  ] as const)('imports a %s PEM key as the signing key', async (_name, make, alg) => {
    const before = await auth.keys.rotate();
    const text = make();
    const r = await auth.keys.importPem(text, { kid: `imported-${alg}` });
    expect(r.key).toMatchObject({ kid: `imported-${alg}`, alg, state: 'active', source: 'imported' });
    expect(r.retired).toBe(before.key.kid);
    const signing = await keyAuth(t, clock).keys.signingKey();
    expect(signing.kid).toBe(`imported-${alg}`);
    expect(signing.privateKey.export({ format: 'pem', type: 'pkcs8' })).toBe(
      String(
        (await import('node:crypto')).createPrivateKey(text).export({ format: 'pem', type: 'pkcs8' }),
      ),
    );
    expect(await codeOf(auth.keys.importPem(text, { kid: `imported-${alg}` }))).toBe('auth.key.exists');
    expect(await t.knex('audit_log').where({ command: 'keys.import' }).count('* as n').first()).toMatchObject({ n: 1 });
  });

  it('a weak RSA key is refused and nothing changes', async () => {
    await auth.keys.rotate();
    const weak = pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey);
    expect(await codeOf(auth.keys.importPem(weak))).toBe('auth.key.invalid');
    expect(await auth.keys.list()).toHaveLength(1);
  });

  it('ten concurrent `rotate --if-older-than 12h` make exactly one new key', async () => {
    const stale = await auth.keys.rotate();
    await t.knex('keystore').update({ created: new Date(Date.now() - 13 * HOUR), signs_until: new Date(Date.now() + 11 * HOUR), verifies_until: new Date(Date.now() + 12 * HOUR) });
    // On PostgreSQL: ten separate connection pools, as ten cron processes; on PGlite: one
    // in-process database (the CLI test covers ten processes on one data directory).
    const handles =
      backend === 'postgres'
        ? await Promise.all(Array.from({ length: 10 }, () => openDatabase(t.target)))
        : [];
    try {
      const auths =
        backend === 'postgres'
          ? handles.map((h) => new KaijuAuth(h.knex, resolveSettings({ ...TEST_SETTINGS, keySecret: KEY_SECRET })))
          : Array.from({ length: 10 }, () => keyAuth(t, null));
      const results = await Promise.all(auths.map((a) => a.keys.rotate({ ifOlderThan: 12 * 3600 })));
      expect(results.filter((r) => r.rotated)).toHaveLength(1);
      const winner = results.find((r) => r.rotated);
      expect(winner?.retired).toBe(stale.key.kid);
      for (const r of results) expect(r.key.kid).toBe(winner?.key.kid);
      const rows = await t.knex('keystore').select('kid', 'state');
      expect(rows).toHaveLength(2);
      expect(rows.filter((r: { state: string }) => r.state === 'active')).toEqual([{ kid: winner?.key.kid, state: 'active' }]);
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
  });
});
