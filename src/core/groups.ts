/**
 * Groups and the permissions they grant. As kaiju's GroupService, with its bugs fixed: granting a
 * permission a group already has keeps it, and replacing or modifying a group's set is one
 * transaction that holds the group's row lock, so concurrent callers serialise instead of
 * interleaving a delete and an insert.
 */
import type { Knex } from 'knex';
import { recordAudit } from './audit.js';
import type { CoreContext } from './context.js';
import { authError } from '../errors.js';
import { missingIds, replaceLinks } from './id-sets.js';
import { GROUP_COLUMNS, groupRow, isGroupTaken } from './tables/groups.js';
import { GRANTS } from './tables/links.js';
import { lockPermissions } from './group-grants.js';
import { countRows } from './query-parts.js';
import { permissionNotFound, type Permission } from './permissions.js';
import { retryingTransaction } from './transaction.js';
import { validateGroupId } from './validation.js';

export interface Group {
  id: string;
  tag: string | null;
  description: string | null;
}

export interface GroupSummary extends Group {
  permissionCount: number;
  userCount: number;
}

export interface GroupDetail extends Group {
  /** Every permission granted, sorted (disabled ones included: they are granted, but grant nothing). */
  permissions: string[];
}

export interface PermissionChange {
  /** The group's granted permissions afterwards, sorted. */
  permissions: string[];
  added: string[];
  removed: string[];
}

export interface GroupMatrix {
  groups: Group[];
  permissions: Permission[];
  /** group id -> granted permission ids (sorted). */
  grants: Record<string, string[]>;
}

export function groupNotFound(missing: string[]) {
  return authError('auth.group.not_found', `unknown group${missing.length > 1 ? 's' : ''}: ${missing.join(', ')}`, {
    groups: missing,
  });
}

/** Names from `wanted` that are not group ids, in the order given. */
export function missingGroups(db: Knex, wanted: readonly string[]): Promise<string[]> {
  return missingIds(db, 'groups', wanted);
}

/** A row of `summaries()` as read: the SQL's column names; internal. */
interface SummaryRow extends Group {
  permission_count: number | string;
  user_count: number | string;
}

/** The one mapping from a `summaries()` row (counts as numbers: drivers give `count(*)` as a string or a bigint). */
function toSummary(row: SummaryRow): GroupSummary {
  return { id: row.id, tag: row.tag, description: row.description, permissionCount: Number(row.permission_count), userCount: Number(row.user_count) };
}

export class GroupService {
  constructor(private readonly ctx: CoreContext) {}

  async create(id: string, fields: { tag?: string | null; description?: string | null } = {}): Promise<Group> {
    validateGroupId(id);
    const row: Group = groupRow({ id, tag: fields.tag ?? null, description: fields.description ?? null });
    try {
      await this.ctx.db.transaction(async (trx) => {
        await trx('groups').insert(row);
        await recordAudit(trx, this.ctx.settings.actor, {
          command: 'group.create',
          targetType: 'group',
          target: id,
          summary: { tag: row.tag, description: row.description },
        });
      });
    } catch (err) {
      if (isGroupTaken(err)) {
        throw authError('auth.group.exists', `group ${id} already exists`, { group: id }, err);
      }
      throw err;
    }
    return row;
  }

  private summaries() {
    const db = this.ctx.db;
    return db('groups as g')
      .select(
        'g.id',
        'g.tag',
        'g.description',
        db('group_permissions as gp').count('*').where('gp.group_id', db.ref('g.id')).as('permission_count'),
        db('user_groups as ug').count('*').where('ug.group_id', db.ref('g.id')).as('user_count'),
      )
      .orderBy('g.id');
  }

  async list(options: { tag?: string } = {}): Promise<GroupSummary[]> {
    const q = this.summaries();
    if (options.tag !== undefined) q.where('g.tag', options.tag);
    return ((await q) as SummaryRow[]).map(toSummary);
  }

  /** One group with its grant and member counts. */
  async summary(id: string): Promise<GroupSummary> {
    const row = (await this.summaries().where('g.id', id).first()) as SummaryRow | undefined;
    if (!row) throw groupNotFound([id]);
    return toSummary(row);
  }

  async get(id: string): Promise<Group> {
    const row = (await this.ctx.db('groups').select(GROUP_COLUMNS).where({ id }).first()) as Group | undefined;
    if (!row) throw groupNotFound([id]);
    return row;
  }

  async show(id: string): Promise<GroupDetail> {
    const group = await this.get(id);
    const permissions = (await this.ctx.db('group_permissions').where({ group_id: id }).orderBy('permission_id').pluck('permission_id')) as string[];
    return { ...group, permissions };
  }

