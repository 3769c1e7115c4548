import type { Knex } from 'knex';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../migrations/index.js';
import { assertSchemaCurrent, migrateDown, migrateLatest, migrationStatus, tablesWithData } from '../../src/db/migrator.js';
import { openDatabase } from '../../src/db/open.js';
import { openAuth } from '../../src/core/auth.js';
import { PASSWORD } from '../support/auth.js';
import { BACKENDS, destroyTest, initTest, type TestDb } from '../support/db.js';
import { describeSchema, type TableInfo } from '../support/catalog.js';
import { buildKaijuDatabase, KAIJU_HASH, KAIJU_SALT } from '../support/kaiju-ddl.js';

/** What a fresh `migrate` must produce, table by table (the kaiju tables as SQLAlchemy makes them). */
const EXPECTED_COLUMNS: Record<string, Record<string, [string, boolean, string | null]>> = {
  permissions: {
    id: ['text', false, null],
    enabled: ['boolean', false, null],
    tag: ['text', true, null],
    description: ['text', true, null],
  },
  groups: { id: ['text', false, null], tag: ['text', true, null], description: ['text', true, null] },
  group_permissions: { group_id: ['text', false, null], permission_id: ['text', false, null] },
  users: {
    id: ['uuid', false, 'gen_random_uuid()'],
    username: ['text', false, null],
    email: ['text', false, null],
    full_name: ['text', true, null],
    password: ['bytea', false, null],
    salt: ['bytea', false, null],
    is_active: ['boolean', false, null],
    is_blocked: ['boolean', false, null],
    settings: ['jsonb', false, "'{}'::jsonb"],
    created: ['timestamp without time zone', false, "timezone('UTC'::text, CURRENT_TIMESTAMP)"],
  },
  user_groups: { group_id: ['text', false, null], user_id: ['uuid', false, null] },
  sessions: {
    id: ['text', false, null],
    h_agent: ['bytea', true, null],
    user_id: ['uuid', true, null],
    expires: ['integer', false, null],
    permissions: ['jsonb', false, null],
    data: ['jsonb', false, null],
    created: ['timestamp without time zone', false, null],
  },
};

const EXPECTED_CONSTRAINTS: Record<string, Record<string, string>> = {
  permissions: { permissions_pkey: 'PRIMARY KEY (id)' },
  groups: { groups_pkey: 'PRIMARY KEY (id)' },
  group_permissions: {
    group_permissions_pkey: 'PRIMARY KEY (group_id, permission_id)',
    group_permissions_group_id_fkey: 'FOREIGN KEY (group_id) REFERENCES groups(id) ON DELETE CASCADE',
    group_permissions_permission_id_fkey: 'FOREIGN KEY (permission_id) REFERENCES permissions(id) ON DELETE CASCADE',
  },
  users: {
    users_pkey: 'PRIMARY KEY (id)',
    users_username_key: 'UNIQUE (username)',
    users_email_key: 'UNIQUE (email)',
  },
  user_groups: {
    user_groups_pkey: 'PRIMARY KEY (group_id, user_id)',
    user_groups_group_id_fkey: 'FOREIGN KEY (group_id) REFERENCES groups(id) ON DELETE CASCADE',
    user_groups_user_id_fkey: 'FOREIGN KEY (user_id) REFERENCES users(id) ON DELETE CASCADE',
  },
  sessions: { sessions_pkey: 'PRIMARY KEY (id)' },
};

function columnsOf(t: TableInfo | undefined) {
  return Object.fromEntries(Object.entries(t?.columns ?? {}).map(([k, c]) => [k, [c.type, c.nullable, c.default]]));
}

const fresh: Record<string, Record<string, TableInfo>> = {};

