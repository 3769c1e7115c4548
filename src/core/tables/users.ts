/**
 * The `users` table, kaiju's: its columns, its constraints and how a user is stored, in one
 * place. Every way a user is written goes through here: registration (users.ts, one row), seed
 * (fixtures/apply.ts) and import's statements (bulk/write-batch.ts) as one JSON parameter, and
 * import's COPY (bulk/copy-batch.ts). A user made any of these ways is stored the same way.
 *
 * How kaiju stores a user: `password` is the bcrypt string's bytes (ASCII), `salt` the bytes of
 * its `$2b$NN$` + 22-character prefix, `settings` JSONB (`{}` when none), `created` kaiju's UTC
 * TIMESTAMP without a zone. The look-alike keys (kaiju_auth_user_keys) are written by user-keys.ts,
 * by whoever writes the users, in the same transaction.
 */
import type { Knex } from 'knex';
import { copyField, copyRows } from '../../db/copy.js';
import { isUniqueViolation } from '../../db/errors.js';
import { jsonb, utcTimestampLiteral } from '../../db/values.js';
import { rowsOf } from '../set-sql.js';
import type { User } from '../users.js';

export const USERS_TABLE = 'users';

/** A user's profile: what reads return (never the password or the salt). */
export const USER_COLUMNS = ['id', 'username', 'email', 'full_name', 'is_active', 'is_blocked', 'settings', 'created'] as const;

/** A user's profile as read from the table (USER_COLUMNS): kaiju's column names, internal to core. */
export interface UserRow {
  id: string;
  username: string;
  email: string;
  full_name: string | null;
  is_active: boolean;
  is_blocked: boolean;
  settings: Record<string, unknown>;
  created: Date;
}

/** The one mapping from a profile row to the library's `User` (camelCase). */
export function toUser(r: UserRow): User {
  return {
    id: r.id,
    username: r.username,
    email: r.email,
    fullName: r.full_name,
    isActive: r.is_active,
    isBlocked: r.is_blocked,
    settings: r.settings,
    created: r.created,
  };
}

/** Every column of a new row, in the order the statements and the COPY below write them. */
export const USER_ROW_COLUMNS = ['id', 'username', 'email', 'full_name', 'password', 'salt', 'is_active', 'is_blocked', 'settings', 'created'] as const;

/** The constraints a write may meet (named by kaiju's schema). */
export const USER_CONSTRAINTS = { primaryKey: 'users_pkey', username: 'users_username_key', email: 'users_email_key' } as const;

/** The length of a bcrypt string's salt prefix (`$2b$13$` + 22 characters): kaiju's `salt`. */
const SALT_LENGTH = 29;

/** A new user as the writers below store it. */
export interface NewUser {
  id: string;
  username: string;
  email: string;
  fullName: string | null;
  /** The bcrypt string (ASCII) to store as `password`. */
  hash: string;
  /** The salt to store; default: the hash's own prefix (what kaiju stores). */
  salt?: string;
  isActive: boolean;
  isBlocked: boolean;
  settings: Record<string, unknown>;
}

/** An existing user's new values (import's update); a null flag or settings keeps the stored one. */
export interface UserRewrite {
  id: string;
  email: string;
  fullName: string | null;
  hash: string;
  isActive: boolean | null;
  isBlocked: boolean | null;
  settings: Record<string, unknown> | null;
}

function saltOf(u: { hash: string; salt?: string }): string {
  return u.salt ?? u.hash.slice(0, SALT_LENGTH);
}

/** A hash and salt made as bytes (the hasher's) in the text form the writers take. */
export function storedPassword(p: { hash: Buffer; salt: Buffer }): { hash: string; salt: string } {
  return { hash: p.hash.toString('latin1'), salt: p.salt.toString('latin1') };
}

/** One new user as a knex row (registration). */
export function userRow(u: NewUser, created: Date): Record<(typeof USER_ROW_COLUMNS)[number], unknown> {
  return {
    id: u.id,
    username: u.username,
    email: u.email,
    full_name: u.fullName,
    password: Buffer.from(u.hash, 'latin1'),
    salt: Buffer.from(saltOf(u), 'latin1'),
    is_active: u.isActive,
    is_blocked: u.isBlocked,
    settings: jsonb(u.settings),
    created: utcTimestampLiteral(created),
  };
}

/** The record a JSON parameter carries per user, and its SQL type (`jsonb_to_recordset`). */
const RECORD = 'id uuid, username text, email text, full_name text, hash text, salt text, is_active boolean, is_blocked boolean, settings jsonb';

