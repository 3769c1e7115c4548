/**
 * The fast way to write an import batch in which every user is new: `COPY` the users and their
 * group rows (the db seam's copyRows), then the audit row, in one transaction. No conflict is
 * looked for beforehand: if any username or email is taken after all (a rerun after a crash, or
 * another writer), the database's unique constraints reject the COPY, the transaction rolls back
 * with nothing written, and the caller takes the batch through writeBatch, which handles
 * existing users by the conflict policy. Same rows, same result, as writeBatch would give.
 */
import { randomUUID } from 'node:crypto';
import { setImmediate } from 'node:timers/promises';
import type { Knex } from 'knex';
import { CopyText } from '../../db/copy.js';
import { recordAudit } from '../audit.js';
import { copyMemberships, membershipCopyRow } from '../tables/links.js';
import { copyUsers, createdField, takenUserField, userCopyLine } from '../tables/users.js';
import type { ImportRow } from './types.js';
import { copyUserKeys, identityKeys, keyCopyLine } from '../user-keys.js';
import type { BatchResult } from './write-batch.js';

/** A unique violation on users: some row of the batch is not new after all. */
export function isExistingUserViolation(err: unknown): boolean {
  return takenUserField(err) !== null;
}

/** A batch of new users as COPY text, made ahead of its turn (while the batch before is written). */
export interface NewUsersCopy {
  users: Buffer;
  groups: Buffer;
  /** The users' look-alike keys (kaiju_auth_user_keys). */
  keys: Buffer;
  count: number;
  /** First and last row numbers of the file, for the audit row. */
  rows: [number, number];
}

/** Rows made into text between two turns of the event loop (see newUsersCopy). */
const SLICE = 500;

/**
 * New users as COPY text: each gets a new id; `hashes[i]` is the bcrypt string of `rows[i]`.
 * Made while the batch before is being written: it yields to the event loop every few hundred
 * rows, so that write's round trips are not held up behind a whole batch of text making.
 */
export async function newUsersCopy(rows: readonly ImportRow[], hashes: readonly (string | undefined)[], now: Date): Promise<NewUsersCopy> {
  const created = createdField(now);
  const users = new CopyText();
  const groups = new CopyText();
  const keys = new CopyText();
  for (let i = 0; i < rows.length; i++) {
    if (i > 0 && i % SLICE === 0) await setImmediate();
    const r = rows[i] as ImportRow;
    const hash = hashes[i];
    if (hash === undefined) throw new Error(`import row ${r.row}: no hash to store`);
    const id = randomUUID();
    users.line(
      userCopyLine(
        { id, username: r.username, email: r.email, fullName: r.fullName, hash, isActive: r.isActive ?? true, isBlocked: r.isBlocked ?? false, settings: r.settings ?? {} },
        created,
      ),
    );
    for (const g of r.groups) groups.row(...membershipCopyRow(g, id));
    keys.line(keyCopyLine(id, identityKeys(r.username, r.email)));
  }
  return { users: users.bytes(), groups: groups.bytes(), keys: keys.bytes(), count: rows.length, rows: [rows[0]?.row ?? 0, rows[rows.length - 1]?.row ?? 0] };
}

/**
 * `guard` runs first in the transaction: it takes the look-alike keys' lock and may refuse the
 * batch (user-keys.ts); the users' keys are written with them.
 */
export async function copyNewUsers(
  db: Knex,
  batch: NewUsersCopy,
  audit: { actor: string; source: string },
  guard: (trx: Knex) => Promise<void>,
): Promise<BatchResult> {
  return db.transaction(async (trx) => {
    await guard(trx);
    await copyUsers(trx, batch.users);
    await copyUserKeys(trx, batch.keys);
    await copyMemberships(trx, batch.groups);
    const result: BatchResult = { created: batch.count, updated: 0, unchanged: 0 };
    if (batch.count > 0) {
      await recordAudit(trx, audit.actor, { command: 'user.import', targetType: 'user', target: audit.source, summary: { rows: batch.rows, ...result } });
    }
    return result;
  });
}
