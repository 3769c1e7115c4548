/**
 * Signing a token pair with the keystore's signing key. Header `{typ: "JWT", alg, kid}` as kaiju
 * makes it; `exp` never past the key's `signs_until`, so a key can be dropped once its
 * `verifies_until` has passed without any token it signed still being valid.
 */
import { randomUUID } from 'node:crypto';
import { SignJWT } from 'jose';
import type { SigningKey } from '../keys/keystore.js';
import { buildClaims, expiryFor, tokenLifetimes, type TokenClaims, type TokenPair, type TokenType } from './claims.js';
import { MAX_TOKEN_LENGTH, type TokenSettings } from './settings.js';
import { canonicalEs256 } from './strict.js';
import { authError } from '../../errors.js';

export interface IssueOptions {
  /** Access token lifetime for this pair, s (at least 60). */
  accessTtl?: number;
  /** Refresh token lifetime for this pair, s (never below the access lifetime). */
  refreshTtl?: number;
}

export interface IssuedTokens extends TokenPair {
  claims: { access: TokenClaims; refresh: TokenClaims };
}

export interface TokenSubject {
  /** The user id. */
  id: string;
  /** Effective permissions. */
  permissions: readonly string[];
}

/**
 * Sign one token. ES256 signatures are put in low-S form (OpenSSL makes either half), which
 * `verifyToken` requires; a token over MAX_TOKEN_LENGTH (permissions by the hundred) is refused
 * here rather than issued unverifiable.
 */
export async function signToken(key: SigningKey, claims: TokenClaims): Promise<string> {
  const token = await new SignJWT({ ...claims })
    .setProtectedHeader({ typ: 'JWT', alg: key.alg, kid: key.kid })
    .sign(key.privateKey);
  if (token.length > MAX_TOKEN_LENGTH) {
    throw authError('data.invalid', `the ${claims.typ} token would be ${token.length} bytes, over the limit of ${MAX_TOKEN_LENGTH} (too many permissions?)`, {
      length: token.length,
      limit: MAX_TOKEN_LENGTH,
    });
  }
  return key.alg === 'ES256' ? canonicalEs256(token) : token;
}

/** An access and a refresh token for `subject`, signed now with `key`. */
export async function signTokenPair(
  key: SigningKey,
  subject: TokenSubject,
  settings: TokenSettings,
  now: Date,
  options: IssueOptions = {},
): Promise<IssuedTokens> {
  const iat = Math.floor(now.getTime() / 1000);
  const ttl = tokenLifetimes(settings, options);
  const make = (type: TokenType) =>
    buildClaims({
      userId: subject.id,
      permissions: subject.permissions,
      type,
      iat,
      exp: expiryFor(iat, ttl[type], key.signsUntil),
      jti: randomUUID(),
      issuer: settings.issuer,
      audience: settings.audience,
    });
  const claims = { access: make('access'), refresh: make('refresh') };
  const [access, refresh] = await Promise.all([signToken(key, claims.access), signToken(key, claims.refresh)]);
  return { access, refresh, claims };
}
