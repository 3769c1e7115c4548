/**
 * Users: registration, profile, flags, passwords and authentication, as kaiju's UserService with
 * its bugs fixed. Uniqueness comes from the table's constraints (never select-then-insert);
 * authentication answers the same error after the same work and delay whether the user is
 * unknown, the password wrong, or the user blocked or inactive.
 */
import { randomUUID } from 'node:crypto';
import type { Knex } from 'knex';
import { jsonb } from '../db/values.js';
import { recordAudit } from './audit.js';
import type { CoreContext } from './context.js';
import { isForeignKeyViolation } from '../db/errors.js';
import { authError, isKaijuAuthError } from '../errors.js';
import type { LookalikeGroup } from './user-keys.js';
import { dropOrphanKeys, dropUserKeys, findKeyHolders, identityKeys, KeyIndex, keyCollisions, lockUserKeys, writeUserKeys, type KeyClash } from './user-keys.js';
import { groupNotFound, missingGroups } from './groups.js';
import { countRows, whereContainsAny } from './query-parts.js';
import { bcryptCost, bcryptHasher, verifyAgainstDummy, type PasswordHash, type PasswordHasher } from './passwords.js';
import { assertStorableProfile } from './storable.js';
import { findUser, resolveUserPermissions, UserGroupService, userNotFound } from './user-permissions.js';
import { PASSWORD_MAX_BYTES, validateEmail, validatePassword, validateUsername } from './validation.js';
import { storedPassword, takenUserField, toUser, USER_COLUMNS, userRow, USERS_TABLE, type NewUser, type UserRow } from './tables/users.js';
import { membershipRows, MEMBERSHIPS } from './tables/links.js';

export interface User {
  id: string;
  username: string;
  email: string;
  fullName: string | null;
  isActive: boolean;
  isBlocked: boolean;
  settings: Record<string, unknown>;
  created: Date;
}

export interface UserDetail extends User {
  groups: string[];
  permissions: string[];
}

export interface AuthenticatedUser extends User {
  permissions: string[];
}

export interface RegisterInput {
  username: string;
  email: string;
  password: string;
  fullName?: string | null;
  settings?: Record<string, unknown>;
  groups?: readonly string[];
}

export interface UserListOptions {
  group?: string;
  /** Literal, case-insensitive match on username, email or full name. */
  search?: string;
  blocked?: boolean;
  inactive?: boolean;
  limit?: number;
  offset?: number;
}

export interface UserUpdate {
  email?: string;
  /** null clears it. */
  fullName?: string | null;
  /** Settings keys to set (merged into the JSONB). */
  set?: Record<string, unknown>;
  /** Settings keys to remove. */
  unset?: readonly string[];
}

export type UserFlag = 'block' | 'unblock' | 'activate' | 'deactivate';

const FLAGS: Record<UserFlag, { column: 'is_blocked' | 'is_active'; field: 'isBlocked' | 'isActive'; value: boolean }> = {
  block: { column: 'is_blocked', field: 'isBlocked', value: true },
  unblock: { column: 'is_blocked', field: 'isBlocked', value: false },
  activate: { column: 'is_active', field: 'isActive', value: true },
  deactivate: { column: 'is_active', field: 'isActive', value: false },
};

/** A look-alike (or the same) username or email, naming the existing user. */
function userExists(clash: KeyClash) {
  const { field, holder, exact } = clash;
  const theirs = field === 'username' ? holder.username : holder.email;
  const message = exact
    ? `a user with this ${field} is already registered`
    : `this ${field} looks like the ${field} of the existing user ${holder.username} (${JSON.stringify(theirs)})`;
  return authError('auth.user.exists', message, { field, existing: holder.username, lookalike: !exact });
}

export type { LookalikeGroup };

/** The profile row of the user `idOrUsername` names (or `auth.user.not_found`). */
function findUserRow(db: Knex, idOrUsername: string, options: { forUpdate?: boolean } = {}): Promise<UserRow> {
  return findUser<UserRow>(db, idOrUsername, USER_COLUMNS, options);
}

