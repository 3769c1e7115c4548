/**
 * Bulk writes with `COPY ... FROM`: rows in PostgreSQL's text COPY format (`CopyText`), sent as
 * one statement on the connection of `db`, so inside a transaction when `db` is one. How they get
 * there is the backend's affair (its `copyIn`: pg-copy-streams for PostgreSQL, a Blob through
 * `/dev/blob` for PGlite); the backend that opened a handle is remembered by the handle's knex
 * config, which its transactions share. Services call `copyRows` and never ask which database
 * they are on.
 */
import type { Knex } from 'knex';
import type { OpenedBackend } from './backend.js';

type CopyIn = OpenedBackend['copyIn'];

/** Each open handle's COPY, by its knex config (a transaction's client shares the handle's). */
const copyInOf = new WeakMap<object, CopyIn>();

/** Remember how rows go in on `knex` and on its transactions (openDatabase does it). */
export function registerCopyIn(knex: Knex, copyIn: CopyIn): void {
  copyInOf.set(knex.client.config as object, copyIn);
}

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
  // A handle no backend of ours opened (a library caller's own) is taken for a `pg` one.
  const copyIn = copyInOf.get(db.client.config as object) ?? (await import('./postgres.js')).copyInWithPg;
  await copyIn(db, target, lines);
}
