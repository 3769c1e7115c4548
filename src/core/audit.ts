/**
 * The audit trail: one append-only row per write, written in the same transaction as the write.
 * Summaries are scrubbed of anything that looks like a secret before they are stored, as a last
 * line of defence; services should never put one there in the first place.
 *
 * The tool never updates or deletes audit rows, except `prune` (old rows, on request), which is
 * itself audited.
 */
import type { Knex } from 'knex';
import type { CoreContext } from './context.js';
import { jsonb } from '../db/values.js';
import { countRows, escapeLike } from './query-parts.js';

export interface AuditEntry {
  /** Dotted command name, e.g. `user.register`, `group.grant`, `keys.rotate`. */
  command: string;
  targetType?: 'user' | 'group' | 'permission' | 'key' | 'session' | 'token' | 'fixtures' | 'schema' | 'audit';
  /** The target's name (username, group id, kid...). */
  target?: string | null;
  /** What changed: field names, added/removed ids, counts. Never a secret. */
  summary?: Record<string, unknown>;
}

export interface AuditRow {
  id: number;
  at: Date;
  actor: string;
  command: string;
  targetType: string | null;
  target: string | null;
  summary: Record<string, unknown>;
}

export interface AuditFilter {
  /** Rows at or after this instant. */
  since?: Date;
  actor?: string;
  /** Exact target (username, group id, kid, session id...). */
  target?: string;
  /** A command (`session.revoke`) or a command group (`session`: every `session.*`). */
  command?: string;
  limit?: number;
  offset?: number;
}

export const REDACTED = '[redacted]';

/** Property names that suggest a secret, matched on the snake_case form (`apiKey` -> `api_key`). */
const SECRET_NAME = /pass|hash|salt|secret|private|token|jwk|pem|credential|(^|[_.-])key($|[_.-])/;

/** Values that are secrets whatever they are called: bcrypt hashes, PEM blocks, JWTs. */
const SECRET_VALUE = [
  /^\$2[abxy]?\$\d{2}\$/,
  /-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE|ENCRYPTED)/,
  /^eyJ[\w-]*\.eyJ[\w-]*\.[\w-]*$/,
];

function snakeCase(name: string): string {
  return name.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toLowerCase();
}

function isSecretName(name: string): boolean {
  return SECRET_NAME.test(snakeCase(name));
}

/**
 * A copy of `value` where, at any depth, every property whose name suggests a secret, every
 * string that looks like one (bcrypt hash, PEM, JWT) and every binary value is `[redacted]`.
 */
export function scrubSecrets(value: unknown): unknown {
  if (typeof value === 'string') return SECRET_VALUE.some((re) => re.test(value)) ? REDACTED : value;
  if (value instanceof Uint8Array || value instanceof ArrayBuffer) return REDACTED;
  if (Array.isArray(value)) return value.map(scrubSecrets);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, isSecretName(k) ? REDACTED : scrubSecrets(v)]),
    );
  }
  return value;
}

export async function recordAudit(db: Knex, actor: string, entry: AuditEntry, at?: Date): Promise<void> {
  await db('audit_log').insert({
    actor,
    command: entry.command,
    target_type: entry.targetType ?? null,
    target: entry.target ?? null,
    summary: jsonb(scrubSecrets(entry.summary ?? {})),
    ...(at ? { at } : {}),
  });
}

/** Reading and pruning the trail. */
export class AuditService {
  private readonly ctx: CoreContext;

  constructor(ctx: CoreContext) {
    this.ctx = ctx;
  }

  /** Append one row as the context's actor (for writes made outside the services). */
  record(entry: AuditEntry): Promise<void> {
    return recordAudit(this.ctx.db, this.ctx.settings.actor, entry);
  }

  /** Rows matching every given filter, newest first. */
  async list(filter: AuditFilter = {}): Promise<AuditRow[]> {
    const q = this.filtered(filter).select('id', 'at', 'actor', 'command', 'target_type', 'target', 'summary');
    q.orderBy([
      { column: 'at', order: 'desc' },
      { column: 'id', order: 'desc' },
    ]);
    if (filter.limit !== undefined) q.limit(filter.limit);
    if (filter.offset) q.offset(filter.offset);
    // Rows as read: audit_log's column names.
    const rows = (await q) as { id: number | string; at: Date | string; actor: string; command: string; target_type: string | null; target: string | null; summary: Record<string, unknown> | null }[];
    return rows.map((r) => ({
      id: Number(r.id),
      at: new Date(r.at),
      actor: r.actor,
      command: r.command,
      targetType: r.target_type,
      target: r.target,
      summary: r.summary ?? {},
    }));
  }

  /** How many rows match every given filter (`limit` and `offset` aside). */
  async count(filter: Omit<AuditFilter, 'limit' | 'offset'> = {}): Promise<number> {
    return countRows(this.filtered(filter));
  }

  private filtered(filter: Omit<AuditFilter, 'limit' | 'offset'>): Knex.QueryBuilder {
    const q = this.ctx.db('audit_log');
    if (filter.since) q.where('at', '>=', filter.since);
    if (filter.actor !== undefined) q.where('actor', filter.actor);
    if (filter.target !== undefined) q.where('target', filter.target);
    if (filter.command !== undefined) {
      const command = filter.command;
      q.where((w) => w.where('command', command).orWhere('command', 'like', `${escapeLike(command)}.%`));
    }
    return q;
  }

  /** How many rows are older than `before` (what `prune` would delete). */
  async countOlderThan(before: Date): Promise<number> {
    return countRows(this.ctx.db('audit_log').where('at', '<', before));
  }

  /**
   * Delete the rows older than `before`, and record that in a new row, in one transaction
   * (nothing is written when nothing is old enough).
   */
  async prune(before: Date): Promise<{ deleted: number; olderThan: Date }> {
    return this.ctx.db.transaction(async (trx) => {
      // Counted in the database: an old trail may hold millions of rows.
      const deleted = await countRows(trx.with('d', trx('audit_log').where('at', '<', before).del().returning('id')).from('d'));
      if (deleted > 0) {
        await recordAudit(trx, this.ctx.settings.actor, {
          command: 'audit.prune',
          targetType: 'audit',
          summary: { deleted, older_than: before.toISOString() },
        });
      }
      return { deleted, olderThan: before };
    });
  }
}
