/**
 * Rows written the way kaiju apps write them, for tests of what the tool reads: users as
 * kaiju's UserService inserts them (bcrypt string and salt as BYTEA, client-side flags, UTC
 * `created`), sessions as kaiju's SessionStore does (hex id, BYTEA h_agent, epoch-seconds
 * `expires`, JSONB permissions list and data, UTC TIMESTAMP `created`).
 */
import { createHash, randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { jsonb, utcTimestampLiteral } from '../../src/db/values.js';
import { KAIJU_HASH, KAIJU_SALT } from './kaiju-ddl.js';

export interface KaijuUser {
  id: string;
  username: string;
}

export async function insertKaijuUser(
  knex: Knex,
  username: string,
  options: { blocked?: boolean; active?: boolean } = {},
): Promise<KaijuUser> {
  const id = randomUUID();
  await knex('users').insert({
    id,
    username,
    email: `${username}@example.com`,
    full_name: null,
    password: Buffer.from(KAIJU_HASH, 'utf8'),
    salt: Buffer.from(KAIJU_SALT, 'utf8'),
    is_active: options.active ?? true,
    is_blocked: options.blocked ?? false,
    settings: jsonb({}),
    created: utcTimestampLiteral(new Date()),
  });
  return { id, username };
}

export interface KaijuSession {
  id?: string;
  userId: string | null;
  /** kaiju's `expires`: epoch seconds. */
  expires: number;
  permissions?: string[];
  data?: Record<string, unknown>;
  userAgent?: string | null;
  created?: Date;
}

/** A kaiju session id: uuid4 hex, as kaiju_tools makes them. */
export function kaijuSessionId(): string {
  return randomUUID().replace(/-/g, '');
}

export function sessionRow(s: KaijuSession) {
  const agent = s.userAgent === undefined ? 'Mozilla/5.0 (X11; Linux x86_64)' : s.userAgent;
  return {
    id: s.id ?? kaijuSessionId(),
    h_agent: agent === null ? null : createHash('blake2b512').update(agent).digest().subarray(0, 16),
    user_id: s.userId,
    expires: s.expires,
    permissions: jsonb(s.permissions ?? []),
    data: jsonb(s.data ?? {}),
    created: utcTimestampLiteral(s.created ?? new Date()),
  };
}

export async function insertKaijuSession(knex: Knex, s: KaijuSession): Promise<string> {
  const row = sessionRow(s);
  await knex('sessions').insert(row);
  return row.id;
}

/** Many sessions at once (in chunks, in one transaction), ids returned in order. */
export async function insertKaijuSessions(knex: Knex, sessions: KaijuSession[]): Promise<string[]> {
  const rows = sessions.map(sessionRow);
  await knex.transaction(async (trx) => {
    for (let i = 0; i < rows.length; i += 1000) await trx('sessions').insert(rows.slice(i, i + 1000));
  });
  return rows.map((r) => r.id);
}

export function epoch(date: Date): number {
  return Math.floor(date.getTime() / 1000);
}
