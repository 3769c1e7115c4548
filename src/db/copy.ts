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

const SPECIAL = /[\\\t\n\r]/;
const ESCAPES: Record<string, string> = { '\\': '\\\\', '\t': '\\t', '\n': '\\n', '\r': '\\r' };

/** One field in text COPY format: `\N` for null; backslash, tab, newline and CR escaped. */
export function copyField(value: string | boolean | null | undefined): string {
  if (value === null || value === undefined) return '\\N';
  if (typeof value === 'boolean') return value ? 't' : 'f';
  return SPECIAL.test(value) ? value.replace(/[\\\t\n\r]/g, (c) => ESCAPES[c] ?? c) : value;
}

/**
 * Rows in text COPY format, written straight into one growing buffer: a batch of thousands of
 * rows is one off-heap block instead of a tree of small strings for the garbage collector to
 * copy around while the batch waits its turn.
 */
export class CopyText {
  private buffer = Buffer.allocUnsafe(1 << 16);
  private length = 0;
  rows = 0;

  /** Append one row: its fields in column order (see copyField). */
  row(...values: (string | boolean | null | undefined)[]): void {
    this.line(`${values.map(copyField).join('\t')}\n`);
  }

  /**
   * Append one row already in text COPY format: every field through copyField, tabs between,
   * `\n` at the end. For hot loops: a template string and one write per row is the cheapest way.
   */
  line(text: string): void {
    this.reserve(text.length * 3);
    this.length += this.buffer.write(text, this.length, 'utf8');
    this.rows += 1;
  }

  /** The rows so far (a view of the buffer: append nothing more). */
  bytes(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  private reserve(bytes: number): void {
    if (this.length + bytes <= this.buffer.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + bytes));
    this.buffer.copy(bigger, 0, 0, this.length);
    this.buffer = bigger;
  }
}

function isEmbedded(db: Knex): boolean {
  const client = db.client as { constructor?: { [EMBEDDED_CLIENT]?: boolean } };
  return client.constructor?.[EMBEDDED_CLIENT] === true;
}

interface PgConnection {
  query<T>(submittable: T): T;
}

/**
 * `COPY table (columns) FROM` the given rows (text COPY format, each line ending with `\n`).
 * `table` and `columns` are trusted identifiers. A constraint violation rejects with the
 * database's own error (SQLSTATE, constraint name), as an INSERT would, and aborts the
 * surrounding transaction.
 */
export async function copyRows(db: Knex, table: string, columns: readonly string[], lines: string | Buffer): Promise<void> {
  if (lines.length === 0) return;
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
