/**
 * PostgreSQL through `pg`, the `Backend` of backend.ts for a URL. Loaded only when a URL selects it. Connection failures become one
 * `db.unavailable` error naming the (redacted) target, never a driver stack. Every connection and
 * statement is under the target's timeouts (pg-timeouts.ts).
 */
import type { Knex } from 'knex';
import { authError, isKaijuAuthError } from '../errors.js';
import type { Backend, ReadOnceOptions } from './backend.js';
import { connectionFailureReason } from './errors.js';
import { knexLog, type DbLogger } from './knex-log.js';
import { guardedKnexClient, timeoutError, TimeoutGuard } from './pg-timeouts.js';
import { describeTarget, type PostgresTarget } from './target.js';
import { answerDeadlineMs, DEFAULT_TIMEOUTS, formatMs, type DatabaseTimeouts } from './timeouts.js';
import { TYPE_PARSERS } from './values.js';

export interface OpenedPostgres {
  knex: Knex;
  timeouts: DatabaseTimeouts;
  /** Drop every connection now: the server rolls back whatever transaction each had open. */
  abort(): void;
  /** Close when done: waits for queries in flight. */
  close(): Promise<void>;
}

interface PgClientLike {
  end(): Promise<void>;
  once(event: 'end', listener: () => void): unknown;
  connection: { stream: { destroy(): void } };
}

/**
 * How long closing waits for each connection to say goodbye: a server that stopped answering
 * (or a network that went away) never answers the close, and the command has nothing left to say.
 */
const CLOSE_WAIT_MS = 2000;

/** Drop a connection's socket at once (the server, if there, rolls back what it had open). */
function drop(conn: PgClientLike): void {
  conn.connection.stream.destroy();
}

/** The URL's connection fields, completed by `target.connection` where the URL leaves them out. */
async function connectionFields(target: PostgresTarget): Promise<Record<string, unknown>> {
  const { parse } = await import('pg-connection-string');
  const parsed = parse(target.url) as Record<string, unknown>;
  const c = target.connection ?? {};
  // Fill in only what the URL leaves out, as libpq does with PG* variables.
  const fill = (key: 'host' | 'port' | 'user' | 'password' | 'database') => {
    const have = parsed[key];
    if ((have === undefined || have === null || have === '') && c[key] !== undefined) parsed[key] = c[key];
  };
  for (const key of ['host', 'port', 'user', 'password', 'database'] as const) fill(key);
  return parsed;
}

export async function openPostgresKnex(target: PostgresTarget, logger?: DbLogger): Promise<OpenedPostgres> {
  const [{ default: knexFactory }, { default: pg }] = await Promise.all([import('knex'), import('pg')]);
  const types = {
    getTypeParser(oid: number, format?: string) {
      return TYPE_PARSERS[oid] ?? pg.types.getTypeParser(oid, (format ?? 'text') as 'text');
    },
  };
  const parsed = await connectionFields(target);
  const timeouts: DatabaseTimeouts = { ...DEFAULT_TIMEOUTS, ...target.timeouts };
  const connection = {
    ...parsed,
    types,
    connectionTimeoutMillis: timeouts.connectMs,
    // A peer that vanished without a word (a host gone, a cut network) is noticed while idle too.
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    application_name: 'kaiju-auth',
  };
  const guard = new TimeoutGuard(timeouts, connection, pg.Client);
  const live = new Set<PgClientLike>();
  const knex = knexFactory({
    client: guardedKnexClient(guard) as unknown as Knex.Config['client'],
    connection,
    pool: {
      min: 0,
      max: target.poolMax ?? 4,
      destroyTimeoutMillis: CLOSE_WAIT_MS,
      afterCreate(conn: PgClientLike, done: (err: Error | null, conn: PgClientLike) => void) {
        live.add(conn);
        conn.once('end', () => live.delete(conn));
        done(null, conn);
      },
    },
    // Connecting has its own timeout; past it, a pool connection is busy with a statement of ours.
    acquireConnectionTimeout: timeouts.connectMs + answerDeadlineMs(timeouts) + 5000,
    log: knexLog(logger),
  });
  return {
    knex,
    timeouts,
    abort() {
      // Not end(): its goodbye would wait for a server that may never answer.
      for (const conn of live) drop(conn);
      live.clear();
      void guard.close();
    },
    async close() {
      try {
        await knex.destroy();
      } finally {
        // What did not close within CLOSE_WAIT_MS (a frozen server) is dropped.
        for (const conn of live) drop(conn);
        live.clear();
        await guard.close();
      }
    },
  };
}

