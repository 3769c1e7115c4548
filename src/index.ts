/**
 * kaiju-auth as a library: the same core the CLI uses. Explicit named exports only.
 */
export { openAuth, KaijuAuth, type OpenAuthOptions } from './core/auth.js';
export {
  DEFAULT_SETTINGS,
  resolveSettings,
  type AuthSettings,
  type AuthSettingsInput,
  type CoreContext,
} from './core/context.js';
export {
  KaijuAuthError,
  isKaijuAuthError,
  ERROR_KINDS,
  type ErrorCode,
  type ErrorKind,
  type ErrorDetails,
} from './errors.js';
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
export {
  KeystoreService,
  listKeys,
  readJwks,
  readKeyStatus,
  keystoreResolver,
  readVerifyingKeys,
  verifyingKeysResolver,
  keyState,
  rotationDueAt,
  type KeyInfo,
  type KeyState,
  type KeyStatus,
  type VerifyingKeyRow,
  type SigningKey,
  type RotateOptions,
  type RotateResult,
  type ImportOptions,
  type KeyPruneOptions,
  type KeyPruneResult,
} from './core/keys/keystore.js';
export { checkKeySecret, proveSecret, sealVerifier, type KeySecretState, type ProofBasis } from './core/keys/secret-verifier.js';
export { SIGNING_ALGORITHMS, DEFAULT_ALGORITHM, type SigningAlgorithm, type PublicJwk } from './core/keys/algorithms.js';
export { generateKeyMaterial, importPemKeyMaterial, type KeyMaterial } from './core/keys/key-material.js';
export {
  parseJwks,
  jwksResolver,
  importPublicJwk,
  importJwks,
  importedJwksResolver,
  type Jwks,
  type ImportedJwks,
  type KeyResolver,
  type VerificationKey,
} from './core/keys/jwks.js';
export { type KeySecretSource, type SecretRequest } from './core/keys/key-crypto.js';
export { TokenService, type TokenUsers, type TokenUser, type TokenVerifyOptions } from './core/tokens/token-service.js';
export { verifyToken, type VerifyOptions } from './core/tokens/verify.js';
export { TokenVerifier } from './core/tokens/token-verifier.js';
export { signToken, signTokenPair, type IssueOptions, type IssuedTokens, type TokenSubject } from './core/tokens/issue.js';
export { inspectToken, type InspectedToken } from './core/tokens/inspect.js';
export { TOKEN_TYPES, type TokenClaims, type TokenPair, type TokenType } from './core/tokens/claims.js';
export {
  DEFAULT_TOKEN_SETTINGS,
  MAX_TOKEN_LENGTH,
  TOKEN_SETTING_RANGES,
  resolveTokenSettings,
  type TokenSettings,
} from './core/tokens/settings.js';
export { BCRYPT_COST_RANGE } from './core/passwords.js';
export { textProblem, jsonProblem, MAX_JSON_DEPTH, MAX_JSON_BYTES } from './core/storable.js';
export { readDatabaseStatus, type DatabaseStatus, type SchemaStatus, type CountStatus, type GrantsStatus } from './core/status.js';
export { migrateSchema } from './core/migrate.js';
export { groupGrantsDrift, rebuildGroupGrants, lockPermissions, type GroupGrantsDrift } from './core/group-grants.js';
export { retryingTransaction, isTransactionRollback } from './core/transaction.js';
export { openDatabase, type Database, type OpenOptions } from './db/open.js';
export { describeTarget, redactUrl, type DatabaseTarget, type PostgresTarget, type EmbeddedTarget } from './db/target.js';
export { DEFAULT_TIMEOUTS, type DatabaseTimeouts } from './db/timeouts.js';
export type { LockHolder } from './db/pg-timeouts.js';
export {
  migrateLatest,
  migrateDown,
  migrationStatus,
  assertSchemaCurrent,
  MIGRATIONS_TABLE,
  tablesWithData,
  type DroppedTable,
  type MigrateDownOptions,
  type MigrateOptions,
  type Migration,
  type MigrationRun,
  type MigrationState,
} from './db/migrator.js';
export { MIGRATIONS } from '../migrations/index.js';
export { FixtureService, seedFixtures, type SeedOptions } from './core/fixtures/seed.js';
export { loadFixtures, type LoadOptions } from './core/fixtures/load.js';
export type { SecretEnv } from './core/fixtures/secret-refs.js';
export { dumpFixtures, readFixtureSnapshot, type DumpOptions, type DumpReport } from './core/fixtures/dump.js';
export type { FixtureProblem, FixtureSet, SeedItem, SeedReport, SeedAction, FixtureKind } from './core/fixtures/types.js';
export { importUsers, type UserImportOptions, type ImportProgress } from './core/bulk/import.js';
export type { ImportInput, ImportSource } from './core/bulk/source.js';
export { exportUsers, type ExportedUser, type ExportOptions } from './core/bulk/export.js';
export { BulkUserService } from './core/bulk/service.js';
export type { ImportFormat, ExportFormat, ConflictPolicy, ImportProblem, ImportReport, ImportRow } from './core/bulk/types.js';
export { HashQueue, type HashQueueOptions } from './core/hash-queue.js';
