/**
 * `token verify --batch`: tokens stream in from stdin, one per line, are verified in batches of
 * lines, and one JSON line per token streams out in input order. With threads allowed and more
 * than one batch of input, a pool of worker threads (token-verify-pool.ts) verifies batches too and
 * returns their output already serialised; this thread verifies a batch itself only when no worker
 * has room (and while they start), so with N threads it is one of the N. A bounded number of
 * batches is in flight. Memory stays bounded however many tokens come in, and however long a line
 * is: a line longer than the token size limit is answered `auth.token.too_large` without being
 * kept. stdout back-pressure is respected, and answers go out while the input pauses.
 *
 * Every line is a token: an empty or blank line is an invalid token on its line (a gap in a list
 * of tokens is a token that is missing, not nothing). A final newline ends the last line; it does
 * not start another one.
 */
import { isKaijuAuthError } from '../errors.js';
import type { TokenVerifier } from '../core/tokens/token-verifier.js';
import { tokenTooLarge } from '../core/tokens/verify-checks.js';

/** Lines a batch holds: enough to make a message to a worker cheap, few enough to spread the work. */
export const BATCH_LINES = 512;
/** Batches in flight per thread verifying them (so a worker never waits for its next one). */
export const BATCHES_PER_THREAD = 2;

export interface BatchCounts {
  /** Lines read, each one a token. */
  total: number;
  failed: number;
}

/**
 * Lines of one batch: the bytes of the lines it keeps, each followed by a newline, and per line
 * where its bytes end in `data` (its start is just after the previous kept line's end), or, for a
 * line too long to keep, -(its length + 1).
 */
export interface LineBatch {
  /** Line number of the first line (from 1). */
  first: number;
  data: Uint8Array;
  ends: Float64Array;
}

/** One batch verified: a JSON line per token (each ending in a newline), and how many failed. */
export interface BatchResult {
  output: string | Uint8Array;
  failed: number;
}

/** Verifies batches elsewhere (worker threads), in any order; `close` stops them all. */
export interface BatchRunner {
  readonly threads: number;
  /**
   * True when a worker can take a batch now (started, and fewer than BATCHES_PER_THREAD in flight
   * on it); otherwise this thread verifies the batch itself.
   */
  readonly hasRoom: boolean;
  run(batch: LineBatch): Promise<BatchResult>;
  close(): Promise<void>;
}

type Writable = NodeJS.WritableStream;

function write(out: Writable, data: string | Uint8Array): Promise<void> | undefined {
  if (out.write(data)) return undefined;
  return new Promise((resolve) => out.once('drain', () => resolve()));
}

function errorJson(err: unknown) {
  if (isKaijuAuthError(err)) return { code: err.code, message: err.message };
  return { code: 'internal', message: err instanceof Error ? err.message : String(err) };
}

const NEWLINE = Buffer.from('\n');

/**
 * Splits bytes into batches of lines, keeping at most `maxLength` bytes of a line (plus a CR).
 * Whole lines inside one chunk are kept as slices of it, copied once into their batch.
 */
export class BatchSplitter {
  private parts: Uint8Array[] = [];
  private size = 0;
  private ends: number[] = [];
  private next = 1;
  /** The line being read across chunks: its kept pieces, its length so far, whether it is over. */
  private lineParts: Uint8Array[] = [];
  private lineSize = 0;
  private over = false;
  private readonly keep: number;
  private readonly lines: number;

  constructor(maxLength: number, linesPerBatch = BATCH_LINES) {
    this.keep = maxLength + 1;
    this.lines = linesPerBatch;
  }

  /** The batches that `chunk` completes. */
  push(chunk: Buffer, out: LineBatch[]): void {
    let start = 0;
    let run = -1;
    const flushRun = (to: number) => {
      if (run >= 0 && to > run) this.parts.push(chunk.subarray(run, to));
      run = -1;
    };
    for (;;) {
      const nl = chunk.indexOf(10, start);
      if (nl !== -1 && this.lineSize === 0 && !this.over && nl - start <= this.keep) {
        // A whole line inside this chunk: part of a run of such lines, sliced out at once.
        if (run < 0) run = start;
        this.size += nl - start + 1;
        this.ends.push(this.size - 1);
      } else {
        flushRun(start);
        this.addPiece(chunk, start, nl === -1 ? chunk.length : nl);
        if (nl === -1) return;
        this.endLine();
      }
      start = nl + 1;
      if (this.ends.length >= this.lines) {
        flushRun(start);
        out.push(this.take());
      }
    }
  }

  /** The last batch, when lines are left (the last one may lack its newline). */
  end(): LineBatch | null {
    if (this.lineSize > 0 || this.over) this.endLine();
    return this.ends.length > 0 ? this.take() : null;
  }

  private addPiece(chunk: Buffer, start: number, end: number): void {
    if (!this.over) {
      if (this.lineSize + (end - start) > this.keep) {
        this.over = true;
        this.lineParts = [];
      } else if (end > start) {
        this.lineParts.push(chunk.subarray(start, end));
      }
    }
    this.lineSize += end - start;
  }

  private endLine(): void {
    if (this.over) {
      this.ends.push(-(this.lineSize + 1));
    } else {
      this.parts.push(...this.lineParts, NEWLINE);
      this.size += this.lineSize + 1;
      this.ends.push(this.size - 1);
    }
    this.lineParts = [];
    this.lineSize = 0;
    this.over = false;
  }

