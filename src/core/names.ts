/**
 * Names a person types as command arguments (usernames, group ids, permission ids, key ids), read
 * for shell completion: the statement that lists those starting with a prefix. Plain SQL with
 * `$n` parameters, no knex: completion runs it through `readOnce` (src/db/open.ts), which must
 * start fast. Nothing secret is listed (a key id is public: it is in every JWKS and token header;
 * session ids are bearer secrets and are not a kind here).
 */

export type NameKind = 'users' | 'groups' | 'permissions' | 'keys';

const SOURCES: Record<NameKind, { table: string; column: string }> = {
  users: { table: 'users', column: 'username' },
  groups: { table: 'groups', column: 'id' },
  permissions: { table: 'permissions', column: 'id' },
  keys: { table: 'keystore', column: 'kid' },
};

export const NAME_KINDS: readonly NameKind[] = Object.keys(SOURCES) as NameKind[];

export function isNameKind(word: string): word is NameKind {
  return Object.hasOwn(SOURCES, word);
}

/**
 * The statement listing the names of `kind` that start with `prefix` (case-sensitive, as shells
 * match), in byte order (`COLLATE "C"`: the same on every server, whatever its locale), at most
 * `limit`; each row is `{name}`. Users, groups and permissions are kaiju_auth 2.1.0's own columns, so
 * an adopted database completes them before it is migrated (it has no keys yet).
 */
export function namesQuery(kind: NameKind, prefix: string, limit: number): { sql: string; params: unknown[] } {
  const { table, column } = SOURCES[kind];
  return {
    sql:
      `SELECT ${column} AS name FROM ${table} ` +
      `WHERE left(${column}, char_length($1::text)) = $1::text ORDER BY ${column} COLLATE "C" LIMIT $2::integer`,
    params: [prefix, limit],
  };
}
