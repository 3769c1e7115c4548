/**
 * PostgreSQL through `pg`. Loaded only when a URL selects it. Connection failures become one
 * `db.unavailable` error naming the (redacted) target, never a driver stack.
 */
import type { Knex } from 'knex';
import type { PostgresTarget } from './target.js';
import { OID, parseInt8, parseUtcTimestamp } from './values.js';

export async function openPostgresKnex(target: PostgresTarget): Promise<Knex> {
  const [{ default: knexFactory }, { default: pg }] = await Promise.all([import('knex'), import('pg')]);
  const types = {
    getTypeParser(oid: number, format?: string) {
      if (oid === OID.timestamp) return parseUtcTimestamp;
      if (oid === OID.int8) return parseInt8;
      return pg.types.getTypeParser(oid, (format ?? 'text') as 'text');
    },
  };
  const { parse } = await import('pg-connection-string');
  const parsed = parse(target.url) as Record<string, unknown>;
  const c = target.connection ?? {};
  // Fill in only what the URL leaves out, as libpq does with PG* variables.
  const fill = (key: 'host' | 'port' | 'user' | 'password' | 'database') => {
    const have = parsed[key];
    if ((have === undefined || have === null || have === '') && c[key] !== undefined) parsed[key] = c[key];
  };
  for (const key of ['host', 'port', 'user', 'password', 'database'] as const) fill(key);
  const connection = {
    ...parsed,
    types,
    connectionTimeoutMillis: 10_000,
    application_name: 'kaiju-auth',
  };
  return knexFactory({
    client: 'pg',
    connection,
    pool: { min: 0, max: target.poolMax ?? 4 },
    acquireConnectionTimeout: 15_000,
  });
}
