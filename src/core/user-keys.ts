/**
 * Users' look-alike keys in the database (migration 20260101000006): what every way of creating a
 * user or changing an email goes through, so that no new username or email looks like an existing
 * one (see lookalike.ts for what "looks like" means).
 *
 * A transaction that writes users first calls `lockUserKeys`: it bumps the keys' generation (whose
 * row lock serialises every such transaction of this tool: two look-alike registrations at once
 * cannot both pass their check), marks the transaction's writes as keeping the keys (the stale-row
 * triggers skip them), and brings up to date the keys of users written by anyone else (the kaiju
 * app). Then `findKeyHolders` finds, in one statement, the existing users sharing any key with the
 * candidates, and `writeUserKeys` stores the new users' keys. Rows of `users` are never changed.
 */
import type { Knex } from 'knex';
import { CopyText, copyField, copyRows } from '../db/copy.js';
import { jsonb } from '../db/values.js';
import { keysOf, lookalikeKeys, type LookalikeKeys } from './lookalike.js';
import { rowsOf } from './set-sql.js';

/** The keys of a user's name and email. */
export interface IdentityKeys {
  name: LookalikeKeys;
  email: LookalikeKeys;
}

export function identityKeys(username: string, email: string): IdentityKeys {
  return { name: lookalikeKeys(username), email: lookalikeKeys(email) };
}

/** An existing user with its stored keys, as read (kaiju_auth_user_keys' column names); internal to core. */
export interface KeyHolder {
  id: string;
  username: string;
  email: string;
  name_key: string;
  name_alt: string | null;
  email_key: string;
  email_alt: string | null;
}

/** A candidate (a new user, or a user about to get a new email) that looks like an existing user. */
export interface KeyClash {
  field: 'username' | 'email';
  holder: KeyHolder;
  /** The same text, not only alike. */
  exact: boolean;
}

export const USER_KEY_COLUMNS = ['user_id', 'name_key', 'name_alt', 'email_key', 'email_alt'] as const;
const PAGE = 10_000;

/** One row of `kaiju_auth_user_keys` in text COPY format. */
export function keyCopyLine(id: string, k: IdentityKeys): string {
  return `${id}\t${copyField(k.name.key)}\t${copyField(k.name.alt)}\t${copyField(k.email.key)}\t${copyField(k.email.alt)}\n`;
}

/** Store the keys of these users (their rows written in this transaction). */
export async function writeUserKeys(db: Knex, users: readonly { id: string; username: string; email: string }[]): Promise<void> {
  if (users.length === 0) return;
  const text = new CopyText();
  for (const u of users) text.line(keyCopyLine(u.id, identityKeys(u.username, u.email)));
  await copyUserKeys(db, text.bytes());
}

/** COPY lines made by keyCopyLine into kaiju_auth_user_keys. */
export function copyUserKeys(db: Knex, lines: Buffer): Promise<void> {
  return copyRows(db, 'kaiju_auth_user_keys', USER_KEY_COLUMNS, lines);
}

/** Forget the keys of these users (deleted, or about to get new ones). */
export async function dropUserKeys(db: Knex, ids: readonly string[]): Promise<void> {
  if (ids.length === 0) return;
  await db.raw('delete from kaiju_auth_user_keys where user_id in (select (jsonb_array_elements_text(?::jsonb))::uuid)', [jsonb(ids)]);
}

/** Forget the keys of users that are gone (deleted by someone else: they match nothing anyway). */
export async function dropOrphanKeys(db: Knex): Promise<void> {
  await db.raw('delete from kaiju_auth_user_keys k where not exists (select 1 from users u where u.id = k.user_id)');
}

/** This transaction keeps the keys of the users it writes: the stale-row triggers skip its writes. */
export async function keepUserKeys(db: Knex): Promise<void> {
  await db.raw("select set_config('kaiju_auth.user_keys', 'kept', true)");
}

/**
 * The first statement of a transaction that creates users or changes emails, or checks names
 * against everyone's (see the module header): waits for the keys' lock, marks this transaction's
 * writes as keeping the keys, and brings up to date the keys of users written by someone else
 * (`refreshed`). `seen` is the keys' generation when the lock was taken; a `writing` transaction
 * (or one that refreshed) moves it on by one.
 */
