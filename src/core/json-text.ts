/**
 * JSON documents as people edit them: a byte-order mark is accepted, and a syntax error says where
 * (1-based line and column) and what, so a fixture or import file can be fixed without guessing.
 * JSON paths (`$[2].data.email`) name values inside a document.
 */
import { jsonVerifier } from 'stream-json/core/utils/verifier.js';
import { none } from 'stream-chain/defs.js';

export interface JsonSyntaxError {
  message: string;
  line: number;
  column: number;
}

export type JsonParse = { ok: true; value: unknown } | { ok: false; error: JsonSyntaxError };

/** Line and column (1-based) of a character offset. */
export function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) {
    line += 1;
    start = i + 1;
  }
  return { line, column: offset - start + 1 };
}

/** Where the verifier stops: it reports the exact position of the first syntax error. */
function locate(text: string): JsonSyntaxError | null {
  const verify = jsonVerifier() as unknown as (chunk: unknown) => unknown;
  try {
    verify(text);
    verify(none);
    return null;
  } catch (err) {
    const e = err as { offset?: number; message?: string };
    const offset = typeof e.offset === 'number' ? e.offset : text.length;
    const what = (e.message ?? '').replace(/^ERROR at \d+ \(\d+, \d+\): /, '').replace(/^Verifier (cannot parse input: |has )/, '');
    return { message: what || 'invalid JSON', ...lineColumn(text, offset) };
  }
}

/** Parse a whole document; a leading BOM is dropped. */
export function parseJsonText(raw: string): JsonParse {
  const text = raw.charCodeAt(0) === 0xfeff ? raw.slice(1) : raw;
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (err) {
    const located = locate(text);
    if (located) return { ok: false, error: located };
    // The verifier accepted what JSON.parse refused (should not happen): fall back to V8's position.
    const m = /position (\d+)/.exec((err as Error).message);
    const offset = m ? Number(m[1]) : text.length;
    return { ok: false, error: { message: (err as Error).message, ...lineColumn(text, offset) } };
  }
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `base` extended by an object key or an array index: `$.data.email`, `$[3]`, `$["odd key"]`. */
export function jsonPath(base: string, step: string | number): string {
  if (typeof step === 'number') return `${base}[${step}]`;
  return IDENTIFIER.test(step) ? `${base}.${step}` : `${base}[${JSON.stringify(step)}]`;
}
