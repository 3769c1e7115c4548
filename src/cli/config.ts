/**
 * Configuration, resolved once per run into a typed object. Precedence: flag > environment >
 * default. The only module that reads the environment for settings.
 */
import os from 'node:os';
import type { DatabaseTarget } from '../db/target.js';
import type { TokenSettings } from '../core/tokens/settings.js';
import { authError } from '../errors.js';
import { cliError } from './cli-errors.js';
import type { DatabaseTimeouts } from '../db/timeouts.js';
import { commandKind, KIND_TIMEOUTS } from './timeouts.js';
import { DEFAULT_BCRYPT_COST, DEFAULT_FAILED_LOGIN_DELAY_MS } from '../core/settings.js';
import {
  ValueError,
  parseDurationSetting,
  parseIntegerSetting,
  shownValue,
  type DurationSetting,
  type IntegerSetting,
} from './values.js';

/** Bad settings are usage errors (exit 2). */
function usageError(message: string) {
  return cliError('cli.usage', message);
}

export interface GlobalFlags {
  databaseUrl?: string;
  dataDir?: string;
  json?: boolean;
  quiet?: boolean;
  yes?: boolean;
  color?: boolean;
  verbose?: boolean;
  actor?: string;
  lockTimeout?: string;
  connectTimeout?: string;
  statementTimeout?: string;
  idleInTransactionTimeout?: string;
  secretFile?: string;
}

export interface CliConfig {
  target: DatabaseTarget;
  json: boolean;
  quiet: boolean;
  yes: boolean;
  color: boolean;
  verbose: boolean;
  /** Who is recorded in the audit log for writes. */
  actor: string;
  /** bcrypt cost for new hashes. */
  bcryptRounds: number;
  /** kaiju's `default_group`: the permissions of a user that has no group. */
  defaultGroup: string | null;
  /** Failed-login delay: base + random jitter, in ms. */
  failedLoginDelayMs: { base: number; jitter: number };
  /** `--secret-file`: the key secret's file (else KAIJU_AUTH_SECRET, else the data dir's own). */
  secretFile: string | null;
  /** Token and key settings from the environment (seconds); unset ones keep the core defaults. */
  tokens: Partial<TokenSettings>;
  /** KAIJU_AUTH_VERIFY_THREADS: threads of `token verify --batch`; null: one per CPU. */
  verifyThreads: number | null;
}

export const DEFAULT_DATA_DIR = './.kaiju-auth';

type Env = Record<string, string | undefined>;

/** An env value, with empty strings treated as unset (as `VAR= cmd` means "no value"). */
function envValue(env: Env, name: string): string | undefined {
  const v = env[name];
  return v === undefined || v === '' ? undefined : v;
}

/** `parse(raw)`, with a bad value as a usage error naming where it came from (a variable or a flag). */
function setting<T>(source: string, raw: string, parse: (raw: string) => T): T {
  try {
    return parse(raw);
  } catch (err) {
    if (err instanceof ValueError) throw usageError(`invalid ${source} ${shownValue(raw)}: ${err.message}`);
    throw err;
  }
}

/** A duration setting (ms) from a variable or a flag; see values.ts for the ranges. */
export function durationSetting(source: string, raw: string, name: DurationSetting): number {
  return setting(source, raw, (v) => parseDurationSetting(v, name));
}

/** An integer setting from a variable or a flag; see values.ts for the ranges. */
export function integerSetting(source: string, raw: string, name: IntegerSetting): number {
  return setting(source, raw, (v) => parseIntegerSetting(v, name));
}

/**
 * The timeouts of `command` (a command path: `user import`): its kind's defaults, each replaced by
 * its flag, else its variable. All are parsed whichever database is used: a bad value is exit 2
 * on the embedded database too, not ignored there.
 */
export function resolveTimeouts(flags: GlobalFlags, env: Env, command: string): DatabaseTimeouts {
  const defaults = KIND_TIMEOUTS[commandKind(command)];
  const pick = (flag: string | undefined, flagName: string, variable: string, name: DurationSetting, fallback: number) => {
    if (flag !== undefined) return durationSetting(flagName, flag, name);
    const fromEnv = envValue(env, variable);
    return fromEnv === undefined ? fallback : durationSetting(variable, fromEnv, name);
  };
  return {
    connectMs: pick(flags.connectTimeout, '--connect-timeout', 'KAIJU_AUTH_CONNECT_TIMEOUT', 'connectTimeout', defaults.connectMs),
    statementMs: pick(flags.statementTimeout, '--statement-timeout', 'KAIJU_AUTH_STATEMENT_TIMEOUT', 'statementTimeout', defaults.statementMs),
    lockMs: pick(flags.lockTimeout, '--lock-timeout', 'KAIJU_AUTH_LOCK_TIMEOUT', 'lockTimeout', defaults.lockMs),
    idleInTransactionMs: pick(
      flags.idleInTransactionTimeout,
      '--idle-in-transaction-timeout',
      'KAIJU_AUTH_IDLE_IN_TRANSACTION_TIMEOUT',
      'idleInTransactionTimeout',
      defaults.idleInTransactionMs,
    ),
  };
}

