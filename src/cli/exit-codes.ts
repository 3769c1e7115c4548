/**
 * The exit code table of docs/CLI.md, and the one function that turns any thrown value into an
 * exit code and a message. Internal errors show their stack only with `--verbose`.
 */
import { isKaijuAuthError, type ErrorKind } from '../core/errors.js';
import { databaseRefusal } from '../db/errors.js';

export const EXIT = {
  ok: 0,
  internal: 1,
  usage: 2,
  auth: 3,
  not_found: 4,
  conflict: 5,
  invalid: 6,
  unavailable: 7,
  refused: 8,
  /** Ctrl-C, at a prompt or elsewhere (128 + SIGINT). */
  interrupted: 130,
} as const satisfies Record<ErrorKind | 'ok', number>;

export interface ErrorReport {
  exit: number;
  code: string;
  message: string;
  details?: Record<string, unknown>;
  /** Only for internal errors, shown with --verbose. */
  stack?: string;
}

interface CommanderLike {
  code: string;
  exitCode: number;
  message: string;
}

function isCommanderError(err: unknown): err is CommanderLike {
  return (
    typeof err === 'object' &&
    err !== null &&
    typeof (err as CommanderLike).code === 'string' &&
    (err as CommanderLike).code.startsWith('commander.') &&
    typeof (err as CommanderLike).exitCode === 'number'
  );
}

export function toErrorReport(err: unknown): ErrorReport {
  if (isKaijuAuthError(err)) {
    return {
      exit: EXIT[err.kind],
      code: err.code,
      message: err.message,
      ...(err.details ? { details: err.details } : {}),
      ...(err.kind === 'internal' && err.stack ? { stack: err.stack } : {}),
    };
  }
  if (isCommanderError(err)) {
    return { exit: EXIT.usage, code: 'cli.usage', message: err.message.replace(/^error: /, '') };
  }
  // A driver error that is the database's state (gone, full, refused a privilege): exit 7, not a bug.
  const refusal = databaseRefusal(err);
  if (refusal) return toErrorReport(refusal);
  const message = err instanceof Error ? err.message : String(err);
  return {
    exit: EXIT.internal,
    code: 'internal',
    message: `internal error: ${message}`,
    ...(err instanceof Error && err.stack ? { stack: err.stack } : {}),
  };
}

