/**
 * Commander argument parsers over values.ts, used in command declarations: a bad value is a
 * usage error (exit 2) that commander reports with the option's name and the accepted form,
 * before anything is opened. `durationArg('keyLifetime')` gives milliseconds; `intArg('limit')`
 * an integer.
 */
import { InvalidArgumentError } from './commander.js';
import {
  DURATIONS,
  INTEGERS,
  ValueError,
  parseDurationSetting,
  parseIntegerSetting,
  type DurationSetting,
  type IntegerSetting,
} from './values.js';

function commanderError(parse: (raw: string) => number): (raw: string) => number {
  return (raw) => {
    try {
      return parse(raw);
    } catch (err) {
      if (err instanceof ValueError) throw new InvalidArgumentError(err.message);
      throw err;
    }
  };
}

/** A duration option (`90s`, `15m`, `12h`, `7d`) in milliseconds, within the setting's range. */
export function durationArg(setting: DurationSetting): (raw: string) => number {
  if (!(setting in DURATIONS)) throw new TypeError(`unknown duration setting ${setting}`);
  return commanderError((raw) => parseDurationSetting(raw, setting));
}

/** An integer option within the setting's range. */
export function intArg(setting: IntegerSetting): (raw: string) => number {
  if (!(setting in INTEGERS)) throw new TypeError(`unknown integer setting ${setting}`);
  return commanderError((raw) => parseIntegerSetting(raw, setting));
}
