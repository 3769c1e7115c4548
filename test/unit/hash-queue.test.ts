import { describe, expect, it } from 'vitest';
import { HashQueue } from '../../src/core/hash-queue.js';
import type { PasswordHasher } from '../../src/core/passwords.js';
import { jsonPath, lineColumn, parseJsonText } from '../../src/core/json-text.js';

/** A hasher whose jobs finish when told to, recording how many run at once. */
function gatedHasher() {
  let running = 0;
  let peak = 0;
  const gates: (() => void)[] = [];
  const job = async () => {
    running += 1;
    peak = Math.max(peak, running);
    await new Promise<void>((resolve) => gates.push(resolve));
    running -= 1;
  };
  const hasher: PasswordHasher = {
    async hash() {
      await job();
      return { hash: Buffer.from('h'), salt: Buffer.from('s') };
    },
    async verify() {
      await job();
      return true;
    },
  };
  const tick = () => new Promise((r) => setTimeout(r, 0));
  return { hasher, gates, peak: () => peak, running: () => running, tick };
}

describe('HashQueue', () => {
  it('keeps exactly `concurrency` jobs running until the queue drains', async () => {
    const g = gatedHasher();
    const q = new HashQueue({ hasher: g.hasher, rounds: 4, concurrency: 3 });
    const all = Promise.all(Array.from({ length: 10 }, (_, i) => (i % 2 ? q.hash('x') : q.verify('x', 'y'))));
    await g.tick();
    expect(g.running()).toBe(3);
    for (let done = 0; done < 10; done++) {
      g.gates.shift()?.();
      await g.tick();
      expect(g.running()).toBe(Math.min(3, 10 - done - 1));
    }
    await all;
    expect(g.peak()).toBe(3);
  });

  it('a failing job frees its slot', async () => {
    const q = new HashQueue({
      rounds: 4,
      concurrency: 1,
      hasher: { hash: async () => Promise.reject(new Error('boom')), verify: async () => true },
    });
    await expect(q.hash('x')).rejects.toThrow('boom');
    await expect(q.verify('x', 'y')).resolves.toBe(true);
  });
});

describe('JSON text', () => {
  it('locates syntax errors by line and column, after a BOM too', () => {
    expect(parseJsonText('[1, 2,\n  3,, 4]')).toMatchObject({ ok: false, error: { line: 2, column: 5 } });
    expect(parseJsonText('\uFEFF{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
    expect(parseJsonText('')).toMatchObject({ ok: false, error: { line: 1, column: 1 } });
    expect(parseJsonText('[1')).toMatchObject({ ok: false, error: { line: 1 } });
  });
  it('line/column and JSON paths', () => {
    expect(lineColumn('ab\ncd\nef', 7)).toEqual({ line: 3, column: 2 });
    expect(jsonPath(jsonPath(jsonPath('$', 2), 'data'), 'odd key')).toBe('$[2].data["odd key"]');
  });
});
