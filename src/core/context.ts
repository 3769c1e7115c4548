/**
 * What every service is built from: a knex handle (the database, or a transaction on it) and the
 * settings, explicit and typed. No globals, no environment: the CLI resolves settings from flags
 * and env; a library caller passes them.
 */
import type { Knex } from 'knex';
import type { KeySecretSource } from './keys/key-crypto.js';
import { DEFAULT_BCRYPT_COST, DEFAULT_FAILED_LOGIN_DELAY_MS, inRange, SETTING_RANGES } from './settings.js';
import { DEFAULT_TOKEN_SETTINGS, resolveTokenSettings, type TokenSettings } from './tokens/settings.js';

export interface AuthSettings {
  /** Who the audit log records for writes. */
  actor: string;
  /** bcrypt cost for new hashes (kaiju: 13). Hashes below it are upgraded on login. */
  bcryptRounds: number;
  /** Delay before answering a failed login: base + random jitter, ms (kaiju: 500 + 0..500). */
  failedLoginDelayMs: { base: number; jitter: number };
  /** kaiju's `default_group`: what a user without groups gets. */
  defaultGroup: string | null;
  /** Current time; injectable for tests. */
  now: () => Date;
  /** Waiting; injectable for tests. */
  sleep: (ms: number) => Promise<void>;
  /** Randomness in [0, 1) for jitter; injectable for tests. */
  random: () => number;
  /** The secret that encrypts private signing keys at rest (needed to sign, not to verify). */
  keySecret: KeySecretSource;
  /**
   * The secret the keystore is being re-keyed to (`keys rekey`), also tried when `keySecret` does
   * not open the keystore: hosts keep working while a new secret is rolled out.
   */
  newKeySecret: KeySecretSource;
  /** Lifetimes of tokens and keys, issuer/audience, clock skew. */
  tokens: TokenSettings;
}

/** What callers pass: any subset; `tokens` may be partial too. */
export type AuthSettingsInput = Partial<Omit<AuthSettings, 'tokens'>> & { tokens?: Partial<TokenSettings> };

export const DEFAULT_SETTINGS: AuthSettings = {
  actor: 'kaiju-auth',
  bcryptRounds: DEFAULT_BCRYPT_COST,
  failedLoginDelayMs: { ...DEFAULT_FAILED_LOGIN_DELAY_MS },
  defaultGroup: null,
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
  random: Math.random,
  keySecret: null,
  newKeySecret: null,
  tokens: DEFAULT_TOKEN_SETTINGS,
};

export interface CoreContext {
  /** The database, or a transaction on it; services nest their own transactions as savepoints. */
  readonly db: Knex;
  readonly settings: AuthSettings;
}

export function resolveSettings(partial: AuthSettingsInput = {}): AuthSettings {
  const s: AuthSettings = { ...DEFAULT_SETTINGS, ...partial, tokens: resolveTokenSettings(partial.tokens) };
  const { min, max } = SETTING_RANGES.bcryptRounds;
  if (!inRange(s.bcryptRounds, SETTING_RANGES.bcryptRounds)) {
    throw new RangeError(`bcryptRounds must be an integer from ${min} to ${max}, got ${s.bcryptRounds}`);
  }
  const delay = SETTING_RANGES.failedLoginDelayMs;
  for (const part of ['base', 'jitter'] as const) {
    if (!inRange(s.failedLoginDelayMs[part], delay)) {
      throw new RangeError(`failedLoginDelayMs.${part} must be an integer from ${delay.min} to ${delay.max} ms, got ${s.failedLoginDelayMs[part]}`);
    }
  }
  return s;
}
