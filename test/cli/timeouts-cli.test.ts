/**
 * Nothing waits forever on PostgreSQL (issue 12, item 2): a lock another session holds (the
 * keystore's advisory lock, a group's row, a whole table), a backend that stops answering mid-import
 * (SIGSTOPped) and a server that accepts a connection and says nothing each end the command with
 * exit 7, `db.timeout` and one line that names what it waited for; the import leaves nothing
 * half-written and the next run works. Each run is killed after 60 s (runCli's default): a command
 * that waits forever fails the test with exit null instead of 7.
 */
import net from 'node:net';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_URL } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, spawnCli, type CliResult, type CliTarget } from '../support/cli.js';

const SECRET = 'timeouts test key secret, long enough';
const KEYSTORE_LOCK_KEY = '7737581540756645241';

afterAll(removeTempDirs);

/** The one JSON error line, and the plain-text run's single line on stderr. */
function timedOut(r: CliResult) {
  expect(r.code, `${r.stderr}`).toBe(7);
  const { error } = r.errorJson();
  expect(error.code).toBe('db.timeout');
  return error;
}

describe.runIf(ADMIN_URL)('timeouts on PostgreSQL', () => {
  let t: CliTarget;
  let holder: pg.Client;
  let holderPid: number;
  let watcher: pg.Client;
  const cli = (args: string[]) => runCli([...t.args, '-q', '--json', ...args], { env: { KAIJU_AUTH_SECRET: SECRET }, timeoutMs: 60_000 });

  beforeAll(async () => {
    t = await cliTarget('postgres');
    await t.withKnex(async (k) => {
      await k('groups').insert({ id: 'staff' });
      await k('permissions').insert({ id: 'docs.read', enabled: true });
    });
    holder = new pg.Client({ connectionString: t.url as string, application_name: 'timeouts-test-holder' });
    await holder.connect();
    holderPid = (await holder.query('select pg_backend_pid() as pid')).rows[0].pid as number;
    watcher = new pg.Client({ connectionString: t.url as string });
    await watcher.connect();
  });
  afterAll(async () => {
    await holder?.end();
    await watcher?.end();
    await t?.cleanup();
  });

  /** Run `work` while the holder session keeps what `lockSql` takes, in an open transaction. */
  async function whileHeld<T>(lockSql: string, work: () => Promise<T>): Promise<T> {
    await holder.query('begin');
    try {
      await holder.query(lockSql);
      return await work();
    } finally {
      await holder.query('rollback');
    }
  }

  it('keys rotate behind the keystore lock held by another session: exit 7 naming its pid, nothing rotated', async () => {
    const r = await whileHeld(`select pg_advisory_xact_lock(${KEYSTORE_LOCK_KEY})`, () => cli(['keys', 'rotate', '--lock-timeout', '1s']));
    const error = timedOut(r);
    expect(error.message).toMatch(new RegExp(`timed out after 1s waiting for a lock held by pid ${holderPid} \\(timeouts-test-holder`));
    expect(error.details).toMatchObject({ waited: 'lock', timeout_ms: 1000, holders: [expect.objectContaining({ pid: holderPid })] });
    expect(await t.withKnex(async (k) => Number((await k('keystore').count({ n: '*' }).first())?.n))).toBe(0);
  });

  it('group grant behind the group row locked by another session: exit 7 naming its pid; then it works', async () => {
    const r = await whileHeld("select id from groups where id = 'staff' for update", () => cli(['group', 'grant', 'staff', 'docs.read', '--lock-timeout', '1s']));
    expect(timedOut(r).message).toMatch(new RegExp(`waiting for a lock held by pid ${holderPid} \\(timeouts-test-holder, idle in transaction`));
    expect((await cli(['group', 'grant', 'staff', 'docs.read'])).code).toBe(0);
  });

  it('a statement longer than --statement-timeout (behind a table lock): exit 7 "statement timed out", naming the holder', async () => {
    const r = await whileHeld('lock table users in access exclusive mode', () => cli(['user', 'list', '--statement-timeout', '1s', '--lock-timeout', '1m']));
    const error = timedOut(r);
    expect(error.message).toMatch(new RegExp(`^statement timed out after 1s waiting for a lock held by pid ${holderPid} `));
    expect(error.details).toMatchObject({ waited: 'statement', timeout_ms: 1000 });
  });

  it('a backend that stops answering mid-import (SIGSTOP): exit 7 "did not answer", nothing written, the next run imports all', async () => {
    const file = path.join(t.tmp, 'people.csv');
    const rows = Array.from({ length: 30 }, (_, i) => `frozen${i},frozen${i}@example.com,$2b$04$${'a'.repeat(53)},Frozen ${i},staff`);
    await writeFile(file, `username,email,password_hash,full_name,groups\n${rows.join('\n')}\n`);
    const args = [...t.args, '-q', '--json', 'user', 'import', file, '--on-conflict', 'skip', '--statement-timeout', '5s', '--lock-timeout', '1m'];
    let stopped: number | null = null;
    await holder.query('begin');
    try {
      // The import's batch waits for the group row (its user_groups rows reference it); stop its
      // backend there, then let the row go: the backend that would now proceed is frozen.
      await holder.query("select id from groups where id = 'staff' for update");
      const run = await spawnCli(args, { env: { KAIJU_AUTH_SECRET: SECRET } });
      for (let i = 0; i < 300 && stopped === null; i += 1) {
        // Not the holder: pg_stat_activity is read once per transaction, and its transaction is open.
        const waiting = await watcher.query(
          "select pid from pg_stat_activity where datname = current_database() and application_name like 'kaiju-auth%' and wait_event_type = 'Lock'",
        );
        if (waiting.rows.length > 0) stopped = waiting.rows[0].pid as number;
        else await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(stopped, 'the import never waited for the group row').not.toBeNull();
      process.kill(stopped as number, 'SIGSTOP');
      await holder.query('rollback');
      const r = await run.result;
      const error = timedOut(r);
      expect(error.message).toMatch(/^the server did not answer within 10s/);
      expect(error.details).toMatchObject({ waited: 'server' });
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      if (stopped !== null) process.kill(stopped, 'SIGCONT');
      await holder.query('rollback').catch(() => undefined);
    }
    // The resumed backend finds its client gone and rolls its batch back.
    for (let i = 0; i < 100; i += 1) {
      const left = await watcher.query('select 1 from pg_stat_activity where pid = $1', [stopped]);
      if (left.rows.length === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await t.withKnex(async (k) => Number((await k('users').count({ n: '*' }).first())?.n))).toBe(0);
    const rerun = await runCli(args, { env: { KAIJU_AUTH_SECRET: SECRET } });
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(rerun.json()).toMatchObject({ created: { users: 30 } });
  });

  it('a server that accepts the connection and never answers: exit 7 after --connect-timeout', async () => {
    const silent = net.createServer(() => undefined);
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const { port } = silent.address() as net.AddressInfo;
    try {
      const r = await runCli(['--json', '-q', '--database-url', `postgres://nobody@127.0.0.1:${port}/nothing`, '--connect-timeout', '1s', 'status'], { timeoutMs: 60_000 });
      const error = timedOut(r);
      expect(error.message).toMatch(/did not answer within 1s/);
      expect(error.details).toMatchObject({ waited: 'connect', timeout_ms: 1000 });
    } finally {
      silent.close();
    }
  });
});
