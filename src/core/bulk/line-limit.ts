/**
 * Lines of a JSON Lines file no longer than MAX_LINE_BYTES, whatever the file holds: readline keeps
 * a whole line in memory, so one line of hundreds of megabytes (a broken export, a hostile file)
 * would exhaust it or the longest string V8 can make. A longer line reaches the reader as the
 * OVERLONG_LINE marker instead, at most MAX_LINE_BYTES of it having been held meanwhile, and is
 * reported as that row's problem (exit 6) like any other.
 */
import { Transform, type TransformCallback } from 'node:stream';

/** The longest line (one user record) read from a JSON Lines file: 1 MiB, as a CSV record. */
export const MAX_LINE_BYTES = 1 << 20;

/** What a line longer than the limit becomes (a NUL never starts a line of JSON). */
export const OVERLONG_LINE = '\u0000kaiju-auth: line too long\u0000';

const NEWLINE = 0x0a;
const MARKER = Buffer.from(`${OVERLONG_LINE}\n`);

/** A byte stream with every line longer than `max` bytes (its line break aside) replaced by OVERLONG_LINE. */
export function limitLineLength(max = MAX_LINE_BYTES): Transform {
  let held: Buffer[] = [];
  let heldBytes = 0;
  let overlong = false;
  return new Transform({
    transform(chunk: Buffer, _encoding: BufferEncoding, done: TransformCallback) {
      const out: Buffer[] = [];
      let start = 0;
      while (start < chunk.length) {
        const nl = chunk.indexOf(NEWLINE, start);
        const end = nl === -1 ? chunk.length : nl + 1;
        const piece = chunk.subarray(start, end);
        const content = heldBytes + piece.length - (nl === -1 ? 0 : 1);
        if (!overlong && content > max) {
          overlong = true;
          held = [];
          heldBytes = 0;
        }
        if (nl === -1) {
          if (!overlong) {
            held.push(piece);
            heldBytes += piece.length;
          }
          break;
        }
        if (overlong) out.push(MARKER);
        else out.push(...held, piece);
        held = [];
        heldBytes = 0;
        overlong = false;
        start = end;
      }
      done(null, out.length === 0 ? undefined : Buffer.concat(out));
    },
    flush(done: TransformCallback) {
      done(null, overlong ? Buffer.from(OVERLONG_LINE) : heldBytes > 0 ? Buffer.concat(held) : undefined);
    },
  });
}
