/**
 * Nothing waits forever on PostgreSQL, and this holds through PgBouncer in transaction mode, which
 * allows no session state (no startup `options`, no session-level SET):
 *
 * - Every statement runs in a transaction that first sets statement_timeout, lock_timeout and
 *   idle_in_transaction_session_timeout for itself alone (`set_config(..., true)`, i.e. SET LOCAL).
 *   knex's BEGIN carries it in the same message; a statement outside a transaction gets it in
 *   front when it has no parameters (one simple-protocol message is one implicit transaction), and
 *   is wrapped in BEGIN ... COMMIT when it has some (the extended protocol takes one statement).
 *   Statements that cannot run in a transaction (VACUUM, CREATE DATABASE...) go as they are.
 * - The client gives up on any answer at answerDeadlineMs: a stopped backend or a cut network
 *   cannot time out its own statement. It drops the connection; the server rolls back what it had.
 * - While a statement runs, a lock watch asks the server on a connection of its own who blocks it
 *   (pg_blocking_pids), so that a lock timeout can name the holder.
 *
 * Expiries become `db.timeout` errors (exit 7) that say what was waited for: a lock and who holds
 * it, a statement, the server.
 */
import { createRequire } from 'node:module';
import type pg from 'pg';
import { sqlState } from './errors.js';
import { authError, isKaijuAuthError, type KaijuAuthError } from '../errors.js';
import { answerDeadlineMs, formatMs, type DatabaseTimeouts } from './timeouts.js';

const require = createRequire(import.meta.url);

/** A session that holds a lock another one waits for, as pg_stat_activity shows it. */
export interface LockHolder {
  pid: number;
  application_name: string | null;
  /** `active`, `idle in transaction`, ... */
  state: string | null;
  /** Seconds since its transaction (else its statement) began. */
  seconds: number | null;
}

const STATE = Symbol('kaiju-auth.connection-state');

interface ConnectionState {
  /** The connection's own application name (the lock watch finds its server process by it). */
  name: string;
  /** The server process of the transaction in progress, from its BEGIN (PgBouncer may change it per transaction). */
  pid: number | null;
  /** Who blocked the statement in progress, when the lock watch last looked. */
  holders: LockHolder[];
  /** Why the connection went away: our deadline, or the server ending it (idle in transaction). */
  lost: unknown;
  /**
   * Between knex's BEGIN and its COMMIT/ROLLBACK. knex's own mark (`__knexTxId`) is deleted from
   * the connection when a nested transaction (a savepoint) ends, though the outer one goes on; a
   * statement of the outer one taken for a lone statement would be wrapped in BEGIN ... COMMIT,
   * and that COMMIT would commit the outer transaction half done.
   */
  inTransaction: boolean;
}

interface RawConnection {
  processID: number | null;
  connectionParameters?: { application_name?: string };
  connection: { stream: { destroy(err?: Error): void } };
  query: (...args: unknown[]) => unknown;
  on(event: 'error', listener: (err: Error) => void): unknown;
  __knexTxId?: string;
  [STATE]?: ConnectionState;
}

interface Submittable {
  submit: unknown;
  handleReadyForQuery: (...args: unknown[]) => unknown;
  handleError: (err: unknown, ...rest: unknown[]) => unknown;
}

type Callback = (err: unknown, result?: unknown) => void;

/** The client gave up waiting for an answer; the connection is dropped. */
class NoAnswerError extends Error {
  override readonly name = 'NoAnswerError';
  constructor(
    readonly ms: number,
    readonly committing: boolean,
  ) {
    super(`no answer from the server within ${ms} ms`);
  }
}

/** Errors pg gives for a query on a connection that is already gone. */
const GONE = /not queryable|Connection terminated|Client was closed/;

/**
 * Who blocks the statement in progress: of the server process $1 (its transaction's, from BEGIN)
 * or, before one is known, of the one that runs under application name $2 (unique to the
 * connection; through PgBouncer the pid pg reports is the pooler's, not the server's).
 */
const HOLDERS_SQL = `select b.pid, a.application_name, a.state,
       floor(extract(epoch from clock_timestamp() - coalesce(a.xact_start, a.query_start)))::int as seconds
  from pg_stat_activity w
  cross join lateral unnest(pg_blocking_pids(w.pid)) as b(pid)
  left join pg_stat_activity a on a.pid = b.pid
 where case when $1::int is null then w.application_name = $2 and w.state = 'active' else w.pid = $1::int end
 order by b.pid`;

/** `pid 1234 (psql, idle in transaction for 12s)`, and how many more. */
export function describeHolders(holders: readonly LockHolder[]): string {
  const [first] = holders;
  if (!first) return 'another session';
  const state = first.state === null ? null : first.seconds === null ? first.state : `${first.state} for ${first.seconds}s`;
  const about = [first.application_name || null, state].filter((s) => s !== null).join(', ');
  const more = holders.length > 1 ? ` and ${holders.length - 1} more` : '';
  return `pid ${first.pid}${about ? ` (${about})` : ''}${more}`;
}