describe.each(BACKENDS)('schema on %s', (backend) => {
  let t: TestDb | undefined;
  afterEach(async () => {
    await destroyTest(t);
    t = undefined;
  });

  it('fresh migrate creates the kaiju_auth 2.1.0 tables exactly, plus ours', async () => {
    t = await initTest(backend);
    const schema = await describeSchema(t.knex);
    fresh[backend] = schema;
    for (const [table, cols] of Object.entries(EXPECTED_COLUMNS)) {
      expect(columnsOf(schema[table]), table).toEqual(cols);
      expect(schema[table]?.constraints, table).toEqual(EXPECTED_CONSTRAINTS[table]);
    }
    expect(Object.keys(schema).sort()).toEqual(
      [
        'audit_log',
        'group_permissions',
        'groups',
        'kaiju_auth_group_grants',
        'kaiju_auth_migrations',
        'kaiju_auth_permission_locks',
        'kaiju_auth_schema_info',
        'kaiju_auth_user_keys',
        'kaiju_auth_user_keys_stale',
        'kaiju_auth_user_keys_state',
        'keystore',
        'keystore_verifier',
        'permissions',
        'sessions',
        'user_groups',
        'users',
      ].sort(),
    );
    expect(schema.user_groups?.indexes.user_groups_user_id_idx).toBe(
      'CREATE INDEX user_groups_user_id_idx ON user_groups USING btree (user_id, group_id)',
    );
    expect(Object.keys(schema.keystore?.columns ?? {})).toEqual([
      'kid',
      'alg',
      'public_jwk',
      'private_key_enc',
      'enc_params',
      'state',
      'source',
      'created',
      'signs_until',
      'verifies_until',
      'activated',
    ]);
    expect(Object.keys(schema.audit_log?.columns ?? {})).toEqual([
      'id',
      'at',
      'actor',
      'command',
      'target_type',
      'target',
      'summary',
    ]);
    // Our bookkeeping, never knex's default table names.
    expect(schema.knex_migrations).toBeUndefined();
    expect(schema.knex_migrations_lock).toBeUndefined();
  });

  it('migrate twice is a no-op the second time', async () => {
    t = await initTest(backend, { migrate: false });
    const first = await migrateLatest(t.knex, MIGRATIONS);
    expect(first.migrations).toEqual(MIGRATIONS.map((m) => m.name));
    const before = await describeSchema(t.knex);
    const second = await migrateLatest(t.knex, MIGRATIONS);
    expect(second.migrations).toEqual([]);
    expect(await describeSchema(t.knex)).toEqual(before);
    const states = await migrationStatus(t.knex, MIGRATIONS);
    expect(states.every((s) => s.applied && s.batch === 1)).toBe(true);
  });

  it('dry run reports the SQL and changes nothing', async () => {
    t = await initTest(backend, { migrate: false });
    const run = await migrateLatest(t.knex, MIGRATIONS, { dryRun: true });
    expect(run.migrations).toHaveLength(MIGRATIONS.length);
    expect(run.sql?.some((s) => s.startsWith('CREATE TABLE users'))).toBe(true);
    const tables = await t.knex.raw("select count(*)::int as n from pg_tables where schemaname = current_schema()");
    expect(tables.rows[0].n).toBe(0);
    await expect(assertSchemaCurrent(t.knex, MIGRATIONS)).rejects.toMatchObject({ code: 'db.schema_missing' });
  });

  it('reports a missing and an outdated schema as exit-7 errors', async () => {
    t = await initTest(backend, { migrate: false });
    await expect(assertSchemaCurrent(t.knex, MIGRATIONS)).rejects.toMatchObject({
      code: 'db.schema_missing',
      kind: 'unavailable',
    });
    await migrateLatest(t.knex, MIGRATIONS.slice(0, 1));
    await expect(assertSchemaCurrent(t.knex, MIGRATIONS)).rejects.toMatchObject({
      code: 'db.schema_outdated',
      kind: 'unavailable',
    });
    await migrateLatest(t.knex, MIGRATIONS);
    await expect(assertSchemaCurrent(t.knex, MIGRATIONS)).resolves.toBeUndefined();
  });

  it('migrate down rolls back the last batch, then up again restores the same schema', async () => {
    t = await initTest(backend, { migrate: false });
    await migrateLatest(t.knex, MIGRATIONS.slice(0, 1));
    await migrateLatest(t.knex, MIGRATIONS);
    const full = await describeSchema(t.knex);
    const down = await migrateDown(t.knex, MIGRATIONS);
    expect(down.migrations).toEqual(MIGRATIONS.slice(1).reverse().map((m) => m.name));
    const after = await describeSchema(t.knex);
    expect(after.keystore).toBeUndefined();
    expect(after.users).toBeDefined();
    await migrateLatest(t.knex, MIGRATIONS);
    expect(await describeSchema(t.knex)).toEqual(full);
  });

  it('migrate down refuses to drop tables that hold rows unless dropData, and says what each holds', async () => {
    t = await initTest(backend);
    await t.knex('groups').insert([{ id: 'staff' }, { id: 'ops' }]);
    await t.knex('permissions').insert({ id: 'read', enabled: true });
    const tables = async () =>
      (await t!.knex.raw('select tablename from pg_tables where schemaname = current_schema() order by 1')).rows.map(
        (r: { tablename: string }) => r.tablename,
      );
    const before = await tables();
    // The dry run reports every table it would drop with its rows, and drops nothing.
    const plan = await migrateDown(t.knex, MIGRATIONS, { dryRun: true });
    expect(plan.dropped).toEqual(
      expect.arrayContaining([
        { table: 'groups', rows: 2, derived: false },
        { table: 'permissions', rows: 1, derived: false },
        { table: 'users', rows: 0, derived: false },
        { table: 'kaiju_auth_schema_info', rows: 1, derived: true },
      ]),
    );
    expect(plan.dropped.map((d) => d.table)).not.toContain('kaiju_auth_migrations');
    expect(tablesWithData(plan.dropped).map((d) => d.table).sort()).toEqual(['groups', 'permissions']);
    // The probe's statements are not the dry run's SQL.
    expect(plan.sql!.join('\n')).not.toMatch(/count\(\*\)/i);
    expect(await tables()).toEqual(before);
    // Without dropData: refused, nothing changed.
    await expect(migrateDown(t.knex, MIGRATIONS)).rejects.toMatchObject({ code: 'db.drop_refused', kind: 'refused' });
    expect(await tables()).toEqual(before);
    expect((await migrationStatus(t.knex, MIGRATIONS)).every((m) => m.applied)).toBe(true);
    expect(Number((await t.knex('groups').count({ n: '*' }))[0]!.n)).toBe(2);
    // With dropData: rolled back.
    const down = await migrateDown(t.knex, MIGRATIONS, { dropData: true });
    expect(down.migrations).toHaveLength(MIGRATIONS.length);
    expect(down.dropped.find((d) => d.table === 'groups')).toEqual({ table: 'groups', rows: 2, derived: false });
    expect(await tables()).toEqual(['kaiju_auth_migrations']);
  });

  it('migrate down of a freshly migrated database needs no dropData: only bookkeeping rows are lost', async () => {
    t = await initTest(backend);
    const down = await migrateDown(t.knex, MIGRATIONS);
    expect(down.migrations).toHaveLength(MIGRATIONS.length);
    expect(tablesWithData(down.dropped)).toEqual([]);
    expect(down.dropped.filter((d) => d.rows > 0).every((d) => d.derived)).toBe(true);
  });

  it('a failing migration leaves nothing behind', async () => {
    t = await initTest(backend, { migrate: false });
    const broken = [
      ...MIGRATIONS,
      {
        name: '29990101000000_broken',
        up: async (k: Knex) => {
          await k.raw('create table half_done (id int)');
          await k.raw('select * from no_such_table');
        },
        down: async () => undefined,
      },
    ];
    await expect(migrateLatest(t.knex, broken)).rejects.toMatchObject({ code: 'db.migration_failed' });
    const tables = await t.knex.raw("select count(*)::int as n from pg_tables where schemaname = current_schema()");
    expect(tables.rows[0].n).toBe(0);
  });

  describe('adoption of a database made by kaiju_auth 2.1.0', () => {
    async function kaijuDb(): Promise<TestDb> {
      const embedded =
        backend === 'pglite'
          ? { extensions: { uuid_ossp: (await import('@electric-sql/pglite/contrib/uuid_ossp')).uuid_ossp } }
          : undefined;
      const db = await initTest(backend, { migrate: false, ...(embedded ? { embedded } : {}) });
      await buildKaijuDatabase((sql) => db.knex.raw(sql));
      const k = db.knex;
      await k.raw(
        `insert into permissions (id, enabled, tag, description) values
          ('users.read', true, 'users', 'Read users'), ('users.write', false, 'users', null), ('system', true, null, null)`,
      );
      await k.raw(`insert into groups (id, tag, description) values ('admins', 'sys', 'Admins'), ('guests', null, null)`);
      await k.raw(
        `insert into group_permissions values ('admins', 'users.read'), ('admins', 'users.write'), ('guests', 'system')`,
      );
      // As SQLAlchemy inserts: id from the server default (uuid_generate_v4), client-side is_active/is_blocked.
      await k.raw(
        `insert into users (username, email, full_name, password, salt, is_active, is_blocked, settings, created) values
          ('alice', 'alice@example.com', 'Alice A', convert_to(?, 'UTF8'), convert_to(?, 'UTF8'), true, false, '{"lang": "en"}', '2023-06-27 19:26:00.123456'),
          ('bob_1', 'bob@example.com', null, convert_to(?, 'UTF8'), convert_to(?, 'UTF8'), false, true, '{}', '2023-07-01 00:00:00')`,
        [KAIJU_HASH, KAIJU_SALT, KAIJU_HASH, KAIJU_SALT],
      );
      await k.raw(`insert into user_groups select 'admins', id from users where username = 'alice'`);
      await k.raw(
        `insert into sessions (id, h_agent, user_id, expires, permissions, data, created)
           select 'sess-1', '\\xdeadbeef'::bytea, id, 1893456000, '["users.read"]', '{"ip": "10.0.0.1"}', '2023-06-27 19:30:00'
             from users where username = 'alice'`,
      );
      return db;
    }

    async function snapshotRows(db: TestDb) {
      const out: Record<string, unknown[]> = {};
      for (const table of ['permissions', 'groups', 'group_permissions', 'users', 'user_groups', 'sessions']) {
        out[table] = (await db.knex.raw(`select * from ${table} order by 1, 2`)).rows;
      }
      return out;
    }

    it('keeps every table and row as it was and adds only what is missing', async () => {
      t = await kaijuDb();
      const before = await snapshotRows(t);
      const schemaBefore = await describeSchema(t.knex);
      expect(before.users).toHaveLength(2);

      const run = await migrateLatest(t.knex, MIGRATIONS);
      expect(run.migrations).toEqual(MIGRATIONS.map((m) => m.name));

      expect(await snapshotRows(t)).toEqual(before);
      const schemaAfter = await describeSchema(t.knex);
      for (const table of Object.keys(schemaBefore)) {
        // Same columns, defaults (uuid_generate_v4 stays) and constraints; only new indexes added.
        expect(schemaAfter[table]?.columns, table).toEqual(schemaBefore[table]?.columns);
        expect(schemaAfter[table]?.constraints, table).toEqual(schemaBefore[table]?.constraints);
        for (const [name, def] of Object.entries(schemaBefore[table]?.indexes ?? {})) {
          expect(schemaAfter[table]?.indexes[name]).toBe(def);
        }
      }
      expect(schemaAfter.users?.columns.id?.default).toBe('uuid_generate_v4()');
      expect(schemaAfter.user_groups?.indexes.user_groups_user_id_idx).toBeDefined();
      expect(schemaAfter.keystore).toBeDefined();
      expect(schemaAfter.audit_log).toBeDefined();

      // The stored bytes are the Python hash exactly.
      const alice = before.users?.find((u) => (u as { username: string }).username === 'alice') as {
        password: Buffer;
        salt: Buffer;
        created: Date;
      };
      expect(Buffer.isBuffer(alice.password)).toBe(true);
      expect(alice.password.toString('utf8')).toBe(KAIJU_HASH);
      expect(alice.salt.toString('utf8')).toBe(KAIJU_SALT);
      expect(alice.created.toISOString()).toBe('2023-06-27T19:26:00.123Z');

      // Again: nothing to do, nothing changed.
      expect((await migrateLatest(t.knex, MIGRATIONS)).migrations).toEqual([]);
      expect(await snapshotRows(t)).toEqual(before);
    });

    it('keys the look-alike names of the users it adopts before `migrate` commits', async () => {
      t = await kaijuDb();
      const auth = await openAuth({ knex: t.knex, bcryptRounds: 4 });
      await auth.migrate();
      const count = async (table: string) => (await t!.knex.raw(`select count(*)::int as n from ${table}`)).rows[0].n as number;
      expect(await count('kaiju_auth_user_keys')).toBe(2);
      expect(await count('kaiju_auth_user_keys_stale')).toBe(0);
      await expect(auth.users.register({ username: 'a1ice', email: 'a1ice@example.com', password: PASSWORD })).rejects.toMatchObject({
        code: 'auth.user.exists',
        details: { field: 'username' },
      });
    });

    it('rolling back the adoption never drops the kaiju tables or their rows', async () => {
      t = await kaijuDb();
      const before = await snapshotRows(t);
      await migrateLatest(t.knex, MIGRATIONS);
      const down = await migrateDown(t.knex, MIGRATIONS);
      expect(down.migrations).toEqual([...MIGRATIONS].reverse().map((m) => m.name));
      expect(await snapshotRows(t)).toEqual(before);
      const schema = await describeSchema(t.knex);
      expect(schema.keystore).toBeUndefined();
      expect(schema.kaiju_auth_migrations?.columns).toBeDefined();
    });

    it('refuses a table that is not kaiju_auth 2.1.0 and changes nothing', async () => {
      t = await initTest(backend, { migrate: false });
      await t.knex.raw('create table users (id uuid primary key, name text)');
      await expect(migrateLatest(t.knex, MIGRATIONS)).rejects.toMatchObject({ code: 'db.schema_conflict', kind: 'conflict' });
      const schema = await describeSchema(t.knex);
      expect(Object.keys(schema)).toEqual(['users']);
    });
  });
});

