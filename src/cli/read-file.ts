/** Reading a file the command line names (a key, a JWKS, a password or secret file). */
import { readFile } from 'node:fs/promises';
import type { ErrorCode, ErrorDetails } from '../errors.js';
import { codedError, type CliErrorCode } from './cli-errors.js';

/**
 * The file's text; when it cannot be read, a `code` error `LABEL: cannot read it (ENOENT)`,
 * where `label` says which flag named it (`--jwks FILE`).
 */
export async function readNamedFile(file: string, label: string, code: ErrorCode | CliErrorCode, details?: ErrorDetails): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (err) {
    const reason = (err as NodeJS.ErrnoException).code ?? 'unreadable';
    throw codedError(code, `${label}: cannot read it (${reason})`, details);
  }
}
