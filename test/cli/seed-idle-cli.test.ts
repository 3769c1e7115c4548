/**
 * The reproduction (issue 12, item 3), through the CLI on PostgreSQL: a seed of new users
 * whose hashing takes several times the idle-in-transaction timeout, with that timeout set both on
 * the database (as the server had it) and by the tool's own flag. It used to hash inside
 * its transaction and exit 7 with nothing written; now it hashes first and writes in one short
 * transaction. (The embedded database has no such timeout; test/integration/seed-hashing checks
 * on both databases that no hash is made while a transaction is open.)
 */
import { afterAll, describe, expect, it } from 'vitest';
import { ADMIN_URL } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli } from '../support/cli.js';
import { fixtureDir, removeFixtureDirs } from '../support/fixtures.js';

afterAll(async () => {
  await removeTempDirs();
  await removeFixtureDirs();
});

describe.runIf(ADMIN_URL)('seed under an idle-in-transaction timeout on PostgreSQL', () => {
  it('seeds users whose hashing takes longer than the timeout: exit 0, every user written', async () => {
    const target = await cliTarget('postgres');
    try {
      const name = new URL(target.url as string).pathname.slice(1);
      await target.withKnex((k) => k.raw(`alter database ${name} set idle_in_transaction_session_timeout = '1s'`));
      // 60 hashes at cost 10 (~65 ms each on one core): seconds of bcrypt against a 1 s limit.
      const usernames = Array.from({ length: 60 }, (_, i) => `idle_user_${i}`);
      const dir = await fixtureDir({
        groups: [{ data: { id: 'staff' }, permissions: [] }],
        users: usernames.map((username) => ({ data: { username, email: `${username}@example.com`, password: 'idle password 123' }, groups: ['staff'] })),
      });
      const r = await runCli(['seed', dir, '--json', '-q', '--idle-in-transaction-timeout', '1s', ...target.args], {
        env: { KAIJU_AUTH_BCRYPT_ROUNDS: '10' },
      });
      expect(r.code, r.stderr).toBe(0);
      expect(r.json().created.users).toHaveLength(60);
      const stored = await target.withKnex(async (k) => ({
        users: Number((await k('users').count({ n: '*' }).first())?.n),
        members: Number((await k('user_groups').count({ n: '*' }).first())?.n),
      }));
      expect(stored).toEqual({ users: 60, members: 60 });
    } finally {
      await target.cleanup();
    }
  });
});
