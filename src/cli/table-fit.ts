/**
 * Tables that fit the terminal (issue 13 item 3). Widths are display widths (a CJK character or an
 * emoji takes two columns, a combining accent none, colour codes none), never string lengths.
 *
 * A boxed table that is wider than the terminal is fitted in this order:
 * 1. the free-text columns (`shrink`) are cut, widest first, down to their floor, with `…`;
 * 2. optional columns are dropped, the highest `optional` first, then the rightmost (each drop
 *    restarts step 1);
 * 3. when even that does not fit, every row is shown as a record: one `column  value` line per
 *    column, long values wrapped, nothing cut.
 * Rows are compact: no separator line between them.
 */

export type Align = 'left' | 'right' | 'center';

export interface Column {
  header: string;
  align?: Align;
  /** Free text that may be cut with `…` to fit (descriptions, summaries, names). */
  shrink?: boolean;
  /**
   * May be left out when the table does not fit otherwise (shown again in the record layout); a
   * number says the order: the highest is dropped first (`true` is 1), the rightmost among equals.
   */
  optional?: boolean | number;
  /** The narrowest a shrinking column gets (default 12, never below its header). */
  minWidth?: number;
}

export type Layout = { kind: 'table'; keep: number[]; widths: number[] } | { kind: 'records' };

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;

export function stripAnsi(s: string): string {
  return s.replace(ANSI, '');
}

const ZERO_WIDTH = /^[\p{Mn}\p{Me}\p{Cf}\p{Cc}]$/u;
const WIDE_EMOJI = /^\p{Emoji_Presentation}$/u;

/** East Asian Wide and Fullwidth ranges (Unicode 15, the ones a terminal draws two columns wide). */
const WIDE_RANGES: [number, number][] = [
  [0x1100, 0x115f],
  [0x231a, 0x231b],
  [0x2329, 0x232a],
  [0x2e80, 0x303e],
  [0x3041, 0x33ff],
  [0x3400, 0x4dbf],
  [0x4e00, 0x9fff],
  [0xa000, 0xa4cf],
  [0xa960, 0xa97f],
  [0xac00, 0xd7a3],
  [0xf900, 0xfaff],
  [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f],
  [0xff00, 0xff60],
  [0xffe0, 0xffe6],
  [0x16fe0, 0x18cff],
  [0x1b000, 0x1b2ff],
  [0x1f200, 0x1f2ff],
  [0x20000, 0x3fffd],
];

/** Columns one character takes on a terminal: 0, 1 or 2. */
export function charWidth(ch: string): number {
  const cp = ch.codePointAt(0) as number;
  if (cp < 0x7f) return cp < 0x20 ? 0 : 1;
  if (ZERO_WIDTH.test(ch) || (cp >= 0x200b && cp <= 0x200f)) return 0;
  if (WIDE_EMOJI.test(ch)) return 2;
  for (const [lo, hi] of WIDE_RANGES) if (cp >= lo && cp <= hi) return 2;
  return 1;
}

/** The columns `s` takes on a terminal (colour codes take none). */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of stripAnsi(s)) w += charWidth(ch);
  return w;
}

/** `s` cut to at most `width` columns, ending in `…` when cut (colour dropped from a cut cell). */
export function truncate(s: string, width: number): string {
  if (displayWidth(s) <= width) return s;
  if (width <= 0) return '';
  let out = '';
  let w = 0;
  for (const ch of stripAnsi(s)) {
    const cw = charWidth(ch);
    if (w + cw > width - 1) break;
    out += ch;
    w += cw;
  }
  return `${out}…`;
}

/** `s` in lines of at most `width` columns (cut anywhere: the values are ids, JSON, dates). */
export function wrap(s: string, width: number): string[] {
  const plain = stripAnsi(s);
  if (displayWidth(plain) <= width || width <= 0) return [s];
  const lines: string[] = [];
  let line = '';
  let w = 0;
  for (const ch of plain) {
    const cw = charWidth(ch);
    if (w + cw > width) {
      lines.push(line);
      line = '';
      w = 0;
    }
    line += ch;
    w += cw;
  }
  if (line !== '') lines.push(line);
  return lines;
}

/** The width of a boxed table with these column widths: `│ a │ b │`. */
export function boxedWidth(widths: number[]): number {
  return 1 + widths.reduce((sum, w) => sum + w + 3, 0);
}

export function naturalWidths(columns: Column[], rows: string[][]): number[] {
  return columns.map((c, i) => Math.max(displayWidth(c.header), ...rows.map((r) => displayWidth(r[i] ?? ''))));
}

function floorOf(column: Column, natural: number): number {
  return Math.min(natural, Math.max(displayWidth(column.header), column.minWidth ?? 12));
}

