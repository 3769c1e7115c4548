/**
 * Parsers for option values beyond command-kit's `intArg`, used in command declarations so that
 * a bad value is a usage error (exit 2) reported by commander with the option's name, before
 * anything is opened.
 */
import { InvalidArgumentError } from './commander.js';
import { parseDurationMs } from './config.js';

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
