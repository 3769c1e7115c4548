/**
 * The `groups` table, kaiju's: its columns, its constraint and how a group is stored. The group
 * service (one row) and seed (fixtures/apply.ts, one statement) write groups through here.
 */
import type { Knex } from 'knex';
import { isUniqueViolation } from '../../db/errors.js';
import { jsonb } from '../../db/values.js';
import { rowsOf } from '../set-sql.js';

export const GROUP_COLUMNS = ['id', 'tag', 'description'] as const;

export const GROUP_CONSTRAINTS = { primaryKey: 'groups_pkey' } as const;

export interface GroupRow {
  id: string;
  tag: string | null;
  description: string | null;
}

/** One group as a knex row. */
export function groupRow(g: GroupRow): GroupRow {
  return { id: g.id, tag: g.tag, description: g.description };
}

/** A violation of the groups' primary key: the id is taken. */
export function isGroupTaken(err: unknown): boolean {
  return isUniqueViolation(err, GROUP_CONSTRAINTS.primaryKey);
}

/**
 * Insert or update groups in one statement; rows whose values are the same are not touched.
 * Returns the ids this statement created (not those it updated): rows no other transaction can
 * have linked anything to before this one commits.
 */
export async function upsertGroups(db: Knex, groups: readonly GroupRow[]): Promise<string[]> {
  if (groups.length === 0) return [];
  // `xmax = 0`: the row version this statement made is a new row, not an update of one.
  const result = await db.raw(
    `insert into groups (id, tag, description)
     select x.id, x.tag, x.description from jsonb_to_recordset(?::jsonb) as x(id text, tag text, description text)
     on conflict (id) do update set tag = excluded.tag, description = excluded.description
     where (groups.tag, groups.description) is distinct from (excluded.tag, excluded.description)
     returning id, (xmax = 0) as created`,
    [jsonb(groups.map(groupRow))],
  );
  return rowsOf<{ id: string; created: boolean }>(result)
    .filter((r) => r.created)
    .map((r) => r.id);
}