/** Cut the shrinking columns of `keep`, widest first, until the table is `width` wide; null if it cannot be. */
function shrinkToFit(columns: Column[], natural: number[], keep: number[], width: number): number[] | null {
  const widths = keep.map((i) => natural[i] as number);
  let excess = boxedWidth(widths) - width;
  while (excess > 0) {
    let widest = -1;
    for (let k = 0; k < keep.length; k++) {
      const i = keep[k] as number;
      const column = columns[i] as Column;
      if (!column.shrink || (widths[k] as number) <= floorOf(column, natural[i] as number)) continue;
      if (widest < 0 || (widths[k] as number) > (widths[widest] as number)) widest = k;
    }
    if (widest < 0) return null;
    widths[widest] = (widths[widest] as number) - 1;
    excess--;
  }
  return widths;
}

/** How to show `rows` under `columns` in `width` terminal columns (see the module comment). */
export function fitTable(columns: Column[], rows: string[][], width: number): Layout {
  const natural = naturalWidths(columns, rows);
  const keep = columns.map((_, i) => i);
  for (;;) {
    const widths = shrinkToFit(columns, natural, keep, width);
    if (widths) return { kind: 'table', keep: [...keep], widths };
    let drop = -1;
    let rank = 0;
    for (let k = keep.length - 1; k >= 0; k--) {
      const r = Number(columns[keep[k] as number]?.optional ?? 0);
      if (r > rank) [drop, rank] = [k, r];
    }
    if (drop < 0) return { kind: 'records' };
    keep.splice(drop, 1);
  }
}

function pad(s: string, width: number, align: Align = 'left'): string {
  const room = Math.max(0, width - displayWidth(s));
  if (align === 'right') return ' '.repeat(room) + s;
  if (align === 'center') return ' '.repeat(Math.floor(room / 2)) + s + ' '.repeat(room - Math.floor(room / 2));
  return s + ' '.repeat(room);
}

/** A boxed table in the given layout: a header, a rule, then one line per row (compact). */
export function renderBoxed(columns: Column[], rows: string[][], layout: { keep: number[]; widths: number[] }, bold: (s: string) => string = (s) => s): string[] {
  const { keep, widths } = layout;
  const rule = (l: string, m: string, r: string) => l + widths.map((w) => '─'.repeat(w + 2)).join(m) + r;
  const line = (cells: string[], style: (s: string) => string) =>
    `│${keep.map((i, k) => ` ${style(pad(truncate(cells[i] ?? '', widths[k] as number), widths[k] as number, columns[i]?.align))} `).join('│')}│`;
  return [
    rule('┌', '┬', '┐'),
    line(
      columns.map((c) => c.header),
      bold,
    ),
    rule('├', '┼', '┤'),
    ...rows.map((r) => line(r, (s) => s)),
    rule('└', '┴', '┘'),
  ];
}

/** Every row as a record: a `─[ n ]─` line, then `column  value` lines, values wrapped to `width`. */
export function renderRecords(columns: Column[], rows: string[][], width: number, dim: (s: string) => string = (s) => s): string[] {
  const keyWidth = Math.max(...columns.map((c) => displayWidth(c.header)));
  const valueWidth = Math.max(10, width - keyWidth - 2);
  const lines: string[] = [];
  rows.forEach((row, n) => {
    const head = `─[ ${n + 1} ]`;
    lines.push(dim(head + '─'.repeat(Math.max(0, Math.min(width, 40) - displayWidth(head)))));
    columns.forEach((c, i) => {
      const parts = wrap(row[i] ?? '', valueWidth);
      parts.forEach((part, p) => lines.push(`${pad(p === 0 ? c.header : '', keyWidth)}  ${part}`));
    });
  });
  return lines;
}

/**
 * A matrix (a label column, then one narrow column per group) cut into chunks of columns that fit
 * `width`: the label column is cut to leave room for at least one more, each chunk is the label
 * column and as many columns as fit. Returns the chunks' column indexes (0 is the label column)
 * and the label column's width.
 */
export function matrixChunks(natural: number[], width: number): { labelWidth: number; chunks: number[][]; widths: number[] } {
  const [label = 0, ...rest] = natural;
  const narrowest = rest.length === 0 ? 0 : Math.min(...rest);
  // At least one more column beside it (cut to the room left, if need be); never below 12.
  const labelWidth = Math.max(Math.min(label, 12), Math.min(label, width - boxedWidth([0, Math.min(narrowest, 12)])));
  const room = width - boxedWidth([labelWidth]);
  // A column header wider than the whole room is cut to it.
  const widths = [labelWidth, ...rest.map((w) => Math.max(1, Math.min(w, room - 3)))];
  const chunks: number[][] = [];
  let chunk: number[] = [];
  let used = 0;
  for (let i = 1; i < widths.length; i++) {
    const w = (widths[i] as number) + 3;
    if (chunk.length > 0 && used + w > room) {
      chunks.push(chunk);
      chunk = [];
      used = 0;
    }
    chunk.push(i);
    used += w;
  }
  if (chunk.length > 0) chunks.push(chunk);
  return { labelWidth, chunks: chunks.map((c) => [0, ...c]), widths };
}
