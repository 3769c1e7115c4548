/**
 * Every library setting's default and bounds, written once. The core checks them (resolveSettings,
 * per-call options such as an import's `rounds`), and the CLI imports them for its flags, its
 * environment variables and its help text, so a default or a range cannot differ between the two.
 * Token and key lifetimes have theirs in tokens/settings.ts (DEFAULT_TOKEN_SETTINGS,
 * TOKEN_SETTING_RANGES), the bcrypt cost in passwords.ts; both are re-exported here.
 */
import { authError } from '../errors.js';
import { BCRYPT_COST_RANGE, DEFAULT_BCRYPT_COST } from './passwords.js';

export { BCRYPT_COST_RANGE, DEFAULT_BCRYPT_COST };

/** A range of whole numbers, both ends included. */
export interface SettingRange {
  readonly min: number;
  readonly max: number;
}

/** The failed-login delay, ms: base + random jitter below `jitter` (kaiju: 500 + 0..500). */
export const DEFAULT_FAILED_LOGIN_DELAY_MS = { base: 500, jitter: 500 } as const;

/** Rows per transaction of an import or a session prune. */
export const DEFAULT_BATCH_SIZE = 1000;

/** `status --check`'s sessions check: expired sessions allowed before it fails (health.ts). */
export const DEFAULT_MAX_EXPIRED_SESSIONS = 100_000;

export const SETTING_RANGES = {
  /** bcrypt cost of new hashes (`bcryptRounds`, an import's `rounds`). */
  bcryptRounds: BCRYPT_COST_RANGE,
  /** Each of `failedLoginDelayMs.base` and `.jitter`, ms. */
  failedLoginDelayMs: { min: 0, max: 60_000 },
  /** Rows per transaction (an import's or a prune's `batchSize`). */
  batchSize: { min: 1, max: 100_000 },
} as const satisfies Record<string, SettingRange>;

export function inRange(value: unknown, range: SettingRange): value is number {
  return typeof value === 'number' && Number.isInteger(value) && value >= range.min && value <= range.max;
}

/** `value` of the per-call option `name` in `range`, else `settings.out_of_range` (a usage error). */
export function checkOption(name: string, value: number, range: SettingRange): number {
  if (!inRange(value, range)) {
    const { min, max } = range;
    throw authError('settings.out_of_range', `${name} must be an integer from ${min} to ${max}, got ${String(value)}`, { setting: name, min, max });
  }
  return value;
}
