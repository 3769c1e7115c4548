/**
 * Passwords hashed ahead of a seed (`hashFixturePasswords`, which `init` runs while a new embedded
 * database is being created; issue 13 item 11): the seed stores those hashes and hashes nothing
 * itself; a hash for a user that already exists is dropped (an existing user's password is never
 * touched); a hash given for another set's fixture is not used.
 */
import { afterAll, expect, it } from 'vitest';
import { hashFixturePasswords } from '../../src/core/fixtures/seed.js';
import { loadFixtures } from '../../src/core/fixtures/load.js';
import { bcryptHasher, type PasswordHasher } from '../../src/core/passwords.js';
import { describeOnBackends, truncateAll } from '../support/db.js';
import { testAuth } from '../support/auth.js';
import { fixtureDir, removeFixtureDirs } from '../support/fixtures.js';

afterAll(removeFixtureDirs);

const ROUNDS = 4;
const files = {
  groups: [{ data: { id: 'staff' }, permissions: [] }],
  users: ['ann_pre', 'bob_pre'].map((username) => ({ data: { username, email: `${username}@example.com`, password: `password of ${username} 1` }, groups: ['staff'] })),
};

function counting(): { hasher: PasswordHasher; hashes: () => number } {
  let n = 0;
  return {
    hasher: {
      async hash(password, rounds) {
        n += 1;
        return bcryptHasher.hash(password, rounds);
      },
      verify: bcryptHasher.verify,
    },
    hashes: () => n,
  };
}

describeOnBackends('a seed given its passwords hashed ahead', { fresh: true }, (t) => {
  it('stores those hashes and hashes nothing itself; the users log in with their passwords', async () => {
    const loaded = await loadFixtures(await fixtureDir(files));
    expect(loaded.problems).toEqual([]);
    const ahead = counting();
    const hashed = await hashFixturePasswords(loaded.set, { rounds: ROUNDS, hasher: ahead.hasher });
    expect(ahead.hashes()).toBe(2);
    expect([...hashed.keys()].map((u) => u.username).sort()).toEqual(['ann_pre', 'bob_pre']);

    const during = counting();
    const auth = testAuth(t, { bcryptRounds: ROUNDS });
    const report = await auth.fixtures.seedLoaded(loaded, { hasher: during.hasher, hashed });
    expect(report.errors).toEqual([]);
    expect(report.created.users.sort()).toEqual(['ann_pre', 'bob_pre']);
    expect(during.hashes()).toBe(0);

    const stored = await t.knex('users').whereIn('username', ['ann_pre', 'bob_pre']).orderBy('username').pluck('password');
    const expected = loaded.set.users.map((u) => Buffer.from(hashed.get(u)?.hash ?? ''));
    expect(stored.map((p: Uint8Array) => Buffer.from(p))).toEqual(expected);
    await expect(auth.users.authenticate('ann_pre', 'password of ann_pre 1')).resolves.toMatchObject({ username: 'ann_pre' });
    await expect(auth.users.authenticate('bob_pre', 'password of ann_pre 1')).rejects.toThrow();
  });

  it('drops a hash for a user that exists (its password is never touched) and ignores one for another set', async () => {
    const dir = await fixtureDir(files);
    const auth = testAuth(t, { bcryptRounds: ROUNDS });
    await auth.fixtures.seedLoaded(await loadFixtures(dir));
    const before = await t.knex('users').orderBy('username').select('username', 'password');

    // Hashed for a set that, meanwhile, someone else seeded: nothing changes.
    const again = await loadFixtures(dir);
    const hashed = await hashFixturePasswords(again.set, { rounds: ROUNDS });
    const report = await auth.fixtures.seedLoaded(again, { hashed });
    expect(report.unchanged.users.sort()).toEqual(['ann_pre', 'bob_pre']);
    expect(await t.knex('users').orderBy('username').select('username', 'password')).toEqual(before);

    // Hashes made for another load of the same files (other fixture objects) are not this set's.
    await truncateAll(t);
    const other = await loadFixtures(dir);
    const foreign = await hashFixturePasswords(other.set, { rounds: ROUNDS });
    const fresh = await loadFixtures(dir);
    const during = counting();
    await auth.fixtures.seedLoaded(fresh, { hasher: during.hasher, hashed: foreign });
    expect(during.hashes()).toBe(2);
  });
});
