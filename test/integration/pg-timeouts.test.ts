/**
 * PostgreSQL timeouts without session state (so PgBouncer in transaction mode keeps them): every
 * statement, in a transaction or not, with parameters or without, runs under the target's
 * statement, lock and idle-in-transaction timeouts, set for its transaction alone; the session
 * keeps the server's defaults. A transaction left idle past its timeout is ended by the server and
 * the error says so (db.timeout), and the handle keeps working. PostgreSQL only: the embedded
 * database is one process and has no server to wait for.
 */
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { KaijuAuth } from '../../src/core/auth.js';
import { resolveSettings } from '../../src/core/context.js';
import { bcryptHasher, type PasswordHasher } from '../../src/core/passwords.js';
import { migrateLatest } from '../../src/db/migrator.js';
import { openDatabase, type Database } from '../../src/db/open.js';
import { MIGRATIONS } from '../../migrations/index.js';
import { ADMIN_URL, createPgDatabase, dropPgDatabase } from '../support/db.js';
import { fixtureDir, removeFixtureDirs } from '../support/fixtures.js';
import { TcpProxy } from '../support/tcp-proxy.js';

const TIMEOUTS = { statementMs: 4321, lockMs: 1234, idleInTransactionMs: 1000 };
const SHOWN = ['4321ms', '1234ms', '1s'];
const SETTINGS = "select current_setting('statement_timeout') as s, current_setting('lock_timeout') as l, current_setting('idle_in_transaction_session_timeout') as i";

describe.runIf(ADMIN_URL)('PostgreSQL timeouts', () => {
  let name: string;
  let db: Database;

  beforeAll(async () => {
    const created = await createPgDatabase();
    name = created.name;
    db = await openDatabase({ kind: 'postgres', url: created.url, timeouts: TIMEOUTS, poolMax: 1 });
  });
  afterAll(async () => {
    await db?.close();
    if (name) await dropPgDatabase(name);
    await removeFixtureDirs();
  });

  const shown = (rows: { s: string; l: string; i: string }[]) => rows.map((r) => [r.s, r.l, r.i])[0];

  it('every statement runs under the timeouts; the session keeps the server defaults', async () => {
    const k = db.knex;
    expect(shown((await k.raw(SETTINGS)).rows)).toEqual(SHOWN);
    expect(shown((await k.raw(`${SETTINGS} where ? = 1`, [1])).rows)).toEqual(SHOWN);
    expect(shown(await k.transaction(async (trx) => (await trx.raw(SETTINGS)).rows))).toEqual(SHOWN);
    expect(await k('pg_catalog.pg_settings').where({ name: 'lock_timeout' }).first('setting')).toEqual({ setting: '1234' });
    // What cannot run in a transaction still runs (a library caller's maintenance).
    await k.raw('vacuum analyze pg_catalog.pg_class');
    // The pool's one connection, asked directly: nothing was set for the session.
    const client = k.client as Knex.Client;
    const conn = (await client.acquireConnection()) as { query(sql: string): Promise<{ rows: { s: string; l: string; i: string }[] }> };
    try {
      expect(shown((await conn.query(SETTINGS)).rows)).toEqual(['0', '0', '0']);
    } finally {
      await client.releaseConnection(conn);
    }
  });

  it('a statement after a nested transaction (savepoint) still belongs to the outer transaction', async () => {
    // knex deletes its transaction mark from the connection when a nested transaction ends; the
    // statements after it must not be wrapped in BEGIN ... COMMIT (committing the outer one).
    await db.knex.raw('create table if not exists nested_probe (v text)');
    await db.knex('nested_probe').delete();
    class Undo extends Error {}
    await expect(
      db.knex.transaction(async (trx) => {
        await trx('nested_probe').insert({ v: 'before' });
        await trx
          .transaction(async (sp) => {
            await sp('nested_probe').insert({ v: 'inner' });
            throw new Undo();
          })
          .catch((err: unknown) => {
            if (!(err instanceof Undo)) throw err;
          });
        await trx('nested_probe').insert({ v: 'after' });
        await trx.transaction(async (sp) => {
          await sp('nested_probe').insert({ v: 'released' });
        });
        await trx.raw('select 1');
        throw new Undo();
      }),
    ).rejects.toBeInstanceOf(Undo);
    expect(await db.knex('nested_probe').select('v')).toEqual([]);
    // The handle works as before: lone statements commit.
    await db.knex('nested_probe').insert({ v: 'lone' });
    expect(await db.knex('nested_probe').select('v')).toEqual([{ v: 'lone' }]);
  });

  it('a transaction left idle longer than its timeout: db.timeout saying so; the handle still works', async () => {
    const err = await db.knex
      .transaction(async (trx) => {
        await trx.raw('select 1');
        await new Promise((resolve) => setTimeout(resolve, 2500));
        await trx.raw('select 1');
      })
      .catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'db.timeout', details: { waited: 'idle_in_transaction', timeout_ms: 1000 } });
    expect((err as Error).message).toBe('the server ended the transaction after it was idle for 1s: nothing of it was written');
    expect((await db.knex.raw('select 2 as n')).rows).toEqual([{ n: 2 }]);
  });

  it('seed hashes new users\' passwords before its transaction: hashing longer than the idle timeout is fine', async () => {
    await migrateLatest(db.knex, MIGRATIONS);
    // Each hash takes 600 ms, one at a time: 1.8 s of hashing against a 1 s idle-in-transaction timeout.
    const slow: PasswordHasher = {
      hash: async (password, rounds) => {
        await new Promise((resolve) => setTimeout(resolve, 600));
        return bcryptHasher.hash(password, rounds);
      },
      verify: bcryptHasher.verify,
    };
    const users = ['slow1', 'slow2', 'slow3'].map((username) => ({ data: { username, email: `${username}@example.com`, password: 'slow password 123' }, groups: [] }));
    const auth = new KaijuAuth(db.knex, resolveSettings({ bcryptRounds: 4 }));
    const report = await auth.fixtures.seed(await fixtureDir({ users }), { hasher: slow, concurrency: 1 });
    expect(report.created.users).toEqual(['slow1', 'slow2', 'slow3']);
  });

  it('a server that stops answering mid-statement: db.timeout, and closing does not wait for it (nor for the lock watch)', async () => {
    const url = new URL(db.target.kind === 'postgres' ? db.target.url : '');
    const proxy = await TcpProxy.start({ host: url.hostname, port: Number(url.port || 5432) });
    url.hostname = '127.0.0.1';
    url.port = String(proxy.port);
    const frozen = await openDatabase({ kind: 'postgres', url: url.toString(), timeouts: { statementMs: 3000, lockMs: 10_000, connectMs: 1000 } });
    await db.knex.raw('create table if not exists frozen_lock (id int)');
    // Not `db`: its transactions end after 1 s idle.
    const other = await openDatabase({ kind: 'postgres', url: db.target.kind === 'postgres' ? db.target.url : '' });
    const blocker = await other.knex.transaction();
    try {
      await blocker.raw('lock table frozen_lock in access exclusive mode');
      // The statement waits for the lock; the lock watch connects (after 1 s) and asks who holds it.
      const waiting = frozen.knex.raw('select * from frozen_lock').catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 1500));
      proxy.arm(0, 'freeze');
      expect(await waiting).toMatchObject({ code: 'db.timeout', details: { waited: 'server' } });
      const closed = await Promise.race([frozen.close().then(() => 'closed'), new Promise((resolve) => setTimeout(() => resolve('still waiting'), 20_000))]);
      expect(closed).toBe('closed');
    } finally {
      await blocker.rollback();
      await other.close();
      await proxy.close();
    }
  });
});