export async function lockUserKeys(db: Knex, options: { writing?: boolean } = {}): Promise<{ seen: number; refreshed: boolean }> {
  // The stale flag is read with the snapshot from before the lock: rows marked stale meanwhile
  // were written by someone who never waits for this lock anyway, as if a moment later.
  const [row] = rowsOf<{ generation: string; stale: boolean }>(
    await db.raw(
      `select generation, set_config('kaiju_auth.user_keys', 'kept', true) is not null as kept,
              exists (select 1 from kaiju_auth_user_keys_stale) as stale
         from kaiju_auth_user_keys_state for update`,
    ),
  );
  if (!row) throw new Error('kaiju_auth_user_keys_state has no row: run kaiju-auth migrate');
  const refreshed = row.stale ? await refreshStaleKeys(db) : false;
  if (options.writing !== false || refreshed) await db.raw('update kaiju_auth_user_keys_state set generation = generation + 1');
  return { seen: Number(row.generation), refreshed };
}

/** Bring up to date the keys of users written by others since the last look. True if there were any. */
async function refreshStaleKeys(db: Knex): Promise<boolean> {
  const [marks] = rowsOf<{ last: string | null; ids: string[] | string | null }>(
    await db.raw('select max(id) as last, jsonb_agg(distinct user_id) as ids from kaiju_auth_user_keys_stale'),
  );
  if (!marks || marks.last === null) return false;
  const ids = (typeof marks.ids === 'string' ? JSON.parse(marks.ids) : (marks.ids ?? [])) as string[];
  await dropUserKeys(db, ids);
  // Users still there get their keys again, a page at a time.
  for (let from = 0; from < ids.length; from += PAGE) {
    const users = rowsOf<{ id: string; username: string; email: string }>(
      await db.raw('select id, username, email from users where id in (select (jsonb_array_elements_text(?::jsonb))::uuid)', [jsonb(ids.slice(from, from + PAGE))]),
    );
    await writeUserKeys(db, users);
  }
  await db.raw('delete from kaiju_auth_user_keys_stale where id <= ?', [marks.last]);
  return true;
}

/** Whether no (existing) user has keys: then nothing can clash, and a check is skipped. */
export async function noUserKeys(db: Knex): Promise<boolean> {
  const [row] = rowsOf<{ any: boolean }>(
    await db.raw('select exists (select 1 from kaiju_auth_user_keys k join users u on u.id = k.user_id) as any'),
  );
  return !row?.any;
}

/** The keys of these candidates, by field, for findKeyHolders. */
export function keySets(candidates: readonly IdentityKeys[]): { names: Set<string>; emails: Set<string> } {
  const names = new Set<string>();
  const emails = new Set<string>();
  for (const c of candidates) {
    names.add(c.name.key);
    if (c.name.alt !== null) names.add(c.name.alt);
    emails.add(c.email.key);
    if (c.email.alt !== null) emails.add(c.email.alt);
  }
  return { names, emails };
}

/** Existing users sharing any of these name keys or email keys: one statement, hash joins. */
export async function findKeyHolders(db: Knex, keys: readonly IdentityKeys[] | { names: Iterable<string>; emails: Iterable<string> }): Promise<KeyHolder[]> {
  const { names, emails } = Array.isArray(keys) ? keySets(keys) : (keys as { names: Iterable<string>; emails: Iterable<string> });
  const nameList = [...names];
  const emailList = [...emails];
  if (nameList.length === 0 && emailList.length === 0) return [];
  return rowsOf<KeyHolder>(
    await db.raw(
      `with n as (select distinct value as key from jsonb_array_elements_text(?::jsonb)),
            e as (select distinct value as key from jsonb_array_elements_text(?::jsonb)),
            hit as (select k.user_id from kaiju_auth_user_keys k join n on n.key = k.name_key
                    union select k.user_id from kaiju_auth_user_keys k join n on n.key = k.name_alt
                    union select k.user_id from kaiju_auth_user_keys k join e on e.key = k.email_key
                    union select k.user_id from kaiju_auth_user_keys k join e on e.key = k.email_alt)
       select distinct u.id, u.username, u.email, k.name_key, k.name_alt, k.email_key, k.email_alt
         from hit join kaiju_auth_user_keys k on k.user_id = hit.user_id join users u on u.id = k.user_id`,
      [jsonb(nameList), jsonb(emailList)],
    ),
  );
}

/**
 * Holders indexed by key, to find a candidate's clashes without a scan of every holder. `self`
 * says which holder is the candidate itself (an update of its own email; an import row of an
 * existing username, which the conflict policy handles).
 */
