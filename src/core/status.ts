/**
 * A snapshot of a database for `status`: schema state, row counts and whether the derived grants
 * match kaiju's tables, in as few round trips as possible (one for the migrations, one for all
 * counts, one for the grants).
 */
import type { Knex } from 'knex';
import { MIGRATIONS } from '../../migrations/index.js';
import { readAppliedMigrations } from '../db/migrator.js';
import { groupGrantsDrift } from './group-grants.js';

export interface SchemaStatus {
  /** Name of the newest applied migration, or null when never migrated. */
  version: string | null;
  applied: number;
  pending: string[];
  /** True when every known migration is applied. */
  current: boolean;
}

export interface CountStatus {
  users: number;
  blockedUsers: number;
  inactiveUsers: number;
  groups: number;
  permissions: number;
  liveSessions: number;
  expiredSessions: number;
}

export interface GrantsStatus {
  /**
   * Groups whose derived grants (`kaiju_auth_group_grants`) differ from kaiju's tables, sorted;
   * empty when consistent. `kaiju-auth migrate` rebuilds them.
   */
  drifted: string[];
}

export interface DatabaseStatus {
  schema: SchemaStatus;
  /** Null when the schema is missing. */
  counts: CountStatus | null;
  /** Null unless the schema is current. */
  grants: GrantsStatus | null;
}

export async function readSchemaStatus(knex: Knex): Promise<SchemaStatus> {
  const applied = await readAppliedMigrations(knex);
  const names = new Set(applied?.map((r) => r.name) ?? []);
  const pending = MIGRATIONS.filter((m) => !names.has(m.name)).map((m) => m.name);
  return {
    version: applied && applied.length > 0 ? (applied[applied.length - 1]?.name ?? null) : null,
    applied: names.size,
    pending,
    current: pending.length === 0,
  };
}

/** Each count of `status`, as the subquery that makes it (`:epoch` is now in epoch seconds). */
const COUNT_QUERIES: Record<keyof CountStatus, string> = {
  users: 'select count(*) from users',
  blockedUsers: 'select count(*) from users where is_blocked',
  inactiveUsers: 'select count(*) from users where not is_active',
  groups: 'select count(*) from groups',
  permissions: 'select count(*) from permissions',
  liveSessions: 'select count(*) from sessions where expires > :epoch',
  expiredSessions: 'select count(*) from sessions where expires <= :epoch',
};

export async function readCounts(knex: Knex, now: Date): Promise<CountStatus> {
  const epoch = Math.floor(now.getTime() / 1000);
  const names = Object.keys(COUNT_QUERIES) as (keyof CountStatus)[];
  // Quoted aliases: the field names as they are (camelCase), not folded to lower case.
  const sql = `select ${names.map((name) => `(${COUNT_QUERIES[name]}) as "${name}"`).join(', ')}`;
  const row = (await knex.raw(sql, { epoch })).rows[0] as Record<keyof CountStatus, number | string>;
  const counts = {} as CountStatus;
  for (const name of names) counts[name] = Number(row[name]);
  return counts;
}

export async function readDatabaseStatus(knex: Knex, now: Date = new Date()): Promise<DatabaseStatus> {
  const schema = await readSchemaStatus(knex);
  // Counts need the kaiju tables, which the first migration guarantees.
  const counts = schema.applied > 0 ? await readCounts(knex, now) : null;
  const grants = schema.current ? { drifted: (await groupGrantsDrift(knex)).map((d) => d.group_id) } : null;
  return { schema, counts, grants };
}
