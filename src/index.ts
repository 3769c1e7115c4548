/**
 * kaiju-auth as a library: the same core the CLI uses. Explicit named exports only.
 */
export { openAuth, KaijuAuth, type OpenAuthOptions } from './core/auth.js';
export { DEFAULT_SETTINGS, resolveSettings, type AuthSettings, type CoreContext } from './core/context.js';
export {
  KaijuAuthError,
  isKaijuAuthError,
  ERROR_KINDS,
  type ErrorCode,
  type ErrorKind,
  type ErrorDetails,
} from './core/errors.js';
export {
  recordAudit,
  scrubSecrets,
  AuditService,
  REDACTED,
  type AuditEntry,
  type AuditRow,
  type AuditFilter,
} from './core/audit.js';
export {
  SessionService,
  DEFAULT_PRUNE_BATCH,
  MAX_PRUNE_BATCH,
  type SessionRecord,
  type SessionDetail,
  type SessionFilter,
  type PruneOptions,
  type PruneReport,
  type UserRef,
} from './core/sessions.js';
export { readDatabaseStatus, type DatabaseStatus, type SchemaStatus, type CountStatus } from './core/status.js';
export { openDatabase, type Database, type OpenOptions } from './db/open.js';
export { describeTarget, redactUrl, type DatabaseTarget, type PostgresTarget, type EmbeddedTarget } from './db/target.js';
export {
  migrateLatest,
  migrateDown,
  migrationStatus,
  assertSchemaCurrent,
  MIGRATIONS_TABLE,
  type Migration,
  type MigrationRun,
  type MigrationState,
} from './db/migrator.js';
export { MIGRATIONS } from '../migrations/index.js';
