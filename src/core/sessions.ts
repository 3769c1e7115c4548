/**
 * kaiju sessions, as kaiju services write them (kaiju_auth's `SessionStore` table): `id` TEXT,
 * `h_agent` BYTEA (a hash of the client's user agent), `user_id` UUID (nullable, no foreign key),
 * `expires` INTEGER epoch seconds, `permissions` a JSONB list, `data` JSONB, `created` a UTC
 * TIMESTAMP without zone. A session is expired when `expires <= now`.
 *
 * This module lists, shows, revokes and prunes them; it never writes one (the apps do), and never
 * hands out `h_agent` itself (only whether the session is bound to an agent). Users are resolved
 * (username or uuid) with the core's one user lookup, `findUser`, not through another service.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { recordAudit } from './audit.js';
import type { CoreContext } from './context.js';
import { authError } from '../errors.js';
import { countRows } from './query-parts.js';
import { findUser } from './user-permissions.js';
import { DEFAULT_BATCH_SIZE, SETTING_RANGES } from './settings.js';

export interface SessionRecord {
  id: string;
  userId: string | null;
  /** The user's name, or null for an anonymous session or a user that no longer exists. */
  username: string | null;
  /** kaiju's own value: epoch seconds. */
  expires: number;
  expiresAt: Date;
  expired: boolean;
  permissions: unknown[];
  created: Date;
  /** Whether the session is tied to a user agent (`h_agent` set); the hash itself is never returned. */
  agentBound: boolean;
}

export interface SessionDetail extends SessionRecord {
  data: Record<string, unknown>;
}

export interface SessionFilter {
  /** Username or user id. */
  user?: string;
  /** `live` (default), `expired`, or `all`. */
  state?: 'live' | 'expired' | 'all';
  limit?: number;
  offset?: number;
}

export interface UserRef {
  id: string;
  username: string;
}

export interface PruneOptions {
  /** Rows deleted per transaction (default 1000). */
  batchSize?: number;
}

export interface PruneReport {
  deleted: number;
  batches: number;
  /** Sessions with `expires` at or before this instant were pruned. */
  expiredBefore: Date;
}

export const DEFAULT_PRUNE_BATCH = DEFAULT_BATCH_SIZE;
export const MAX_PRUNE_BATCH = SETTING_RANGES.batchSize.max;

function epochSeconds(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}

/** A session as read (the table's and the query's column names); internal. */
interface SessionRow {
  id: string;
  user_id: string | null;
  username: string | null;
  expires: number;
  permissions: unknown;
  created: Date;
  agent_bound: boolean;
  data?: unknown;
}

export class SessionService {
  private readonly ctx: CoreContext;

  constructor(ctx: CoreContext) {
    this.ctx = ctx;
  }

  private get db(): Knex {
    return this.ctx.db;
  }

  /** A user by username or id; `auth.user.not_found` when there is none. */
  resolveUser(ref: string): Promise<UserRef> {
    return findUser<UserRef>(this.db, ref, ['id', 'username']);
  }

  private filtered(filter: SessionFilter, userId: string | null, now: Date): Knex.QueryBuilder {
    const q = this.db('sessions as s');
    const epoch = epochSeconds(now);
    if (filter.state === 'expired') q.where('s.expires', '<=', epoch);
    else if (filter.state !== 'all') q.where('s.expires', '>', epoch);
    if (userId !== null) q.where('s.user_id', userId);
    return q;
  }

  private toRecord(row: SessionRow, now: Date): SessionRecord {
    const expires = Number(row.expires);
    return {
      id: row.id,
      userId: row.user_id,
      username: row.username ?? null,
      expires,
      expiresAt: new Date(expires * 1000),
      expired: expires <= epochSeconds(now),
      permissions: Array.isArray(row.permissions) ? row.permissions : [],
      created: row.created,
      agentBound: !!row.agent_bound,
    };
  }

  private selectColumns(q: Knex.QueryBuilder): Knex.QueryBuilder {
    return q
      .leftJoin('users as u', 'u.id', 's.user_id')
      .select('s.id', 's.user_id', 'u.username', 's.expires', 's.permissions', 's.created')
      .select(this.db.raw('s.h_agent is not null as agent_bound'));
  }

  /**
   * Sessions, longest-lived first (most recently expired first with `state: 'expired'`): the order
   * the `expires` index gives without sorting the table.
   */
  async list(filter: SessionFilter = {}): Promise<SessionRecord[]> {
    const now = this.ctx.settings.now();
    const user = filter.user === undefined ? null : await this.resolveUser(filter.user);
    const q = this.selectColumns(this.filtered(filter, user?.id ?? null, now)).orderBy([
      { column: 's.expires', order: 'desc' },
      { column: 's.id', order: 'asc' },
    ]);
    if (filter.limit !== undefined) q.limit(filter.limit);
    if (filter.offset) q.offset(filter.offset);
    const rows = (await q) as SessionRow[];
    return rows.map((r) => this.toRecord(r, now));
  }

