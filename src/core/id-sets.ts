/**
 * Sets of ids, as the services share them: which named ids a table lacks (unknown groups or
 * permissions), what turns one set into another, and rewriting one owner's rows of a link table
 * (a group's grants, a user's groups) to a wanted set.
 */
import type { Knex } from 'knex';
import type { LinkTable } from './tables/links.js';

export interface SetChange {
  added: string[];
  removed: string[];
}

/** Names from `wanted` that are not ids of `table`, in the order given. */
export async function missingIds(db: Knex, table: 'groups' | 'permissions', wanted: readonly string[]): Promise<string[]> {
  if (wanted.length === 0) return [];
  const found = new Set((await db(table).whereIn('id', [...new Set(wanted)]).pluck('id')) as string[]);
  return wanted.filter((id) => !found.has(id));
}

/** What turns `current` into `wanted`, both lists sorted. */
export function diffSets(wanted: Iterable<string>, current: ReadonlySet<string>): SetChange {
  const want = new Set(wanted);
  return {
    added: [...want].filter((x) => !current.has(x)).sort(),
    removed: [...current].filter((x) => !want.has(x)).sort(),
  };
}

/**
 * Make `owner`'s members in `link` exactly `target(current)`: delete the removed rows, insert the
 * added ones. Call it in a transaction that holds the owner's row lock, so concurrent changes
 * serialise. Returns the members afterwards (sorted) and what changed.
 */
export async function replaceLinks(
  trx: Knex,
  link: LinkTable,
  owner: string,
  target: (current: Set<string>) => Set<string>,
): Promise<SetChange & { members: string[] }> {
  const { table, ownerColumn, memberColumn } = link;
  const current = new Set((await trx(table).where(ownerColumn, owner).pluck(memberColumn)) as string[]);
  const wanted = target(current);
  const { added, removed } = diffSets(wanted, current);
  if (removed.length > 0) await trx(table).where(ownerColumn, owner).whereIn(memberColumn, removed).delete();
  if (added.length > 0) {
    await trx(table)
      .insert(added.map((member) => ({ [ownerColumn]: owner, [memberColumn]: member })))
      .onConflict([ownerColumn, memberColumn])
      .ignore();
  }
  return { members: [...wanted].sort(), added, removed };
}
