/**
 * Where an import reads from: a file path, or an `ImportInput` that must be read through something
 * (the CLI's spool of stdin is encrypted on disk and decrypted as it is read).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { authError } from '../../errors.js';

/**
 * An import's input other than a file path, for input that must be read through something (the
 * CLI's spool of stdin is encrypted on disk and decrypted as it is read). It is read twice, so
 * `open` gives a fresh stream of the same bytes from the start each time.
 */
export interface ImportInput {
  /** How messages and the audit log name it (`stdin`). */
  readonly name: string;
  /** The input's bytes from the start; `highWaterMark` is a hint for the chunk size. */
  open(options?: { highWaterMark?: number }): Readable;
  /** Its size in bytes, and a stamp that changes when its content does. */
  stat(): Promise<{ size: number; stamp: string }>;
}

/** A file path, or an `ImportInput`. */
export type ImportSource = string | ImportInput;

/** The source's bytes from the start. */
export function openSource(source: ImportSource, options: { highWaterMark?: number } = {}): Readable {
  return typeof source === 'string' ? createReadStream(source, options) : source.open(options);
}

/** How messages name the source: the path as given, or the input's name. */
export function sourceName(source: ImportSource): string {
  return typeof source === 'string' ? source : source.name;
}

/** Size and change stamp of the source; a path that is not a readable file is `data.file_unreadable`. */
export async function statSource(source: ImportSource): Promise<{ size: number; stamp: string }> {
  if (typeof source !== 'string') return source.stat();
  const s = await stat(source).catch(() => null);
  if (!s?.isFile()) throw authError('data.file_unreadable', `cannot read ${source}: not a file`, { file: source });
  return { size: s.size, stamp: `${s.size}:${s.mtimeMs}` };
}
