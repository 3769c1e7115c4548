/**
 * `seed` never hashes while its write transaction is open (issue 12, item 3): bcrypt at cost 13
 * takes minutes for a few hundred users, and a transaction idle that long is ended by the server's
 * idle-in-transaction timeout (exit 7, nothing written), pins a PgBouncer server connection, and
 * keeps the seed lock from other seeds. Every BEGIN/COMMIT the seed sends is watched, and every
 * hash: none may overlap a transaction that writes. Hashing may run beside the first transaction,
 * which only reads and plans (issue 16 item 5): that one writes nothing, and its length does not
 * depend on bcrypt. The write transaction is the same statements whatever the cost, and a user
 * that turns out new only at write time (deleted meanwhile) is hashed between transactions too.
 * A plan that finds a problem stops the hashing it overlapped.
 */
import type { Knex } from 'knex';
import { afterAll, expect, it } from 'vitest';
import { bcryptHasher, type PasswordHasher } from '../../src/core/passwords.js';
import { describeOnBackends, truncateAll } from '../support/db.js';
import { testAuth } from '../support/auth.js';
import { fixtureDir, removeFixtureDirs } from '../support/fixtures.js';

afterAll(removeFixtureDirs);

interface Transaction {
  id: string | undefined;
  statements: string[];
  /** A hash ran at some moment while it was open. */
  hashedWhileOpen: boolean;
}

/**
 * Watches `knex` for transactions and `hasher` for hashes; `overlaps` counts the transactions
 * that wrote (insert, update, delete) and had a hash running at any moment while they were open.
 */
function watch(knex: Knex, onHash: (n: number) => Promise<void> = async () => undefined) {
  const state = { hashing: 0, hashes: 0, overlaps: 0, transactions: [] as Transaction[], open: null as Transaction | null };
  // A statement belongs to the open transaction by knex's transaction id: the test's own
  // statements (outside it) may run while it is open.
  const listener = (q: { sql: string; __knexTxId?: string }) => {
    const sql = q.sql.trim();
    if (/^begin/i.test(sql)) {
      state.open = { id: q.__knexTxId, statements: [], hashedWhileOpen: state.hashing > 0 };
      state.transactions.push(state.open);
    } else if (/^(commit|rollback)/i.test(sql)) {
      const t = state.open;
      if (t && t.hashedWhileOpen && t.statements.some((w) => w === 'insert' || w === 'update' || w === 'delete')) state.overlaps += 1;
      state.open = null;
    } else if (state.open && q.__knexTxId === state.open.id) {
      state.open.statements.push(sql.split(/\s+/)[0]?.toLowerCase() ?? '');
    }
  };
  knex.on('query', listener);
  const hasher: PasswordHasher = {
    async hash(password, rounds) {
      if (state.open) state.open.hashedWhileOpen = true;
      state.hashing += 1;
      try {
        state.hashes += 1;
        await onHash(state.hashes);
        return await bcryptHasher.hash(password, rounds);
      } finally {
        state.hashing -= 1;
        if (state.open) state.open.hashedWhileOpen = true;
      }
    },
    verify: bcryptHasher.verify,
  };
  return { state, hasher, stop: () => knex.removeListener('query', listener) };
}

const users = (names: string[]) =>
  names.map((username) => ({ data: { username, email: `${username}@example.com`, password: 'seed password 123' }, groups: ['staff'] }));

describeOnBackends('seed hashing', (t) => {
  it('hashes no password while the write transaction is open; the write transaction does not depend on the cost', async () => {
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
      writes.push(w.state.transactions.find((t) => t.statements.includes('insert'))?.statements ?? []);
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

  it('a problem found by the plan stops the hashing it overlapped; nothing is written', async () => {
    await truncateAll(t);
    const auth = testAuth(t);
    await auth.fixtures.seed(await fixtureDir({ groups: [{ data: { id: 'staff' }, permissions: [] }], users: users(['ann_1']) }));
    // 40 new users, the last of them looking like ann_1 (l for 1): a problem found by the
    // look-alike check, after the plan has started hashing the new users.
    const dir = await fixtureDir({ groups: [{ data: { id: 'staff' }, permissions: [] }], users: users([...Array.from({ length: 39 }, (_, i) => `stop_${i}`), 'ann_l']) });
    // Every hash waits until the seed has answered: only the jobs already on the pool (the
    // concurrency, 2) may ever have started.
    let release = () => undefined as void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const w = watch(t.knex, () => released);
    try {
      const report = await auth.fixtures.seed(dir, { hasher: w.hasher, concurrency: 2 });
      expect(report.errors.map((e) => e.code)).toEqual(['auth.user.exists']);
    } finally {
      release();
    }
    // Let the pool run dry: without the stop, the 38 queued hashes would now start one by one.
    for (let waited = 0; w.state.hashing > 0 && waited < 10_000; waited += 20) await new Promise((resolve) => setTimeout(resolve, 20));
    w.stop();
    expect(w.state.hashing).toBe(0);
    expect(w.state.hashes).toBeGreaterThan(0);
    expect(w.state.hashes).toBeLessThanOrEqual(2);
    expect(w.state.overlaps).toBe(0);
    expect(await t.knex('users').orderBy('username').pluck('username')).toEqual(['ann_1']);
  });
});
