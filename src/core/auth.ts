/**
 * `KaijuAuth`: the core in one object, as the CLI and TypeScript services use it.
 *
 *   const auth = await openAuth({ target: { kind: 'postgres', url } });
 *   const user = await auth.users.authenticate('alice', password);
 *
 * Each domain is a service over the same context; `transaction()` gives a KaijuAuth whose services
 * all run in one transaction.
 */
import type { Knex } from 'knex';
import { migrateSchema, rollbackSchema, schemaMigrations, type MigrateDownOptions, type MigrationRun, type MigrationState } from './migrate.js';
import { openDatabase, type Database } from '../db/open.js';
import type { EmbeddedOptions } from '../db/embedded.js';
import type { DbLogger } from '../db/knex-log.js';
import type { DatabaseTarget } from '../db/target.js';
import { resolveSettings, type AuthSettings, type AuthSettingsInput, type CoreContext } from './context.js';
import { BulkUserService } from './bulk/service.js';
import { FixtureService } from './fixtures/seed.js';
import { GroupService } from './groups.js';
import { PermissionService } from './permissions.js';
import { readDatabaseStatus, type DatabaseStatus } from './status.js';
import { checkHealth, type HealthOptions, type HealthReport } from './health.js';
import { UserService } from './users.js';
import { SessionService } from './sessions.js';
import { AuditService } from './audit.js';
import { KeystoreService } from './keys/keystore.js';
import { TokenService } from './tokens/token-service.js';

export interface OpenAuthOptions extends AuthSettingsInput {
  /** Where the data is. Either this or `knex`. */
  target?: DatabaseTarget;
  /** An existing knex handle on a kaiju database (not closed by `close()`). */
  knex?: Knex;
  /** Create an embedded database if the directory has none. */
  create?: boolean;
  embedded?: EmbeddedOptions;
  /** Where the database layer's warnings go (none: dropped; the library writes to no stream). */
  logger?: DbLogger;
}

export class KaijuAuth {
  readonly ctx: CoreContext;
  readonly permissions: PermissionService;
  readonly groups: GroupService;
  readonly users: UserService;
  readonly sessions: SessionService;
  readonly audit: AuditService;
  /** Signing keys: rotate, import, list, JWKS, prune (private keys need `settings.keySecret`). */
  readonly keys: KeystoreService;
  /** Tokens: issue (after authentication), verify against the keystore, refresh. */
  readonly tokens: TokenService;
  readonly fixtures: FixtureService;
  readonly bulk: BulkUserService;
  private readonly closeDb: (() => Promise<void>) | null;

  constructor(db: Knex, settings: AuthSettings, closeDb: (() => Promise<void>) | null = null) {
    this.ctx = { db, settings };
    this.closeDb = closeDb;
    this.permissions = new PermissionService(this.ctx);
    this.groups = new GroupService(this.ctx);
    this.users = new UserService(this.ctx);
    this.sessions = new SessionService(this.ctx);
    this.audit = new AuditService(this.ctx);
    this.keys = new KeystoreService(this.ctx);
    this.tokens = new TokenService(this.ctx, this.keys, this.users);
    this.fixtures = new FixtureService(this.ctx);
    this.bulk = new BulkUserService(this.ctx);
  }

  get knex(): Knex {
    return this.ctx.db;
  }

  /** Run `work` with services bound to one transaction: all of it commits, or none. */
  async transaction<T>(work: (tx: KaijuAuth) => Promise<T>): Promise<T> {
    return this.ctx.db.transaction((trx) => work(new KaijuAuth(trx, this.ctx.settings)));
  }

  /** Apply pending migrations (adopting a kaiju_auth 2.1.0 database). */
  migrate(options: { dryRun?: boolean } = {}): Promise<MigrationRun> {
    return migrateSchema(this.ctx.db, options);
  }

  /** Roll back the last batch of migrations (`dropData`: even when that drops tables holding rows). */
  migrateDown(options: MigrateDownOptions = {}): Promise<MigrationRun> {
    return rollbackSchema(this.ctx.db, options);
  }

  /** Every migration this build ships, applied or pending. */
  migrations(): Promise<MigrationState[]> {
    return schemaMigrations(this.ctx.db);
  }

  /** Schema state, row counts and derived-grants drift (works on an unmigrated database too). */
  status(): Promise<DatabaseStatus> {
    return readDatabaseStatus(this.ctx.db, this.ctx.settings.now());
  }

  /** The checks of `status --check`: what needs a human. `switchDelay` defaults to the keystore's. */
  health(options: Omit<HealthOptions, 'now' | 'switchDelay'> & { now?: Date; switchDelay?: number }): Promise<HealthReport> {
    return checkHealth(this.ctx.db, { now: this.ctx.settings.now(), switchDelay: this.keys.switchDelay(), ...options });
  }

  async close(): Promise<void> {
    await this.closeDb?.();
  }
}

export async function openAuth(options: OpenAuthOptions): Promise<KaijuAuth> {
  const { target, knex, create, embedded, logger, ...partial } = options;
  const settings = resolveSettings(partial);
  if (knex) return new KaijuAuth(knex, settings);
  if (!target) throw new TypeError('openAuth needs a `target` or a `knex` handle');
  const db: Database = await openDatabase(target, { create: create ?? false, ...(embedded ? { embedded } : {}), ...(logger ? { logger } : {}) });
  return new KaijuAuth(db.knex, settings, () => db.close());
}
