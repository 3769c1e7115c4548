/**
 * Coded errors of the core. Every failure a caller can act on is a `KaijuAuthError` whose `code`
 * is a kaiju_auth error code where one exists (`auth.user.exists`...) and whose `kind` says what
 * sort of failure it is. The CLI maps kinds to exit codes in exactly one place; a library caller
 * can `switch (err.code)`.
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
  | 'check_failed'
  | 'interrupted';

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
  'settings.out_of_range': 'usage',
  'cli.usage': 'usage',
  'cli.secret_missing': 'usage',
  'cli.not_confirmed': 'refused',
  'cli.refused': 'refused',
  'cli.output_failed': 'usage',
  'cli.interrupted': 'interrupted',
  'status.check_failed': 'check_failed',
  'seed.drift': 'check_failed',
  'dump.exists': 'refused',
  internal: 'internal',
} as const satisfies Record<string, ErrorKind>;

export type ErrorCode = keyof typeof ERROR_KINDS;

/** Extra, secret-free facts about an error (which field, which value, which file...). */
export type ErrorDetails = Record<string, unknown>;

export class KaijuAuthError<C extends ErrorCode = ErrorCode> extends Error {
  override readonly name = 'KaijuAuthError';
  readonly code: C;
  readonly kind: (typeof ERROR_KINDS)[C];
  readonly details: ErrorDetails | undefined;

  constructor(code: C, message: string, options: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kind = ERROR_KINDS[code];
    this.details = options.details;
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
