/**
 * Text files (import files, fixtures) must be UTF-8: a byte sequence that is not is reported with
 * its line, never decoded as U+FFFD (which would import `j\uFFFDrg` for a Latin-1 `jörg`, and let
 * two different broken names collide or pass as one).
 */
import { isUtf8 } from 'node:buffer';

const LF = 0x0a;

/** The first line (counted from `firstLine`) of `bytes` that is not UTF-8, or null. */
export function invalidUtf8Line(bytes: Uint8Array, firstLine = 1): number | null {
  if (isUtf8(bytes)) return null;
  let line = firstLine;
  let start = 0;
  for (;;) {
    const end = bytes.indexOf(LF, start);
    if (!isUtf8(bytes.subarray(start, end < 0 ? bytes.length : end))) return line;
    if (end < 0) return line; // not reached: the whole was invalid, so some line is
    start = end + 1;
    line += 1;
  }
}

/** How many bytes at the end of `bytes` begin a UTF-8 sequence that the next chunk completes. */
function incompleteTail(bytes: Uint8Array): number {
  const n = bytes.length;
  for (let back = 1; back <= Math.min(3, n); back++) {
    const b = bytes[n - back] as number;
    if ((b & 0xc0) === 0x80) continue; // a continuation byte: look further back
    const size = b >= 0xf0 ? 4 : b >= 0xe0 ? 3 : b >= 0xc0 ? 2 : 1;
    return size > back ? back : 0;
  }
  return 0;
}

function countLines(bytes: Uint8Array): number {
  let n = 0;
  for (let p = bytes.indexOf(LF); p !== -1; p = bytes.indexOf(LF, p + 1)) n += 1;
  return n;
}

/**
 * A file's bytes checked as they come, a chunk at a time, in constant memory: `badLine` is the
 * first line that is not UTF-8 (a sequence cut at a chunk's end is completed by the next one).
 */
export class Utf8Checker {
  badLine: number | null = null;
  private carry: Buffer = Buffer.alloc(0);
  private line = 1;

  push(chunk: Buffer): void {
    if (this.badLine !== null) return;
    const bytes = this.carry.length > 0 ? Buffer.concat([this.carry, chunk]) : chunk;
    const tail = incompleteTail(bytes);
    const whole = bytes.subarray(0, bytes.length - tail);
    this.badLine = invalidUtf8Line(whole, this.line);
    this.line += countLines(whole);
    this.carry = Buffer.from(bytes.subarray(bytes.length - tail));
  }

  /** At the end of the file: the bad line, if any (a sequence left incomplete counts). */
  end(): number | null {
    if (this.badLine === null && this.carry.length > 0) this.badLine = this.line;
    return this.badLine;
  }
}
