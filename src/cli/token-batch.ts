/**
 * `token verify --batch`: tokens stream in from stdin, one per line, are verified concurrently
 * (a bounded window in flight), and one JSON line per token streams out in input order. Memory
 * stays bounded however many tokens come in; stdout back-pressure is respected.
 */
import { createInterface } from 'node:readline';
import { isKaijuAuthError } from '../core/errors.js';

/** How many tokens are in flight at once: enough to keep libuv's crypto threads busy. */
export const BATCH_WINDOW = 1024;
const FLUSH_BYTES = 64 * 1024;

export interface BatchCounts {
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

export async function verifyLines<C>(
  input: NodeJS.ReadableStream,
  out: Writable,
  verify: (token: string) => Promise<C>,
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
  const lines = createInterface({ input, crlfDelay: Infinity });
  let lineNo = 0;
  for await (const raw of lines) {
    lineNo += 1;
    const token = raw.trim();
    if (token === '') continue;
    counts.total += 1;
    const line = lineNo;
    window.push(
      verify(token).then(
        (claims) => JSON.stringify({ line, valid: true, claims }),
        (err: unknown) => {
          counts.failed += 1;
          return JSON.stringify({ line, valid: false, error: errorJson(err) });
        },
      ),
    );
    if (window.length >= BATCH_WINDOW) await emit(await (window.shift() as Promise<string>));
  }
  while (window.length > 0) await emit(await (window.shift() as Promise<string>));
  if (pending) await write(out, pending);
  return counts;
}
