/**
 * The two link tables, kaiju's: `group_permissions` (a group's grants) and `user_groups` (a user's
 * groups). Their columns and the set-based ways to rewrite them live here: registration, the
 * services (through id-sets.ts), seed (fixtures/apply.ts) and import (bulk/write-batch.ts by
 * statement, bulk/copy-batch.ts by COPY) all write links through these.
 */
import type { Knex } from 'knex';
import { copyRows } from '../../db/copy.js';
import { jsonb } from '../../db/values.js';
import { rowsOf } from '../set-sql.js';

/** One owner's rows of a link table: `group_permissions` by group, `user_groups` by user. */
export interface LinkTable {
  table: 'group_permissions' | 'user_groups';
  ownerColumn: string;
  memberColumn: string;
  /** The owner column's SQL type. */
  ownerType: 'text' | 'uuid';
}

/** `group_permissions`: the permissions a group grants. */
export const GRANTS: LinkTable = { table: 'group_permissions', ownerColumn: 'group_id', memberColumn: 'permission_id', ownerType: 'text' };

/** `user_groups`: the groups a user is in. */
export const MEMBERSHIPS: LinkTable = { table: 'user_groups', ownerColumn: 'user_id', memberColumn: 'group_id', ownerType: 'uuid' };

/** `user_groups` columns in the order membershipCopyRow writes them. */
export const MEMBERSHIP_COPY_COLUMNS = ['group_id', 'user_id'] as const;

/** A user's memberships as knex rows (registration). */
export function membershipRows(userId: string, groups: readonly string[]): { group_id: string; user_id: string }[] {
  return groups.map((group_id) => ({ group_id, user_id: userId }));
}

/** One membership as COPY fields, in MEMBERSHIP_COPY_COLUMNS order. */
export function membershipCopyRow(group: string, userId: string): [string, string] {
  return [group, userId];
}

/** COPY text of membershipCopyRow rows into `user_groups`. */
export function copyMemberships(db: Knex, lines: Buffer): Promise<void> {
  return copyRows(db, MEMBERSHIPS.table, MEMBERSHIP_COPY_COLUMNS, lines);
}

/** Owners' wanted member lists: `key` is the owner's id, or its username with `byUsername`. */
export interface LinkSets {
  sets: readonly { key: string; members: readonly string[] }[];
  /** `user_groups` only: keys are usernames (seed), joined to users for the id. */
  byUsername?: boolean;
  /** Return the owners changed (else none: a seed's 25k grants need not come back). */
  changedOwners?: boolean;
}

function source(link: LinkTable, byUsername: boolean | undefined): { from: string; owner: string } {
  if (byUsername) {
    if (link !== MEMBERSHIPS) throw new Error(`${link.table}: owners by username are users`);
    return { from: 'jsonb_to_recordset(?::jsonb) as x(key text, members jsonb) join users u on u.username = x.key', owner: 'u.id' };
  }
  return { from: `jsonb_to_recordset(?::jsonb) as x(key ${link.ownerType}, members jsonb)`, owner: 'x.key' };
}

/** Delete each owner's rows whose member is not in its list; `changedOwners`: returns the owners that lost some. */
export async function removeUnlisted(db: Knex, link: LinkTable, { sets, byUsername, changedOwners }: LinkSets): Promise<string[]> {
  if (sets.length === 0) return [];
  const { table, ownerColumn, memberColumn } = link;
  const { from, owner } = source(link, byUsername);
  const removed = await db.raw(
    `delete from ${table} t using ${from}
      where t.${ownerColumn} = ${owner}
        and not exists (select 1 from jsonb_array_elements_text(x.members) m where m = t.${memberColumn})
      ${changedOwners ? `returning t.${ownerColumn} as owner` : ''}`,
    [jsonb(sets)],
  );
  return rowsOf<{ owner: string }>(removed).map((r) => r.owner);
}

/**
 * Insert each owner's listed members it lacks; `changedOwners`: returns the owners that gained some.
 * `created`: every owner was created by the calling transaction, so none has a row yet and none
 * can get one from elsewhere before it commits: a plain INSERT, without the per-row conflict
 * arbitration of ON CONFLICT (~15-20% of a seed's 25,000-grant insert).
 */
export async function addListed(db: Knex, link: LinkTable, { sets, byUsername, changedOwners }: LinkSets, created = false): Promise<string[]> {
  if (sets.length === 0) return [];
  const { table, ownerColumn, memberColumn } = link;
  const { from, owner } = source(link, byUsername);
  const added = await db.raw(
    `insert into ${table} (${ownerColumn}, ${memberColumn})
     select ${owner}, m from ${from} cross join jsonb_array_elements_text(x.members) m
     ${created ? '' : 'on conflict do nothing'}
     ${changedOwners ? `returning ${ownerColumn} as owner` : ''}`,
    [jsonb(sets)],
  );
  return rowsOf<{ owner: string }>(added).map((r) => r.owner);
}

/** Make each owner's members exactly its list (removeUnlisted, then addListed). */
export async function replaceListed(db: Knex, link: LinkTable, sets: LinkSets): Promise<void> {
  await removeUnlisted(db, link, sets);
  await addListed(db, link, sets);
}