/** How the pg driver hands out its connection for a COPY: the raw `pg.Client` under knex. */
interface PgConnection {
  query<T>(submittable: T): T;
}

/** COPY through pg-copy-streams on one pooled connection (the transaction's, when `db` is one). */
async function copyIn(db: Knex, target: string, lines: string | Buffer): Promise<void> {
  const sql = `COPY ${target} FROM STDIN`;
  const { default: copyStreams } = await import('pg-copy-streams');
  const client = db.client as Knex.Client & { emit(event: 'query', data: object): void };
  const connection = (await client.acquireConnection()) as PgConnection;
  try {
    // Seen by query listeners as every statement through knex is (logs, statement counts).
    client.emit('query', { sql, bindings: [], method: 'raw', __knexUid: (connection as { __knexUid?: string }).__knexUid });
    const stream = connection.query(copyStreams.from(sql));
    await new Promise<void>((resolve, reject) => {
      stream.on('error', reject);
      stream.on('finish', resolve);
      stream.end(lines);
    });
  } finally {
    await client.releaseConnection(connection);
  }
}

/** COPY for a knex handle that no backend of ours opened (a library caller's own `pg` handle). */
export const copyInWithPg = copyIn;

/**
 * `Backend.readOnce` on one `pg.Client`: connect (within `connectMs`), then in a READ ONLY
 * transaction whose statement and lock timeouts are set inside it (SET LOCAL: nothing outlives the
 * transaction, and a pooler in transaction mode takes it), the statement; a server that stops
 * answering is given up on by the client (`query_timeout`). Then goodbye, waited for at most
 * CLOSE_WAIT_MS. Errors are the driver's own: the caller only needs to know it failed.
 */
async function readOnce(target: PostgresTarget, sql: string, params: unknown[], options: ReadOnceOptions): Promise<Record<string, unknown>[]> {
  const [{ default: pg }, fields] = await Promise.all([import('pg'), connectionFields(target)]);
  const client = new pg.Client({
    ...(fields as ConstructorParameters<typeof pg.Client>[0] & object),
    connectionTimeoutMillis: options.connectMs,
    query_timeout: options.statementMs + 1000,
    application_name: 'kaiju-auth',
  });
  client.on('error', () => undefined);
  let connected = false;
  try {
    await client.connect();
    connected = true;
    await client.query('BEGIN READ ONLY');
    await client.query(`SET LOCAL statement_timeout = ${Math.max(1, Math.round(options.statementMs))}`);
    // 0 would mean "wait forever" to PostgreSQL: "do not wait" is the shortest wait there is.
    await client.query(`SET LOCAL lock_timeout = ${Math.max(1, Math.round(options.lockMs))}`);
    const { rows } = await client.query(sql, params);
    await client.query('COMMIT');
    return rows as Record<string, unknown>[];
  } finally {
    if (connected) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([client.end().catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, CLOSE_WAIT_MS)))]);
      clearTimeout(timer);
    }
    drop(client as unknown as PgClientLike);
  }
}

export const postgresBackend: Backend<PostgresTarget> = {
  name: 'postgres',
  readOnce,
  async open(target, options) {
    const description = describeTarget(target);
    let opened: OpenedPostgres;
    try {
      opened = await openPostgresKnex(target, options.logger);
    } catch (err) {
      throw authError('db.invalid_url', `invalid database URL ${description}`, undefined, err);
    }
    const { knex, timeouts } = opened;
    try {
      await knex.raw('select 1');
    } catch (err) {
      await opened.close().catch(() => undefined);
      if (isKaijuAuthError(err) && err.code === 'db.timeout' && err.details?.waited === 'connect') {
        const ms = timeouts.connectMs;
        throw timeoutError(`cannot connect to ${description}: the server did not answer within ${formatMs(ms)}`, 'connect', ms, [], err.cause);
      }
      if (isKaijuAuthError(err)) throw err;
      const reason = connectionFailureReason(err) ?? 'cannot connect';
      throw authError('db.unavailable', `cannot connect to ${description}: ${reason}`, { target: description }, err);
    }
    return {
      knex,
      description,
      scratchFor: null,
      madePrivate: 0,
      close: () => opened.close(),
      async abort() {
        opened.abort();
        await knex.destroy().catch(() => undefined);
      },
      copyIn,
    };
  },
};