  /** The group's granted permissions with their details, sorted by id. */
  async permissions(id: string): Promise<Permission[]> {
    await this.get(id);
    return (await this.ctx.db('group_permissions as gp')
      .join('permissions as p', 'p.id', 'gp.permission_id')
      .where('gp.group_id', id)
      .select('p.id', 'p.enabled', 'p.tag', 'p.description')
      .orderBy('p.id')) as Permission[];
  }

  async delete(id: string): Promise<{ permissionsRemoved: number; usersRemoved: number }> {
    return retryingTransaction(this.ctx.db, async (trx) => {
      const [permissionsRemoved, usersRemoved] = await Promise.all([
        countRows(trx('group_permissions').where({ group_id: id })),
        countRows(trx('user_groups').where({ group_id: id })),
      ]);
      const deleted = await trx('groups').where({ id }).delete();
      if (deleted === 0) throw groupNotFound([id]);
      const result = { permissionsRemoved, usersRemoved };
      await recordAudit(trx, this.ctx.settings.actor, {
        command: 'group.delete',
        targetType: 'group',
        target: id,
        summary: { permissions_removed: result.permissionsRemoved, members_removed: result.usersRemoved },
      });
      return result;
    });
  }

  /**
   * Change a group's grants in one transaction under the group's row lock. `target` computes the
   * wanted set from the current one. Unknown group or permissions: not found, nothing changed.
   * Rolled back by the database (a deadlock with another writer): run again.
   */
  private async change(
    id: string,
    command: string,
    named: readonly string[],
    target: (current: Set<string>) => Set<string>,
  ): Promise<PermissionChange> {
    return retryingTransaction(this.ctx.db, async (trx) => {
      const group = await trx('groups').select('id').where({ id }).forUpdate().first();
      if (!group) throw groupNotFound([id]);
      // The delete and the insert below lock their permissions in two statements: take them all
      // first, in one order (see group-grants.ts). Locked, the named ones cannot go away before
      // the insert, so what is missing now is missing.
      const current = (await trx('group_permissions').where({ group_id: id }).pluck('permission_id')) as string[];
      const locked = await lockPermissions(trx, [...named, ...current]);
      const missing = named.filter((p) => !locked.has(p));
      if (missing.length > 0) throw permissionNotFound(missing);
      const { members, added, removed } = await replaceLinks(trx, GRANTS, id, target);
      if (added.length > 0 || removed.length > 0) {
        await recordAudit(trx, this.ctx.settings.actor, {
          command,
          targetType: 'group',
          target: id,
          summary: { added, removed },
        });
      }
      return { permissions: members, added, removed };
    });
  }

  /** Add grants; ones the group already has are kept (kaiju 2.1.0 removed them). */
  grant(id: string, permissions: readonly string[]): Promise<PermissionChange> {
    return this.change(id, 'group.grant', permissions, (current) => new Set([...current, ...permissions]));
  }

  revoke(id: string, permissions: readonly string[]): Promise<PermissionChange> {
    const drop = new Set(permissions);
    return this.change(id, 'group.revoke', permissions, (current) => new Set([...current].filter((p) => !drop.has(p))));
  }

  /** Replace the whole set. */
  setPermissions(id: string, permissions: readonly string[]): Promise<PermissionChange> {
    return this.change(id, 'group.set_permissions', permissions, () => new Set(permissions));
  }

  /** kaiju's `modify_permissions`: `{perm: true}` grants (keeping an existing grant), `{perm: false}` revokes. */
  modifyPermissions(id: string, changes: Record<string, boolean>): Promise<PermissionChange> {
    const entries = Object.entries(changes);
    return this.change(id, 'group.modify_permissions', Object.keys(changes), (current) => {
      const next = new Set(current);
      for (const [p, on] of entries) {
        if (on) next.add(p);
        else next.delete(p);
      }
      return next;
    });
  }

  async matrix(options: { tag?: string } = {}): Promise<GroupMatrix> {
    const db = this.ctx.db;
    const permissionsQ = db('permissions').select('id', 'enabled', 'tag', 'description').orderBy([{ column: 'tag', nulls: 'last' }, 'id']);
    if (options.tag !== undefined) permissionsQ.where('tag', options.tag);
    const [groups, permissions, grants] = await Promise.all([
      db('groups').select(GROUP_COLUMNS).orderBy('id') as Promise<Group[]>,
      permissionsQ as Promise<Permission[]>,
      db('group_permissions').select('group_id', 'permission_id').orderBy(['group_id', 'permission_id']) as Promise<
        { group_id: string; permission_id: string }[]
      >,
    ]);
    const shown = new Set(permissions.map((p) => p.id));
    const byGroup: Record<string, string[]> = Object.fromEntries(groups.map((g) => [g.id, [] as string[]]));
    for (const g of grants) if (shown.has(g.permission_id)) byGroup[g.group_id]?.push(g.permission_id);
    return { groups, permissions, grants: byGroup };
  }
}
