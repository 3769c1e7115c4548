/**
 * The `permissions` table, kaiju's: its columns, its constraint and how a permission is stored.
 * The permission service (one row) and seed (fixtures/apply.ts, one statement) write permissions
 * through here.
 */
import type { Knex } from 'knex';
import { isUniqueViolation } from '../../db/errors.js';
import { jsonb } from '../../db/values.js';

export const PERMISSION_COLUMNS = ['id', 'enabled', 'tag', 'description'] as const;

export const PERMISSION_CONSTRAINTS = { primaryKey: 'permissions_pkey' } as const;

export interface PermissionRow {
  id: string;
  enabled: boolean;
  tag: string | null;
  description: string | null;
}

/** One permission as a knex row. */
export function permissionRow(p: PermissionRow): PermissionRow {
  return { id: p.id, enabled: p.enabled, tag: p.tag, description: p.description };
}

/** A violation of the permissions' primary key: the id is taken. */
export function isPermissionTaken(err: unknown): boolean {
  return isUniqueViolation(err, PERMISSION_CONSTRAINTS.primaryKey);
}

/** Insert or update permissions in one statement; rows whose values are the same are not touched. */
export async function upsertPermissions(db: Knex, permissions: readonly PermissionRow[]): Promise<void> {
  if (permissions.length === 0) return;
  await db.raw(
    `insert into permissions (id, enabled, tag, description)
     select x.id, x.enabled, x.tag, x.description from jsonb_to_recordset(?::jsonb) as x(id text, enabled boolean, tag text, description text)
     on conflict (id) do update set enabled = excluded.enabled, tag = excluded.tag, description = excluded.description
     where (permissions.enabled, permissions.tag, permissions.description) is distinct from (excluded.enabled, excluded.tag, excluded.description)`,
    [jsonb(permissions.map(permissionRow))],
  );
}
