/**
 * Issue 11 item 5: a failed login must not tell which users exist. Unknown user, wrong password at
 * any stored cost (cheaper than the configured one too), a stored hash that is not bcrypt at all,
 * blocked and inactive users (with the right password) all take the configured-cost bcrypt time
 * plus the jittered delay. Measured in-process (no process-spawn noise) at a small configured cost
 * and delay, 20 samples per case, interleaved so host noise spreads over every case alike.
 */
import { beforeAll, expect, it } from 'vitest';
import { resolveSettings } from '../../src/core/context.js';
import { bcryptHasher } from '../../src/core/passwords.js';
import { UserService } from '../../src/core/users.js';
import { describeOnBackends } from '../support/db.js';
import { PASSWORD, TEST_SETTINGS, testAuth } from '../support/auth.js';

/** Cost 9 is ~25 ms here, cost 4 under 1 ms: well apart, cheap enough for 120 logins. */
const CONFIGURED_COST = 9;
const SAMPLES = 20;

describeOnBackends('failed-login timing', (t, backend) => {
  beforeAll(async () => {
    const auth = testAuth(t, { bcryptRounds: CONFIGURED_COST });
    const register = (username: string) => auth.users.register({ username, email: `${username}@example.com`, password: PASSWORD });
    await register('strong'); // at the configured cost
    const cheap = (await bcryptHasher.hash(PASSWORD, 4)).hash;
    for (const name of ['cheap', 'blocked', 'inactive', 'unusable']) {
      await register(name);
      await t.knex('users').where({ username: name }).update({ password: name === 'unusable' ? Buffer.from('not a bcrypt hash') : cheap });
    }
    await auth.users.setFlag('blocked', 'block');
    await auth.users.setFlag('inactive', 'deactivate');
  });

  it('unknown user, wrong password at any stored cost, unusable hash, blocked and inactive: overlapping times', async () => {
    const settings = resolveSettings({ ...TEST_SETTINGS, bcryptRounds: CONFIGURED_COST, failedLoginDelayMs: { base: 1, jitter: 10 } });
    const users = new UserService({ db: t.knex, settings });
    const cases: Record<string, [string, string]> = {
      unknown: ['nobody', PASSWORD],
      'wrong password, configured cost': ['strong', 'wrong password 1'],
      'wrong password, cost 4': ['cheap', 'wrong password 1'],
      'unusable stored hash': ['unusable', PASSWORD],
      'blocked, right password': ['blocked', PASSWORD],
      'inactive, right password': ['inactive', PASSWORD],
    };
    const times: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((k) => [k, []]));
    // Warm up: the dummy hash, the connection, the JIT.
    for (const [name, pw] of Object.values(cases)) await users.authenticate(name, pw).catch(() => undefined);
    for (let i = 0; i < SAMPLES; i++) {
      for (const [label, [name, pw]] of Object.entries(cases)) {
        const start = performance.now();
        const err = await users.authenticate(name, pw).then(() => null, (e: unknown) => e);
        times[label]?.push(performance.now() - start);
        expect(err).toMatchObject({ code: 'auth.user.authentication_failed' });
      }
    }
    const ranges = Object.entries(times).map(([label, ms]) => ({ label, min: Math.min(...ms), max: Math.max(...ms) }));
    const summary = ranges.map((r) => `${r.label} ${r.min.toFixed(1)}-${r.max.toFixed(1)} ms`).join('; ');
    console.log(`auth timing (${backend}, ${SAMPLES} samples each): ${summary}`);
    // Every two ranges overlap: the fastest of each case is no faster than the slowest of every other.
    for (const a of ranges) {
      for (const b of ranges) expect(a.min, `${a.label} vs ${b.label}: ${summary}`).toBeLessThanOrEqual(b.max);
    }
  }, 120_000);
});
