import { describe, expect, it } from 'vitest';
import { mergeSorted } from '../../src/core/user-permissions.js';

describe('mergeSorted (effective permissions from per-group rows)', () => {
  it('is the sorted union without duplicates', () => {
    expect(mergeSorted([])).toEqual([]);
    expect(mergeSorted([[]])).toEqual([]);
    expect(mergeSorted([['a', 'c']])).toEqual(['a', 'c']);
    expect(mergeSorted([['a', 'c', 'e'], ['b', 'c'], [], ['a', 'z']])).toEqual(['a', 'b', 'c', 'e', 'z']);
  });

  it('matches a set and a sort on random lists', () => {
    for (let round = 0; round < 200; round++) {
      const lists = Array.from({ length: 1 + (round % 6) }, () =>
        [...new Set(Array.from({ length: round % 40 }, () => `p.${Math.floor(Math.random() * 60)}`))].sort(),
      );
      expect(mergeSorted(lists)).toEqual([...new Set(lists.flat())].sort());
    }
  });

  it('falls back to sorting when the rows are not in JavaScript order', () => {
    // Byte order puts U+FF5E before U+1F600; UTF-16 code units do not.
    const lists = [['a', '\u{1F600}', '\uFF5E'], ['\uFF5E', 'b']];
    expect(mergeSorted(lists)).toEqual([...new Set(lists.flat())].sort());
    expect(mergeSorted([['b', 'a']])).toEqual(['a', 'b']);
  });
});
