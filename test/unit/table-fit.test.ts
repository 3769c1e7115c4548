/** The fitting of tables to the terminal (issue 13 item 3): widths, cutting, dropping, records, matrix chunks. */
import { describe, expect, it } from 'vitest';
import {
  boxedWidth,
  displayWidth,
  fitTable,
  matrixChunks,
  renderBoxed,
  renderRecords,
  truncate,
  wrap,
  type Column,
} from '../../src/cli/table-fit.js';

const widest = (lines: string[]) => Math.max(...lines.map(displayWidth));

describe('display width', () => {
  it('counts terminal columns, not UTF-16 units or code points', () => {
    expect(displayWidth('alice')).toBe(5);
    expect(displayWidth('日本語')).toBe(6);
    expect(displayWidth('한국')).toBe(4);
    expect(displayWidth('ｆｕｌｌ')).toBe(8);
    expect(displayWidth('e\u0301')).toBe(1); // e + combining acute
    expect(displayWidth('😀')).toBe(2); // two UTF-16 units, two columns
    expect(displayWidth('\u001b[1mbold\u001b[22m')).toBe(4);
    expect(displayWidth('a\u200bb')).toBe(2);
    expect(displayWidth('●')).toBe(1);
  });

  it('truncates to a width with an ellipsis, never splitting a wide character over the edge', () => {
    expect(truncate('abcdef', 6)).toBe('abcdef');
    expect(truncate('abcdefg', 6)).toBe('abcde…');
    expect(truncate('日本語テキスト', 6)).toBe('日本…');
    expect(displayWidth(truncate('日本語テキスト', 6))).toBeLessThanOrEqual(6);
    expect(displayWidth(truncate('日本語テキスト', 5))).toBeLessThanOrEqual(5);
    expect(truncate('\u001b[31mredredred\u001b[39m', 4)).toBe('red…');
  });

  it('wraps by display width and loses nothing', () => {
    expect(wrap('abcdefgh', 3)).toEqual(['abc', 'def', 'gh']);
    expect(wrap('日本語テ', 5)).toEqual(['日本', '語テ']);
    expect(wrap('日本語テ', 5).join('')).toBe('日本語テ');
  });
});

