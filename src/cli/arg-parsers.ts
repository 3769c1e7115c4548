/**
 * Parsers for option values, used in command declarations so that a bad value is a usage error
 * (exit 2) reported by commander with the option's name, before anything is opened.
 */
import { InvalidArgumentError } from 'commander';
import { parseDurationMs } from './config.js';

/** `--limit N`, `--batch-size N`...: an integer from `min` to `max`. */
export function intIn(min: number, max: number): (raw: string) => number {
  return (raw) => {
    const n = Number(raw);
    if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
      throw new InvalidArgumentError(`expected an integer from ${min} to ${max}`);
    }
    return n;
  };
}

/** `90s`, `15m`, `12h`, `7d` -> milliseconds (more than zero). */
export function duration(raw: string): number {
  let ms: number;
  try {
    ms = parseDurationMs(raw);
  } catch {
    throw new InvalidArgumentError('expected a duration such as 90s, 15m, 12h or 7d');
  }
  if (ms <= 0) throw new InvalidArgumentError('expected a duration longer than zero');
  return ms;
}
