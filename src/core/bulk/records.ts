/**
 * Reading user import files as a stream of records, in constant memory, whatever their size:
 * CSV with a header (csv-records.ts), JSON Lines (readline), or one JSON array (stream-json).
 * Records come in chunks (arrays), so the passes over a file run a plain loop per chunk rather
 * than an await per row. Each record carries its 1-based row number (and line, where lines mean
 * something); what cannot be read becomes a located problem instead of a crash, so the
 * validation pass can list every problem of the file.
 */
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { parseJsonText } from '../json-text.js';
import { csvRecords } from './csv-records.js';
import { limitLineLength, MAX_LINE_BYTES, OVERLONG_LINE } from './line-limit.js';
import { openSource, type ImportSource } from './source.js';
import type { ImportFormat } from './types.js';

export interface RawRecord {
  row: number;
  line?: number;
  /** The record's fields as read (CSV: strings; JSON: any JSON values). */
  fields?: Record<string, unknown>;
  /** Why the record could not be read. */
  problem?: { message: string; line?: number; column?: number };
  /** A problem with the whole file (a bad CSV header, broken JSON array): nothing after it is read. */
  fatal?: boolean;
}

/** The format from `--format`, else from the file name's extension. */
export function formatOf(file: string, explicit?: ImportFormat): ImportFormat | null {
  if (explicit) return explicit;
  const m = /\.(csv|jsonl|ndjson|json)$/i.exec(file);
  if (!m) return null;
  const ext = (m[1] ?? '').toLowerCase();
  return ext === 'ndjson' ? 'jsonl' : (ext as ImportFormat);
}

/** `onBytes` sees each chunk of the file's bytes as read, before its records are made. */
function countBytes(stream: Readable, onBytes?: (chunk: Buffer) => void): Readable {
  if (onBytes) stream.on('data', (chunk: Buffer) => onBytes(chunk));
  return stream;
}

async function* jsonlRecords(file: ImportSource, onBytes?: (chunk: Buffer) => void): AsyncGenerator<RawRecord> {
  const source = countBytes(openSource(file), onBytes);
  const limited = source.pipe(limitLineLength());
  source.on('error', (err) => limited.destroy(err));
  const lines = createInterface({ input: limited.setEncoding('utf8'), crlfDelay: Infinity });
  let line = 0;
  let row = 0;
  for await (const text of lines) {
    line += 1;
    if (text.trim() === '' || (line === 1 && text === '\uFEFF')) continue;
    row += 1;
    if (text === OVERLONG_LINE) {
      yield { row, line, problem: { message: `record longer than ${MAX_LINE_BYTES} bytes (1 MiB)` } };
      continue;
    }
    const parsed = parseJsonText(text);
    if (!parsed.ok) {
      yield { row, line, problem: { message: `invalid JSON: ${parsed.error.message}`, line, column: parsed.error.column } };
    } else if (typeof parsed.value !== 'object' || parsed.value === null || Array.isArray(parsed.value)) {
      yield { row, line, problem: { message: 'expected a JSON object' } };
    } else {
      yield { row, line, fields: parsed.value as Record<string, unknown> };
    }
  }
}

/** Where a JSON file stops being valid JSON (read again with the verifier, streaming). */
async function locateJsonError(file: ImportSource): Promise<{ message: string; line?: number; column?: number }> {
  const { verifier } = await import('stream-json/utils/verifier.js');
  return new Promise((resolve) => {
    const v = verifier.asStream();
    v.on('error', (err: { message: string; line?: number; pos?: number }) =>
      resolve({ message: `invalid JSON: ${err.message.replace(/^ERROR at \d+ \(\d+, \d+\): /, '').replace(/^Verifier (cannot parse input: |has )/, '')}`, line: err.line, column: err.pos }),
    );
    // Valid JSON that is not an array of objects.
    v.on('finish', () => resolve({ message: 'expected a JSON array of user objects' }));
    v.resume();
    openSource(file).pipe(v);
  });
}

async function* jsonArrayRecords(file: ImportSource, onBytes?: (chunk: Buffer) => void): AsyncGenerator<RawRecord> {
  const [{ parser }, { streamArray }] = await Promise.all([import('stream-json'), import('stream-json/streamers/stream-array.js')]);
  const tokens = countBytes(openSource(file), onBytes).pipe(parser.asStream());
  const items = tokens.pipe(streamArray.asStream());
  // A parse error is raised on the token stream; carry it to the one we iterate.
  tokens.on('error', (err) => items.destroy(err));
  try {
    for await (const { key, value } of items as AsyncIterable<{ key: number; value: unknown }>) {
      const row = key + 1;
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        yield { row, problem: { message: 'expected a JSON object' } };
      } else {
        yield { row, fields: value as Record<string, unknown> };
      }
    }
  } catch {
    yield { row: 0, fatal: true, problem: await locateJsonError(file) };
  }
}

const JSON_CHUNK = 1000;

/** Records one at a time, gathered into chunks. */
async function* chunked(records: AsyncGenerator<RawRecord>): AsyncGenerator<RawRecord[]> {
  let chunk: RawRecord[] = [];
  for await (const rec of records) {
    chunk.push(rec);
    if (chunk.length >= JSON_CHUNK) {
      yield chunk;
      chunk = [];
    }
  }
  if (chunk.length > 0) yield chunk;
}

/** The file's records, in file order, a chunk at a time. A `fatal` record is the last one. */
export function readRecords(file: ImportSource, format: ImportFormat, onBytes?: (chunk: Buffer) => void): AsyncGenerator<RawRecord[]> {
  if (format === 'csv') return csvRecords(file, onBytes);
  if (format === 'jsonl') return chunked(jsonlRecords(file, onBytes));
  return chunked(jsonArrayRecords(file, onBytes));
}
