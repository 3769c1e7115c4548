/**
 * Settings of signing keys and tokens, in seconds. Defaults are kaiju_auth 2.1.0's: access tokens
 * 1000 s (never below 60), refresh tokens 24 h (never below the access lifetime), ES256 keys that
 * sign for 24 h and are due for rotation at half-life. Kept free of heavy imports: the core's
 * settings module includes it.
 */
import { authError } from '../../errors.js';

export interface TokenSettings {
  /** Access token lifetime, s (kaiju: 1000; at least 60). */
  accessTtl: number;
  /** Refresh token lifetime, s (kaiju: 24 h; never below `accessTtl`). */
  refreshTtl: number;
  /** How long a new key signs, s (kaiju: 24 h). Rotation is due at half of it. */
  keyLifetime: number;
  /** Algorithm of keys made by rotation. */
  algorithm: 'ES256' | 'RS256' | 'EdDSA';
  /** `iss` put into tokens and required when verifying; null: none. */
  issuer: string | null;
  /** `aud` put into tokens and required when verifying; null: none. */
  audience: string | null;
  /** Tolerance for `exp`/`nbf`/`iat` when verifying, s (kaiju's jwcrypto: 60). */
  clockSkew: number;
  /**
   * How long verifiers may cache the JWKS, s (default 15 min). A new key is published as `next`
   * and signs only after it has been in the JWKS this long (plus the clock skew), so no verifier
   * meets a token from a key it has not fetched yet. 0: a rotation switches at once.
   */
  jwksMaxAge: number;
}

export const MIN_ACCESS_TTL = 60;

/** A range of seconds, both ends included. */
export interface SecondsRange {
  min: number;
  max: number;
}

/**
 * What each setting may be, s. The upper bounds exist because each of these, set large, weakens
 * security: a long key lifetime keeps a leaked key signing (and the key it retires verifying) for
 * as long; a long token lifetime outlives a revoked permission or a blocked user; a large clock
 * skew makes expired tokens valid again. A key's tokens never outlive its signing deadline, so a
 * refresh lifetime above the key lifetime could never be reached anyway.
 */
export const TOKEN_SETTING_RANGES = {
  accessTtl: { min: MIN_ACCESS_TTL, max: 24 * 3600 },
  refreshTtl: { min: MIN_ACCESS_TTL, max: 90 * 86400 },
  keyLifetime: { min: 120, max: 90 * 86400 },
  /** At most the grace a retired key keeps verifying (KEY_VERIFY_GRACE below). */
  clockSkew: { min: 0, max: 300 },
  /** A day: past that a rotation would wait longer than many keys live. */
  jwksMaxAge: { min: 0, max: 24 * 3600 },
} as const satisfies Record<string, SecondsRange>;

/**
 * The longest token `verifyToken` looks at, in characters (its UTF-8 bytes: a JWT is ASCII).
 * Ours are a few hundred bytes plus ~20 per permission; 16 KiB is room for ~700 permissions, and
 * anything longer is refused before it is decoded (`auth.token.too_large`).
 */
export const MAX_TOKEN_LENGTH = 16 * 1024;
/** A key keeps verifying this long after it stops signing: verifiers' clocks may lag. */
export const KEY_VERIFY_GRACE = 300;

/**
 * `value` (s) checked against its range, for per-call options (`rotate({lifetime})`, `issue(...,
 * {accessTtl})`): `settings.out_of_range` (a usage error) beyond it.
 */
export function checkSetting(name: keyof typeof TOKEN_SETTING_RANGES, value: number): number {
  const { min, max } = TOKEN_SETTING_RANGES[name];
  if (!Number.isFinite(value) || value < min || value > max) {
    throw authError('settings.out_of_range', `${name} must be from ${min} to ${max} s, got ${value}`, { setting: name, min, max });
  }
  return value;
}

export const DEFAULT_TOKEN_SETTINGS: TokenSettings = {
  accessTtl: 1000,
  refreshTtl: 24 * 3600,
  keyLifetime: 24 * 3600,
  algorithm: 'ES256',
  issuer: null,
  audience: null,
  clockSkew: 60,
  jwksMaxAge: 15 * 60,
};

function seconds(name: keyof typeof TOKEN_SETTING_RANGES, value: number, min: number = TOKEN_SETTING_RANGES[name].min): number {
  const { max } = TOKEN_SETTING_RANGES[name];
  if (!Number.isFinite(value) || value < min || value > max) {
    throw new RangeError(`${name} must be from ${min} to ${max} s, got ${value}`);
  }
  return Math.floor(value);
}

/**
 * Complete and normalise token settings: access lifetime at least 60 s, refresh lifetime never
 * shorter than access (both as kaiju's JWTService does: shorter ones are raised), and every
 * setting within TOKEN_SETTING_RANGES (a RangeError beyond).
 */
export function resolveTokenSettings(partial: Partial<TokenSettings> = {}): TokenSettings {
  const s = { ...DEFAULT_TOKEN_SETTINGS, ...partial };
  const accessTtl = Math.max(MIN_ACCESS_TTL, seconds('accessTtl', s.accessTtl, 1));
  const refreshTtl = Math.max(accessTtl, seconds('refreshTtl', s.refreshTtl, 1));
  if (!['ES256', 'RS256', 'EdDSA'].includes(s.algorithm)) throw new RangeError(`unsupported algorithm ${s.algorithm}`);
  return {
    accessTtl,
    refreshTtl,
    keyLifetime: seconds('keyLifetime', s.keyLifetime),
    algorithm: s.algorithm,
    issuer: s.issuer === '' ? null : s.issuer,
    audience: s.audience === '' ? null : s.audience,
    clockSkew: seconds('clockSkew', s.clockSkew),
    jwksMaxAge: seconds('jwksMaxAge', s.jwksMaxAge),
  };
}