export class KeyIndex {
  private readonly names = new Map<string, KeyHolder[]>();
  private readonly emails = new Map<string, KeyHolder[]>();

  constructor(holders: readonly KeyHolder[]) {
    for (const h of holders) {
      for (const k of [h.name_key, h.name_alt]) if (k !== null) push(this.names, k, h);
      for (const k of [h.email_key, h.email_alt]) if (k !== null) push(this.emails, k, h);
    }
  }

  get size(): number {
    return this.names.size + this.emails.size;
  }

  /** The first clash of a candidate (username first; `emailOnly`: a new email of an existing user), or null. */
  clash(c: { username: string; email: string; keys: IdentityKeys }, self: (h: KeyHolder) => boolean, emailOnly = false): KeyClash | null {
    const name = emailOnly ? null : match(this.names, c.keys.name, self);
    if (name) return { field: 'username', holder: name, exact: name.username === c.username };
    const email = match(this.emails, c.keys.email, self);
    if (email) return { field: 'email', holder: email, exact: email.email === c.email };
    return null;
  }
}

function match(index: Map<string, KeyHolder[]>, keys: LookalikeKeys, self: (h: KeyHolder) => boolean): KeyHolder | null {
  for (const key of keysOf(keys)) {
    for (const holder of index.get(key) ?? []) if (!self(holder)) return holder;
  }
  return null;
}

function push(map: Map<string, KeyHolder[]>, key: string, h: KeyHolder): void {
  const list = map.get(key);
  if (list) {
    if (!list.includes(h)) list.push(h);
  } else map.set(key, [h]);
}

/** Groups of existing users whose names, or emails, look alike (`user list --collisions`). */
/** Existing users whose usernames, or emails, look alike (`auth.users.collisions()`). */
export interface LookalikeGroup {
  field: 'username' | 'email';
  users: { id: string; username: string; email: string }[];
}

export async function keyCollisions(db: Knex): Promise<LookalikeGroup[]> {
  const rows = rowsOf<{ field: 'username' | 'email'; key: string; id: string; username: string; email: string }>(
    await db.raw(
      `with k as (select user_id, 'username' as field, name_key as key from kaiju_auth_user_keys
                  union select user_id, 'username', name_alt from kaiju_auth_user_keys where name_alt is not null
                  union select user_id, 'email', email_key from kaiju_auth_user_keys
                  union select user_id, 'email', email_alt from kaiju_auth_user_keys where email_alt is not null),
            shared as (select field, key from k group by field, key having count(distinct user_id) > 1)
       select k.field, k.key, u.id, u.username, u.email
         from k join shared s on s.field = k.field and s.key = k.key join users u on u.id = k.user_id
        order by k.field, k.key, u.username`,
    ),
  );
  // Users sharing a key are one group; groups sharing a user merge (one name can have two keys).
  const groups: { field: 'username' | 'email'; users: { id: string; username: string; email: string }[] }[] = [];
  for (const field of ['username', 'email'] as const) {
    const parent = new Map<string, string>();
    const find = (x: string): string => {
      let r = x;
      while (parent.get(r) !== r) r = parent.get(r) as string;
      parent.set(x, r);
      return r;
    };
    const users = new Map<string, { id: string; username: string; email: string }>();
    const firstOfKey = new Map<string, string>();
    for (const r of rows.filter((x) => x.field === field)) {
      users.set(r.id, { id: r.id, username: r.username, email: r.email });
      if (!parent.has(r.id)) parent.set(r.id, r.id);
      const first = firstOfKey.get(r.key);
      if (first === undefined) firstOfKey.set(r.key, r.id);
      else parent.set(find(r.id), find(first));
    }
    const byRoot = new Map<string, { id: string; username: string; email: string }[]>();
    for (const [id, u] of users) {
      const root = find(id);
      byRoot.set(root, [...(byRoot.get(root) ?? []), u]);
    }
    for (const members of byRoot.values()) {
      members.sort((a, b) => (field === 'username' ? a.username.localeCompare(b.username) : a.email.localeCompare(b.email)));
      groups.push({ field, users: members });
    }
  }
  groups.sort((a, b) => (a.field === b.field ? (a.users[0]?.username ?? '').localeCompare(b.users[0]?.username ?? '') : a.field === 'username' ? -1 : 1));
  return groups;
}