export function resolveTarget(flags: GlobalFlags, env: Env, command = ''): DatabaseTarget {
  const timeouts = resolveTimeouts(flags, env, command);
  const url = flags.databaseUrl ?? envValue(env, 'KAIJU_AUTH_DATABASE_URL') ?? envValue(env, 'DATABASE_URL');
  if (url !== undefined) {
    if (!/^postgres(ql)?:\/\//i.test(url)) {
      throw authError('db.invalid_url', 'the database URL must start with postgres:// or postgresql://');
    }
    const port = envValue(env, 'PGPORT');
    const connection: NonNullable<Extract<DatabaseTarget, { kind: 'postgres' }>['connection']> = {};
    const host = envValue(env, 'PGHOST');
    const user = envValue(env, 'PGUSER');
    const password = env.PGPASSWORD;
    const database = envValue(env, 'PGDATABASE');
    if (host) connection.host = host;
    if (port) connection.port = integerSetting('PGPORT', port, 'port');
    if (user) connection.user = user;
    if (password !== undefined) connection.password = password;
    if (database) connection.database = database;
    return { kind: 'postgres', url, connection, timeouts };
  }
  return {
    kind: 'embedded',
    dataDir: flags.dataDir ?? envValue(env, 'KAIJU_AUTH_DATA_DIR') ?? DEFAULT_DATA_DIR,
    lockTimeoutMs: timeouts.lockMs,
  };
}

/**
 * KAIJU_AUTH_ACCESS_TTL, _REFRESH_TTL, _KEY_LIFETIME, _CLOCK_SKEW, _JWKS_MAX_AGE (durations), _KEY_ALG,
 * _TOKEN_ISSUER, _TOKEN_AUDIENCE.
 */
export function resolveTokenConfig(env: Env): Partial<TokenSettings> {
  const out: Partial<TokenSettings> = {};
  const durations: [keyof TokenSettings & DurationSetting, string][] = [
    ['accessTtl', 'KAIJU_AUTH_ACCESS_TTL'],
    ['refreshTtl', 'KAIJU_AUTH_REFRESH_TTL'],
    ['keyLifetime', 'KAIJU_AUTH_KEY_LIFETIME'],
    ['clockSkew', 'KAIJU_AUTH_CLOCK_SKEW'],
    ['jwksMaxAge', 'KAIJU_AUTH_JWKS_MAX_AGE'],
  ];
  for (const [key, name] of durations) {
    const raw = envValue(env, name);
    if (raw !== undefined) Object.assign(out, { [key]: durationSetting(name, raw, key) / 1000 });
  }
  const alg = envValue(env, 'KAIJU_AUTH_KEY_ALG');
  if (alg !== undefined) {
    if (alg !== 'ES256' && alg !== 'RS256' && alg !== 'EdDSA') throw usageError(`KAIJU_AUTH_KEY_ALG must be ES256, RS256 or EdDSA, got "${alg}"`);
    out.algorithm = alg;
  }
  const issuer = envValue(env, 'KAIJU_AUTH_TOKEN_ISSUER');
  if (issuer !== undefined) out.issuer = issuer;
  const audience = envValue(env, 'KAIJU_AUTH_TOKEN_AUDIENCE');
  if (audience !== undefined) out.audience = audience;
  return out;
}

function defaultActor(env: Env): string {
  try {
    return os.userInfo().username;
  } catch {
    return envValue(env, 'USER') ?? envValue(env, 'LOGNAME') ?? 'unknown';
  }
}

/** The configuration of one run of `command` (its path, e.g. `user import`; it picks the timeouts). */
export function resolveConfig(flags: GlobalFlags, env: Env, stdoutIsTTY: boolean, command = ''): CliConfig {
  const json = flags.json ?? false;
  const noColorEnv = env.NO_COLOR !== undefined && env.NO_COLOR !== '';
  const rounds = envValue(env, 'KAIJU_AUTH_BCRYPT_ROUNDS');
  const delay = envValue(env, 'KAIJU_AUTH_FAILED_LOGIN_DELAY');
  const jitter = envValue(env, 'KAIJU_AUTH_FAILED_LOGIN_JITTER');
  const threads = envValue(env, 'KAIJU_AUTH_VERIFY_THREADS');
  return {
    target: resolveTarget(flags, env, command),
    json,
    quiet: flags.quiet ?? false,
    yes: flags.yes ?? false,
    color: flags.color !== false && !noColorEnv && stdoutIsTTY && !json,
    verbose: flags.verbose ?? false,
    actor: flags.actor ?? envValue(env, 'KAIJU_AUTH_ACTOR') ?? defaultActor(env),
    bcryptRounds: rounds === undefined ? DEFAULT_BCRYPT_COST : integerSetting('KAIJU_AUTH_BCRYPT_ROUNDS', rounds, 'bcryptCost'),
    defaultGroup: envValue(env, 'KAIJU_AUTH_DEFAULT_GROUP') ?? null,
    failedLoginDelayMs: {
      base: delay === undefined ? DEFAULT_FAILED_LOGIN_DELAY_MS.base : durationSetting('KAIJU_AUTH_FAILED_LOGIN_DELAY', delay, 'failedLoginDelay'),
      jitter: jitter === undefined ? DEFAULT_FAILED_LOGIN_DELAY_MS.jitter : durationSetting('KAIJU_AUTH_FAILED_LOGIN_JITTER', jitter, 'failedLoginDelay'),
    },
    secretFile: flags.secretFile ?? null,
    tokens: resolveTokenConfig(env),
    verifyThreads: threads === undefined ? null : integerSetting('KAIJU_AUTH_VERIFY_THREADS', threads, 'verifyThreads'),
  };
}
