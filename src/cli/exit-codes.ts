/**
 * The one function that turns any thrown value into an exit code (the table of docs/CLI.md, in
 * exit-table.ts) and a message. Internal errors show their stack only with `--verbose`.
 */
import { isKaijuAuthError } from '../core/errors.js';
import { EXIT } from './exit-table.js';
import { databaseRefusal } from '../db/errors.js';
import { TIMEOUT_SETTING } from './timeouts.js';

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
    // What expired names the setting that would let it wait longer.
    const setting = err.code === 'db.timeout' ? TIMEOUT_SETTING[String(err.details?.waited)] : undefined;
    return {
      exit: EXIT[err.kind],
      code: err.code,
      message: setting ? `${err.message} (${setting})` : err.message,
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

