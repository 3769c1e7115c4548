/**
 * Progress bars for long work (hashing, imports): on stderr, only when stderr is a terminal, and
 * never with `--quiet` or `--json`, so piped and scripted runs see nothing of them. cli-progress
 * is loaded only when a bar is actually shown.
 */
import type { Runtime } from './runtime.js';

export interface Progress {
  /** Set the position (and optionally a new total). */
  update(done: number, total?: number): void;
  /** Finish: the bar stays on screen at its last value. */
  stop(): void;
}

const SILENT: Progress = { update: () => undefined, stop: () => undefined };

/** Bars drawn and not yet stopped, so an interrupt can finish them before it says so. */
const drawn = new Set<{ stop(): void }>();

/**
 * Ctrl-C, SIGTERM: finish every bar on its own line (its last frame redrawn over the `^C` the
 * terminal echoed) before "interrupted" is written; true when one was on screen (main.ts then
 * needs no line break of its own).
 */
export function interruptProgress(): boolean {
  const any = drawn.size > 0;
  for (const bar of [...drawn]) bar.stop();
  return any;
}

/** `42s`, `3m05s`, `2h10m`: at most 6 characters below 100 hours. */
export function formatEta(seconds: number): string {
  const s = Math.ceil(seconds);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** Whether this run may draw progress bars. */
export function showsProgress(rt: Runtime): boolean {
  return !!rt.io.stderr.isTTY && !rt.config.quiet && !rt.config.json;
}

/**
 * The bar's line for a terminal `columns` wide: the whole of it always fits (a bar cut by the
 * terminal read "| ET" at 80 columns), the rate carries its unit, and on a narrow terminal the
 * ETA, then the rate, give way before the bar shrinks below 10 characters.
 */
export function barLayout(label: string, unit: string, total: number, columns: number): { format: string; barsize: number } {
  const digits = String(total).length;
  const head = `${label} [`;
  const counts = `] {percentage}% | {value}/{total} ${unit}`;
  const countsWidth = 2 + 4 + 3 + digits * 2 + 1 + 1 + unit.length;
  const rate = ` | {rate} ${unit}/s`;
  const rateWidth = 3 + Math.max(digits + 1, 4) + 1 + unit.length + 2;
  const eta = ' | ETA {eta}';
  const etaWidth = 3 + 4 + 8;
  // One column spare: a line that fills the terminal exactly wraps on some.
  const room = Math.max(20, columns) - 1 - head.length - countsWidth;
  for (const [tail, width] of [
    [rate + eta, rateWidth + etaWidth],
    [rate, rateWidth],
    ['', 0],
  ] as const) {
    if (room - width >= 10) return { format: head + '{bar}' + counts + tail, barsize: Math.min(30, room - width) };
  }
  return { format: head + '{bar}' + counts, barsize: Math.max(5, room) };
}

/**
 * A bar with rate and ETA, drawn from the first `update` (which gives the total), or a silent
 * stand-in when bars are not shown. Loads cli-progress up front so updates stay synchronous.
 */
export async function progressBar(rt: Runtime, label: string, unit = 'items'): Promise<Progress> {
  if (!showsProgress(rt)) return SILENT;
  // cli-progress is CommonJS: in the esbuild bundle its exports arrive on `default` only (a
  // named import there was undefined: "SingleBar is not a constructor" on every terminal bar).
  const cliProgress = await import('cli-progress');
  const SingleBar = cliProgress.SingleBar ?? (cliProgress as unknown as { default: typeof cliProgress }).default.SingleBar;
  let bar: InstanceType<typeof SingleBar> | null = null;
  let started = 0;
  let stopped = false;
  let last = 0;
  const rate = (done: number) => {
    const seconds = (Date.now() - started) / 1000;
    return seconds > 0.05 ? Math.round(done / seconds).toString() : '-';
  };
  // Our own ETA: cli-progress's printed "NULL", cut to "LLs", on a finished bar.
  const eta = (done: number, total: number) => {
    if (done >= total) return 'done';
    const seconds = (Date.now() - started) / 1000;
    if (done <= 0 || seconds < 0.5) return '-';
    return formatEta(((total - done) * seconds) / done);
  };
  const progress: Progress = {
    update(done, total) {
      if (stopped) return;
      if (!bar) {
        if (total === undefined) return;
        started = Date.now();
        const columns = (rt.io.stderr as { columns?: number }).columns ?? 80;
        const { format, barsize } = barLayout(label, unit, total, columns);
        bar = new SingleBar({
          stream: rt.io.stderr,
          format,
          barsize,
          fps: 5,
          etaBuffer: 50,
          hideCursor: false,
          // main.ts owns SIGINT/SIGTERM; the bar must not install its own handlers.
          gracefulExit: false,
        });
        bar.start(total, done, { rate: '-', eta: '-' });
        drawn.add(progress);
        last = done;
        return;
      }
      if (total !== undefined && total !== bar.getTotal()) bar.setTotal(total);
      last = done;
      bar.update(done, { rate: rate(done), eta: eta(done, bar.getTotal()) });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      drawn.delete(progress);
      // The last frame shows the overall rate, however few updates there were. It is drawn again
      // even when unchanged: the terminal may have echoed `^C` after it.
      if (bar) (bar as unknown as { lastDrawnString: string }).lastDrawnString = '';
      bar?.update(last, { rate: rate(last), eta: eta(last, bar.getTotal()) });
      bar?.stop();
    },
  };
  rt.onClose(async () => progress.stop());
  return progress;
}