/**
 * Enforces one set of timeouts on every connection of one knex handle (see the module header).
 * `close()` ends the lock watch's own connection.
 */
export class TimeoutGuard {
  /** The statement that sets the timeouts for the transaction it runs in and names its server process. */
  readonly localSettings: string;
  private watcher: Promise<pg.Client> | null = null;
  private closed = false;

  constructor(
    readonly timeouts: DatabaseTimeouts,
    private readonly connection: pg.ClientConfig,
    private readonly Client: typeof pg.Client,
  ) {
    const ms = (n: number) => `'${Math.trunc(n)}'`;
    // lock_timeout 0 means "wait forever" to PostgreSQL; ours means "do not wait": 1 ms is the least.
    this.localSettings =
      `select set_config('statement_timeout', ${ms(timeouts.statementMs)}, true), ` +
      `set_config('lock_timeout', ${ms(Math.max(1, timeouts.lockMs))}, true), ` +
      `set_config('idle_in_transaction_session_timeout', ${ms(timeouts.idleInTransactionMs)}, true), ` +
      'pg_backend_pid() as kaiju_auth_pid';
  }

  /** Watch every query of a new connection: deadline, lock watch, errors that say what expired. */
  attach(conn: RawConnection): void {
    const state: ConnectionState = { name: conn.connectionParameters?.application_name ?? '', pid: null, holders: [], lost: null, inTransaction: false };
    conn[STATE] = state;
    conn.on('error', (err) => {
      state.lost ??= err;
    });
    const query = conn.query.bind(conn) as (...args: unknown[]) => unknown;
    conn.query = (config: unknown, values?: unknown, callback?: unknown) => {
      const text = typeof config === 'string' ? config : ((config as { text?: unknown } | null)?.text ?? '');
      const done = this.watch(conn, state, String(text));
      const fail = (err: unknown) => this.explain(err, state);
      if (config !== null && typeof config === 'object' && typeof (config as Submittable).submit === 'function') {
        const q = config as Submittable;
        const { handleReadyForQuery, handleError } = q;
        q.handleReadyForQuery = function (this: unknown, ...args: unknown[]) {
          done();
          return handleReadyForQuery.apply(this, args);
        };
        q.handleError = function (this: unknown, err: unknown, ...rest: unknown[]) {
          done();
          return handleError.call(this, fail(err), ...rest);
        };
        return query(config, values, callback);
      }
      if (typeof values === 'function') {
        callback = values;
        values = undefined;
      }
      if (typeof callback === 'function') {
        const cb = callback as Callback;
        return query(config, values, (err: unknown, result: unknown) => {
          done();
          cb(err ? fail(err) : err, result);
        });
      }
      return (query(config, values) as Promise<unknown>).then(
        (result) => {
          done();
          return result;
        },
        (err: unknown) => {
          done();
          throw fail(err);
        },
      );
    };
  }

  /** Start the deadline and the lock watch of one query; the returned function stops both. */
  private watch(conn: RawConnection, state: ConnectionState, text: string): () => void {
    const t = this.timeouts;
    state.holders = [];
    let finished = false;
    const limit = answerDeadlineMs(t);
    const deadline = setTimeout(() => {
      if (finished) return;
      const err = new NoAnswerError(limit, /^\s*commit\b/i.test(text));
      state.lost = err;
      conn.connection.stream.destroy(err);
    }, limit);
    let look: NodeJS.Timeout | undefined;
    const check = async () => {
      if (finished) return;
      const holders = await this.holders(state.pid, state.name);
      if (finished) return;
      if (holders.length > 0) state.holders = holders;
      look = setTimeout(() => void check(), 1000);
    };
    // Look early enough to see the holder before the lock (or the statement) times out.
    const first = Math.min(1000, Math.min(t.lockMs, t.statementMs) / 2);
    if (first >= 50) look = setTimeout(() => void check(), first);
    return () => {
      finished = true;
      clearTimeout(deadline);
      clearTimeout(look);
    };
  }

  /** Who blocks server process `pid` (else the one running as `name`) now; nothing when that cannot be found out. */
  private async holders(pid: number | null, name: string): Promise<LockHolder[]> {
    if (this.closed) return [];
    try {
      const client = await this.watchClient();
      const result = await client.query({ text: HOLDERS_SQL, values: [pid, name], query_timeout: 5000 } as pg.QueryConfig);
      return (result.rows as LockHolder[]).map((r) => ({
        pid: Number(r.pid),
        application_name: r.application_name,
        state: r.state,
        seconds: r.seconds === null ? null : Number(r.seconds),
      }));
    } catch {
      this.dropWatcher();
      return [];
    }
  }

