/**
 * Everything the CLI writes. stdout carries results only: with `--json`, exactly one JSON
 * document; otherwise tables (boxed with cli-table3 and coloured on a TTY, aligned plain text when
 * piped) and lines. stderr carries notices (silenced by `--quiet`) and errors.
 */
import { Chalk, type ChalkInstance } from 'chalk';

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
  align?: ('left' | 'right' | 'center')[];
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

  /** A table: boxed on a TTY, aligned columns without borders when piped (easy to `awk`). */
  async table(headers: string[], rows: Cell[][], options: TableOptions = {}): Promise<void> {
    const text = rows.map((r) => r.map(formatCell));
    if (this.isTTY) {
      const { default: Table } = await import('cli-table3');
      const table = new Table({
        head: headers.map((h) => this.c.bold(h)),
        style: { head: [], border: [] },
        ...(options.align ? { colAligns: options.align } : {}),
      });
      for (const r of text) table.push(r);
      this.line(table.toString());
      return;
    }
    this.line(plainTable(headers, text, options.align));
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

/** Columns padded to their widest cell, two spaces apart, header in capitals (as kubectl). */
export function plainTable(headers: string[], rows: string[][], align?: TableOptions['align']): string {
  const all = [headers.map((h) => h.toUpperCase()), ...rows];
  const widths = headers.map((_, i) => Math.max(...all.map((r) => visibleLength(r[i] ?? ''))));
  return all
    .map((r) =>
      r
        .map((cell, i) => {
          const pad = (widths[i] ?? 0) - visibleLength(cell);
          const isLast = i === r.length - 1;
          if (align?.[i] === 'right') return ' '.repeat(pad) + cell;
          return isLast ? cell : cell + ' '.repeat(pad);
        })
        .join('  '),
    )
    .join('\n');
}

// eslint-disable-next-line no-control-regex
const ANSI = /\u001b\[[0-9;]*m/g;
function visibleLength(s: string): number {
  return s.replace(ANSI, '').length;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === 'bigint' ? value.toString() : value;
}
