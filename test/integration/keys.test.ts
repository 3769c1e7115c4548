import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { beforeEach, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open.js';
import { KaijuAuth } from '../../src/core/auth.js';
import { resolveSettings } from '../../src/core/context.js';
import { describeOnBackends } from '../support/db.js';
import { TEST_SETTINGS } from '../support/auth.js';
import { Clock, HOUR, KEY_SECRET, codeOf, keyAuth } from '../support/keys.js';

const pem = (k: KeyObject, type: 'pkcs8' | 'pkcs1' | 'sec1' = 'pkcs8') => String(k.export({ format: 'pem', type } as never));

describeOnBackends('keystore', (t, backend) => {
  let clock: Clock;
  let auth: KaijuAuth;
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
    expect(r.key.signsUntil.getTime()).toBe(clock.t + 24 * HOUR);
    expect(r.key.verifiesUntil.getTime()).toBe(clock.t + 24 * HOUR + 300_000);
    expect(await auth.keys.list()).toEqual([r.key]);
    const audit = await t.knex('audit_log').select('command', 'target', 'summary', 'actor');
    expect(audit).toEqual([
      { command: 'keys.rotate', target: r.key.kid, actor: 'tester', summary: { action: 'created', alg: 'ES256', retired_kid: null, lifetime_s: 86400 } },
    ]);
  });

  it('--if-older-than is a no-op while the key is younger; when due a next key is published, and signs after the JWKS max age', async () => {
    const first = await auth.keys.rotate({ alg: 'EdDSA' });
    clock.advance(11 * HOUR);
    expect((await auth.keys.status()).active).toMatchObject({ kid: first.key.kid, rotationDue: false, ageSeconds: 11 * 3600 });
    const noop = await auth.keys.rotate({ ifOlderThan: 12 * 3600 });
    expect(noop).toMatchObject({ rotated: false, action: 'none', retired: null, next: null });
    expect(noop.key.kid).toBe(first.key.kid);
    clock.advance(1 * HOUR);
    const status = await auth.keys.status();
    expect(status.active).toMatchObject({ rotationDue: true });
    expect(status.active?.rotationDueAt.getTime()).toBe(clock.t);
    // Due: a next key is published (in the JWKS, not signing) ...
    const published = await auth.keys.rotate({ ifOlderThan: 12 * 3600 });
    expect(published).toMatchObject({ rotated: false, action: 'published', retired: null });
    expect(published.key.kid).toBe(first.key.kid);
    const next = published.next;
    expect(next).toMatchObject({ state: 'next', alg: 'ES256', activated: null });
    // switch delay: JWKS max age 15 min + clock skew 60 s
    expect(next?.switchesAt.getTime()).toBe(clock.t + 16 * 60_000);
    expect((await auth.keys.jwks()).keys.map((k) => k.kid)).toEqual([first.key.kid, next?.kid]);
    expect((await auth.keys.signingKey()).kid).toBe(first.key.kid);
    expect((await auth.keys.status()).next).toMatchObject({ kid: next?.kid, switchesAt: next?.switchesAt });
    // ... and waits for the verifiers' caches, whatever the cron says ...
    clock.advance(16 * 60_000 - 1000);
    expect(await auth.keys.rotate({ ifOlderThan: 12 * 3600 })).toMatchObject({ rotated: false, action: 'none', next: { kid: next?.kid } });
    // ... then signs; the old key stops signing now but verifies until its tokens expire.
    clock.advance(1000);
    const second = await auth.keys.rotate({ ifOlderThan: 12 * 3600 });
    expect(second).toMatchObject({ rotated: true, action: 'promoted', retired: first.key.kid, next: null });
    expect(second.key).toMatchObject({ kid: next?.kid, state: 'active', activated: new Date(clock.t) });
    // Deadlines fixed when it was published: signs for its lifetime from the planned switch.
    expect(second.key.signsUntil.getTime()).toBe(next?.signsUntil.getTime());
    expect(second.key.signsUntil.getTime()).toBe(clock.t + 24 * HOUR);
    expect((await auth.keys.signingKey()).kid).toBe(next?.kid);
    const [newest, old] = await auth.keys.list();
    expect(newest?.kid).toBe(second.key.kid);
    expect(old).toMatchObject({ kid: first.key.kid, state: 'retired' });
    expect(old?.signsUntil.getTime()).toBe(clock.t);
    expect(old?.verifiesUntil.getTime()).toBe(first.key.verifiesUntil.getTime());
    expect((await auth.keys.status()).verifying).toBe(2);
    expect((await auth.keys.status()).active?.ageSeconds).toBe(0);
    const actions = await t.knex('audit_log').where({ command: 'keys.rotate' }).orderBy('id').select('summary');
    expect(actions.map((r: { summary: { action: string } }) => r.summary.action)).toEqual(['created', 'published', 'promoted']);
  });

  it('--now switches at once: to the next key if one is published, else to a new key; nothing can sign: the next key signs', async () => {
    const first = await auth.keys.rotate();
    const now1 = await auth.keys.rotate({ now: true });
    expect(now1).toMatchObject({ rotated: true, action: 'created', retired: first.key.kid });
    clock.advance(12 * HOUR);
    const pub = await auth.keys.rotate();
    expect(pub.action).toBe('published');
    const now2 = await auth.keys.rotate({ now: true });
    expect(now2).toMatchObject({ rotated: true, action: 'promoted', retired: now1.key.kid, key: { kid: pub.next?.kid } });
    // The signing key runs out while a next key waits (cron stopped): the next key signs at once.
    clock.advance(12 * HOUR + 10 * 60_000); // past half of its 24 h 16 min
    const pub2 = await auth.keys.rotate();
    expect(pub2.action).toBe('published');
    clock.advance(13 * HOUR);
    expect((await auth.keys.status()).active).toBeNull();
    const r = await auth.keys.rotate();
    expect(r).toMatchObject({ rotated: true, action: 'promoted', key: { kid: pub2.next?.kid } });
    // A next key that outlived its own deadlines unpromoted is dropped, and a new key signs.
    clock.advance(11 * HOUR);
    const pub3 = await auth.keys.rotate({ ifOlderThan: 3600 });
    expect(pub3.action).toBe('published');
    clock.advance(30 * 24 * HOUR);
    const late = await auth.keys.rotate();
    expect(late).toMatchObject({ rotated: true, action: 'created' });
    expect(late.key.kid).not.toBe(pub3.next?.kid);
    expect((await auth.keys.list()).map((k) => k.kid)).not.toContain(pub3.next?.kid);
  });

  it('a JWKS max age of 0 switches at once when due', async () => {
    const zero = keyAuth(t, clock, { tokens: { jwksMaxAge: 0, clockSkew: 0 } });
    const first = await zero.keys.rotate();
    clock.advance(12 * HOUR);
    expect(await zero.keys.rotate()).toMatchObject({ rotated: true, action: 'created', retired: first.key.kid, next: null });
  });

  it('revoke: out of the JWKS at once, its tokens refused; the signing key is replaced by the next key or a new one; audited', async () => {
    const a = await auth.keys.rotate();
    const token = (await auth.tokens.issueWithoutPassword('nobody-here').catch(() => null)) ?? null;
    expect(token).toBeNull(); // (no user: tokens are tested in tokens.test.ts; here the resolver)
    const resolverBefore = await auth.keys.resolver();
    expect((await resolverBefore.resolve(a.key.kid)).alg).toBe('ES256');
    clock.advance(12 * HOUR);
    const pub = await auth.keys.rotate();
    const nextKid = pub.next?.kid as string;
    expect(await codeOf(auth.keys.revoke('nope'))).toBe('auth.key.not_found');
    const dry = await auth.keys.revoke(a.key.kid, { dryRun: true });
    expect(dry).toMatchObject({ dryRun: true, revoked: { kid: a.key.kid, state: 'active' } });
    expect((await auth.keys.list()).map((k) => k.state).sort()).toEqual(['active', 'next']);
    const r = await auth.keys.revoke(a.key.kid);
    expect(r).toMatchObject({ dryRun: false, revoked: { kid: a.key.kid, state: 'revoked' }, replacement: { kid: nextKid, state: 'active' } });
    expect((await auth.keys.jwks()).keys.map((k) => k.kid)).toEqual([nextKid]);
    expect(await codeOf((await auth.keys.resolver()).resolve(a.key.kid))).toBe('auth.token.key_revoked');
    expect((await auth.keys.signingKey()).kid).toBe(nextKid);
    expect(await codeOf(auth.keys.revoke(a.key.kid))).toBe('auth.key.revoked');
    // Revoking the signing key with no next key: a new key signs at once.
    const r2 = await auth.keys.revoke(nextKid);
    expect(r2.replacement?.kid).toBeDefined();
    expect(r2.replacement?.kid).not.toBe(nextKid);
    expect((await auth.keys.jwks()).keys.map((k) => k.kid)).toEqual([r2.replacement?.kid]);
    // A wrong secret cannot revoke the signing key (it could not make the replacement): nothing changes.
    const before = await t.knex('keystore').orderBy('kid').select('kid', 'state');
    const wrong = keyAuth(t, clock, { keySecret: 'not the secret the keys were made with' });
    expect(await codeOf(wrong.keys.revoke(r2.replacement?.kid as string))).toBe('auth.key.secret_invalid');
    expect(await t.knex('keystore').orderBy('kid').select('kid', 'state')).toEqual(before);
    const audit = await t.knex('audit_log').where({ command: 'keys.revoke' }).orderBy('id').select('target', 'summary');
    expect(audit).toEqual([
      { target: a.key.kid, summary: { was: 'active', replaced_by: nextKid } },
      { target: nextKid, summary: { was: 'active', replaced_by: r2.replacement?.kid } },
    ]);
    // Revoked keys are pruned (they verify nothing).
    expect((await auth.keys.prune()).pruned.map((k) => k.kid).sort()).toEqual([a.key.kid, nextKid].sort());
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
    const b = await auth.keys.rotate({ alg: 'EdDSA', now: true });
    clock.advance(HOUR);
    const c = await auth.keys.rotate({ now: true });
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
    const b = await auth.keys.rotate({ now: true });
    clock.advance(HOUR);
    const c = await auth.keys.rotate({ now: true });
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
    const current = await auth.keys.rotate({ now: true });
    expect(await codeOf(auth.keys.prune({ kids: ['nope'] }))).toBe('auth.key.not_found');
    expect(await codeOf(auth.keys.prune({ kids: [current.key.kid] }))).toBe('auth.key.last_signing_key');
    expect(await codeOf(auth.keys.prune({ kids: [old.key.kid, current.key.kid] }))).toBe('auth.key.last_signing_key');
    expect(await auth.keys.list()).toHaveLength(2);
    const r = await auth.keys.prune({ kids: [old.key.kid] });
    expect(r.pruned.map((k) => k.kid)).toEqual([old.key.kid]);
    expect((await auth.keys.list()).map((k) => k.kid)).toEqual([current.key.kid]);
  });

  it('the database never holds a private key in clear', async () => {
    for (const alg of ['ES256', 'RS256', 'EdDSA'] as const) await auth.keys.rotate({ alg, now: true });
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

  it('ten concurrent cron runs publish exactly one next key, and ten later ones switch to it exactly once', async () => {
    const stale = await auth.keys.rotate();
    await t.knex('keystore').update({ created: new Date(Date.now() - 13 * HOUR), activated: new Date(Date.now() - 13 * HOUR), signs_until: new Date(Date.now() + 11 * HOUR), verifies_until: new Date(Date.now() + 12 * HOUR) });
    // On PostgreSQL: ten separate connection pools, as ten cron processes; on PGlite: one
    // in-process database (the CLI test covers ten processes on one data directory).
    const handles =
      backend === 'postgres'
        ? // Ten scrypt-bound rotations queue on the lock: on a loaded host longer than the default 10 s wait.
          await Promise.all(Array.from({ length: 10 }, () => openDatabase({ ...t.target, timeouts: { lockMs: 120_000 } } as typeof t.target)))
        : [];
    const crons = (tokens: { jwksMaxAge?: number; clockSkew?: number }) =>
      backend === 'postgres'
        ? handles.map((h) => new KaijuAuth(h.knex, resolveSettings({ ...TEST_SETTINGS, keySecret: KEY_SECRET, tokens })))
        : Array.from({ length: 10 }, () => keyAuth(t, null, { tokens }));
    try {
      const results = await Promise.all(crons({}).map((a) => a.keys.rotate({ ifOlderThan: 12 * 3600 })));
      expect(results.filter((r) => r.action === 'published')).toHaveLength(1);
      expect(results.filter((r) => r.rotated)).toHaveLength(0);
      const nextKid = results.find((r) => r.action === 'published')?.next?.kid;
      for (const r of results) expect([r.key.kid, r.next?.kid]).toEqual([stale.key.kid, nextKid]);
      // Verifiers cache for 0 s here: the next run switches, once.
      const switched = await Promise.all(crons({ jwksMaxAge: 0, clockSkew: 0 }).map((a) => a.keys.rotate({ ifOlderThan: 12 * 3600 })));
      expect(switched.filter((r) => r.rotated)).toHaveLength(1);
      const winner = switched.find((r) => r.rotated);
      expect(winner).toMatchObject({ action: 'promoted', retired: stale.key.kid, key: { kid: nextKid } });
      for (const r of switched) expect(r.key.kid).toBe(nextKid);
      const rows = await t.knex('keystore').select('kid', 'state');
      expect(rows).toHaveLength(2);
      expect(rows.filter((r: { state: string }) => r.state === 'active')).toEqual([{ kid: nextKid, state: 'active' }]);
    } finally {
      await Promise.all(handles.map((h) => h.close()));
    }
  });
});
