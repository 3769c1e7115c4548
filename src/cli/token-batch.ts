/**
 * `token verify --batch`: tokens stream in from stdin, one per line, are verified concurrently
 * (a bounded window in flight), and one JSON line per token streams out in input order. Memory
 * stays bounded however many tokens come in, and however long a line is: a line longer than the
 * token size limit is answered `auth.token.too_large` without being kept. stdout back-pressure is
 * respected.
 *
 * Every line is a token: an empty or blank line is an invalid token on its line (a gap in a list
 * of tokens is a token that is missing, not nothing). A final newline ends the last line; it does
 * not start another one.
 */
import { isKaijuAuthError } from '../core/errors.js';
import { tokenTooLarge } from '../core/tokens/verify.js';

/** How many tokens are in flight at once: enough to keep libuv's crypto threads busy. */
export const BATCH_WINDOW = 1024;
const FLUSH_BYTES = 64 * 1024;

export interface BatchCounts {
  /** Lines read, each one a token. */
  total: number;
  failed: number;
}

type Writable = NodeJS.WritableStream;

function write(out: Writable, text: string): Promise<void> | undefined {
  if (out.write(text)) return undefined;
  return new Promise((resolve) => out.once('drain', () => resolve()));
}

function errorJson(err: unknown) {
  if (isKaijuAuthError(err)) return { code: err.code, message: err.message };
  return { code: 'internal', message: err instanceof Error ? err.message : String(err) };
}

/** A line of input: its text, or null with its length when it was too long to keep. */
interface Line {
  text: string | null;
  length: number;
}

/**
 * Splits bytes into lines, keeping at most `maxLength` bytes of one (plus a CR). Text is decoded
 * as latin1: a token is ASCII, and any other byte makes it invalid whatever it decodes to.
 */
class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  private over = false;
  private readonly keep: number;

  constructor(maxLength: number) {
    this.keep = maxLength + 1;
  }

  private take(): Line {
    let line: Line;
    if (this.over) line = { text: null, length: this.size };
    else if (this.parts.length === 1) line = { text: (this.parts[0] as Buffer).toString('latin1'), length: this.size };
    else line = { text: Buffer.concat(this.parts, this.size).toString('latin1'), length: this.size };
    this.parts = [];
    this.size = 0;
    this.over = false;
    return line;
  }

  /** The lines that `chunk` completes. */
  push(chunk: Buffer, lines: Line[]): void {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(10, start);
      const end = nl === -1 ? chunk.length : nl;
      if (!this.over) {
        if (this.size + (end - start) > this.keep) {
          this.over = true;
          this.parts = [];
        } else if (end > start) {
          this.parts.push(chunk.subarray(start, end));
        }
      }
      this.size += end - start;
      if (nl === -1) return;
      lines.push(this.take());
      start = nl + 1;
    }
  }

  /** The last line, when the input did not end with a newline. */
  end(): Line | null {
    return this.size > 0 || this.over ? this.take() : null;
  }
}

export async function verifyLines<C>(
  input: AsyncIterable<Buffer | string>,
  out: Writable,
  verify: (token: string) => Promise<C>,
  maxLength: number,
): Promise<BatchCounts> {
  const counts: BatchCounts = { total: 0, failed: 0 };
  const window: Promise<string>[] = [];
  let pending = '';
  const emit = async (line: string) => {
    pending += `${line}\n`;
    if (pending.length >= FLUSH_BYTES) {
      const chunk = pending;
      pending = '';
      await write(out, chunk);
    }
  };
  const fail = (line: number, err: unknown) => {
    counts.failed += 1;
    return JSON.stringify({ line, valid: false, error: errorJson(err) });
  };
  const start = (raw: Line) => {
    counts.total += 1;
    const line = counts.total;
    const text = raw.text?.trim();
    if (text === undefined) return Promise.resolve(fail(line, tokenTooLarge(raw.length)));
    return verify(text).then(
      (claims) => JSON.stringify({ line, valid: true, claims }),
      (err: unknown) => fail(line, err),
    );
  };
  const splitter = new LineSplitter(maxLength);
  const lines: Line[] = [];
  for await (const chunk of input) {
    splitter.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk, lines);
    for (const raw of lines) {
      window.push(start(raw));
      if (window.length >= BATCH_WINDOW) await emit(await (window.shift() as Promise<string>));
    }
    lines.length = 0;
  }
  const last = splitter.end();
  if (last) window.push(start(last));
  while (window.length > 0) await emit(await (window.shift() as Promise<string>));
  if (pending) await write(out, pending);
  return counts;
}
