/**
 * The derived grants (`kaiju_auth_group_grants`: each group's enabled permissions, kept by
 * triggers, see migrations 3 and 5) checked against kaiju's own tables, rebuilt, and the lock that
 * orders every change about a permission. `status` reports drift; `migrate` rebuilds.
 */
import type { Knex } from 'knex';
import { inJsonList } from './set-sql.js';

/** A row of kaiju_auth_group_grants_drift() as read (its column names); internal to core. */
export interface GroupGrantsDrift {
  group_id: string;
  /** What the derived row says (empty when the group has none). */
  stored: string[];
  /** What kaiju's tables say: the group's enabled granted permissions, in byte order. */
  wanted: string[];
}

/**
 * Lock the permissions `ids` for the rest of the transaction, in the order every writer takes
 * them: kaiju's rows first (NO KEY UPDATE, as an UPDATE of `enabled` does; a grant's foreign key
 * only needs KEY SHARE, which this does not block), then the permissions' rows in
 * `kaiju_auth_permission_locks`, each in id order. For a change the triggers would otherwise lock
 * in several statements (a group's grants replaced: a delete, then an insert), so that two such
 * changes, or one and a running app's write, never wait for each other in a cycle. Returns the
 * ids that exist: those cannot be deleted before the transaction ends.
 */
export async function lockPermissions(trx: Knex, ids: readonly string[]): Promise<Set<string>> {
  if (ids.length === 0) return new Set();
  // One JSON parameter however many ids (a seed may name thousands).
  const found = (await trx('permissions')
    .whereRaw(...inJsonList('id', [...new Set(ids)]))
    .orderBy('id')
    .forNoKeyUpdate()
    .pluck('id')) as string[];
  if (found.length > 0) await trx.raw('select kaiju_auth_lock_permissions(?::text[])', [found]);
  return new Set(found);
}

/** Groups whose derived row differs from kaiju's tables (none: consistent), read in one snapshot. */
export async function groupGrantsDrift(db: Knex): Promise<GroupGrantsDrift[]> {
  const rows = (await db.raw('select group_id, stored, wanted from kaiju_auth_group_grants_drift()')).rows as {
    group_id: string;
    stored: string[];
    wanted: string[];
  }[];
  return rows.map((r) => ({ group_id: r.group_id, stored: r.stored, wanted: r.wanted }));
}

/** Rewrite the rows that differ from kaiju's tables, in one transaction; returns how many. */
export async function rebuildGroupGrants(db: Knex): Promise<number> {
  const row = (await db.raw('select kaiju_auth_rebuild_group_grants() as fixed')).rows[0] as { fixed: number | string };
  return Number(row.fixed);
}
