import { createLocalJWKSet, jwtVerify } from 'jose';
import { beforeEach, expect, it } from 'vitest';
import type { KaijuAuth } from '../../src/core/auth.js';
import { TokenService, type TokenUsers } from '../../src/core/tokens/token-service.js';
import type { IssuedTokens } from '../../src/index.js';
import { describeOnBackends } from '../support/db.js';
import { PASSWORD } from '../support/auth.js';
import { Clock, HOUR, codeOf, keyAuth } from '../support/keys.js';

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString());

describeOnBackends('tokens', { fresh: { keys: true } }, (t) => {
  let clock: Clock;
  let auth: KaijuAuth;
  let aliceId: string;
  beforeEach(async () => {
    clock = new Clock(Date.now());
    auth = keyAuth(t, clock);
    await auth.permissions.create('users.read');
    await auth.permissions.create('users.write');
    await auth.permissions.create('legacy', { enabled: false });
    await auth.groups.create('staff');
    await auth.groups.grant('staff', ['users.write', 'users.read', 'legacy']);
    aliceId = (await auth.users.register({ username: 'alice', email: 'alice@example.com', password: PASSWORD, groups: ['staff'] })).id;
    await auth.users.register({ username: 'svc-billing', email: 'svc@example.com', password: PASSWORD });
    await auth.keys.rotate();
  });

  it('issue authenticates and signs kaiju claims with effective permissions; jose verifies with our JWKS', async () => {
    const pair = await auth.tokens.issue('alice', PASSWORD);
    const iat = Math.floor(clock.t / 1000);
    const claims = await auth.tokens.verify(pair.access);
    expect(claims).toMatchObject({ id: aliceId, sub: aliceId, typ: 'access', permissions: ['users.read', 'users.write'], iat, exp: iat + 1000 });
    expect(claimsOf(pair.refresh)).toMatchObject({ id: aliceId, typ: 'refresh', permissions: [], exp: iat + 86400 });
    expect(claims.jti).not.toBe(claimsOf(pair.refresh).jti);
    const jwks = createLocalJWKSet(JSON.parse(JSON.stringify(await auth.keys.jwks())));
    const { payload, protectedHeader } = await jwtVerify(pair.access, jwks);
    expect(payload.permissions).toEqual(['users.read', 'users.write']);
    expect(protectedHeader).toMatchObject({ typ: 'JWT', alg: 'ES256' });
  });

  it('a wrong password, an unknown user or a blocked user: authentication failed', async () => {
    expect(await codeOf(auth.tokens.issue('alice', 'wrong password 1'))).toBe('auth.user.authentication_failed');
    expect(await codeOf(auth.tokens.issue('nobody', PASSWORD))).toBe('auth.user.authentication_failed');
    await auth.users.setFlag('alice', 'block');
    expect(await codeOf(auth.tokens.issue('alice', PASSWORD))).toBe('auth.user.authentication_failed');
    expect(await codeOf(auth.tokens.issueWithoutPassword('alice'))).toBe('auth.user.authentication_failed');
  });

  it('--without-password is audited with the token ids, never the tokens', async () => {
    const pair = await auth.tokens.issueWithoutPassword('svc-billing', { accessTtl: 900 });
    const claims = await auth.tokens.verify(pair.access);
    expect(claims.exp - claims.iat).toBe(900);
    const rows = await t.knex('audit_log').where({ command: 'token.issue' }).select('target', 'target_type', 'summary', 'actor');
    expect(rows).toHaveLength(1);
    expect(rows[0]).toMatchObject({
      target: 'svc-billing',
      target_type: 'user',
      actor: 'tester',
      summary: { authenticated: false, access_jti: claims.jti, refresh_jti: claimsOf(pair.refresh).jti },
    });
    const all = JSON.stringify(await t.knex('audit_log').select('*'));
    expect(all).not.toContain(pair.access.split('.')[2]);
    expect(all).not.toContain(pair.refresh.split('.')[2]);
    expect(await codeOf(auth.tokens.issueWithoutPassword('nobody'))).toBe('auth.user.not_found');
  });

  it('refresh re-reads permissions; only refresh tokens refresh', async () => {
    const pair = await auth.tokens.issue('alice', PASSWORD);
    await auth.groups.revoke('staff', ['users.write']);
    clock.advance(60_000);
    const next = await auth.tokens.refresh(pair.refresh);
    expect((await auth.tokens.verify(next.access)).permissions).toEqual(['users.read']);
    expect(await codeOf(auth.tokens.refresh(pair.access))).toBe('auth.token.wrong_type');
    expect(await codeOf(auth.tokens.verify(pair.refresh))).toBe('auth.token.wrong_type');
  });

  it('refresh after block, deactivation or deletion: authentication failed', async () => {
    const pair = await auth.tokens.issue('alice', PASSWORD);
    await auth.users.setFlag('alice', 'block');
    expect(await codeOf(auth.tokens.refresh(pair.refresh))).toBe('auth.user.authentication_failed');
    await auth.users.setFlag('alice', 'unblock');
    await auth.users.setFlag('alice', 'deactivate');
    expect(await codeOf(auth.tokens.refresh(pair.refresh))).toBe('auth.user.authentication_failed');
    await auth.users.setFlag('alice', 'activate');
    expect((await auth.tokens.refresh(pair.refresh)).access).toBeTruthy();
    await auth.users.delete('alice');
    expect(await codeOf(auth.tokens.refresh(pair.refresh))).toBe('auth.user.authentication_failed');
  });

  it('rotation keeps old tokens verifiable until they expire; then the key retires', async () => {
    const before = await auth.tokens.issue('alice', PASSWORD);
    const oldKid = (await auth.keys.list())[0]?.kid;
    clock.advance(12 * HOUR);
    expect((await auth.keys.rotate({ ifOlderThan: 12 * 3600 })).action).toBe('published');
    clock.advance(16 * 60_000); // published for the JWKS max age + clock skew: the next run switches
    expect((await auth.keys.rotate({ ifOlderThan: 12 * 3600 })).action).toBe('promoted');
    const after = keyAuth(t, clock);
    expect((await after.tokens.verify(before.refresh, { type: 'refresh' })).sub).toBe(aliceId);
    const fresh = await after.tokens.issue('alice', PASSWORD);
    expect(JSON.parse(Buffer.from(fresh.access.split('.')[0] as string, 'base64url').toString()).kid).not.toBe(oldKid);
    // The old refresh token was capped at the old key's deadline (24 h after it was made).
    expect(claimsOf(before.refresh).exp).toBeLessThanOrEqual(Math.floor((clock.t + 12 * HOUR - 16 * 60_000) / 1000));
    clock.advance(12 * HOUR + 10 * 60_000 - 16 * 60_000);
    expect(await codeOf(keyAuth(t, clock).tokens.verify(before.refresh, { type: 'refresh' }))).toBe('auth.token.key_retired');
    await keyAuth(t, clock).keys.prune();
    expect(await codeOf(keyAuth(t, clock).tokens.verify(before.refresh, { type: 'refresh' }))).toBe('auth.token.unknown_key');
  });

  it('expired tokens fail (after the clock skew); a force-pruned key makes its tokens unknown', async () => {
    const pair = await auth.tokens.issue('alice', PASSWORD);
    clock.advance(1000_000 + 30_000);
    expect((await keyAuth(t, clock).tokens.verify(pair.access)).id).toBe(aliceId);
    clock.advance(60_000);
    expect(await codeOf(keyAuth(t, clock).tokens.verify(pair.access))).toBe('auth.token.expired');
    const oldKid = (await auth.keys.list())[0]?.kid as string;
    await auth.keys.rotate({ now: true });
    await auth.keys.prune({ kids: [oldKid] });
    expect(await codeOf(keyAuth(t, clock).tokens.verify(pair.refresh, { type: 'refresh' }))).toBe('auth.token.unknown_key');
  });

  it('no signing key: auth.key.no_signing_key before any password is checked', async () => {
    await t.knex('keystore').delete();
    expect(await codeOf(auth.tokens.issue('alice', 'wrong password 1'))).toBe('auth.key.no_signing_key');
  });

  it('iss/aud when configured', async () => {
    const configured = keyAuth(t, clock, { tokens: { issuer: 'https://auth.example', audience: 'api' } });
    const pair = await configured.tokens.issue('alice', PASSWORD);
    expect(claimsOf(pair.access)).toMatchObject({ iss: 'https://auth.example', aud: 'api' });
    expect((await configured.tokens.verify(pair.access)).aud).toBe('api');
    const plain = await auth.tokens.issue('alice', PASSWORD);
    expect(await codeOf(configured.tokens.verify(plain.access))).toBe('auth.token.claim_invalid');
    const otherAudience = keyAuth(t, clock, { tokens: { issuer: 'https://auth.example', audience: 'web' } });
    expect(await codeOf(otherAudience.tokens.verify(pair.access))).toBe('auth.token.claim_invalid');
  });

  it('works against any TokenUsers implementation (the users service is one)', async () => {
    const calls: string[] = [];
    const fake: TokenUsers = {
      async get(id) {
        calls.push(`get ${id}`);
        return { id: 'f-1', username: 'fake', isActive: true, isBlocked: false };
      },
      async authenticate(username) {
        calls.push(`authenticate ${username}`);
        return { id: 'f-1', username, isActive: true, isBlocked: false, permissions: ['p.one'] };
      },
      async permissions(id) {
        calls.push(`permissions ${id}`);
        return ['p.two'];
      },
    };
    const service = new TokenService(auth.ctx, auth.keys, fake);
    const pair = await service.issue('fake', 'whatever');
    expect((await service.verify(pair.access)).permissions).toEqual(['p.one']);
    const next = await service.refresh(pair.refresh);
    expect((await service.verify(next.access)).permissions).toEqual(['p.two']);
    expect(calls).toEqual(['authenticate fake', 'get f-1', 'permissions f-1']);
  });
});

