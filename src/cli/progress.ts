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

/** Whether this run may draw progress bars. */
export function showsProgress(rt: Runtime): boolean {
  return !!rt.io.stderr.isTTY && !rt.config.quiet && !rt.config.json;
}

/**
 * A bar with rate and ETA, drawn from the first `update` (which gives the total), or a silent
 * stand-in when bars are not shown. Loads cli-progress up front so updates stay synchronous.
 */
export async function progressBar(rt: Runtime, label: string, unit = 'items'): Promise<Progress> {
  if (!showsProgress(rt)) return SILENT;
  const { SingleBar } = await import('cli-progress');
  let bar: InstanceType<typeof SingleBar> | null = null;
  let started = 0;
  let stopped = false;
  let last = 0;
  const rate = (done: number) => {
    const seconds = (Date.now() - started) / 1000;
    return seconds > 0.05 ? Math.round(done / seconds).toString() : '-';
  };
  rt.onClose(async () => {
    if (bar && !stopped) bar.stop();
  });
  return {
    update(done, total) {
      if (stopped) return;
      if (!bar) {
        if (total === undefined) return;
        started = Date.now();
        bar = new SingleBar({
          stream: rt.io.stderr,
          format: `${label} [{bar}] {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
          barsize: 30,
          fps: 5,
          etaBuffer: 50,
          hideCursor: false,
          // main.ts owns SIGINT/SIGTERM; the bar must not install its own handlers.
          gracefulExit: false,
        });
        bar.start(total, done, { rate: '-' });
        last = done;
        return;
      }
      if (total !== undefined && total !== bar.getTotal()) bar.setTotal(total);
      last = done;
      bar.update(done, { rate: rate(done) });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      // The last frame shows the overall rate, however few updates there were.
      bar?.update(last, { rate: rate(last) });
      bar?.stop();
    },
  };
}
