/**
 * Bulk writes with `COPY ... FROM`: rows in PostgreSQL's text COPY format (`copyLine`), sent as
 * one statement on the connection of `db`, so inside a transaction when `db` is one. PostgreSQL
 * gets them through pg-copy-streams on the pooled connection; PGlite through
 * `COPY ... FROM '/dev/blob'` with the rows as a Blob (its only way in for COPY). Services call
 * `copyRows` and never ask which database they are on.
 */
import type { Knex } from 'knex';

/** Marks the knex client class of the embedded database (set in embedded.ts). */
export const EMBEDDED_CLIENT = Symbol.for('kaiju-auth.embedded-client');

const IDENTIFIER = /^[a-z_][a-z0-9_]*$/;

/** One field in text COPY format: `\N` for null; backslash, tab, newline and CR escaped. */
export function copyField(value: string | boolean | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  return /[\\\t\n\r]/.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c] ?? c) : value;
}

const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** A bytea value in text COPY format (hex, with the backslash that COPY itself unescapes). */
export function copyBytea(bytes: Buffer): string {
  return `\\\\x${bytes.toString('hex')}`;
}

function isEmbedded(db: Knex): boolean {
  const client = db.client as { constructor?: { [EMBEDDED_CLIENT]?: boolean } };
  return client.constructor?.[EMBEDDED_CLIENT] === true;
}

interface PgConnection {
  query<T>(submittable: T): T;
}

/**
 * `COPY table (columns) FROM` the given lines (each ends with `\n`). `table` and `columns` are
 * trusted identifiers. A constraint violation rejects with the database's own error (SQLSTATE,
 * constraint name), as an INSERT would, and aborts the surrounding transaction.
 */
export async function copyRows(db: Knex, table: string, columns: readonly string[], lines: string): Promise<void> {
  if (lines === '') return;
  for (const name of [table, ...columns]) {
    if (!IDENTIFIER.test(name)) throw new Error(`copyRows: not a plain identifier: ${name}`);
  }
  const target = `${table} (${columns.join(', ')})`;
  if (isEmbedded(db)) {
    await db.raw(`COPY ${target} FROM '/dev/blob'`).options({ blob: new Blob([lines]) });
    return;
  }
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
