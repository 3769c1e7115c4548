/**
 * Health checks for monitoring (issue 15 item 3): each condition that needs a human fails its
 * check, and only it; facts that need none (cheap hashes, users without groups) are reported.
 */
import { beforeEach, expect, it } from 'vitest';
import { checkHealth, healthMetrics, jwksFileText, type HealthOptions } from '../../src/core/health.js';
import { describeOnBackends } from '../support/db.js';
import { PASSWORD } from '../support/auth.js';
import { Clock, HOUR, keyAuth } from '../support/keys.js';

describeOnBackends('health', { fresh: { keys: true } }, (t) => {
  let clock: Clock;
  beforeEach(async () => {
    clock = new Clock();
  });
  const options = (extra: Partial<HealthOptions> = {}): HealthOptions => ({
    now: clock.now(),
    switchDelay: 16 * 60,
    secret: 'opens',
    bcryptCost: 10,
    maxExpiredSessions: 2,
    lateAfter: 3600,
    ...extra,
  });
  const failing = async (extra: Partial<HealthOptions> = {}) =>
    (await checkHealth(t.knex, options(extra))).checks.filter((c) => !c.ok).map((c) => c.name);

  it('a fresh keystore with one key: all ok; no key: signing_key and rotation fail', async () => {
    expect(await failing()).toEqual(['signing_key', 'rotation']);
    await keyAuth(t, clock).keys.rotate();
    const report = await checkHealth(t.knex, options());
    expect(report.ok).toBe(true);
    expect(report.rotationDueIn).toBe(12 * 3600);
  });

  it('rotation overdue, a next key stuck, a wrong or missing secret each fail their check', async () => {
    const auth = keyAuth(t, clock);
    await auth.keys.rotate();
    clock.advance(12 * HOUR + 16 * 60_000 + 59 * 60_000); // due, switch delay, and under an hour late
    expect(await failing()).toEqual([]);
    clock.advance(2 * 60_000);
    expect(await failing()).toEqual(['rotation']);
    await auth.keys.rotate(); // publishes
    clock.advance(16 * 60_000 + 61 * 60_000); // ready to switch for over an hour: nobody ran rotate
    expect(await failing()).toEqual(['rotation', 'next_key']);
    await auth.keys.rotate(); // switches
    expect(await failing()).toEqual([]);
    expect(await failing({ secret: 'wrong' })).toEqual(['key_secret']);
    expect(await failing({ secret: 'missing' })).toEqual(['key_secret']);
    expect(await failing({ secret: 'opens_new' })).toEqual([]);
  });

  it('expired sessions above the threshold, and a published JWKS that differs or is missing', async () => {
    const auth = keyAuth(t, clock);
    await auth.keys.rotate();
    const user = await auth.users.register({ username: 'alice', email: 'alice@example.com', password: PASSWORD });
    const epoch = Math.floor(clock.t / 1000);
    const session = (id: string, expires: number) => ({ id, user_id: user.id, permissions: '[]', data: '{}', expires, created: new Date(clock.t) });
    await t.knex('sessions').insert([session('a', epoch - 10), session('b', epoch - 10), session('c', epoch + 100)]);
    expect(await failing()).toEqual([]);
    await t.knex('sessions').insert(session('d', epoch - 5));
    expect(await failing()).toEqual(['sessions']);
    await t.knex('sessions').delete();
    const good = jwksFileText(await auth.keys.jwks());
    expect(await failing({ jwksFile: { path: 'jwks.json', text: good } })).toEqual([]);
    expect(await failing({ jwksFile: { path: 'jwks.json', text: null } })).toEqual(['jwks_file']);
    await auth.keys.rotate({ now: true });
    expect(await failing({ jwksFile: { path: 'jwks.json', text: good } })).toEqual(['jwks_file']);
  });

  it('reports cheap hashes and users without groups without failing; metrics in Prometheus text format', async () => {
    const auth = keyAuth(t, clock);
    await auth.keys.rotate();
    await auth.groups.create('staff');
    await auth.users.register({ username: 'cheap', email: 'cheap@example.com', password: PASSWORD }); // cost 4 (TEST_SETTINGS)
    await keyAuth(t, clock, { bcryptRounds: 10 }).users.register({ username: 'dear', email: 'dear@example.com', password: PASSWORD, groups: ['staff'] });
    const report = await checkHealth(t.knex, options());
    expect(report.ok).toBe(true);
    expect(report.info).toEqual({ usersWithCheapHashes: 1, usersWithoutGroups: 1 });
    const text = healthMetrics(report, clock.now());
    for (const line of text.trimEnd().split('\n')) {
      expect(line).toMatch(/^(# (HELP|TYPE) kaiju_auth_\w+ .+|kaiju_auth_\w+(\{(\w+="[^"\\\n]*",?)+\})? -?\d+)$/);
    }
    expect(text).toContain('kaiju_auth_up 1\n');
    expect(text).toContain('kaiju_auth_users_with_cheap_hashes 1\n');
    expect(text).toContain('kaiju_auth_signing_key_rotation_due_seconds 43200\n');
    expect(text).toContain('kaiju_auth_check_ok{check="signing_key"} 1\n');
  });
});
