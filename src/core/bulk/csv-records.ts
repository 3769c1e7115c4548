/**
 * CSV import files (a header line, then one record per line; RFC 4180 quoting, so a quoted field
 * may hold commas, quotes and line breaks), read in chunks of records, in constant memory.
 *
 * Parsing is Papa Parse's core parser, fed one chunk of the file at a time with the incomplete
 * record at its end carried to the next: it is several times faster than csv-parse here, which
 * matters because every row of a 100k-user import goes through it twice. What it leaves to us: a
 * UTF-8 BOM, the line break of the file (from the header line: LF, CRLF or CR), empty lines
 * (skipped), and the line number of each record (the line it starts on), counted from the text.
 */
import { StringDecoder } from 'node:string_decoder';
import { quotedName } from '../storable.js';
import { IMPORT_COLUMNS } from './types.js';
import type { RawRecord } from './records.js';
import { openSource, type ImportSource } from './source.js';

/** A record longer than this is an unclosed quote (or not a user): stop instead of buffering the file. */
const MAX_RECORD_CHARS = 1 << 20;
const CHUNK_BYTES = 1 << 16;

interface StepResult {
  data: string[][];
  errors: { message: string }[];
  meta: { cursor: number };
}

function headerProblem(header: string[]): string | null {
  const unknown = header.filter((h) => !(IMPORT_COLUMNS as readonly string[]).includes(h));
  const missing = ['username', 'email'].filter((h) => !header.includes(h));
  const dup = header.filter((h, i) => header.indexOf(h) !== i);
  const noSecret = !header.includes('password') && !header.includes('password_hash');
  if (unknown.length === 0 && missing.length === 0 && dup.length === 0 && !noSecret) return null;
  // Names from the file are shown quoted when they are not plain (a line break, an escape).
  const names = (list: string[]) => list.map((h) => (/^[\w.-]{1,60}$/.test(h) ? h : quotedName(h))).join(', ');
  const why = [
    unknown.length > 0 ? `unknown column(s) ${names(unknown)}` : '',
    missing.length > 0 ? `missing column(s) ${missing.join(', ')}` : '',
    dup.length > 0 ? `repeated column(s) ${names(dup)}` : '',
    noSecret ? 'a password or password_hash column is needed' : '',
  ].filter(Boolean);
  return `bad header: ${why.join('; ')} (columns: ${IMPORT_COLUMNS.join(',')})`;
}

/**
 * The file's line break, from `text` (the file's start); null: not known yet. The first line feed
 * outside quotes decides (`\r\n` or `\n`): a quoted header name may hold a line break, and a stray
 * carriage return in a line is not one (taking either for the file's would read the lines after
 * it, passwords and all, as header names). A file of bare carriage returns has no line feed at all:
 * `\r` once the text is all there or runs on well past one.
 */
function lineBreakOf(text: string, complete: boolean): '\n' | '\r\n' | '\r' | null {
  let quoted = false;
  let firstReturn = -1;
  for (let i = 0; i < text.length; i += 1) {
    const c = text[i];
    if (c === '"') quoted = !quoted;
    else if (!quoted && c === '\n') return i > 0 && text[i - 1] === '\r' ? '\r\n' : '\n';
    else if (!quoted && c === '\r' && firstReturn < 0) firstReturn = i;
  }
  return firstReturn >= 0 && (complete || text.length - firstReturn > 4096) ? '\r' : null;
}

/** Records from parsed CSV rows: the header first, then one record per non-empty row. */
class RecordMaker {
  header: string[] | null = null;
  row = 0;
  out: RawRecord[] = [];
  fatal: RawRecord | null = null;

  /** Take one parsed row ending on `line`; false when the file cannot be read on (a bad header). */
  take(record: string[], line: number, error?: { message: string }): boolean {
    if (record.length === 1 && record[0] === '') return true; // an empty line
    const header = this.header;
    if (!header) {
      this.header = record.map((h) => h.trim());
      const problem = headerProblem(this.header);
      if (problem) this.fatal = { row: 0, line: 1, fatal: true, problem: { message: problem } };
      return problem === null;
    }
    const row = ++this.row;
    if (error) this.out.push({ row, line, problem: { message: error.message } });
    else if (record.length !== header.length) {
      this.out.push({ row, line, problem: { message: `expected ${header.length} fields as in the header, found ${record.length}` } });
    } else {
      const fields: Record<string, unknown> = {};
      for (let i = 0; i < header.length; i++) fields[header[i] as string] = record[i];
      this.out.push({ row, line, fields });
    }
    return true;
  }

