/**
 * The one seam between services and the database: `openDatabase(target)` gives a knex handle
 * that behaves the same on PostgreSQL and on embedded PGlite. Services never branch on which.
 */
import type { Knex } from 'knex';
import { authError, isKaijuAuthError } from '../core/errors.js';
import type { EmbeddedOptions } from './embedded.js';
import { describeTarget, type DatabaseTarget } from './target.js';

export interface Database {
  readonly knex: Knex;
  readonly target: DatabaseTarget;
  /** One line naming the target, password redacted. */
  readonly description: string;
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
  embedded?: EmbeddedOptions;
}

/** Driver errors that mean "cannot reach or log in to the database", by code. */
const UNAVAILABLE_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'host name lookup failed',
  ETIMEDOUT: 'connection timed out',
  ECONNRESET: 'connection reset',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  '28P01': 'password authentication failed',
  '28000': 'not authorized',
  '3D000': 'database does not exist',
  '57P03': 'the server is starting up or shutting down',
  '53300': 'too many connections',
};

/** Why a connection attempt failed, in a few words; never the driver's whole text (it may echo input). */
export function connectionFailureReason(err: unknown): string | null {
  const e = err as { code?: string; errors?: unknown[]; message?: string } | null;
  if (!e || typeof e !== 'object') return null;
  if (e.code && UNAVAILABLE_CODES[e.code]) return UNAVAILABLE_CODES[e.code] ?? null;
  if (Array.isArray(e.errors)) {
    for (const inner of e.errors) {
      const reason = connectionFailureReason(inner);
      if (reason) return reason;
    }
  }
  const msg = e.message ?? '';
  if (/Knex: Timeout acquiring a connection/.test(msg)) return 'timed out connecting';
  if (/timeout expired|Connection terminated due to connection timeout/i.test(msg)) return 'connection timed out';
  if (/ssl|certificate/i.test(msg) && /connect|server/i.test(msg)) return 'TLS negotiation failed';
  if (/Invalid URL|getaddrinfo|connect ENOENT/.test(msg)) return 'cannot reach the server';
  return null;
}

export async function openDatabase(target: DatabaseTarget, options: OpenOptions = {}): Promise<Database> {
  const description = describeTarget(target);
  if (target.kind === 'postgres') {
    const { openPostgresKnex } = await import('./postgres.js');
    let knex: Knex;
    let abort: () => void;
    try {
      ({ knex, abort } = await openPostgresKnex(target));
    } catch (err) {
      throw authError('db.invalid_url', `invalid database URL ${description}`, undefined, err);
    }
    try {
      await knex.raw('select 1');
    } catch (err) {
      await knex.destroy().catch(() => undefined);
      const reason = connectionFailureReason(err) ?? 'cannot connect';
      throw authError('db.unavailable', `cannot connect to ${description}: ${reason}`, { target: description }, err);
    }
    return {
      knex,
      target,
      description,
      close: () => knex.destroy(),
      async abort() {
        abort();
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
      ...options.embedded,
    });
  } catch (err) {
    if (isKaijuAuthError(err)) throw err;
    const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
    throw authError('db.unavailable', `cannot open ${description}: ${reason}`, { target: description }, err);
  }
  const { knex, lock, pglite } = opened;
  let closed = false;
  return {
    knex,
    target,
    description,
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
