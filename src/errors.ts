/**
 * Coded errors of the library: the ground floor, imported by every other part and importing none.
 * Every failure a caller can act on is a `KaijuAuthError` whose `code` is a kaiju_auth error code
 * where one exists (`auth.user.exists`...), whose `kind` says what sort of failure it is, and whose
 * `remedy`, when there is one, says what would fix it in words of no particular front end. A
 * library caller can `switch (err.code)`; the CLI maps kinds to exit codes in exactly one place and
 * words each remedy as the command or flag that applies it. Nothing here knows of a command line.
 */

/** What sort of failure an error is; the CLI maps each to one exit code. */
export type ErrorKind =
  | 'internal'
  | 'usage'
  | 'auth'
  | 'not_found'
  | 'conflict'
  | 'invalid'
  | 'unavailable'
  | 'refused'
  | 'check_failed';

/** Error codes and their kinds. The `auth.*` codes are kaiju_auth's own (UserService.ErrorCode). */
export const ERROR_KINDS = {
  'auth.user.exists': 'conflict',
  'auth.user.not_found': 'not_found',
  'auth.user.authentication_failed': 'auth',
  'auth.user.identical_passwords_supplied': 'invalid',
  'auth.user.invalid_email': 'invalid',
  'auth.user.invalid_username': 'invalid',
  'auth.user.invalid_password': 'invalid',
  'auth.user.invalid_settings': 'invalid',
  'auth.group.not_found': 'not_found',
  'auth.group.exists': 'conflict',
  'auth.group.invalid_id': 'invalid',
  'auth.permission.not_found': 'not_found',
  'auth.permission.exists': 'conflict',
  'auth.permission.invalid_id': 'invalid',
  'auth.session.not_found': 'not_found',
  'auth.key.not_found': 'not_found',
  'auth.key.exists': 'conflict',
  'auth.key.invalid': 'invalid',
  'auth.key.no_signing_key': 'unavailable',
  'auth.key.secret_missing': 'usage',
  'auth.key.secret_invalid': 'auth',
  'auth.key.last_signing_key': 'refused',
  'auth.key.revoked': 'conflict',
  'auth.key.secret_unchanged': 'usage',
  'auth.token.invalid': 'auth',
  'auth.token.missing': 'usage',
  'auth.token.too_large': 'auth',
  'auth.token.duplicate_member': 'auth',
  'auth.token.non_canonical_signature': 'auth',
  'auth.token.iat_future': 'auth',
  'auth.token.exp_beyond_key': 'auth',
  'auth.token.expired': 'auth',
  'auth.token.not_yet_valid': 'auth',
  'auth.token.bad_signature': 'auth',
  'auth.token.unknown_key': 'auth',
  'auth.token.key_retired': 'auth',
  'auth.token.key_revoked': 'auth',
  'auth.token.wrong_type': 'auth',
  'auth.token.claim_invalid': 'auth',
  'data.invalid': 'invalid',
  'data.file_invalid': 'invalid',
  'data.duplicate': 'invalid',
  'data.file_unreadable': 'usage',
  'data.output_failed': 'usage',
  'db.unavailable': 'unavailable',
  'db.permission_denied': 'unavailable',
  'db.invalid_url': 'usage',
  'db.locked': 'unavailable',
  'db.timeout': 'unavailable',
  'db.schema_missing': 'unavailable',
  'db.schema_outdated': 'unavailable',
  'db.migration_failed': 'internal',
  'db.schema_conflict': 'conflict',
  'db.drop_refused': 'refused',
  'db.migration_unknown': 'refused',
  'settings.out_of_range': 'usage',
  'status.check_failed': 'check_failed',
  'seed.drift': 'check_failed',
  'dump.exists': 'refused',
  'seed.plan_changed': 'conflict',
  internal: 'internal',
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_KINDS;

/** Extra, secret-free facts about an error (which field, which value, which file...). */
export type ErrorDetails = Record<string, unknown>;

/**
 * What would fix the failure, named for what it does rather than for how a front end spells it
 * (the CLI says "run `kaiju-auth migrate`"; a service would run `auth.migrate()`).
 */
export type Remedy =
  /** Apply the pending migrations. */
  | 'migrate'
  /** Create the database (or point at another one): there is none where the target says. */
  | 'create_database'
  /** Make a signing key: none can sign. */
  | 'make_signing_key'
  /** Rotate first, so that another key signs and this one can go. */
  | 'rotate_first'
  /** Say that dropping the data is meant (`migrateDown({ dropData: true })`). */
  | 'allow_drop_data'
  /** Say that replacing what is there is meant (a dump's `force`). */
  | 'replace_existing';

export class KaijuAuthError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name = 'KaijuAuthError';
  readonly code: C;
  readonly kind: (typeof ERROR_KINDS)[C];
  readonly details: ErrorDetails | undefined;
  readonly remedy: Remedy | undefined;

  constructor(code: C, message: string, options: { details?: ErrorDetails; cause?: unknown; remedy?: Remedy } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kind = ERROR_KINDS[code];
    this.details = options.details;
    this.remedy = options.remedy;
  }
}

export function isKaijuAuthError(err: unknown): err is KaijuAuthError {
  return err instanceof KaijuAuthError;
}

/** Shorthand used by services: `throw authError('auth.user.not_found', ...)`. */
export function authError<C extends ErrorCode>(
  code: C,
  message: string,
  details?: ErrorDetails,
  cause?: unknown,
): KaijuAuthError<C> {
  return new KaijuAuthError(code, message, { details, cause });
}

/** The same, for a failure that has a remedy. */
export function remediableError<C extends ErrorCode>(code: C, message: string, remedy: Remedy, details?: ErrorDetails): KaijuAuthError<C> {
  return new KaijuAuthError(code, message, { details, remedy });
}

const FILE_ERROR_REASONS: Record<string, string> = {
  ENOENT: 'no such directory',
  ENOTDIR: 'a path component is not a directory',
  EISDIR: 'it is a directory',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  EROFS: 'read-only file system',
  ENOSPC: 'no space left on device',
  EDQUOT: 'disk quota exceeded',
  EIO: 'input/output error',
  EFBIG: 'file too large',
};

/**
 * Why writing a file or directory failed, as people read it: the errno code (`ENOSPC`, for
 * details) and `ENOSPC: no space left on device` (for messages); a code without a wording stays bare.
 */
export function fileWriteReason(err: unknown): { code: string; reason: string } {
  const code = (err as { code?: unknown }).code;
  const name = typeof code === 'string' ? code : 'error';
  const words = FILE_ERROR_REASONS[name];
  return { code: name, reason: words ? `${name}: ${words}` : name };
}