  flush(): RawRecord[] {
    const out = this.out;
    this.out = [];
    return out;
  }
}

function countOf(text: string, char: string, from: number, to: number): number {
  let n = 0;
  for (let p = text.indexOf(char, from); p !== -1 && p < to; p = text.indexOf(char, p + 1)) n += 1;
  return n;
}

/** `chunkBytes`: how much of the file is read at a time (tests make it tiny, to cut records anywhere). */
export async function* csvRecords(file: ImportSource, onBytes?: (chunk: Buffer) => void, chunkBytes = CHUNK_BYTES): AsyncGenerator<RawRecord[]> {
  const { default: Papa } = await import('papaparse');
  const decoder = new StringDecoder('utf8');
  const stream = openSource(file, { highWaterMark: chunkBytes });
  const chunks = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const records = new RecordMaker();
  let pending = '';
  let base = 0; // file offset (in characters) of `pending`
  let first = true;
  let newline: '\n' | '\r\n' | '\r' | null = null;
  let lines = 0; // line breaks before the next record
  try {
    for (let eof = false; !eof; ) {
      const chunk = await chunks.next();
      eof = chunk.done === true;
      if (!eof) onBytes?.(chunk.value);
      let input = pending + (eof ? decoder.end() : decoder.write(chunk.value));
      if (first && input !== '') {
        if (input.charCodeAt(0) === 0xfeff) input = input.slice(1);
        first = false;
      }
      newline ??= lineBreakOf(input, eof) ?? (eof ? '\n' : null);
      if (newline === null) {
        if (input.length > MAX_RECORD_CHARS) {
          yield [{ row: 0, line: 1, fatal: true, problem: { message: 'the header line is too long (is this a CSV file?)' } }];
          return;
        }
        pending = input;
        continue;
      }
      const lineChar = newline === '\r' ? '\r' : '\n';
      const config = { delimiter: ',', newline, quoteChar: '"', escapeChar: '"' };
      let consumed = -1;
      if (!input.includes('"')) {
        // No quotes: Papa Parse splits on line breaks, so each row is one line, unless a stray
        // line feed sits in a field of a CRLF file (then count them row by row, as below).
        const parsed = new Papa.Parser(config).parse(input, base, !eof) as { data: string[][]; meta: { cursor: number } };
        const end = parsed.meta.cursor - base;
        const breaks = countOf(input, lineChar, 0, end);
        const rows = parsed.data;
        if (breaks === rows.length || (eof && breaks === rows.length - 1)) {
          for (let i = 0; i < rows.length && records.take(rows[i] as string[], lines + i + 1); i++);
          lines += breaks;
          consumed = end;
        }
      }
      if (consumed < 0) {
        let scanned = 0;
        const parser = new Papa.Parser({
          ...config,
          step: ((result: StepResult) => {
            const end = result.meta.cursor - base;
            const line = lines + 1;
            lines += countOf(input, lineChar, scanned, end);
            scanned = end;
            if (!records.take(result.data[0] ?? [], line, result.errors[0])) parser.abort();
          }) as never,
        });
        consumed = (parser.parse(input, base, !eof) as StepResult).meta.cursor - base;
      }
      if (records.fatal) {
        yield [...records.flush(), records.fatal];
        return;
      }
      pending = input.slice(consumed);
      base += consumed;
      const out = records.flush();
      if (pending.length > MAX_RECORD_CHARS) {
        out.push({ row: 0, line: lines + 1, fatal: true, problem: { message: `a record longer than ${MAX_RECORD_CHARS} characters: is a quote left open?` } });
        yield out;
        return;
      }
      if (out.length > 0) yield out;
    }
    if (!records.header) yield [{ row: 0, line: 1, fatal: true, problem: { message: 'empty file: a header line is needed' } }];
  } finally {
    stream.destroy();
  }
}