  async count(filter: Omit<SessionFilter, 'limit' | 'offset'> = {}): Promise<number> {
    const user = filter.user === undefined ? null : await this.resolveUser(filter.user);
    return countRows(this.filtered(filter, user?.id ?? null, this.ctx.settings.now()));
  }

  async show(id: string): Promise<SessionDetail> {
    const now = this.ctx.settings.now();
    const row = (await this.selectColumns(this.db('sessions as s').where('s.id', id))
      .select('s.data')
      .first()) as SessionRow | undefined;
    if (!row) throw authError('auth.session.not_found', `no session "${id}"`, { session: id });
    const data = row.data && typeof row.data === 'object' && !Array.isArray(row.data) ? row.data : {};
    return { ...this.toRecord(row, now), data: data as Record<string, unknown> };
  }

  /**
   * Delete the given sessions, all or none: an unknown id fails the whole call
   * (`auth.session.not_found`, `details.missing`). One audit row per session.
   */
  async revoke(ids: string[]): Promise<{ revoked: string[] }> {
    const unique = [...new Set(ids)];
    if (unique.length === 0) return { revoked: [] };
    return this.db.transaction(async (trx) => {
      const deleted = (await trx('sessions').whereIn('id', unique).del().returning(['id', 'user_id'])) as {
        id: string;
        user_id: string | null;
      }[];
      const found = new Set(deleted.map((r) => r.id));
      const missing = unique.filter((id) => !found.has(id));
      if (missing.length > 0) {
        throw authError(
          'auth.session.not_found',
          `no session ${missing.map((m) => `"${m}"`).join(', ')}; nothing was revoked`,
          { missing },
        );
      }
      const userIds = [...new Set(deleted.map((r) => r.user_id).filter((u): u is string => u !== null))];
      const names = new Map<string, string>();
      if (userIds.length > 0) {
        for (const u of (await trx('users').select('id', 'username').whereIn('id', userIds)) as UserRef[]) {
          names.set(u.id, u.username);
        }
      }
      for (const r of deleted) {
        await recordAudit(trx, this.ctx.settings.actor, {
          command: 'session.revoke',
          targetType: 'session',
          target: r.id,
          summary: { user: r.user_id === null ? null : (names.get(r.user_id) ?? r.user_id) },
        });
      }
      return { revoked: unique };
    });
  }

  /** Delete every session (live or expired) of a user; one audit row when any was deleted. */
  async revokeUser(ref: string): Promise<{ user: UserRef; revoked: number }> {
    return this.db.transaction(async (trx) => {
      const user = await findUser<UserRef>(trx, ref, ['id', 'username']);
      const deleted = await trx('sessions').where('user_id', user.id).del().returning('id');
      if (deleted.length > 0) {
        await recordAudit(trx, this.ctx.settings.actor, {
          command: 'session.revoke',
          targetType: 'user',
          target: user.username,
          summary: { sessions: deleted.length },
        });
      }
      return { user, revoked: deleted.length };
    });
  }

  /**
   * Delete the sessions expired by now, `batchSize` rows per short transaction (each with its own
   * audit row), so a table of millions never holds long locks. Rows another pruner has locked are
   * skipped (`SKIP LOCKED`): two prunes at once split the work and count each row once.
   * Commits batch by batch, so it must not run inside `auth.transaction()`.
   */
  async prune(options: PruneOptions = {}): Promise<PruneReport> {
    const batchSize = options.batchSize ?? DEFAULT_PRUNE_BATCH;
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > MAX_PRUNE_BATCH) {
      throw authError('data.invalid', `batch size must be an integer from 1 to ${MAX_PRUNE_BATCH}`, { batchSize });
    }
    if ((this.db as { isTransaction?: boolean }).isTransaction) {
      throw new TypeError('sessions.prune() commits batch by batch: call it outside auth.transaction()');
    }
    const expiredBefore = this.ctx.settings.now();
    const epoch = epochSeconds(expiredBefore);
    // Ties the audit rows of one run together.
    const run = randomUUID();
    let deleted = 0;
    let batches = 0;
    for (;;) {
      const n = await this.db.transaction(async (trx) => {
        const batch = trx('sessions').select('id').where('expires', '<=', epoch).limit(batchSize).forUpdate().skipLocked();
        const rows = await trx('sessions').whereIn('id', batch).del().returning('id');
        if (rows.length > 0) {
          await recordAudit(trx, this.ctx.settings.actor, {
            command: 'session.prune',
            targetType: 'session',
            summary: { deleted: rows.length, batch: batches + 1, expired_before: expiredBefore.toISOString(), run },
          });
        }
        return rows.length;
      });
      if (n === 0) break;
      deleted += n;
      batches += 1;
      if (n < batchSize) break;
    }
    return { deleted, batches, expiredBefore };
  }
}
