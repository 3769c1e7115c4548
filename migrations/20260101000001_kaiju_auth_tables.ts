/**
 * The kaiju_auth 2.1.0 tables, exactly as its SQLAlchemy definitions create them (same DDL text as
 * SQLAlchemy emits, so constraint names match: `users_pkey`, `users_username_key`,
 * `group_permissions_group_id_fkey`...). Raw DDL on purpose: knex's builder would name constraints
 * differently and the schema would no longer match a kaiju-made one.
 *
 * Adoption: a table kaiju_auth already created is kept as it is, with its rows, its own defaults
 * (`uuid_generate_v4()`) and everything else; it is only checked for the columns we rely on.
 * The one deliberate difference on a fresh database: `users.id` defaults to `gen_random_uuid()`
 * (core since PostgreSQL 13) instead of uuid-ossp's `uuid_generate_v4()`, which PGlite and many
 * managed servers lack. Every insert of ours supplies `id` anyway.
 */
import type { Knex } from 'knex';
import { schemaConflict, type Migration } from '../src/db/migrator.js';

export const KAIJU_TABLES = ['permissions', 'groups', 'group_permissions', 'users', 'user_groups', 'sessions'] as const;

const DDL: Record<(typeof KAIJU_TABLES)[number], string> = {
  permissions: `CREATE TABLE permissions (
	id TEXT NOT NULL, 
	enabled BOOLEAN NOT NULL, 
	tag TEXT, 
	description TEXT, 
	PRIMARY KEY (id)
)`,
  groups: `CREATE TABLE groups (
	id TEXT NOT NULL, 
	tag TEXT, 
	description TEXT, 
	PRIMARY KEY (id)
)`,
  group_permissions: `CREATE TABLE group_permissions (
	group_id TEXT NOT NULL, 
	permission_id TEXT NOT NULL, 
	PRIMARY KEY (group_id, permission_id), 
	FOREIGN KEY(group_id) REFERENCES groups (id) ON DELETE CASCADE, 
	FOREIGN KEY(permission_id) REFERENCES permissions (id) ON DELETE CASCADE
)`,
  users: `CREATE TABLE users (
	id UUID DEFAULT gen_random_uuid() NOT NULL, 
	username TEXT NOT NULL, 
	email TEXT NOT NULL, 
	full_name TEXT, 
	password BYTEA NOT NULL, 
	salt BYTEA NOT NULL, 
	is_active BOOLEAN NOT NULL, 
	is_blocked BOOLEAN NOT NULL, 
	settings JSONB DEFAULT '{}'::jsonb NOT NULL, 
	created TIMESTAMP WITHOUT TIME ZONE DEFAULT timezone('UTC', CURRENT_TIMESTAMP) NOT NULL, 
	PRIMARY KEY (id), 
	UNIQUE (username), 
	UNIQUE (email)
)`,
  user_groups: `CREATE TABLE user_groups (
	group_id TEXT NOT NULL, 
	user_id UUID NOT NULL, 
	PRIMARY KEY (group_id, user_id), 
	FOREIGN KEY(group_id) REFERENCES groups (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
)`,
  sessions: `CREATE TABLE sessions (
	id TEXT NOT NULL, 
	h_agent BYTEA, 
	user_id UUID, 
	expires INTEGER NOT NULL, 
	permissions JSONB NOT NULL, 
	data JSONB NOT NULL, 
	created TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
)`,
};

/** Columns the tool reads and writes; an adopted table must have them. */
const REQUIRED_COLUMNS: Record<(typeof KAIJU_TABLES)[number], string[]> = {
  permissions: ['id', 'enabled', 'tag', 'description'],
  groups: ['id', 'tag', 'description'],
  group_permissions: ['group_id', 'permission_id'],
  users: ['id', 'username', 'email', 'full_name', 'password', 'salt', 'is_active', 'is_blocked', 'settings', 'created'],
  user_groups: ['group_id', 'user_id'],
  sessions: ['id', 'h_agent', 'user_id', 'expires', 'permissions', 'data', 'created'],
};

/** Remembers which kaiju tables existed before us, so `migrate down` never drops an app's data. */
export const SCHEMA_INFO_TABLE = 'kaiju_auth_schema_info';
const ADOPTED_KEY = 'adopted_tables';

async function existingColumns(knex: Knex, table: string): Promise<Set<string> | null> {
  const rows: { column_name: string }[] = await knex('information_schema.columns')
    .select('column_name')
    .where({ table_schema: knex.raw('current_schema()'), table_name: table });
  return rows.length === 0 ? null : new Set(rows.map((r) => r.column_name));
}

export const migration: Migration = {
  name: '20260101000001_kaiju_auth_tables',
  async up(knex) {
    await knex.raw(`CREATE TABLE IF NOT EXISTS ${SCHEMA_INFO_TABLE} (key TEXT PRIMARY KEY, value JSONB NOT NULL)`);
    const adopted: string[] = [];
    for (const table of KAIJU_TABLES) {
      const columns = await existingColumns(knex, table);
      if (columns === null) {
        await knex.raw(DDL[table]);
        continue;
      }
      const missing = REQUIRED_COLUMNS[table].filter((c) => !columns.has(c));
      if (missing.length > 0) {
        throw schemaConflict(
          `table "${table}" exists but lacks column(s) ${missing.join(', ')}: not a kaiju_auth 2.1.0 table`,
          { table, missing },
        );
      }
      adopted.push(table);
    }
    await knex(SCHEMA_INFO_TABLE)
      .insert({ key: ADOPTED_KEY, value: JSON.stringify(adopted) })
      .onConflict('key')
      .merge();
  },
  async down(knex) {
    const row = await knex(SCHEMA_INFO_TABLE).where({ key: ADOPTED_KEY }).first();
    const adopted = new Set<string>((row?.value as string[] | undefined) ?? KAIJU_TABLES);
    for (const table of [...KAIJU_TABLES].reverse()) {
      if (!adopted.has(table)) await knex.schema.dropTableIfExists(table);
    }
    await knex.schema.dropTableIfExists(SCHEMA_INFO_TABLE);
  },
};
