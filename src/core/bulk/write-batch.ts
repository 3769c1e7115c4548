/**
 * One import batch in one transaction, with multi-row statements whose count does not depend on
 * the batch size: insert the new users, update the existing ones (only where something differs),
 * make each written user's groups exactly its list, append one audit row. Users and their groups
 * commit together, so no user is ever visible without its groups, and a batch interrupted by a
 * crash leaves nothing behind: rerunning the file converges.
 */
import type { Knex } from 'knex';
import { jsonb, utcTimestampLiteral } from '../../db/values.js';
import { recordAudit } from '../audit.js';
import { rowsOf } from '../set-sql.js';
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

const USER_RECORD = `id uuid, username text, email text, full_name text, hash text, is_active boolean, is_blocked boolean, settings jsonb`;

function record(r: PreparedRow) {
  return {
    id: r.id,
    username: r.username,
    email: r.email,
    full_name: r.fullName,
    hash: r.hash,
    is_active: r.isActive ?? null,
    is_blocked: r.isBlocked ?? null,
    settings: r.settings ?? null,
  };
}

/** Make each user's groups exactly its list; returns the ids of users whose groups changed. */
async function replaceGroups(db: Knex, sets: { id: string; groups: string[]; existing: boolean }[]): Promise<Set<string>> {
  // New users have no groups to remove; users given no groups have none to add.
  const existing = sets.filter((s) => s.existing).map(({ id, groups }) => ({ id, groups }));
  const adding = sets.filter((s) => s.groups.length > 0).map(({ id, groups }) => ({ id, groups }));
  const changed = new Set<string>();
  if (existing.length > 0) {
    const removed = await db.raw(
      `delete from user_groups ug using jsonb_to_recordset(?::jsonb) as x(id uuid, groups jsonb)
        where ug.user_id = x.id
          and not exists (select 1 from jsonb_array_elements_text(x.groups) g where g = ug.group_id)
        returning ug.user_id`,
      [jsonb(existing)],
    );
    for (const r of rowsOf<{ user_id: string }>(removed)) changed.add(r.user_id);
  }
  if (adding.length > 0) {
    const added = await db.raw(
      `insert into user_groups (group_id, user_id)
       select g, x.id from jsonb_to_recordset(?::jsonb) as x(id uuid, groups jsonb) cross join jsonb_array_elements_text(x.groups) g
       on conflict do nothing
       returning user_id`,
      [jsonb(adding)],
    );
    for (const r of rowsOf<{ user_id: string }>(added)) changed.add(r.user_id);
  }
  return changed;
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
    let inserted: { id: string; username: string }[] = [];
    if (creates.length > 0) {
      // bcrypt strings are ASCII: their UTF-8 bytes are what kaiju stores; the salt is the first 29.
      inserted = rowsOf(
        await trx.raw(
          `insert into users (id, username, email, full_name, password, salt, is_active, is_blocked, settings, created)
           select x.id, x.username, x.email, x.full_name, convert_to(x.hash, 'UTF8'), convert_to(left(x.hash, 29), 'UTF8'),
                  coalesce(x.is_active, true), coalesce(x.is_blocked, false), coalesce(x.settings, '{}'::jsonb), ?::timestamp
             from jsonb_to_recordset(?::jsonb) as x(${USER_RECORD})
           on conflict (username) do nothing
           returning id, username`,
          [utcTimestampLiteral(audit.now), jsonb(creates.map(record))],
        ),
      );
    }
    let changed: { id: string }[] = [];
    if (updates.length > 0) {
      changed = rowsOf(
        await trx.raw(
          `update users u
              set email = x.email, full_name = x.full_name,
                  password = convert_to(x.hash, 'UTF8'), salt = convert_to(left(x.hash, 29), 'UTF8'),
                  is_active = coalesce(x.is_active, u.is_active), is_blocked = coalesce(x.is_blocked, u.is_blocked),
                  settings = coalesce(x.settings, u.settings)
             from jsonb_to_recordset(?::jsonb) as x(${USER_RECORD})
            where u.id = x.id
              and (u.email, u.full_name, u.password, u.is_active, u.is_blocked, u.settings)
                  is distinct from (x.email, x.full_name, convert_to(x.hash, 'UTF8'),
                                    coalesce(x.is_active, u.is_active), coalesce(x.is_blocked, u.is_blocked), coalesce(x.settings, u.settings))
           returning u.id`,
          [jsonb(updates.map(record))],
        ),
      );
    }
    const insertedIds = new Set(inserted.map((r) => r.id));
    const written = [...creates.filter((r) => insertedIds.has(r.id)), ...updates];
    // Updated users may have a new email: their keys are made again.
    await dropUserKeys(trx, updates.map((r) => r.id));
    await writeUserKeys(trx, written);
    const regrouped = await replaceGroups(
      trx,
      written.map((r) => ({ id: r.id, groups: r.groups, existing: r.action === 'update' })),
    );
    const updatedIds = new Set([...changed.map((r) => r.id), ...updates.filter((r) => regrouped.has(r.id)).map((r) => r.id)]);
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
