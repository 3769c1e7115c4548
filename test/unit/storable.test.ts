import fc from 'fast-check';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { limitLineLength, OVERLONG_LINE } from '../../src/core/bulk/line-limit.js';
import { jsonProblem, MAX_JSON_BYTES, MAX_JSON_DEPTH, textProblem } from '../../src/core/storable.js';

describe('textProblem', () => {
  it('NUL and unpaired surrogates are problems; paired ones and everything else are not', () => {
    expect(textProblem('a\u0000b')).toMatch(/NUL/);
    expect(textProblem('\ud800')).toMatch(/surrogate/);
    expect(textProblem('x\udc00')).toMatch(/surrogate/);
    expect(textProblem('\udc00\ud800')).toMatch(/surrogate/);
    for (const ok of ['', 'plain', '😀', 'é\u0001\u007f\ufffd', '\ud83d\ude00\ud83d\ude00']) expect(textProblem(ok)).toBeNull();
  });
});

describe('jsonProblem', () => {
  const nest = (levels: number) => {
    let v: unknown = {};
    for (let i = 1; i < levels; i += 1) v = { a: v };
    return v;
  };
  it(`depth: ${MAX_JSON_DEPTH} levels are fine, one more is not, and 100,000 are refused without recursion`, () => {
    expect(jsonProblem(nest(MAX_JSON_DEPTH))).toBeNull();
    expect(jsonProblem(nest(MAX_JSON_DEPTH + 1))).toMatch(/nested more than/);
    expect(jsonProblem(nest(100_000))).toMatch(/nested more than/);
  });
  it('size, NUL in a key or a nested string, a surrogate', () => {
    expect(jsonProblem({ k: 'x'.repeat(MAX_JSON_BYTES) })).toMatch(/longer than/);
    expect(jsonProblem({ k: 'é'.repeat(MAX_JSON_BYTES / 2) })).toMatch(/longer than/);
    expect(jsonProblem({ k: 'x'.repeat(MAX_JSON_BYTES - 100) })).toBeNull();
    expect(jsonProblem({ ['a\u0000']: 1 })).toMatch(/key that contains a NUL/);
    expect(jsonProblem({ a: [1, { b: ['\u0000'] }] })).toMatch(/string that contains a NUL/);
    expect(jsonProblem({ a: '\ud800' })).toMatch(/surrogate/);
  });
});

describe('limitLineLength', () => {
  async function through(chunks: string[], max: number): Promise<string> {
    const out: Buffer[] = [];
    for await (const c of Readable.from(chunks.map((c) => Buffer.from(c))).pipe(limitLineLength(max))) out.push(c as Buffer);
    return Buffer.concat(out).toString();
  }
  it('passes lines up to the limit as they are and replaces longer ones, however the bytes are chunked', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', 'é'), maxLength: 12 }), { maxLength: 8 }), fc.boolean(), fc.integer({ min: 1, max: 5 }), async (lines, trailing, cut) => {
        const text = lines.join('\n') + (trailing && lines.length > 0 ? '\n' : '');
        const bytes = Buffer.from(text);
        const chunks: string[] = [];
        for (let i = 0; i < bytes.length; i += cut) chunks.push(bytes.subarray(i, i + cut).toString('latin1'));
        const out: Buffer[] = [];
        for await (const c of Readable.from(chunks.map((c) => Buffer.from(c, 'latin1'))).pipe(limitLineLength(8))) out.push(c as Buffer);
        const expected = text
          .split('\n')
          .map((l) => (Buffer.byteLength(l) > 8 ? OVERLONG_LINE : l))
          .join('\n');
        expect(Buffer.concat(out).toString()).toBe(expected);
      }),
      { numRuns: 500 },
    );
    expect(await through(['abc\n', 'defghijkl', 'mn\nxy'], 8)).toBe(`abc\n${OVERLONG_LINE}\nxy`);
  });
});
