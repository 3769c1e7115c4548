/**
 * Shared test setup (as kysely's test-setup.ts): every integration test runs on embedded PGlite,
 * and on real PostgreSQL when KAIJU_AUTH_TEST_DATABASE_URL is set. Each `initTest` gives a fresh
 * database: PGlite in memory from a snapshot, or `CREATE DATABASE kaiju_test_<random>` on the
 * server, dropped by `destroyTest`.
 *
 * With KAIJU_AUTH_TEST_POOLER_URL also set (a PgBouncer in transaction mode in front of that
 * server, as `.ci/run` starts one), the tests run on PostgreSQL only, and the code under test
 * reaches each test database through the pooler: its URL is the pooler's with the database's
 * name. Databases are still created and dropped on the server directly (a pooler in transaction
 * mode cannot run CREATE DATABASE).
 */
import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, beforeEach, describe, inject } from 'vitest';
import type { Knex } from 'knex';
import { openDatabase, type Database } from '../../src/db/open.js';
import type { EmbeddedOptions } from '../../src/db/embedded.js';
import type { DatabaseTarget } from '../../src/db/target.js';
import { migrateLatest } from '../../src/db/migrator.js';
import { MIGRATIONS } from '../../migrations/index.js';

export type Backend = 'pglite' | 'postgres';

export const ADMIN_URL = process.env.KAIJU_AUTH_TEST_DATABASE_URL || null;
/** A PgBouncer (transaction mode) in front of ADMIN_URL's server: test databases are used through it. */
export const POOLER_URL = (ADMIN_URL && process.env.KAIJU_AUTH_TEST_POOLER_URL) || null;
export const BACKENDS: Backend[] = POOLER_URL ? ['postgres'] : ADMIN_URL ? ['pglite', 'postgres'] : ['pglite'];

export interface TestDb {
  backend: Backend;
  db: Database;
  knex: Knex;
  target: DatabaseTarget;
  /** For PostgreSQL: the URL of this test's own database. */
  url: string | null;
}

let snapshot: Blob | null = null;
export async function pgliteSnapshot(): Promise<Blob> {
  if (!snapshot) snapshot = new Blob([await readFile(inject('pgliteSnapshot'))]);
  return snapshot;
}

export function databaseUrl(adminUrl: string, name: string): string {
  const u = new URL(adminUrl);
  u.pathname = `/${name}`;
  return u.toString();
}

async function withAdmin<T>(fn: (admin: Knex) => Promise<T>): Promise<T> {
  const { default: knex } = await import('knex');
  const admin = knex({ client: 'pg', connection: ADMIN_URL as string, pool: { min: 0, max: 1 } });
  try {
    return await fn(admin);
  } finally {
    await admin.destroy();
  }
}

/** A new empty PostgreSQL database on the test server; returns its URL (through the pooler, when there is one). */
export async function createPgDatabase(): Promise<{ name: string; url: string }> {
  if (!ADMIN_URL) throw new Error('KAIJU_AUTH_TEST_DATABASE_URL is not set');
  const name = `kaiju_test_${randomBytes(6).toString('hex')}`;
  await withAdmin((admin) => admin.raw(`CREATE DATABASE ${name}`));
  return { name, url: databaseUrl(POOLER_URL ?? ADMIN_URL, name) };
}

export async function dropPgDatabase(name: string): Promise<void> {
  await withAdmin((admin) => admin.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`));
}

export interface InitOptions {
  /** Apply the migrations (default true). */
  migrate?: boolean;
  /** Extra PGlite options (e.g. the uuid-ossp extension for adoption tests). */
  embedded?: EmbeddedOptions;
}

const pgNames = new WeakMap<TestDb, string>();

export async function initTest(backend: Backend, options: InitOptions = {}): Promise<TestDb> {
  let t: TestDb;
  if (backend === 'postgres') {
    const { name, url } = await createPgDatabase();
    const target: DatabaseTarget = { kind: 'postgres', url };
    const db = await openDatabase(target);
    t = { backend, db, knex: db.knex, target, url };
    pgNames.set(t, name);
  } else {
    const target: DatabaseTarget = { kind: 'embedded', dataDir: null };
    const db = await openDatabase(target, { embedded: { loadDataDir: await pgliteSnapshot(), ...options.embedded } });
    t = { backend, db, knex: db.knex, target, url: null };
  }
  if (options.migrate ?? true) await migrateLatest(t.knex, MIGRATIONS);
  return t;
}

export async function destroyTest(t: TestDb | undefined): Promise<void> {
  if (!t) return;
  await t.db.close();
  const name = pgNames.get(t);
  if (name) await dropPgDatabase(name);
}

/** Empty every table a test writes (kaiju's and ours), between tests sharing one database. */
export async function truncateAll(t: TestDb, options: { keys?: boolean; sessions?: boolean } = {}): Promise<void> {
  const tables = ['permissions', 'groups', 'group_permissions', 'users', 'user_groups', 'audit_log'];
  if (options.sessions ?? true) tables.push('sessions');
  if (options.keys) tables.push('keystore');
  await t.knex.raw(`truncate ${tables.join(', ')} cascade`);
}

export interface SuiteOptions extends InitOptions {
  /**
   * Empty the tables tests write before each test: `true`, or which of the optional ones too
   * (`keys`: the keystore; `sessions: false` keeps sessions). Default: no emptying.
   */
  fresh?: boolean | { keys?: boolean; sessions?: boolean };
}

/**
 * `describe` once per backend (PGlite always, PostgreSQL when KAIJU_AUTH_TEST_DATABASE_URL is
 * set), the block on one fresh database of its own, dropped after (kysely's test-setup). `body`
 * declares the tests with `t`, the block's database: a stand-in whose fields are the live
 * database's once the tests run (not while they are being declared).
 *
 *   describeOnBackends('users', { fresh: true }, (t, backend) => {
 *     it('registers', async () => { await testAuth(t).users.register(...) });
 *   });
 */
export function describeOnBackends(name: string, body: (t: TestDb, backend: Backend) => void): void;
export function describeOnBackends(name: string, options: SuiteOptions, body: (t: TestDb, backend: Backend) => void): void;
export function describeOnBackends(
  name: string,
  optionsOrBody: SuiteOptions | ((t: TestDb, backend: Backend) => void),
  maybeBody?: (t: TestDb, backend: Backend) => void,
): void {
  const options = typeof optionsOrBody === 'function' ? {} : optionsOrBody;
  const body = typeof optionsOrBody === 'function' ? optionsOrBody : (maybeBody as (t: TestDb, backend: Backend) => void);
  const { fresh, ...init } = options;
  describe.each(BACKENDS)(`${name} on %s`, (backend) => {
    let current: TestDb | undefined;
    const t = new Proxy({} as TestDb, {
      get(_target, key) {
        if (!current) throw new Error(`the ${backend} database of "${name}" is there only while its tests run`);
        return current[key as keyof TestDb];
      },
    });
    beforeAll(async () => {
      current = await initTest(backend, init);
    });
    afterAll(async () => destroyTest(current));
    if (fresh) beforeEach(async () => truncateAll(current as TestDb, fresh === true ? {} : fresh));
    body(t, backend);
  });
}