function authFailed() {
  return authError('auth.user.authentication_failed', 'authentication failed: wrong username or password, or the user is blocked or inactive');
}

export class UserService extends UserGroupService {
  private readonly hasher: PasswordHasher;

  constructor(
    private readonly core: CoreContext,
    deps: { hasher?: PasswordHasher } = {},
  ) {
    super(core);
    this.hasher = deps.hasher ?? bcryptHasher;
  }

  private get db(): Knex {
    return this.core.db;
  }

  private audit(trx: Knex, command: string, target: string, summary: Record<string, unknown>) {
    return recordAudit(trx, this.core.settings.actor, { command, targetType: 'user', target, summary });
  }

  /** Hash a validated password at the configured cost (on libuv's pool). */
  hashPassword(password: string): Promise<PasswordHash> {
    return this.hasher.hash(password, this.core.settings.bcryptRounds);
  }

  async register(input: RegisterInput): Promise<UserDetail> {
    const username = validateUsername(input.username);
    const email = validateEmail(input.email);
    const keys = identityKeys(username, email);
    const password = validatePassword(input.password);
    assertStorableProfile({ fullName: input.fullName ?? null, ...(input.settings ? { settings: input.settings } : {}) });
    const groups = [...new Set(input.groups ?? [])];
    const missing = await missingGroups(this.db, groups);
    if (missing.length > 0) throw groupNotFound(missing);
    const user: NewUser = {
      id: randomUUID(),
      username,
      email,
      fullName: input.fullName ?? null,
      ...storedPassword(await this.hashPassword(password)),
      isActive: true,
      isBlocked: false,
      settings: input.settings ?? {},
    };
    try {
      await this.db.transaction(async (trx) => {
        await lockUserKeys(trx);
        const clash = new KeyIndex(await findKeyHolders(trx, [keys])).clash({ username, email, keys }, () => false);
        if (clash) throw userExists(clash);
        await trx(USERS_TABLE).insert(userRow(user, this.core.settings.now()));
        await writeUserKeys(trx, [user]);
        if (groups.length > 0) await trx(MEMBERSHIPS.table).insert(membershipRows(user.id, groups));
        await this.audit(trx, 'user.register', user.username, {
          email: user.email,
          full_name: user.fullName,
          groups: [...groups].sort(),
          settings_keys: Object.keys(input.settings ?? {}).sort(),
        });
      });
    } catch (err) {
      if (isKaijuAuthError(err)) throw err;
      const field = takenUserField(err);
      if (field === 'username' || field === 'email') {
        throw authError('auth.user.exists', `a user with this ${field} is already registered`, { field }, err);
      }
      if (isForeignKeyViolation(err)) throw groupNotFound(await missingGroups(this.db, groups));
      throw err;
    }
    return this.show(user.id);
  }

  async get(idOrUsername: string): Promise<User> {
    return toUser(await findUserRow(this.db, idOrUsername));
  }

  /** Profile, own groups and effective permissions. */
  async show(idOrUsername: string): Promise<UserDetail> {
    const user = await this.get(idOrUsername);
    const [groups, permissions] = await Promise.all([this.groups(user.id), this.permissions(user.id)]);
    return { ...user, groups, permissions };
  }

  async list(options: UserListOptions = {}): Promise<{ total: number; users: User[] }> {
    const db = this.db;
    const filtered = () => {
      const q = db('users as u');
      if (options.group !== undefined) {
        q.whereExists(db('user_groups as ug').select(db.raw('1')).whereRaw('ug.user_id = u.id').where('ug.group_id', options.group));
      }
      if (options.search) whereContainsAny(q, ['u.username', 'u.email', 'u.full_name'], options.search);
      if (options.blocked) q.where('u.is_blocked', true);
      if (options.inactive) q.where('u.is_active', false);
      return q;
    };
    const page = filtered()
      .select(USER_COLUMNS.map((c) => `u.${c}`))
      .orderBy('u.username')
      .offset(options.offset ?? 0);
    if (options.limit !== undefined) page.limit(options.limit);
    const [users, total] = await Promise.all([page, countRows(filtered())]);
    return { total, users: (users as UserRow[]).map(toUser) };
  }

