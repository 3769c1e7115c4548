/**
 * A user's groups and effective permissions. Effective permissions are the enabled permissions of
 * the user's groups, or of the default group when the user has none (kaiju's `default_group`),
 * resolved in ONE round trip, with the user's existence in the same answer.
 */
import type { Knex } from 'knex';
import { recordAudit } from './audit.js';
import type { CoreContext } from './context.js';
import { authError } from '../errors.js';
import { groupNotFound } from './groups.js';
import { replaceLinks } from './id-sets.js';
import { MEMBERSHIPS } from './tables/links.js';
import { isUuid } from './validation.js';

export interface GroupChange {
  /** The user's groups afterwards, sorted. */
  groups: string[];
  added: string[];
  removed: string[];
}

/** `where` on `users` for an id or a username (a uuid can never be a username: those are 4..32 word characters). */
function userKey(idOrUsername: string): Record<string, string> {
  return isUuid(idOrUsername) ? { id: idOrUsername.toLowerCase() } : { username: idOrUsername };
}

export function userNotFound(idOrUsername: string) {
  return authError('auth.user.not_found', `user ${idOrUsername} not found`, { user: idOrUsername });
}

/**
 * The `columns` of the user `idOrUsername` names (an id or a username), or `auth.user.not_found`.
 * `forUpdate` takes the row lock, for a change inside the caller's transaction.
 */
export async function findUser<T>(
  db: Knex,
  idOrUsername: string,
  columns: readonly string[],
  options: { forUpdate?: boolean } = {},
): Promise<T> {
  const q = db('users').select(columns).where(userKey(idOrUsername)).first();
  if (options.forUpdate) q.forUpdate();
  const row = (await q) as T | undefined;
  if (!row) throw userNotFound(idOrUsername);
  return row;
}


/**
 * Effective permissions of a user, or null when there is no such user: one round trip to
 * `kaiju_auth_user_permission_sets` (migration 3), which returns the enabled permissions of each
 * of the user's groups and of the default group; they are merged here.
 */
export async function resolveUserPermissions(
  db: Knex,
  idOrUsername: string,
  defaultGroup: string | null,
): Promise<{ userId: string; permissions: string[] } | null> {
  const byId = isUuid(idOrUsername);
  const key = byId ? idOrUsername.toLowerCase() : idOrUsername;
  const inline = inlineArguments(key, byId, defaultGroup);
  const result = await (inline === null
    ? db.raw('select user_id, own, permissions from kaiju_auth_user_permission_sets(?, ?, ?)', [key, byId, defaultGroup])
    : db.raw(`select user_id, own, permissions from kaiju_auth_user_permission_sets(${inline})`));
  const rows = result.rows as { user_id: string | null; own: boolean; permissions: string[] | null }[];
  const userRows = rows.filter((r) => r.user_id !== null);
  const userId = userRows[0]?.user_id;
  if (!userId) return null;
  // A user in no group gets the default group (kaiju's default_group), else its own groups.
  const granting = userRows.some((r) => r.own) ? userRows : rows.filter((r) => r.user_id === null);
  const lists: string[][] = [];
  for (const row of granting) if (row.permissions !== null) lists.push(row.permissions);
  return { userId, permissions: mergeSorted(lists) };
}

/**
 * The function's arguments as SQL literals, or null when a text value is not plain enough to
 * inline. A statement without parameters goes to PostgreSQL as one simple-protocol message instead
 * of parse, bind, describe and execute: about a fifth of this lookup's time on a local server
 * (the function caches its plans either way). Inlined only: text without a backslash (so the
 * literal reads the same whatever standard_conforming_strings says), without `?` (knex's
 * placeholder, which it rewrites even inside quotes) and without NUL; quotes are doubled. Any
 * other value (a uuid or a kaiju username never is one) is sent as a parameter.
 */
function inlineArguments(key: string, byId: boolean, defaultGroup: string | null): string | null {
  const literal = (text: string): string | null => (/[\\?\0]/.test(text) ? null : `'${text.replace(/'/g, "''")}'`);
  const keyLiteral = literal(key);
  const groupLiteral = defaultGroup === null ? 'NULL' : literal(defaultGroup);
  if (keyLiteral === null || groupLiteral === null) return null;
  return `${keyLiteral}, ${byId ? 'true' : 'false'}, ${groupLiteral}`;
}