function record(u: NewUser | UserRewrite, username: string | null) {
  return {
    id: u.id,
    username,
    email: u.email,
    full_name: u.fullName,
    hash: u.hash,
    salt: saltOf(u),
    is_active: u.isActive,
    is_blocked: u.isBlocked,
    settings: u.settings,
  };
}

/**
 * Insert new users in one statement, all `created` at `created`. `skipTakenUsernames`: a username
 * already taken is skipped rather than an error, and the rows written are returned (import).
 */
export async function insertUsers(
  db: Knex,
  users: readonly NewUser[],
  created: Date,
  options: { skipTakenUsernames?: boolean } = {},
): Promise<{ id: string; username: string }[]> {
  if (users.length === 0) return [];
  // bcrypt strings are ASCII, so their UTF-8 bytes are the bytes kaiju stores.
  return rowsOf(
    await db.raw(
      `insert into users (${USER_ROW_COLUMNS.join(', ')})
       select x.id, x.username, x.email, x.full_name, convert_to(x.hash, 'UTF8'), convert_to(x.salt, 'UTF8'), x.is_active, x.is_blocked, x.settings, ?::timestamp
         from jsonb_to_recordset(?::jsonb) as x(${RECORD})
       ${options.skipTakenUsernames ? 'on conflict (username) do nothing returning id, username' : ''}`,
      [utcTimestampLiteral(created), jsonb(users.map((u) => record(u, u.username)))],
    ),
  );
}

/** Rewrite existing users in one statement, only where something differs; returns the ids changed. */
export async function rewriteUsers(db: Knex, users: readonly UserRewrite[]): Promise<string[]> {
  if (users.length === 0) return [];
  const changed = rowsOf<{ id: string }>(
    await db.raw(
      `update users u
          set email = x.email, full_name = x.full_name,
              password = convert_to(x.hash, 'UTF8'), salt = convert_to(x.salt, 'UTF8'),
              is_active = coalesce(x.is_active, u.is_active), is_blocked = coalesce(x.is_blocked, u.is_blocked),
              settings = coalesce(x.settings, u.settings)
         from jsonb_to_recordset(?::jsonb) as x(${RECORD})
        where u.id = x.id
          and (u.email, u.full_name, u.password, u.is_active, u.is_blocked, u.settings)
              is distinct from (x.email, x.full_name, convert_to(x.hash, 'UTF8'),
                                coalesce(x.is_active, u.is_active), coalesce(x.is_blocked, u.is_blocked), coalesce(x.settings, u.settings))
       returning u.id`,
      [jsonb(users.map((u) => record(u, null)))],
    ),
  );
  return changed.map((r) => r.id);
}

/** `created` as a COPY field, made once per batch. */
export function createdField(created: Date): string {
  return copyField(utcTimestampLiteral(created));
}

/** One new user as a line of COPY text in USER_ROW_COLUMNS order (`created`: from createdField). */
export function userCopyLine(u: NewUser, created: string): string {
  // A bcrypt string is printable ASCII without backslashes: as bytea input it is its own bytes.
  const settings = copyField(JSON.stringify(u.settings));
  return `${u.id}\t${copyField(u.username)}\t${copyField(u.email)}\t${copyField(u.fullName)}\t${copyField(u.hash)}\t${copyField(saltOf(u))}\t${copyField(u.isActive)}\t${copyField(u.isBlocked)}\t${settings}\t${created}\n`;
}

/** COPY lines made by userCopyLine into the table. */
export function copyUsers(db: Knex, lines: Buffer): Promise<void> {
  return copyRows(db, USERS_TABLE, USER_ROW_COLUMNS, lines);
}

/** Which unique field a violation on users is about ('id' for the primary key), or null. */
export function takenUserField(err: unknown): 'username' | 'email' | 'id' | null {
  if (isUniqueViolation(err, USER_CONSTRAINTS.username)) return 'username';
  if (isUniqueViolation(err, USER_CONSTRAINTS.email)) return 'email';
  if (isUniqueViolation(err, USER_CONSTRAINTS.primaryKey)) return 'id';
  return null;
}

/** The email a violation of the email constraint names (the driver's detail), if it says. */
export function takenEmail(err: unknown): string | undefined {
  if (!isUniqueViolation(err, USER_CONSTRAINTS.email)) return undefined;
  return /\(email\)=\((.*)\)/.exec((err as { detail?: string }).detail ?? '')?.[1];
}
