/**
 * The one strict parser per kind of value that a flag or an environment variable carries, and
 * the range of every setting. Flags (arg-parsers.ts, through commander) and environment variables
 * (config.ts) both parse here, so `--lifetime 100d` and `KAIJU_AUTH_KEY_LIFETIME=100d` are refused
 * alike, with the accepted form in the message, as a usage error (exit 2) before anything opens.
 *
 * Strict means: the whole text is the value (no spaces, no `1e1`, no `0x10`, no unit-less
 * durations but `0`), digits are bounded before they become a number (no overflow, no NaN), and
 * the value is inside its range. Ranges that are core settings (token and key lifetimes, clock
 * skew, bcrypt cost, failed-login delay, batch size) are the core's own constants (core/settings.ts).
 *
 * Adding a setting: give it a range in DURATIONS or INTEGERS, then `durationArg('name')` for its
 * flag and `envDuration(env, 'VAR', 'name')` for its variable.
 */
import { SETTING_RANGES } from '../core/settings.js';
import { TOKEN_SETTING_RANGES } from '../core/tokens/settings.js';

/** A value that does not parse or is out of range; the message says what is accepted. */
export class ValueError extends Error {
  override readonly name = 'ValueError';
}

export interface Range {
  min: number;
  max: number;
}

const UNIT_MS = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 } as const;
type Unit = keyof typeof UNIT_MS;
const DURATION_RE = /^([0-9]{1,16})(ms|s|m|h|d|w)$/;
const INTEGER_RE = /^-?[0-9]{1,16}$/;

const secondsRange = (r: Range): Range => ({ min: r.min * 1000, max: r.max * 1000 });
const DAY = 86_400_000;

/** Every duration setting and its range, in milliseconds. */
export const DURATIONS = {
  /** `--lock-timeout`: waiting for a lock another process holds (the embedded data directory, a row...). */
  lockTimeout: { min: 0, max: DAY },
  /** `--connect-timeout`: connecting to PostgreSQL. */
  connectTimeout: { min: 100, max: 600_000 },
  /** `--statement-timeout`: one statement on PostgreSQL. */
  statementTimeout: { min: 100, max: DAY },
  /** `--idle-in-transaction-timeout`: a transaction whose client stopped sending. */
  idleInTransactionTimeout: { min: 1000, max: DAY },
  /** `--lifetime`, KAIJU_AUTH_KEY_LIFETIME. */
  keyLifetime: secondsRange(TOKEN_SETTING_RANGES.keyLifetime),
  /** `--if-older-than`: no key that signs is older than the longest key lifetime. */
  keyAge: { min: 1000, max: TOKEN_SETTING_RANGES.keyLifetime.max * 1000 },
  /** `--ttl`, KAIJU_AUTH_ACCESS_TTL. */
  accessTtl: secondsRange(TOKEN_SETTING_RANGES.accessTtl),
  /** `--refresh-ttl`, KAIJU_AUTH_REFRESH_TTL. */
  refreshTtl: secondsRange(TOKEN_SETTING_RANGES.refreshTtl),
  /** `--clock-skew`, KAIJU_AUTH_CLOCK_SKEW. */
  clockSkew: secondsRange(TOKEN_SETTING_RANGES.clockSkew),
  /** `--jwks-max-age`, KAIJU_AUTH_JWKS_MAX_AGE. */
  jwksMaxAge: secondsRange(TOKEN_SETTING_RANGES.jwksMaxAge),
  /** `audit list --since`, `audit prune --older-than`: ages of rows, up to 100 years. */
  auditAge: { min: 1000, max: 36_500 * DAY },
  /** KAIJU_AUTH_FAILED_LOGIN_DELAY and _JITTER. */
  failedLoginDelay: SETTING_RANGES.failedLoginDelayMs,
} as const satisfies Record<string, Range>;

/** Every integer setting and its range. */
export const INTEGERS = {
  /** `--rounds`, KAIJU_AUTH_BCRYPT_ROUNDS. */
  bcryptCost: SETTING_RANGES.bcryptRounds,
  /** PGPORT. */
  port: { min: 1, max: 65_535 },
  /** `--limit` of listings. */
  limit: { min: 1, max: 1_000_000 },
  /** `--offset` of listings. */
  offset: { min: 0, max: Number.MAX_SAFE_INTEGER },
  /** `status --max-expired-sessions`. */
  expiredSessions: { min: 0, max: Number.MAX_SAFE_INTEGER },
  /** `--batch-size` (rows per transaction). */
  batchSize: SETTING_RANGES.batchSize,
  /** `token verify --threads`, KAIJU_AUTH_VERIFY_THREADS. */
  verifyThreads: { min: 1, max: 256 },
} as const satisfies Record<string, Range>;

export type DurationSetting = keyof typeof DURATIONS;
export type IntegerSetting = keyof typeof INTEGERS;

/** The shortest exact way to write `ms`: 90d, 5m, 500ms, 0s. */
export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  for (const unit of ['w', 'd', 'h', 'm', 's'] as const) {
    if (ms % UNIT_MS[unit] === 0) return `${ms / UNIT_MS[unit]}${unit}`;
  }
  return `${ms}ms`;
}

function durationForm(range: Range): string {
  return `a duration from ${formatDuration(range.min)} to ${formatDuration(range.max)}: a whole number and a unit (ms, s, m, h, d, w), e.g. 90s, 15m, 12h, 7d`;
}

/**
 * A duration: a whole number and a unit (`500ms`, `90s`, `15m`, `12h`, `7d`, `2w`), or `0`;
 * milliseconds within `range` (ms). Anything else is a `ValueError` naming the accepted form.
 */
export function parseDuration(raw: string, range: Range): number {
  const m = raw === '0' ? (['0', '0', 's'] as const) : DURATION_RE.exec(raw);
  const ms = m ? Number(m[1]) * UNIT_MS[m[2] as Unit] : NaN;
  if (!Number.isSafeInteger(ms) || ms < range.min || ms > range.max) throw new ValueError(`expected ${durationForm(range)}`);
  return ms;
}

/** An integer in decimal digits (an optional `-`), within `range`; else a `ValueError`. */
export function parseInteger(raw: string, range: Range): number {
  const n = INTEGER_RE.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(n) || n < range.min || n > range.max) {
    throw new ValueError(`expected an integer from ${range.min} to ${range.max}`);
  }
  return n === 0 ? 0 : n; // not -0
}

/** A duration setting by name (its range from DURATIONS), in ms. */
export function parseDurationSetting(raw: string, setting: DurationSetting): number {
  return parseDuration(raw, DURATIONS[setting]);
}

/** An integer setting by name (its range from INTEGERS). */
export function parseIntegerSetting(raw: string, setting: IntegerSetting): number {
  return parseInteger(raw, INTEGERS[setting]);
}

/** A value shown in a message: quoted, and cut when long (a hostile value may be megabytes). */
export function shownValue(raw: string): string {
  return JSON.stringify(raw.length > 40 ? `${raw.slice(0, 40)}...` : raw);
}