  async update(idOrUsername: string, change: UserUpdate): Promise<User> {
    const email = change.email === undefined ? undefined : validateEmail(change.email);
    const set = change.set ?? {};
    const unset = [...(change.unset ?? [])];
    assertStorableProfile({ fullName: change.fullName ?? null, settings: set, unset });
    const patch: Record<string, unknown> = {};
    if (email !== undefined) patch.email = email;
    if (change.fullName !== undefined) patch.full_name = change.fullName;
    if (Object.keys(set).length > 0 || unset.length > 0) {
      // Merged in SQL so concurrent updates of different keys both survive.
      patch.settings = this.db.raw(`(settings || ?::jsonb)${' - ?::text'.repeat(unset.length)}`, [jsonb(set), ...unset]);
    }
    if (Object.keys(patch).length === 0) return this.get(idOrUsername);
    try {
      return await this.db.transaction(async (trx) => {
        const newEmail = email !== undefined;
        if (newEmail) await lockUserKeys(trx);
        const before = toUser(await findUserRow(trx, idOrUsername, { forUpdate: true }));
        if (newEmail && email !== before.email) {
          // A new email must not look like another user's (the same user's own may differ in case).
          const keys = identityKeys(before.username, email);
          const clash = new KeyIndex(await findKeyHolders(trx, [keys])).clash({ username: before.username, email, keys }, (h) => h.id === before.id, true);
          if (clash) throw userExists(clash);
        }
        const [row] = (await trx('users').where({ id: before.id }).update(patch).returning([...USER_COLUMNS])) as UserRow[];
        const after = toUser(row as UserRow);
        if (newEmail && email !== before.email) {
          await dropUserKeys(trx, [before.id]);
          await writeUserKeys(trx, [after]);
        }
        const summary: Record<string, unknown> = {};
        if (email !== undefined && email !== before.email) summary.email = { from: before.email, to: email };
        if (change.fullName !== undefined && change.fullName !== before.fullName) {
          summary.full_name = { from: before.fullName, to: change.fullName };
        }
        if (Object.keys(set).length > 0) summary.settings_set = Object.keys(set).sort();
        if (unset.length > 0) summary.settings_unset = [...unset].sort();
        await this.audit(trx, 'user.update', before.username, summary);
        return after;
      });
    } catch (err) {
      if (isKaijuAuthError(err)) throw err;
      if (takenUserField(err) === 'email') {
        throw authError('auth.user.exists', 'a user with this email is already registered', { field: 'email' }, err);
      }
      throw err;
    }
  }

  /**
   * Groups of existing users whose usernames, or emails, look alike (case, accents, confusable
   * characters): rows made before this check, or by the kaiju app. Nothing is changed.
   */
  async collisions(): Promise<LookalikeGroup[]> {
    return this.db.transaction(async (trx) => {
      await lockUserKeys(trx, { writing: false });
      await dropOrphanKeys(trx);
      return keyCollisions(trx);
    });
  }

  /** Block, unblock, activate or deactivate; `changed` is false when it already was so. */
  async setFlag(idOrUsername: string, flag: UserFlag): Promise<{ user: User; changed: boolean }> {
    const { column, field, value } = FLAGS[flag];
    return this.db.transaction(async (trx) => {
      const user = toUser(await findUserRow(trx, idOrUsername, { forUpdate: true }));
      if (user[field] === value) return { user, changed: false };
      await trx('users').where({ id: user.id }).update({ [column]: value });
      await this.audit(trx, `user.${flag}`, user.username, { [column]: { from: user[field], to: value } });
      return { user: { ...user, [field]: value }, changed: true };
    });
  }

