/**
 * One import batch in one transaction, with multi-row statements whose count does not depend on
 * the batch size: insert the new users, update the existing ones (only where something differs),
 * make each written user's groups exactly its list, append one audit row. Users and their groups
 * commit together, so no user is ever visible without its groups, and a batch interrupted by a
 * crash leaves nothing behind: rerunning the file converges.
 */
import type { Knex } from 'knex';
import { recordAudit } from '../audit.js';
import { addListed, MEMBERSHIPS, removeUnlisted } from '../tables/links.js';
import { insertUsers, rewriteUsers, type NewUser, type UserRewrite } from '../tables/users.js';
import { dropUserKeys, writeUserKeys } from '../user-keys.js';
import type { ImportRow } from './types.js';

/** A checked row with what the batch does with it. */
export interface PreparedRow extends ImportRow {
  action: 'create' | 'update' | 'skip';
  /** For create: a new id; for update: the existing user's id. */
  id: string;
  /** The bcrypt string to store (create and update). */
  hash?: string;
}

export interface BatchResult {
  created: number;
  updated: number;
  unchanged: number;
}

function storedHash(r: PreparedRow): string {
  if (r.hash === undefined) throw new Error(`import row ${r.row}: no hash to store`);
  return r.hash;
}

/** A new user from a row: the file's flags and settings, else active, not blocked, `{}`. */
function newUser(r: PreparedRow): NewUser {
  return {
    id: r.id,
    username: r.username,
    email: r.email,
    fullName: r.fullName,
    hash: storedHash(r),
    isActive: r.isActive ?? true,
    isBlocked: r.isBlocked ?? false,
    settings: r.settings ?? {},
  };
}

/** An existing user's new values: what the file does not give stays as it is. */
function rewrite(r: PreparedRow): UserRewrite {
  return {
    id: r.id,
    email: r.email,
    fullName: r.fullName,
    hash: storedHash(r),
    isActive: r.isActive ?? null,
    isBlocked: r.isBlocked ?? null,
    settings: r.settings ?? null,
  };
}

/** Make each user's groups exactly its list; returns the ids of users whose groups changed. */
async function replaceGroups(db: Knex, sets: { id: string; groups: string[]; existing: boolean }[]): Promise<Set<string>> {
  // New users have no groups to remove; users given no groups have none to add.
  const existing = sets.filter((s) => s.existing).map(({ id, groups }) => ({ key: id, members: groups }));
  const adding = sets.filter((s) => s.groups.length > 0).map(({ id, groups }) => ({ key: id, members: groups }));
  const removed = await removeUnlisted(db, MEMBERSHIPS, { sets: existing, changedOwners: true });
  const added = await addListed(db, MEMBERSHIPS, { sets: adding, changedOwners: true });
  return new Set([...removed, ...added]);
}

/** `guard` runs first in the transaction (the look-alike keys' lock and check, see copy-batch.ts). */
export async function writeBatch(
  db: Knex,
  rows: PreparedRow[],
  audit: { actor: string; source: string; now: Date },
  guard: (trx: Knex) => Promise<void>,
): Promise<BatchResult> {
  return db.transaction(async (trx) => {
    await guard(trx);
    const creates = rows.filter((r) => r.action === 'create');
    const updates = rows.filter((r) => r.action === 'update');
    const inserted = await insertUsers(trx, creates.map(newUser), audit.now, { skipTakenUsernames: true });
    const changed = await rewriteUsers(trx, updates.map(rewrite));
    const insertedIds = new Set(inserted.map((r) => r.id));
    const written = [...creates.filter((r) => insertedIds.has(r.id)), ...updates];
    // Updated users may have a new email: their keys are made again.
    await dropUserKeys(trx, updates.map((r) => r.id));
    await writeUserKeys(trx, written);
    const regrouped = await replaceGroups(
      trx,
      written.map((r) => ({ id: r.id, groups: r.groups, existing: r.action === 'update' })),
    );
    const updatedIds = new Set([...changed, ...updates.filter((r) => regrouped.has(r.id)).map((r) => r.id)]);
    const result: BatchResult = {
      created: inserted.length,
      updated: updatedIds.size,
      unchanged: rows.length - inserted.length - updatedIds.size,
    };
    if (result.created > 0 || result.updated > 0) {
      await recordAudit(trx, audit.actor, {
        command: 'user.import',
        targetType: 'user',
        target: audit.source,
        summary: { rows: [rows[0]?.row ?? 0, rows[rows.length - 1]?.row ?? 0], created: result.created, updated: result.updated, unchanged: result.unchanged },
      });
    }
    return result;
  });
}