describeOnBackends('the library API', (t) => {
  it('openAuth with a key secret: rotate, issue, then verify offline from the exported JWKS', async () => {
    const lib = await import('../../src/index.js');
    const auth = await lib.openAuth({
      knex: t.knex,
      keySecret: 'library key secret, long enough',
      bcryptRounds: 4,
      failedLoginDelayMs: { base: 0, jitter: 0 },
      tokens: { accessTtl: 600, issuer: 'https://auth.example' },
    });
    await auth.keys.rotate({ alg: 'EdDSA' });
    await auth.users.register({ username: 'carol', email: 'carol@example.com', password: PASSWORD });
    const pair: IssuedTokens = await auth.tokens.issue('carol', PASSWORD);
    const resolver = lib.jwksResolver(lib.parseJwks(JSON.parse(JSON.stringify(await auth.keys.jwks()))));
    const claims = await new lib.TokenVerifier(resolver, { issuer: 'https://auth.example' }).verify(pair.access);
    expect(claims).toMatchObject({ typ: 'access', iss: 'https://auth.example' });
    expect(claims.exp - claims.iat).toBe(600);
    const err = await new lib.TokenVerifier(resolver).verify(pair.refresh).catch((e: unknown) => e);
    expect(lib.isKaijuAuthError(err) && err.code).toBe('auth.token.wrong_type');
    expect(lib.inspectToken(pair.access).verified).toBe(false);
  });
});
