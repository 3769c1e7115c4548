/**
 * The one seam between services and the database: `openDatabase(target)` gives a knex handle
 * that behaves the same on PostgreSQL and on embedded PGlite. Services never branch on which.
 */
import type { Knex } from 'knex';
import { authError, isKaijuAuthError } from '../errors.js';
import type { LockOwner } from './dir-lock.js';
import type { EmbeddedOptions } from './embedded.js';
import type { DbLogger } from './knex-log.js';
import { connectionFailureReason } from './errors.js';
import type { OpenedPostgres } from './postgres.js';
import { formatMs } from './timeouts.js';
import { describeTarget, type DatabaseTarget } from './target.js';

export interface Database {
  readonly knex: Knex;
  readonly target: DatabaseTarget;
  /** One line naming the target, password redacted. */
  readonly description: string;
  /** Which backend, as a word to show (`postgres`, `embedded`); for display, never for branching. */
  readonly backend: string;
  /**
   * Embedded: how many entries of the data directory other users could read or write until this
   * open made them owner-only (0 when none needed it, and on PostgreSQL). For the caller to report.
   */
  readonly madePrivate: number;
  /** Close when the work is done: waits for queries in flight, then frees the data directory. */
  close(): Promise<void>;
  /**
   * Stop now (Ctrl-C): do not wait for work in progress; an open transaction is rolled back (the
   * server drops it with the connection; PGlite's backend ends with it), then the data directory
   * is freed. The handle is unusable afterwards.
   */
  abort(): Promise<void>;
}

export interface OpenOptions {
  /** Recorded in the embedded lock file so a waiting process can say who holds it. */
  command?: string;
  /** Create the embedded database when its directory has none (migrate, init). Default false. */
  create?: boolean;
  /**
   * Embedded: called once, at once, when another process holds the data directory and this open
   * starts waiting for it (up to the target's lock timeout), with what the lock file says of the
   * holder (null: nothing readable). For the caller to tell the user; this layer never prints.
   */
  onLockWait?: (holder: LockOwner | null, timeoutMs: number) => void;
  embedded?: EmbeddedOptions;
  /** Where knex's warnings go (none: dropped). The CLI gives stderr; this layer writes nowhere. */
  logger?: DbLogger;
}

export async function openDatabase(target: DatabaseTarget, options: OpenOptions = {}): Promise<Database> {
  const description = describeTarget(target);
  if (target.kind === 'postgres') {
    const { openPostgresKnex } = await import('./postgres.js');
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
        const { timeoutError } = await import('./pg-timeouts.js');
        const ms = timeouts.connectMs;
        throw timeoutError(`cannot connect to ${description}: the server did not answer within ${formatMs(ms)}`, 'connect', ms, [], err.cause);
      }
      if (isKaijuAuthError(err)) throw err;
      const reason = connectionFailureReason(err) ?? 'cannot connect';
      throw authError('db.unavailable', `cannot connect to ${description}: ${reason}`, { target: description }, err);
    }
    return {
      knex,
      target,
      description,
      backend: 'postgres',
      madePrivate: 0,
      close: () => opened.close(),
      async abort() {
        opened.abort();
        await knex.destroy().catch(() => undefined);
      },
    };
  }
  const { openEmbeddedKnex } = await import('./embedded.js');
  let opened;
  try {
    opened = await openEmbeddedKnex(target, {
      command: options.command ?? 'kaiju-auth',
      create: options.create ?? false,
      ...(options.logger ? { logger: options.logger } : {}),
      ...(options.onLockWait ? { onLockWait: options.onLockWait } : {}),
      ...options.embedded,
    });
  } catch (err) {
    if (isKaijuAuthError(err)) throw err;
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw authError('db.unavailable', `cannot open ${description}: ${reason}`, { target: description }, err);
  }
  const { knex, lock, pglite, madePrivate } = opened;
  let closed = false;
  return {
    knex,
    target,
    description,
    backend: 'embedded',
    madePrivate,
    async close() {
      if (closed) return;
      closed = true;
      try {
        await knex.destroy();
      } finally {
        await lock?.release();
      }
    },
    async abort() {
      if (closed) return;
      closed = true;
      try {
        // knex.destroy() would wait for the transaction in flight to finish (and commit).
        if (!pglite.closed) await pglite.close();
      } finally {
        await lock?.release();
      }
    },
  };
}
