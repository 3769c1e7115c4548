/**
 * Verifying a token, the strict way: the key comes from the `kid` (which must resolve), the
 * algorithm from the key (never from the token: no `none`, no HMAC keyed with a public key),
 * `exp`/`nbf` with a bounded clock skew, `iss`/`aud` when configured, and the token type.
 * Every failure is a `KaijuAuthError` of kind `auth` whose code says why; the token text is never
 * in a message.
 */
import { errors as joseErrors, jwtVerify } from 'jose';
import { authError, isKaijuAuthError, type KaijuAuthError } from '../errors.js';
import type { KeyResolver } from '../keys/jwks.js';
import { checkClaims, type TokenClaims, type TokenType } from './claims.js';
import { MAX_TOKEN_LENGTH } from './settings.js';

export interface VerifyOptions {
  /** Which type is acceptable; default `access`. */
  type?: TokenType | 'any';
  /** Tolerance for `exp`/`nbf`, s (default 60). */
  clockSkew?: number;
  /** Required `iss`, when set. */
  issuer?: string | null;
  /** Required `aud`, when set. */
  audience?: string | null;
  /** The time to verify at (default: now). */
  now?: Date;
}

function invalid(message: string, cause?: unknown): KaijuAuthError {
  return authError('auth.token.invalid', message, undefined, cause);
}

/** A jose failure as our coded error. */
export function tokenErrorFromJose(err: unknown): KaijuAuthError {
  if (isKaijuAuthError(err)) return err;
  if (err instanceof joseErrors.JWTExpired) return authError('auth.token.expired', 'the token has expired', undefined, err);
  if (err instanceof joseErrors.JWTClaimValidationFailed) {
    if (err.claim === 'nbf') return authError('auth.token.not_yet_valid', 'the token is not valid yet (nbf)', undefined, err);
    if (err.claim === 'iat') return authError('auth.token.not_yet_valid', 'the token was issued in the future (iat)', undefined, err);
    return authError('auth.token.claim_invalid', `token claim "${err.claim}" check failed (${err.reason})`, { claim: err.claim }, err);
  }
  if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
    return authError('auth.token.bad_signature', 'the token signature does not verify', undefined, err);
  }
  if (err instanceof joseErrors.JOSEAlgNotAllowed) return invalid('the token algorithm is not one a key of ours has', err);
  if (err instanceof joseErrors.JWSInvalid || err instanceof joseErrors.JWTInvalid) {
    return invalid('not a well-formed JWT (expected three base64url parts: JSON header, JSON claims, signature)', err);
  }
  if (err instanceof joseErrors.JOSEError) return invalid(`malformed token (${err.code})`, err);
  return invalid('malformed token', err);
}

/** A token longer than MAX_TOKEN_LENGTH, refused before anything of it is decoded. */
export function tokenTooLarge(length: number): KaijuAuthError {
  return authError('auth.token.too_large', `the token is ${length} bytes, over the limit of ${MAX_TOKEN_LENGTH}`, {
    length,
    limit: MAX_TOKEN_LENGTH,
  });
}

/** Every algorithm a key of ours can have; the key's own is enforced per token below. */
const KEY_ALGORITHMS = ['ES256', 'RS256', 'EdDSA'];

/** Verify `token` against the keys `resolver` knows; its claims, or a coded `auth` error. */
export async function verifyToken(token: string, resolver: KeyResolver, options: VerifyOptions = {}): Promise<TokenClaims> {
  if (token.length > MAX_TOKEN_LENGTH + 64) throw tokenTooLarge(token.length);
  const text = token.trim();
  if (text.length > MAX_TOKEN_LENGTH) throw tokenTooLarge(text.length);
  if (text === '') throw invalid('the token is empty');
  let payload: Record<string, unknown>;
  try {
    // jose parses the header once and hands it here: the kid picks the key, and the key's own
    // algorithm must be the token's (jose has already refused anything outside KEY_ALGORITHMS,
    // `none` and HMAC included).
    ({ payload } = await jwtVerify(
      text,
      async (header) => {
        if (typeof header.kid !== 'string' || header.kid === '') throw invalid('the token header has no "kid"');
        const key = await resolver.resolve(header.kid);
        if (header.alg !== key.alg) {
          throw authError('auth.token.invalid', `the token algorithm ${JSON.stringify(header.alg)} is not the key's (${key.alg})`, {
            alg: header.alg,
            expected: key.alg,
          });
        }
        return key.key;
      },
      {
        algorithms: KEY_ALGORITHMS,
        clockTolerance: options.clockSkew ?? 60,
        currentDate: options.now ?? new Date(),
        requiredClaims: ['exp', 'iat'],
        ...(options.issuer ? { issuer: options.issuer } : {}),
        ...(options.audience ? { audience: options.audience } : {}),
      },
    ));
  } catch (err) {
    throw tokenErrorFromJose(err);
  }
  return checkClaims(payload, options.type ?? 'access');
}
