/**
 * Everything the CLI writes. stdout carries results only: with `--json`, exactly one JSON
 * document; otherwise tables (boxed, fitted to the width and coloured on a TTY, aligned plain text when
 * piped) and lines. stderr carries notices (silenced by `--quiet`) and errors.
 */
import { Chalk, type ChalkInstance } from 'chalk';
import { displayWidth, fitTable, matrixChunks, naturalWidths, renderBoxed, renderRecords, type Align, type Column } from './table-fit.js';

export interface OutputStreams {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
}

export interface OutputOptions {
  json: boolean;
  quiet: boolean;
  color: boolean;
}

export type Cell = string | number | boolean | null | undefined | Date;

export interface TableOptions {
  /** Per-column alignment; default left. */
  align?: Align[];
  /**
   * Per column, how it may be fitted to the terminal (see table-fit.ts): `shrink` (free text, cut
   * with `…`), `optional` (dropped when the table does not fit otherwise), `minWidth`.
   */
  fit?: (Pick<Column, 'shrink' | 'optional' | 'minWidth'> | undefined)[];
}

export class Output {
  readonly c: ChalkInstance;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly isTTY: boolean;
  private readonly streams: OutputStreams;

  constructor(streams: OutputStreams, options: OutputOptions) {
    this.streams = streams;
    this.json = options.json;
    this.quiet = options.quiet;
    this.isTTY = !!streams.stdout.isTTY;
    this.c = new Chalk({ level: options.color ? 1 : 0 });
  }

  /** An informational line on stderr, unless `--quiet`. */
  notice(message: string): void {
    if (!this.quiet) this.streams.stderr.write(`${this.c.dim(message)}\n`);
  }

  /** A warning on stderr, unless `--quiet`. */
  warn(message: string): void {
    if (!this.quiet) this.streams.stderr.write(`${this.c.yellow('warning:')} ${message}\n`);
  }

  /** Raw error text on stderr (the error reporter formats it). */
  errorLine(text: string): void {
    this.streams.stderr.write(`${text}\n`);
  }

  /** A line of human output on stdout. Never used in `--json` mode. */
  line(text = ''): void {
    this.streams.stdout.write(`${text}\n`);
  }

  /** The one JSON document of a `--json` run. */
  writeJson(doc: unknown): void {
    this.streams.stdout.write(`${JSON.stringify(doc, jsonReplacer, 2)}\n`);
  }

  /** Set by a `--dry-run` of a write command: results say the change was rolled back. */
  dryRun = false;

  /**
   * JSON for `--json`, else the human rendering. In a dry run a JSON object gets `"dry_run": true`
   * and the human rendering a last line saying nothing changed.
   */
  async result(doc: unknown, human: () => void | Promise<void>): Promise<void> {
    if (this.json) {
      this.writeJson(this.dryRun && doc !== null && typeof doc === 'object' && !Array.isArray(doc) ? { dry_run: true, ...doc } : doc);
      return;
    }
    await human();
    if (this.dryRun) this.line(this.c.yellow('dry run: rolled back, nothing was changed'));
  }

  /**
   * The width tables fit on a terminal (stdout's columns; 80 when it does not say); null when
   * stdout is not a terminal: piped, a table keeps every column whole for `awk`.
   */
  get width(): number | null {
    if (!this.isTTY) return null;
    const columns = this.streams.stdout.columns;
    return columns !== undefined && columns > 0 ? columns : 80;
  }

  /**
   * A table: on a terminal boxed, compact (no line between rows) and fitted to its width (cut
   * free text, then dropped optional columns, then one record per row: see table-fit.ts); piped,
   * aligned columns without borders (easy to `awk`), never cut.
   */
  async table(headers: string[], rows: Cell[][], options: TableOptions = {}): Promise<void> {
    const width = this.width;
    if (width === null) {
      this.line(plainTable(headers, rows.map((r) => r.map(formatCell)), options.align));
      return;
    }
    const text = rows.map((r) => r.map(tableCell));
    const columns: Column[] = headers.map((header, i) => ({ header, ...(options.align?.[i] ? { align: options.align[i] } : {}), ...options.fit?.[i] }));
    const layout = fitTable(columns, text, width);
    const lines =
      layout.kind === 'table' ? renderBoxed(columns, text, layout, (s) => this.c.bold(s)) : renderRecords(columns, text, width, (s) => this.c.dim(s));
    for (const l of lines) this.line(l);
  }

