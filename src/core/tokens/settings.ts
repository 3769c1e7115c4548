/**
 * Settings of signing keys and tokens, in seconds. Defaults are kaiju_auth 2.1.0's: access tokens
 * 1000 s (never below 60), refresh tokens 24 h (never below the access lifetime), ES256 keys that
 * sign for 24 h and are due for rotation at half-life. Kept free of heavy imports: the core's
 * settings module includes it.
 */

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
}

export const MIN_ACCESS_TTL = 60;
/** A key keeps verifying this long after it stops signing: verifiers' clocks may lag. */
export const KEY_VERIFY_GRACE = 300;

export const DEFAULT_TOKEN_SETTINGS: TokenSettings = {
  accessTtl: 1000,
  refreshTtl: 24 * 3600,
  keyLifetime: 24 * 3600,
  algorithm: 'ES256',
  issuer: null,
  audience: null,
  clockSkew: 60,
};

function positiveSeconds(name: string, value: number, min: number): number {
  if (!Number.isFinite(value) || value < min) throw new RangeError(`${name} must be at least ${min} s, got ${value}`);
  return Math.floor(value);
}

/**
 * Complete and normalise token settings: access lifetime at least 60 s, refresh lifetime never
 * shorter than access (both as kaiju's JWTService does), key lifetime at least 2 min.
 */
export function resolveTokenSettings(partial: Partial<TokenSettings> = {}): TokenSettings {
  const s = { ...DEFAULT_TOKEN_SETTINGS, ...partial };
  const accessTtl = Math.max(MIN_ACCESS_TTL, positiveSeconds('accessTtl', s.accessTtl, 1));
  const refreshTtl = Math.max(accessTtl, positiveSeconds('refreshTtl', s.refreshTtl, 1));
  if (!['ES256', 'RS256', 'EdDSA'].includes(s.algorithm)) throw new RangeError(`unsupported algorithm ${s.algorithm}`);
  return {
    accessTtl,
    refreshTtl,
    keyLifetime: positiveSeconds('keyLifetime', s.keyLifetime, 120),
    algorithm: s.algorithm,
    issuer: s.issuer === '' ? null : s.issuer,
    audience: s.audience === '' ? null : s.audience,
    clockSkew: positiveSeconds('clockSkew', s.clockSkew, 0),
  };
}
