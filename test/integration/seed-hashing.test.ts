/**
 * `seed` never hashes while it holds a transaction open (issue 12, item 3): bcrypt at cost 13 takes
 * minutes for a few hundred users, and a transaction idle that long is ended by the server's
 * idle-in-transaction timeout (exit 7, nothing written), pins a PgBouncer server connection, and
 * keeps the seed lock from other seeds. Every BEGIN/COMMIT the seed sends is watched, and every
 * hash: none may overlap. The write transaction is the same statements whatever the cost, and a
 * user that turns out new only at write time (deleted meanwhile) is hashed between transactions too.
 */
import type { Knex } from 'knex';
import { afterAll, expect, it } from 'vitest';
import { bcryptHasher, type PasswordHasher } from '../../src/core/passwords.js';
import { describeOnBackends, truncateAll } from '../support/db.js';
import { testAuth } from '../support/auth.js';
import { fixtureDir, removeFixtureDirs } from '../support/fixtures.js';

afterAll(removeFixtureDirs);

/** Watches `knex` for transactions and `hasher` for hashes; counts hashes made inside a transaction. */
function watch(knex: Knex, onHash: (n: number) => Promise<void> = async () => undefined) {
  const state = { open: 0, hashing: 0, hashes: 0, overlaps: 0, transactions: [] as string[][] };
  const listener = (q: { sql: string }) => {
    const sql = q.sql.trim();
    if (/^begin/i.test(sql)) {
      state.open += 1;
      if (state.hashing > 0) state.overlaps += 1;
      state.transactions.push([]);
    } else if (/^(commit|rollback)/i.test(sql)) {
      state.open -= 1;
    } else if (state.open > 0) {
      state.transactions[state.transactions.length - 1]?.push(sql.split(/\s+/)[0]?.toLowerCase() ?? '');
    }
  };
  knex.on('query', listener);
  const hasher: PasswordHasher = {
    async hash(password, rounds) {
      if (state.open > 0) state.overlaps += 1;
      state.hashing += 1;
      try {
        state.hashes += 1;
        await onHash(state.hashes);
        return await bcryptHasher.hash(password, rounds);
      } finally {
        state.hashing -= 1;
        if (state.open > 0) state.overlaps += 1;
      }
    },
    verify: bcryptHasher.verify,
  };
  return { state, hasher, stop: () => knex.removeListener('query', listener) };
}

const users = (names: string[]) =>
  names.map((username) => ({ data: { username, email: `${username}@example.com`, password: 'seed password 123' }, groups: ['staff'] }));

describeOnBackends('seed hashing', (t) => {
  it('hashes no password while a transaction is open; the write transaction does not depend on the cost', async () => {
    const writes: string[][] = [];
    for (const rounds of [4, 6]) {
      await truncateAll(t);
      const dir = await fixtureDir({ groups: [{ data: { id: 'staff' }, permissions: [] }], users: users(['ann_1', 'bob_1', 'cat_1', 'dan_1']) });
      const w = watch(t.knex);
      try {
        const report = await testAuth(t, { bcryptRounds: rounds }).fixtures.seed(dir, { hasher: w.hasher, concurrency: 2 });
        expect(report.created.users).toEqual(['ann_1', 'bob_1', 'cat_1', 'dan_1']);
      } finally {
        w.stop();
      }
      expect(w.state.hashes).toBe(4);
      expect(w.state.overlaps).toBe(0);
      writes.push(w.state.transactions.find((statements) => statements.includes('insert')) ?? []);
    }
    expect(writes[0]?.length).toBeGreaterThan(0);
    expect(writes[1]).toEqual(writes[0]);
  });

  it('a user found new only when writing (deleted meanwhile) is hashed between transactions too', async () => {
    await truncateAll(t);
    const auth = testAuth(t);
    const dir = await fixtureDir({ groups: [{ data: { id: 'staff' }, permissions: [] }], users: users(['old_1', 'new_1']) });
    await auth.fixtures.seed(await fixtureDir({ groups: [{ data: { id: 'staff' }, permissions: [] }], users: users(['old_1']) }));
    // While new_1 is hashed (outside any transaction), old_1 is deleted: the next plan finds it new.
    const w = watch(t.knex, async (n) => {
      if (n === 1) await t.knex('users').where({ username: 'old_1' }).delete();
    });
    try {
      const report = await auth.fixtures.seed(dir, { hasher: w.hasher });
      expect(report.created.users).toEqual(['old_1', 'new_1']);
    } finally {
      w.stop();
    }
    expect(w.state.hashes).toBe(2);
    expect(w.state.overlaps).toBe(0);
    expect(await t.knex('users').orderBy('username').pluck('username')).toEqual(['new_1', 'old_1']);
    expect(await auth.users.authenticate('old_1', 'seed password 123')).toMatchObject({ username: 'old_1' });
  });
});
