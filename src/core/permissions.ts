/**
 * Permissions: the keys groups grant. As kaiju's PermissionService, with its search made literal
 * (kaiju fed user text to a regex operator).
 */
import type { Knex } from 'knex';
import { recordAudit } from './audit.js';
import type { CoreContext } from './context.js';
import { authError } from '../errors.js';
import { missingIds } from './id-sets.js';
import { isPermissionTaken, PERMISSION_COLUMNS, permissionRow } from './tables/permissions.js';
import { countRows, whereContainsAny } from './query-parts.js';
import { retryingTransaction } from './transaction.js';
import { validatePermissionId } from './validation.js';

export interface Permission {
  id: string;
  enabled: boolean;
  tag: string | null;
  description: string | null;
}

export interface TaggedPermissions {
  tag: string | null;
  permissions: Permission[];
}

export interface PermissionListOptions {
  /** Include disabled permissions (default: enabled only, as kaiju). */
  all?: boolean;
  /** Literal, case-insensitive match on id, tag or description. */
  search?: string;
  /** Only these tags. */
  tag?: string;
}

/** Group a tag-ordered list as kaiju's `get_all_permissions(group_by_tag=True)`. */
export function groupByTag(permissions: Permission[]): TaggedPermissions[] {
  const byTag = new Map<string | null, Permission[]>();
  for (const p of permissions) {
    const list = byTag.get(p.tag);
    if (list) list.push(p);
    else byTag.set(p.tag, [p]);
  }
  return [...byTag].map(([tag, list]) => ({ tag, permissions: list }));
}

/** Names from `wanted` that are not permission ids in the database, in the order given. */
export function missingPermissions(db: Knex, wanted: readonly string[]): Promise<string[]> {
  return missingIds(db, 'permissions', wanted);
}

export function permissionNotFound(missing: string[]) {
  return authError(
    'auth.permission.not_found',
    `unknown permission${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`,
    { permissions: missing },
  );
}

export class PermissionService {
  constructor(private readonly ctx: CoreContext) {}

  async create(id: string, fields: { tag?: string | null; description?: string | null; enabled?: boolean } = {}): Promise<Permission> {
    validatePermissionId(id);
    const row: Permission = permissionRow({
      id,
      enabled: fields.enabled ?? true,
      tag: fields.tag ?? null,
      description: fields.description ?? null,
    });
    try {
      await this.ctx.db.transaction(async (trx) => {
        await trx('permissions').insert(row);
        await recordAudit(trx, this.ctx.settings.actor, {
          command: 'permission.create',
          targetType: 'permission',
          target: id,
          summary: { enabled: row.enabled, tag: row.tag, description: row.description },
        });
      });
    } catch (err) {
      if (isPermissionTaken(err)) {
        throw authError('auth.permission.exists', `permission ${id} already exists`, { permission: id }, err);
      }
      throw err;
    }
    return row;
  }

  async get(id: string): Promise<Permission> {
    const row = (await this.ctx.db('permissions').select(PERMISSION_COLUMNS).where({ id }).first()) as Permission | undefined;
    if (!row) throw permissionNotFound([id]);
    return row;
  }

  /** The permission and the groups that grant it (sorted). */
  async show(id: string): Promise<Permission & { groups: string[] }> {
    const permission = await this.get(id);
    const groups = (await this.ctx.db('group_permissions').where({ permission_id: id }).orderBy('group_id').pluck('group_id')) as string[];
    return { ...permission, groups };
  }

  /** Sorted by tag (untagged last), then id, as kaiju. */
  async list(options: PermissionListOptions = {}): Promise<Permission[]> {
    const q = this.ctx.db('permissions').select(PERMISSION_COLUMNS).orderBy([{ column: 'tag', nulls: 'last' }, 'id']);
    if (!options.all) q.where('enabled', true);
    if (options.tag !== undefined) q.where('tag', options.tag);
    if (options.search) whereContainsAny(q, ['id', 'tag', 'description'], options.search);
    return (await q) as Permission[];
  }

  async listByTag(options: PermissionListOptions = {}): Promise<TaggedPermissions[]> {
    return groupByTag(await this.list(options));
  }

  /** Enable or disable; returns whether anything changed. Disabled permissions grant nothing. */
  async setEnabled(id: string, enabled: boolean): Promise<{ permission: Permission; changed: boolean }> {
    return retryingTransaction(this.ctx.db, async (trx) => {
      // NO KEY UPDATE, as the UPDATE itself: a grant of this permission in flight (whose foreign
      // key holds KEY SHARE on the row) is not waited for here, but on the permission's lock.
      const current = (await trx('permissions').select(PERMISSION_COLUMNS).where({ id }).forNoKeyUpdate().first()) as Permission | undefined;
      if (!current) throw permissionNotFound([id]);
      if (current.enabled === enabled) return { permission: current, changed: false };
      await trx('permissions').where({ id }).update({ enabled });
      await recordAudit(trx, this.ctx.settings.actor, {
        command: enabled ? 'permission.enable' : 'permission.disable',
        targetType: 'permission',
        target: id,
        summary: { enabled: { from: current.enabled, to: enabled } },
      });
      return { permission: { ...current, enabled }, changed: true };
    });
  }

  /** Delete a permission; its grants go with it (ON DELETE CASCADE). */
  async delete(id: string): Promise<{ grantsRemoved: number }> {
    return retryingTransaction(this.ctx.db, async (trx) => {
      const grants = await countRows(trx('group_permissions').where({ permission_id: id }));
      const deleted = await trx('permissions').where({ id }).delete();
      if (deleted === 0) throw permissionNotFound([id]);
      await recordAudit(trx, this.ctx.settings.actor, {
        command: 'permission.delete',
        targetType: 'permission',
        target: id,
        summary: { grants_removed: grants },
      });
      return { grantsRemoved: grants };
    });
  }
}
