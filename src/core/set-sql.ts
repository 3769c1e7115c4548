/**
 * Set-based SQL for bulk work: a whole batch travels as ONE JSON text parameter and is unpacked
 * by `jsonb_array_elements_text` / `jsonb_to_recordset` on the server, so a statement has the same
 * shape and two or three parameters whether it carries 10 items or 100 000 (no 65 535-parameter
 * limit, no statement text growing with the batch), identically on `pg` and on PGlite.
 */
import type { Knex } from 'knex';
import { jsonb } from '../db/values.js';

/** `column IN (values)`, for `whereRaw`: [sql, bindings]. `column` is a trusted identifier. */
export function inJsonList(column: string, values: readonly string[]): [string, string[]] {
  return [`${column} in (select jsonb_array_elements_text(?::jsonb))`, [jsonb(values)]];
}

/**
 * `jsonb_to_recordset(?::jsonb) as alias(col type, ...)`: rows as a relation, for joins and
 * INSERT ... SELECT. `columns` is a trusted column definition list.
 */
export function recordset(db: Knex, rows: readonly object[], alias: string, columns: string): Knex.Raw {
  return db.raw(`jsonb_to_recordset(?::jsonb) as ${alias}(${columns})`, [jsonb(rows)]);
}

/** Rows of a `db.raw` result, on either driver. */
export function rowsOf<T>(result: unknown): T[] {
  return ((result as { rows?: T[] }).rows ?? []) as T[];
}