  private watchClient(): Promise<pg.Client> {
    this.watcher ??= (async () => {
      const client = new this.Client({
        ...this.connection,
        // `kaiju-auth 4242.watch`: the process's name scheme (see the client below).
        application_name: `${this.connection.application_name ?? 'kaiju-auth'} ${process.pid}.watch`,
        connectionTimeoutMillis: Math.min(this.timeouts.connectMs, 5000),
      });
      client.on('error', () => this.dropWatcher());
      await client.connect();
      return client;
    })();
    return this.watcher;
  }

  private dropWatcher(): void {
    const watcher = this.watcher;
    this.watcher = null;
    void watcher?.then(endWithin).catch(() => undefined);
  }

  /** A driver error as the coded error it means when something expired; other errors as they are. */
  explain(err: unknown, state: ConnectionState): unknown {
    if (isKaijuAuthError(err)) return err;
    // A query refused because the connection is gone: say why it went.
    if (state.lost !== null && state.lost !== err && err instanceof Error && GONE.test(err.message)) {
      const why = this.explain(state.lost, { ...state, lost: null });
      if (isKaijuAuthError(why)) return why;
    }
    const t = this.timeouts;
    if (err instanceof NoAnswerError) {
      const committing = err.committing ? ' to COMMIT: the transaction may or may not have been written' : '';
      return timeoutError(`the server did not answer within ${formatMs(err.ms)}${committing}`, 'server', err.ms, [], err);
    }
    const code = sqlState(err);
    const message = err instanceof Error ? err.message : '';
    if (code === '55P03') {
      return timeoutError(`timed out after ${formatMs(t.lockMs)} waiting for a lock held by ${describeHolders(state.holders)}`, 'lock', t.lockMs, state.holders, err);
    }
    if (code === '57014' && /statement timeout/i.test(message)) {
      const lock = state.holders.length > 0 ? ` waiting for a lock held by ${describeHolders(state.holders)}` : '';
      return timeoutError(`statement timed out after ${formatMs(t.statementMs)}${lock}`, 'statement', t.statementMs, state.holders, err);
    }
    if (code === '25P03') {
      return timeoutError(
        `the server ended the transaction after it was idle for ${formatMs(t.idleInTransactionMs)}: nothing of it was written`,
        'idle_in_transaction',
        t.idleInTransactionMs,
        [],
        err,
      );
    }
    return err;
  }

  /** The connection's state, for the knex client below. */
  static state(conn: unknown): ConnectionState | undefined {
    return (conn as RawConnection | null)?.[STATE];
  }

  /** End the lock watch's connection (the pool's are knex's to end). */
  async close(): Promise<void> {
    this.closed = true;
    const watcher = this.watcher;
    this.watcher = null;
    await watcher?.then(endWithin).catch(() => undefined);
  }
}

/**
 * End a connection politely, but drop it after 2 s: a server that stopped answering never answers
 * the goodbye either.
 */
async function endWithin(client: pg.Client): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<void>((resolve) => (timer = setTimeout(resolve, 2000)));
  try {
    await Promise.race([client.end().catch(() => undefined), late]);
  } finally {
    clearTimeout(timer);
    (client as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
  }
}

/** Messages of our errors, which knex rewrites on their way up (it prefixes the statement). */
const MESSAGES = new WeakMap<object, string>();

/** What expired; `details.waited` is `lock`, `statement`, `server`, `idle_in_transaction` or `connect`. */
export function timeoutError(message: string, waited: string, ms: number, holders: readonly LockHolder[], cause?: unknown): KaijuAuthError {
  const err = authError('db.timeout', message, { waited, timeout_ms: ms, ...(holders.length > 0 ? { holders } : {}) }, cause);
  MESSAGES.set(err, message);
  return err;
}

interface QueryObject {
  sql: string;
  bindings?: readonly unknown[];
  method?: string;
  response?: unknown;
}

interface KnexPgClient {
  _acquireOnlyConnection(): Promise<RawConnection>;
  _query(conn: RawConnection, obj: QueryObject): Promise<QueryObject>;
  query(conn: RawConnection, obj: unknown): Promise<unknown>;
}

const BEGIN = /^BEGIN( TRANSACTION .*)?;$/;
/** The end of the transaction; not `ROLLBACK TO SAVEPOINT`, which ends a nested one only. */
const END = /^(COMMIT|ROLLBACK)\b(?!\s+TO\b)/i;
/**
 * Statements that PostgreSQL refuses inside a transaction block, and transaction control itself:
 * sent as they are (a library caller's `VACUUM`), under the client's deadline only.
 */
