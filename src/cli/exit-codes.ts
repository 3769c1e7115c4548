/**
 * The one function that turns any thrown value into an exit code (the table of docs/CLI.md, in
 * exit-table.ts) and a message. Internal errors show their stack only with `--verbose`. The
 * library's errors know no command line: here their remedies become the commands and flags that
 * apply them, and what expired names the setting that would let it wait longer.
 */
import { isKaijuAuthError, type ErrorCode, type Remedy } from '../errors.js';
import { isCliError } from './cli-errors.js';
import { EXIT } from './exit-table.js';
import { databaseRefusal } from '../db/errors.js';
import { TIMEOUT_SETTING } from './timeouts.js';

/** Each remedy as the command line applies it, added to the library's message. */
const REMEDY: Record<Remedy, (message: string) => string> = {
  migrate: (m) => `${m}: run \`kaiju-auth migrate\``,
  create_database: (m) => `${m}: run \`kaiju-auth init\` (or pass --database-url / --data-dir)`,
  make_signing_key: (m) => `${m}: run \`kaiju-auth keys rotate\` (or \`kaiju-auth init\`)`,
  rotate_first: (m) => `${m} (rotate first: kaiju-auth keys rotate)`,
  allow_drop_data: (m) => `${m} (allow it with --drop-data)`,
  replace_existing: (m) => `${m}; pass --force to replace it (as a whole, once the new dump is complete)`,
};

/**
 * Library codes that the command line has always reported under a code of its own: scripts match
 * on these, so they stay (the library names the failure more exactly).
 */
const CLI_CODE: Partial<Record<ErrorCode, string>> = {
  'auth.key.secret_unchanged': 'cli.usage',
  'db.migration_unknown': 'cli.refused',
};

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
  if (isCliError(err)) {
    return { exit: EXIT[err.kind], code: err.code, message: err.message, ...(err.details ? { details: err.details } : {}) };
  }
  if (isKaijuAuthError(err)) {
    const setting = err.code === 'db.timeout' ? TIMEOUT_SETTING[String(err.details?.waited)] : undefined;
    const message = setting ? `${err.message} (${setting})` : err.message;
    return {
      exit: EXIT[err.kind],
      code: CLI_CODE[err.code] ?? err.code,
      message: err.remedy ? REMEDY[err.remedy](message) : message,
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

