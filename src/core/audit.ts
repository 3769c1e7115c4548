/**
 * The audit trail: one append-only row per write, written in the same transaction as the write.
 * Summaries are scrubbed of anything that looks like a secret before they are stored, as a last
 * line of defence; services should never put one there in the first place.
 */
import type { Knex } from 'knex';
import { jsonb } from '../db/values.js';

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
  target_type: string | null;
  target: string | null;
  summary: Record<string, unknown>;
}

const SECRET_KEY = /pass(word)?|hash|salt|secret|private|token|jwk|pem|\bkey\b/i;

/** A copy of `value` with every property whose name suggests a secret replaced by "[redacted]". */
export function scrubSecrets(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(scrubSecrets);
  if (value && typeof value === 'object' && !(value instanceof Date)) {
    return Object.fromEntries(
      Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, SECRET_KEY.test(k) ? '[redacted]' : scrubSecrets(v)]),
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
