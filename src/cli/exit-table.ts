/**
 * The exit code table of docs/CLI.md, alone in a module of its own: every run needs it, while the
 * code that maps an error to a code (exit-codes.ts) is loaded only when a run fails.
 */
import type { CliErrorKind } from './cli-errors.js';

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
  /** `status --check`: something needs a human (the report says what). */
  check_failed: 9,
  /** Ctrl-C, at a prompt or elsewhere (128 + SIGINT). */
  interrupted: 130,
} as const satisfies Record<CliErrorKind | 'ok', number>;