  /**
   * A matrix: a label column and one narrow column per `columnHeaders` entry. On a terminal the
   * columns come in chunks that fit its width, each a boxed table headed `groups 1-6 of 12`
   * (`noun`); piped, one plain table.
   */
  async matrix(labelHeader: string, columnHeaders: string[], rows: Cell[][], noun: string): Promise<void> {
    const width = this.width;
    const text = rows.map((r) => r.map(width === null ? formatCell : tableCell));
    const align: Align[] = ['left', ...columnHeaders.map(() => 'center' as const)];
    if (width === null) {
      this.line(plainTable([labelHeader, ...columnHeaders], text, align));
      return;
    }
    const columns: Column[] = [labelHeader, ...columnHeaders].map((header, i) => ({ header, align: align[i] as Align }));
    const { chunks, widths } = matrixChunks(naturalWidths(columns, text), width);
    chunks.forEach((keep, n) => {
      if (chunks.length > 1) {
        if (n > 0) this.line();
        this.line(this.c.dim(`${noun} ${keep[1]}-${keep[keep.length - 1]} of ${columnHeaders.length}`));
      }
      const layout = { keep, widths: keep.map((i) => widths[i] as number) };
      for (const l of renderBoxed(columns, text, layout, (s) => this.c.bold(s))) this.line(l);
    });
  }

  /** One line per item (names to pipe into other tools); the notice `whenEmpty` when there are none. */
  items(values: string[], whenEmpty: string): void {
    if (values.length === 0) this.notice(whenEmpty);
    for (const v of values) this.line(v);
  }

  /** `+ a, b` and `- c` lines for what a set change added and removed; false when it changed nothing. */
  setChange(change: { added: string[]; removed: string[] }): boolean {
    if (change.added.length > 0) this.line(`${this.c.green('+')} ${change.added.join(', ')}`);
    if (change.removed.length > 0) this.line(`${this.c.red('-')} ${change.removed.join(', ')}`);
    return change.added.length > 0 || change.removed.length > 0;
  }

  /** `key: value` lines, keys aligned. */
  keyValues(pairs: [string, Cell][]): void {
    const width = Math.max(0, ...pairs.map(([k]) => k.length));
    for (const [k, v] of pairs) this.line(`${this.c.bold(`${k}:`.padEnd(width + 1))} ${formatCell(v)}`);
  }
}

export function formatCell(value: Cell): string {
  if (value === null || value === undefined) return '';
  if (value instanceof Date) return value.toISOString();
  return String(value);
}

/**
 * A boxed table's cell: a time is `2026-12-05 02:04 UTC` (labelled, to the minute; piped tables
 * and JSON have it whole, ISO 8601 with `Z`).
 */
export function tableCell(value: Cell): string {
  if (value instanceof Date) return `${value.toISOString().slice(0, 16).replace('T', ' ')} UTC`;
  return formatCell(value);
}

/** Columns padded to their widest cell, two spaces apart, header in capitals (as kubectl). */
export function plainTable(headers: string[], rows: string[][], align?: TableOptions['align']): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => displayWidth(r[i] ?? ''))));
  return all
    .map((r) =>
      r
        .map((cell, i) => {
          const pad = (widths[i] ?? 0) - displayWidth(cell);
          const isLast = i === r.length - 1;
          if (align?.[i] === 'right') return ' '.repeat(pad) + cell;
          return isLast ? cell : cell + ' '.repeat(pad);
        })
        .join('  '),
    )
    .join('\n');
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