describe.runIf(BACKENDS.includes('postgres'))('concurrency and comparison on PostgreSQL', () => {
  let t: TestDb | undefined;
  afterAll(async () => destroyTest(t));
  beforeAll(async () => {
    t = await initTest('postgres', { migrate: false });
  });

  it('two concurrent migrates apply each migration once', async () => {
    const a = await openDatabase({ kind: 'postgres', url: t?.url as string });
    const b = await openDatabase({ kind: 'postgres', url: t?.url as string });
    try {
      const [ra, rb] = await Promise.all([migrateLatest(a.knex, MIGRATIONS), migrateLatest(b.knex, MIGRATIONS)]);
      const applied = [...ra.migrations, ...rb.migrations].sort();
      expect(applied).toEqual(MIGRATIONS.map((m) => m.name).sort());
      const rows = await a.knex('kaiju_auth_migrations').select('name');
      expect(rows).toHaveLength(MIGRATIONS.length);
    } finally {
      await a.close();
      await b.close();
    }
  });

  // Both backends ran above, except in the pooler pass (PostgreSQL only: see support/db.ts).
  it.runIf(BACKENDS.includes('pglite'))('PGlite and PostgreSQL get the same schema from a fresh migrate', () => {
    expect(fresh.pglite).toBeDefined();
    expect(fresh.postgres).toBeDefined();
    expect(fresh.pglite).toEqual(fresh.postgres);
  });
});
