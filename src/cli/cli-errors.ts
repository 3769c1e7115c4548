/**
 * The CLI's own errors: what only a command line can get wrong (a flag, a prompt, a file to write,
 * Ctrl-C). They are data as the library's are (a `code`, a `kind` that picks the exit code,
 * secret-free `details`), but the library never sees them: its errors (src/errors.ts) know no
 * flags, and their remedies are worded for the command line when an error is rendered
 * (exit-codes.ts).
 */
import { authError, type ErrorCode, type ErrorDetails, type ErrorKind } from '../errors.js';

/** A library error's kinds, and one more that only a process has: it was interrupted (exit 130). */
export type CliErrorKind = ErrorKind | 'interrupted';

export const CLI_ERROR_KINDS = {
  'cli.usage': 'usage',
  'cli.secret_missing': 'usage',
  'cli.not_confirmed': 'refused',
  'cli.refused': 'refused',
  'cli.output_failed': 'usage',
  'cli.interrupted': 'interrupted',
} as const satisfies Record<string, CliErrorKind>;

export type CliErrorCode = keyof typeof CLI_ERROR_KINDS;

export class CliError<C extends CliErrorCode = CliErrorCode> extends Error {
  override readonly name = 'CliError';
  readonly code: C;
  readonly kind: (typeof CLI_ERROR_KINDS)[C];
  readonly details: ErrorDetails | undefined;

  constructor(code: C, message: string, options: { details?: ErrorDetails; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.kind = CLI_ERROR_KINDS[code];
    this.details = options.details;
  }
}

export function isCliError(err: unknown): err is CliError {
  return err instanceof CliError;
}

/** `throw cliError('cli.usage', '--a and --b cannot be used together')`. */
export function cliError<C extends CliErrorCode>(code: C, message: string, details?: ErrorDetails, cause?: unknown): CliError<C> {
  return new CliError(code, message, { details, cause });
}

/** An error of either vocabulary, by its code (for helpers that callers give a code to use). */
export function codedError(code: ErrorCode | CliErrorCode, message: string, details?: ErrorDetails): Error {
  return code in CLI_ERROR_KINDS ? cliError(code as CliErrorCode, message, details) : authError(code as ErrorCode, message, details);
}

