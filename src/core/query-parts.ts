/**
 * Query pieces the services share: counting rows, and matching user text literally (kaiju fed it
 * to a regex operator; here `%`, `_` and `\` in it match themselves).
 */
import type { Knex } from 'knex';
import { textProblem } from './storable.js';

/** `text` with LIKE's wildcards and escape character escaped (for the default `\` escape). */
export function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

/**
 * Narrow `q` to rows where any of `columns` contains `text` literally, ignoring case. Text no
 * stored value can contain (a NUL, an unpaired surrogate: storable.ts) matches nothing, rather
 * than reaching PostgreSQL, which refuses it.
 */
export function whereContainsAny(q: Knex.QueryBuilder, columns: readonly string[], text: string): Knex.QueryBuilder {
  if (textProblem(text) !== null) return q.whereRaw('false');
  const pattern = `%${escapeLike(text)}%`;
  return q.where((w) => {
    for (const column of columns) w.orWhereRaw(`${column} ILIKE ? ESCAPE '\\'`, [pattern]);
  });
}

/** How many rows `q` selects, as a number (drivers give `count(*)` as a string or a bigint). */
export async function countRows(q: Knex.QueryBuilder): Promise<number> {
  const row = (await q.count({ n: '*' }).first()) as { n: number | string } | undefined;
  return Number(row?.n ?? 0);
}