describe('fitTable', () => {
  const columns: Column[] = [
    { header: 'username' },
    { header: 'email', shrink: true, minWidth: 10 },
    { header: 'full name', shrink: true, optional: true },
    { header: 'created', optional: true },
  ];
  const rows = [
    ['alice', 'alice.longname@example.com', 'Alice Wonderland-Longname', '2026-12-05 02:04 UTC'],
    ['bob', 'bob@example.com', '', '2026-12-05 02:04 UTC'],
  ];

  it('keeps the natural widths when the table fits', () => {
    const layout = fitTable(columns, rows, 200);
    expect(layout).toEqual({ kind: 'table', keep: [0, 1, 2, 3], widths: [8, 26, 25, 20] });
  });

  it('cuts the widest free-text column first, to exactly the width', () => {
    const natural = boxedWidth([8, 26, 25, 20]);
    const layout = fitTable(columns, rows, natural - 4);
    expect(layout).toEqual({ kind: 'table', keep: [0, 1, 2, 3], widths: [8, 23, 24, 20] });
    if (layout.kind !== 'table') throw new Error('not a table');
    const lines = renderBoxed(columns, rows, layout);
    expect(lines.every((l) => displayWidth(l) === natural - 4)).toBe(true);
    expect(lines.join('\n')).toContain('alice.longname@example…');
  });

  it('drops optional columns, the rightmost first, once cutting is not enough', () => {
    const layout = fitTable(columns, rows, 60);
    if (layout.kind !== 'table') throw new Error('not a table');
    expect(layout.keep).toEqual([0, 1, 2]);
    expect(boxedWidth(layout.widths)).toBeLessThanOrEqual(60);
    const narrow = fitTable(columns, rows, 30);
    if (narrow.kind !== 'table') throw new Error('not a table');
    expect(narrow.keep).toEqual([0, 1]);
    expect(widest(renderBoxed(columns, rows, narrow))).toBeLessThanOrEqual(30);
  });

  it('drops the highest optional rank first, then the rightmost', () => {
    const ranked: Column[] = [{ header: 'a' }, { header: 'b', optional: 2 }, { header: 'c', optional: true }, { header: 'd', optional: true }];
    const r = [['aaaaaaaaaa', 'bbbbbbbbbb', 'cccccccccc', 'dddddddddd']];
    const layout = (width: number) => {
      const l = fitTable(ranked, r, width);
      return l.kind === 'table' ? l.keep : l.kind;
    };
    expect(layout(boxedWidth([10, 10, 10, 10]))).toEqual([0, 1, 2, 3]);
    expect(layout(boxedWidth([10, 10, 10]))).toEqual([0, 2, 3]);
    expect(layout(boxedWidth([10, 10]))).toEqual([0, 2]);
    expect(layout(boxedWidth([10]))).toEqual([0]);
    expect(layout(boxedWidth([10]) - 1)).toBe('records');
  });

  it('shows records when even the required columns at their floor do not fit; nothing is cut', () => {
    expect(fitTable(columns, rows, 20)).toEqual({ kind: 'records' });
    const lines = renderRecords(columns, rows, 30);
    expect(widest(lines)).toBeLessThanOrEqual(30);
    expect(lines.join('').replace(/\s/g, '')).toContain('alice.longname@example.com'.slice(0, 18));
    // Every value is there whole once the wrapped lines are joined.
    const joined = lines.map((l) => l.slice(11)).join('');
    expect(joined).toContain('alice.longname@example.com');
    expect(joined).toContain('Alice Wonderland-Longname');
    expect(lines.filter((l) => l.startsWith('─[ '))).toHaveLength(2);
  });

  it('measures wide characters: a CJK name makes the column twice as wide as its length', () => {
    const cjk = [['日本語ユーザー', 'x@example.com', '', '']];
    const layout = fitTable(columns, cjk, 200);
    if (layout.kind !== 'table') throw new Error('not a table');
    expect(layout.widths[0]).toBe(14);
    const lines = renderBoxed(columns, cjk, layout);
    expect(new Set(lines.map(displayWidth)).size).toBe(1); // every line as wide as the rule
  });

  it('compact rows: one line per row, no separators between them', () => {
    const layout = fitTable(columns, rows, 200);
    if (layout.kind !== 'table') throw new Error('not a table');
    const lines = renderBoxed(columns, rows, layout);
    expect(lines).toHaveLength(3 + rows.length + 1);
    expect(lines.filter((l) => l.startsWith('├'))).toHaveLength(1);
  });
});

describe('matrixChunks', () => {
  it('puts as many group columns beside the label column as fit, every chunk within the width', () => {
    const natural = [30, ...Array.from({ length: 12 }, () => 9)];
    const { chunks, widths } = matrixChunks(natural, 80);
    expect(chunks.length).toBeGreaterThan(1);
    expect(chunks.flatMap((c) => c.slice(1))).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));
    for (const c of chunks) {
      expect(c[0]).toBe(0);
      expect(boxedWidth(c.map((i) => widths[i] as number))).toBeLessThanOrEqual(80);
    }
    // Full chunks: the next column would not have fitted.
    const first = chunks[0] as number[];
    expect(boxedWidth([...first, 1].map((i) => widths[i] as number))).toBeGreaterThan(80);
  });

  it('cuts a long label column and a long group name so that one group always fits', () => {
    const { chunks, widths } = matrixChunks([200, 150, 5], 80);
    for (const c of chunks) expect(boxedWidth(c.map((i) => widths[i] as number))).toBeLessThanOrEqual(80);
    expect(chunks.flatMap((c) => c.slice(1))).toEqual([1, 2]);
  });

  it('one chunk when everything fits', () => {
    expect(matrixChunks([20, 7, 7, 7], 120).chunks).toEqual([[0, 1, 2, 3]]);
  });
});