  private take(): LineBatch {
    // A buffer of its own (never a slice of Node's shared pool): it is handed over to a worker.
    const data = Buffer.allocUnsafeSlow(this.size);
    let at = 0;
    for (const p of this.parts) {
      data.set(p, at);
      at += p.length;
    }
    const batch = { first: this.next, data, ends: Float64Array.from(this.ends) };
    this.next += this.ends.length;
    this.parts = [];
    this.size = 0;
    this.ends = [];
    return batch;
  }
}

/** The bytes whose latin1 characters String#trim removes: tab to CR, space, no-break space. */
function isSpace(byte: number): boolean {
  return (byte >= 0x09 && byte <= 0x0d) || byte === 0x20 || byte === 0xa0;
}

/**
 * Verify one batch: a JSON line per token, in order. A token the verifier can answer at once is
 * answered at once; the others (failures, a first sight of a header) are awaited together.
 */
export async function verifyBatch(batch: LineBatch, verifier: TokenVerifier): Promise<{ output: string; failed: number }> {
  const data = Buffer.from(batch.data.buffer, batch.data.byteOffset, batch.data.byteLength);
  // The batch as latin1 text, once: each token is a slice of it.
  const text = data.toString('latin1');
  const out: (string | Promise<string>)[] = [];
  let failed = 0;
  let waiting = false;
  const fail = (line: number, err: unknown) => {
    failed += 1;
    return JSON.stringify({ line, valid: false, error: errorJson(err) });
  };
  let pos = 0;
  for (let i = 0; i < batch.ends.length; i += 1) {
    const line = batch.first + i;
    const end = batch.ends[i] as number;
    if (end < 0) {
      out.push(fail(line, tokenTooLarge(-end - 1)));
      continue;
    }
    // Trimmed as String#trim would trim its latin1 text (the token's bytes are verified in place).
    let from = pos;
    let to = end;
    while (from < to && isSpace(data[from] as number)) from += 1;
    while (to > from && isSpace(data[to - 1] as number)) to -= 1;
    pos = end + 1;
    const json = verifier.verifyKnownIn(text, data, from, to, Date.now());
    if (json !== undefined) {
      out.push(`{"line":${line},"valid":true,"claims":${json}}`);
    } else {
      waiting = true;
      out.push(
        verifier.verify(text.slice(from, to)).then(
          (c) => JSON.stringify({ line, valid: true, claims: c }),
          (err: unknown) => fail(line, err),
        ),
      );
    }
  }
  const lines = waiting ? await Promise.all(out) : (out as string[]);
  return { output: `${lines.join('\n')}\n`, failed };
}

export interface VerifyLinesOptions {
  maxLength: number;
  /** Verifies batches on this thread (small inputs, or no runner). */
  verifier: TokenVerifier;
  /** Starts the worker pool, once the input turns out to be more than one batch; null: this thread only. */
  startRunner?: (() => BatchRunner) | null;
  linesPerBatch?: number;
}

export async function verifyLines(input: AsyncIterable<Buffer | string>, out: Writable, options: VerifyLinesOptions): Promise<BatchCounts> {
  const counts: BatchCounts = { total: 0, failed: 0 };
  const splitter = new BatchSplitter(options.maxLength, options.linesPerBatch);
  const window: Promise<BatchResult>[] = [];
  let runner: BatchRunner | null = null;
  let limit = BATCHES_PER_THREAD;
  const settle = async () => {
    const result = await (window.shift() as Promise<BatchResult>);
    counts.failed += result.failed;
    await write(out, result.output);
  };
  const start = (batch: LineBatch, last: boolean) => {
    // The first batch decides: a whole one with more to come starts the workers (their start-up
    // costs tens of ms: not worth it for a few hundred tokens).
    if (runner === null && !last && counts.total === 0 && options.startRunner) {
      runner = options.startRunner();
      limit = BATCHES_PER_THREAD * (runner.threads + 1);
    }
    counts.total += batch.ends.length;
    // This thread verifies too, whenever no worker has room (and while they start).
    window.push(runner?.hasRoom ? runner.run(batch) : verifyBatch(batch, options.verifier));
  };
  const chunks = input[Symbol.asyncIterator]();
  try {
    const batches: LineBatch[] = [];
    let next = chunks.next();
    for (;;) {
      // Output that is ready goes out while the input pauses (a slow producer still sees answers).
      const head = window[0];
      const got = head ? await Promise.race([next, head.then(() => null)]) : await next;
      if (got === null) {
        await settle();
        continue;
      }
      if (got.done) break;
      const chunk = got.value;
      splitter.push(typeof chunk === 'string' ? Buffer.from(chunk, 'latin1') : chunk, batches);
      for (const batch of batches) {
        start(batch, false);
        while (window.length >= limit) await settle();
      }
      batches.length = 0;
      next = chunks.next();
    }
    const last = splitter.end();
    if (last) start(last, true);
    while (window.length > 0) await settle();
  } finally {
    // Settle what is still in flight after a failure, so no rejection goes unhandled.
    for (const pending of window) pending.catch(() => undefined);
    await (runner as BatchRunner | null)?.close();
  }
  return counts;
}
