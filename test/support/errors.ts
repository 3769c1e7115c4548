/**
 * What a test asserts about failures: the `code` (jose's tests assert codes, not wording), of the
 * library's errors and of the CLI's alike.
 */
import { isKaijuAuthError } from '../../src/errors.js';
import { isCliError } from '../../src/cli/cli-errors.js';

/** A coded error: the library's (`auth.user.exists`...) or the CLI's (`cli.usage`...). */
export function isCodedError(err: unknown): err is Error & { code: string; details?: Record<string, unknown> } {
  return isKaijuAuthError(err) || isCliError(err);
}

function codeOfError(err: unknown): string {
  if (isCodedError(err)) return err.code;
  throw err;
}

/**
 * The code `work` fails with, or `ok` when it does not fail (so an expected code is never met by
 * success). A failure that is not a coded error is rethrown: a bug, not an answer.
 */
export function codeOf(work: Promise<unknown> | (() => Promise<unknown>)): Promise<string>;
export function codeOf(work: () => unknown): string;
export function codeOf(work: Promise<unknown> | (() => unknown)): string | Promise<string> {
  let result: unknown;
  try {
    result = typeof work === 'function' ? work() : work;
  } catch (err) {
    return codeOfError(err);
  }
  if (result instanceof Promise) return result.then(() => 'ok', codeOfError);
  return 'ok';
}