const OWN_TRANSACTION =
  /^\s*(vacuum|reindex|cluster|checkpoint|alter\s+system|(create|drop)\s+(database|tablespace|subscription)|(create|drop)\s+(unique\s+)?index\s+concurrently|begin|start\s+transaction|commit|end|rollback|abort|savepoint|release|prepare\s+transaction)\b/i;

/** knex's PostgreSQL client with `guard`'s timeouts on every connection and statement. */
export function guardedKnexClient(guard: TimeoutGuard): new (...args: unknown[]) => object {
  const Base = require('knex/lib/dialects/postgres/index.js') as new (...args: unknown[]) => KnexPgClient;
  const settings = guard.localSettings;
  let connections = 0;

  class GuardedPgClient extends Base {
    declare connectionSettings: { application_name?: string };

    override async _acquireOnlyConnection(): Promise<RawConnection> {
      // pg's own connect timeout (connectionTimeoutMillis, the same length) drops the socket; which
      // error it then reports depends on how far the connection got. This timer, started first,
      // fires first and says what happened whatever that error is.
      const ms = guard.timeouts.connectMs;
      let expired = false;
      const timer = setTimeout(() => (expired = true), ms);
      // Each connection gets a name of its own (`kaiju-auth 4242.3`: process, connection), by which
      // the lock watch finds its server process; knex builds the driver's client synchronously.
      const settings = this.connectionSettings;
      // Copied with every property descriptor: knex keeps the password non-enumerable (out of its
      // logs), and a spread would drop it, sending an empty password.
      const named = Object.defineProperties({}, Object.getOwnPropertyDescriptors(settings)) as typeof settings;
      Object.defineProperty(named, 'application_name', {
        value: `${settings.application_name ?? 'kaiju-auth'} ${process.pid}.${(connections += 1)}`,
        enumerable: true,
        writable: true,
        configurable: true,
      });
      this.connectionSettings = named;
      let connecting: Promise<RawConnection>;
      try {
        connecting = super._acquireOnlyConnection();
      } finally {
        this.connectionSettings = settings;
      }
      try {
        const conn = await connecting;
        guard.attach(conn);
        return conn;
      } catch (err) {
        if (expired) throw timeoutError(`the server did not answer within ${formatMs(ms)} while connecting`, 'connect', ms, [], err);
        throw err;
      } finally {
        clearTimeout(timer);
      }
    }

    /** knex puts the statement into the message of every error; ours are whole sentences already. */
    override query(conn: RawConnection, obj: unknown): Promise<unknown> {
      return super.query(conn, obj).catch((err: unknown) => {
        const message = typeof err === 'object' && err !== null ? MESSAGES.get(err) : undefined;
        if (message !== undefined) (err as Error).message = message;
        throw err;
      });
    }

    override async _query(conn: RawConnection, obj: QueryObject): Promise<QueryObject> {
      const state = TimeoutGuard.state(conn);
      if (!state) return super._query(conn, obj);
      if (conn.__knexTxId !== undefined || state.inTransaction) {
        if (BEGIN.test(obj.sql)) {
          const out = await super._query(conn, { ...obj, sql: `${obj.sql} ${settings}` });
          state.inTransaction = true;
          const [begun, set] = out.response as pg.QueryResult[];
          state.pid = Number(set?.rows[0]?.kaiju_auth_pid ?? conn.processID);
          obj.response = begun;
          return obj;
        }
        if (END.test(obj.sql)) {
          try {
            // The connection is gone, and the server rolled back with it: nothing to say to it.
            if (state.lost !== null && /^ROLLBACK/i.test(obj.sql)) {
              obj.response = { command: 'ROLLBACK', rowCount: 0, rows: [] };
              return obj;
            }
            return await super._query(conn, obj);
          } finally {
            state.pid = null;
            state.inTransaction = false;
          }
        }
        return super._query(conn, obj);
      }
      if (OWN_TRANSACTION.test(obj.sql)) return super._query(conn, obj);
      if (!obj.bindings || obj.bindings.length === 0) {
        const out = await super._query(conn, { ...obj, sql: `${settings}; ${obj.sql}` });
        const results = out.response as unknown[];
        obj.response = results.length === 2 ? results[1] : results.slice(1);
        return obj;
      }
      const begun = await super._query(conn, { sql: `BEGIN; ${settings}`, bindings: [] });
      state.pid = Number((begun.response as pg.QueryResult[])[1]?.rows[0]?.kaiju_auth_pid ?? conn.processID);
      try {
        const result = await super._query(conn, obj);
        await super._query(conn, { sql: 'COMMIT', bindings: [] });
        return result;
      } catch (err) {
        if (state.lost === null) await super._query(conn, { sql: 'ROLLBACK', bindings: [] }).catch(() => undefined);
        throw err;
      } finally {
        state.pid = null;
      }
    }
  }
  return GuardedPgClient;
}
