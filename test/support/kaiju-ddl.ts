/**
 * The DDL SQLAlchemy emits for kaiju_auth 2.1.0's tables (metadata.create_all on PostgreSQL),
 * byte for byte: what a database made by the Python library looks like. Note `uuid_generate_v4()`
 * (uuid-ossp) and no server defaults on is_active / is_blocked.
 */
export const KAIJU_2_1_0_DDL = [
  `CREATE EXTENSION IF NOT EXISTS "uuid-ossp"`,
  `CREATE TABLE permissions (
	id TEXT NOT NULL, 
	enabled BOOLEAN NOT NULL, 
	tag TEXT, 
	description TEXT, 
	PRIMARY KEY (id)
)`,
  `CREATE TABLE groups (
	id TEXT NOT NULL, 
	tag TEXT, 
	description TEXT, 
	PRIMARY KEY (id)
)`,
  `CREATE TABLE group_permissions (
	group_id TEXT NOT NULL, 
	permission_id TEXT NOT NULL, 
	PRIMARY KEY (group_id, permission_id), 
	FOREIGN KEY(group_id) REFERENCES groups (id) ON DELETE CASCADE, 
	FOREIGN KEY(permission_id) REFERENCES permissions (id) ON DELETE CASCADE
)`,
  `CREATE TABLE users (
	id UUID DEFAULT uuid_generate_v4() NOT NULL, 
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
  `CREATE TABLE user_groups (
	group_id TEXT NOT NULL, 
	user_id UUID NOT NULL, 
	PRIMARY KEY (group_id, user_id), 
	FOREIGN KEY(group_id) REFERENCES groups (id) ON DELETE CASCADE, 
	FOREIGN KEY(user_id) REFERENCES users (id) ON DELETE CASCADE
)`,
  `CREATE TABLE sessions (
	id TEXT NOT NULL, 
	h_agent BYTEA, 
	user_id UUID, 
	expires INTEGER NOT NULL, 
	permissions JSONB NOT NULL, 
	data JSONB NOT NULL, 
	created TIMESTAMP WITHOUT TIME ZONE NOT NULL, 
	PRIMARY KEY (id)
)`,
];

/**
 * A hash made by Python bcrypt 5.0.0 exactly as kaiju's UserService does
 * (`bcrypt.hashpw(password.encode(), bcrypt.gensalt(13))`); kaiju stores the hash string and the
 * salt (its first 29 characters) as BYTEA.
 */
export const KAIJU_PASSWORD = 'kaiju password 1';
export const KAIJU_SALT = '$2b$13$/MqmjCLV6kXOWbpryr0yRO';
export const KAIJU_HASH = '$2b$13$/MqmjCLV6kXOWbpryr0yROcQdgZvIO45fZwChL.lK2VBNcrRChtOG';

export async function buildKaijuDatabase(exec: (sql: string) => Promise<unknown>): Promise<void> {
  for (const stmt of KAIJU_2_1_0_DDL) await exec(stmt);
}