/**
 * The sorted union of lists that are each sorted (the grant rows are in byte order): a k-way
 * merge, twice as fast as a set and a sort on the hot path of every login. Should the lists not
 * be in JavaScript's order (code points beyond the BMP), fall back to sorting.
 */
export function mergeSorted(lists: string[][]): string[] {
  if (lists.length === 1 && isStrictlySorted(lists[0] as string[])) return lists[0] as string[];
  const next = lists.map(() => 0);
  const out: string[] = [];
  for (;;) {
    let best = -1;
    let value = '';
    for (let j = 0; j < lists.length; j++) {
      const list = lists[j] as string[];
      const i = next[j] as number;
      if (i < list.length && (best < 0 || (list[i] as string) < value)) {
        best = j;
        value = list[i] as string;
      }
    }
    if (best < 0) break;
    next[best] = (next[best] as number) + 1;
    if (out.length === 0 || out[out.length - 1] !== value) out.push(value);
  }
  return isStrictlySorted(out) ? out : [...new Set(lists.flat())].sort();
}

function isStrictlySorted(list: string[]): boolean {
  for (let i = 1; i < list.length; i++) if (!((list[i - 1] as string) < (list[i] as string))) return false;
  return true;
}

export class UserGroupService {
  constructor(private readonly ctx: CoreContext) {}

  /** The user's own groups (not the default group), sorted. */
  async groups(idOrUsername: string): Promise<string[]> {
    const db = this.ctx.db;
    const user = await findUser<{ id: string }>(db, idOrUsername, ['id']);
    return (await db('user_groups').where({ user_id: user.id }).orderBy('group_id').pluck('group_id')) as string[];
  }

  async permissions(idOrUsername: string): Promise<string[]> {
    const resolved = await resolveUserPermissions(this.ctx.db, idOrUsername, this.ctx.settings.defaultGroup);
    if (!resolved) throw userNotFound(idOrUsername);
    return resolved.permissions;
  }

  /**
   * Change a user's groups in one transaction under the user's row lock (concurrent callers
   * serialise). Unknown user or groups: not found, nothing changed.
   */
  private async change(
    idOrUsername: string,
    command: string,
    named: readonly string[],
    target: (current: Set<string>) => Set<string>,
  ): Promise<GroupChange> {
    return this.ctx.db.transaction(async (trx) => {
      const user = await findUser<{ id: string; username: string }>(trx, idOrUsername, ['id', 'username'], { forUpdate: true });
      // KEY SHARE, as the insert's foreign key takes it: a group deleted meanwhile is waited for
      // and then missing (not found), and one found cannot go before the insert.
      const found = new Set(
        named.length === 0 ? [] : ((await trx('groups').whereIn('id', [...new Set(named)]).orderBy('id').forKeyShare().pluck('id')) as string[]),
      );
      const missing = named.filter((g) => !found.has(g));
      if (missing.length > 0) throw groupNotFound(missing);
      const { members, added, removed } = await replaceLinks(trx, MEMBERSHIPS, user.id, target);
      if (added.length > 0 || removed.length > 0) {
        await recordAudit(trx, this.ctx.settings.actor, {
          command,
          targetType: 'user',
          target: user.username,
          summary: { added, removed },
        });
      }
      return { groups: members, added, removed };
    });
  }

  setGroups(idOrUsername: string, groups: readonly string[]): Promise<GroupChange> {
    return this.change(idOrUsername, 'user.groups.set', groups, () => new Set(groups));
  }

  addGroups(idOrUsername: string, groups: readonly string[]): Promise<GroupChange> {
    return this.change(idOrUsername, 'user.groups.add', groups, (current) => new Set([...current, ...groups]));
  }

  removeGroups(idOrUsername: string, groups: readonly string[]): Promise<GroupChange> {
    const drop = new Set(groups);
    return this.change(idOrUsername, 'user.groups.remove', groups, (current) => new Set([...current].filter((g) => !drop.has(g))));
  }

  /** Adds and removes in one change (`user groups U --add A --remove B`). */
  modifyGroups(idOrUsername: string, add: readonly string[], remove: readonly string[]): Promise<GroupChange> {
    const drop = new Set(remove);
    return this.change(idOrUsername, 'user.groups.modify', [...add, ...remove], (current) => {
      const next = new Set([...current, ...add]);
      for (const g of drop) next.delete(g);
      return next;
    });
  }
}