  /** Delete a user, its group memberships (cascade) and its sessions. */
  async delete(idOrUsername: string): Promise<{ user: User; sessionsRemoved: number }> {
    return this.db.transaction(async (trx) => {
      const user = toUser(await findUserRow(trx, idOrUsername, { forUpdate: true }));
      const sessionsRemoved = await trx('sessions').where({ user_id: user.id }).delete();
      await trx('users').where({ id: user.id }).delete();
      await dropUserKeys(trx, [user.id]);
      await this.audit(trx, 'user.delete', user.username, { id: user.id, email: user.email, sessions_removed: sessionsRemoved });
      return { user, sessionsRemoved };
    });
  }

  /**
   * Check a password. Unknown user, wrong password, blocked or inactive: the same error, after at
   * least a bcrypt comparison at the configured cost (a dummy hash for an unknown user or a cheaper
   * stored one) and the failed-login delay. A stored hash cheaper than the configured cost is
   * upgraded on success.
   */
  async authenticate(username: string, password: string): Promise<AuthenticatedUser> {
    const { settings } = this.core;
    const row = (await this.db('users')
      .select([...USER_COLUMNS, 'password'])
      .where({ username: String(username) })
      .first()) as (UserRow & { password: Buffer }) | undefined;
    // The configured-cost bcrypt time is the floor of every answer: an unknown user, or a stored hash
    // cheaper than the configured cost (or not bcrypt at all), also compares against a dummy hash of
    // that cost, alongside (on another pool thread), so a cheap hash neither answers sooner nor adds.
    const storedCost = row ? bcryptCost(row.password) : null;
    const [ok] = await Promise.all([
      row ? this.hasher.verify(password, row.password) : false,
      storedCost === null || storedCost < settings.bcryptRounds ? verifyAgainstDummy(this.hasher, password, settings.bcryptRounds) : false,
    ]);
    // bcrypt reads only the first 72 bytes: a longer password would match a stored one that is
    // its prefix. Refused after the same work and delay as any failure (setting one is refused too).
    const fits = Buffer.byteLength(String(password), 'utf8') <= PASSWORD_MAX_BYTES;
    if (!row || !ok || !fits || !row.is_active || row.is_blocked) {
      const { base, jitter } = settings.failedLoginDelayMs;
      await settings.sleep(base + settings.random() * jitter);
      throw authFailed();
    }
    const user = toUser(row);
    if (storedCost !== null && storedCost < settings.bcryptRounds) {
      const upgraded = await this.hashPassword(password);
      await this.db.transaction(async (trx) => {
        await trx('users').where({ id: user.id }).update({ password: upgraded.hash, salt: upgraded.salt });
        await this.audit(trx, 'user.rehash', user.username, { cost: { from: storedCost, to: settings.bcryptRounds } });
      });
    }
    const resolved = await resolveUserPermissions(this.db, user.id, settings.defaultGroup);
    return { ...user, permissions: resolved?.permissions ?? [] };
  }

  /**
   * Change one's own password: the old one must authenticate (a wrong one is an authentication
   * failure, not kaiju's crash), and the new one must differ.
   */
  async changePassword(username: string, oldPassword: string, newPassword: string): Promise<void> {
    if (oldPassword === newPassword) {
      throw authError('auth.user.identical_passwords_supplied', 'the new password is the same as the old one', { field: 'password' });
    }
    const next = validatePassword(newPassword);
    const user = await this.authenticate(username, oldPassword);
    await this.storePassword(user.id, next, 'user.passwd');
  }

  /** Administrative reset: no old password. */
  async setPassword(idOrUsername: string, newPassword: string): Promise<void> {
    const next = validatePassword(newPassword);
    const user = await this.get(idOrUsername);
    await this.storePassword(user.id, next, 'user.set_password');
  }

  private async storePassword(id: string, password: string, command: string): Promise<void> {
    const { hash, salt } = await this.hashPassword(password);
    await this.db.transaction(async (trx) => {
      const updated = (await trx('users').where({ id }).update({ password: hash, salt }).returning(['username'])) as { username: string }[];
      if (updated.length === 0) throw userNotFound(id);
      await this.audit(trx, command, updated[0]?.username ?? id, { cost: this.core.settings.bcryptRounds });
    });
  }
}
