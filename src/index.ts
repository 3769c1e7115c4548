/**
 * kaiju-auth as a library: the same core the CLI uses, as a caller needs it. Explicit named
 * exports only, one way to do each thing:
 *
 *   const auth = await openAuth({ target: { kind: 'postgres', url } });
 *   const user: UserDetail = await auth.users.register({ username, email, password });
 *
 * `openAuth` gives a `KaijuAuth`, whose services (`auth.users`, `auth.groups`, ...) do the work;
 * their classes are exported as types, to name what they are and what they return. Verifying
 * tokens away from the database: `TokenVerifier` over a JWKS (`parseJwks`, `jwksResolver`).
 * Everything else (the database layer, migrations, hashing, the pieces the services are made of)
 * is internal: what is here is the API, checked in as etc/kaiju-auth.api.md (`npm run api`).
 */

// The entry, its settings and its errors.
export { openAuth, KaijuAuth, type OpenAuthOptions } from './core/auth.js';
export { DEFAULT_SETTINGS, resolveSettings, type AuthSettings, type AuthSettingsInput, type CoreContext } from './core/context.js';
export {
  SETTING_RANGES,
  DEFAULT_BCRYPT_COST,
  DEFAULT_BATCH_SIZE,
  DEFAULT_FAILED_LOGIN_DELAY_MS,
  DEFAULT_MAX_EXPIRED_SESSIONS,
  type SettingRange,
} from './core/settings.js';
export { DEFAULT_TOKEN_SETTINGS, TOKEN_SETTING_RANGES, MAX_TOKEN_LENGTH, type TokenSettings, type SecondsRange } from './core/tokens/settings.js';
export { KaijuAuthError, isKaijuAuthError, ERROR_KINDS, type ErrorCode, type ErrorKind, type ErrorDetails, type Remedy } from './errors.js';
export type { DatabaseTarget, PostgresTarget, EmbeddedTarget } from './db/target.js';
export { DEFAULT_TIMEOUTS, type DatabaseTimeouts } from './db/timeouts.js';
export type { EmbeddedOptions } from './db/embedded.js';
export type { DbLogger } from './db/knex-log.js';
export type { MigrationRun, MigrationState, MigrateDownOptions, DroppedTable } from './db/migrator.js';

// auth.users
export type {
  UserService,
  User,
  UserDetail,
  AuthenticatedUser,
  RegisterInput,
  UserListOptions,
  UserUpdate,
  UserFlag,
  LookalikeGroup,
} from './core/users.js';
export type { UserGroupService, GroupChange } from './core/user-permissions.js';
export type { PasswordHasher, PasswordHash } from './core/passwords.js';

// auth.groups, auth.permissions
export type { GroupService, Group, GroupSummary, GroupDetail, GroupMatrix, PermissionChange } from './core/groups.js';
export type { PermissionService, Permission, TaggedPermissions, PermissionListOptions } from './core/permissions.js';

// auth.sessions
export type { SessionService, SessionRecord, SessionDetail, SessionFilter, PruneOptions, PruneReport, UserRef } from './core/sessions.js';

// auth.audit
export { REDACTED } from './core/audit.js';
export type { AuditService, AuditEntry, AuditRow, AuditFilter } from './core/audit.js';

// auth.keys
export { SIGNING_ALGORITHMS, DEFAULT_ALGORITHM, type SigningAlgorithm, type PublicJwk } from './core/keys/algorithms.js';
export type {
  KeystoreService,
  SigningKey,
  RotateOptions,
  RotateAction,
  RotateResult,
  ImportOptions,
  KeyRekeyResult,
  KeyRevokeResult,
  KeyPruneOptions,
  KeyPruneResult,
} from './core/keys/keystore.js';
export type { KeyInfo, KeyState, KeyStatus, VerifyingKeyRow } from './core/keys/key-queries.js';
export type { KeySecretState } from './core/keys/secret-verifier.js';
export type { KeySecretSource, SecretRequest } from './core/keys/key-crypto.js';

// auth.tokens, and verifying tokens without the database
export type { TokenService, TokenUsers, TokenUser, TokenVerifyOptions } from './core/tokens/token-service.js';
export type { IssueOptions, IssuedTokens } from './core/tokens/issue.js';
export { TOKEN_TYPES, type TokenClaims, type TokenPair, type TokenType } from './core/tokens/claims.js';
export { TokenVerifier } from './core/tokens/token-verifier.js';
export type { VerifyOptions } from './core/tokens/verify-checks.js';
export { inspectToken, type InspectedToken } from './core/tokens/inspect.js';
export {
  parseJwks,
  jwksResolver,
  importJwks,
  importedJwksResolver,
  type Jwks,
  type ImportedJwks,
  type KeyResolver,
  type VerificationKey,
} from './core/keys/jwks.js';

// auth.fixtures (seed, dump)
export type { FixtureService, SeedOptions } from './core/fixtures/seed.js';
export type { DumpOptions, DumpReport } from './core/fixtures/dump.js';
export type { SecretEnv } from './core/fixtures/secret-refs.js';
export type { FixtureProblem, SeedItem, SeedReport, SeedAction, FixtureKind, ByKind, FixtureSet, PermissionFixture, GroupFixture, UserFixture, Located, IdListAt } from './core/fixtures/types.js';
export type { LoadedFixtures } from './core/fixtures/load.js';
export type { PruneOptions as SeedPruneOptions } from './core/fixtures/prune.js';

// auth.bulk (import, export)
export type { BulkUserService } from './core/bulk/service.js';
export type { UserImportOptions, ImportProgress } from './core/bulk/import.js';
export type { ImportInput, ImportSource } from './core/bulk/source.js';
export type { ExportedUser, ExportOptions, AuditedExportOptions } from './core/bulk/export.js';
export type { ImportFormat, ExportFormat, ConflictPolicy, ImportProblem, ImportReport } from './core/bulk/types.js';

// auth.status(), auth.health()
export type { DatabaseStatus, SchemaStatus, CountStatus, GrantsStatus } from './core/status.js';
export type { HealthReport, HealthOptions, HealthCheck, HealthInfo, CheckName } from './core/health.js';
