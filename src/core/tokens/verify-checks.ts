/**
 * The parts of strict token verification that need no jose (verify.ts has the rest): the options,
 * the algorithms a key of ours can have, the size refusal, and the checks that follow jose's.
 * Shared by `verifyToken` and the fast path (token-verifier.ts), so both answer alike; kept free
 * of jose so that worker threads verifying batches load it only if a token needs it.
 */
import { authError, type KaijuAuthError } from '../../errors.js';
import type { VerificationKey } from '../keys/jwks.js';
import { checkClaims, type TokenClaims, type TokenType } from './claims.js';
import { MAX_TOKEN_LENGTH } from './settings.js';
import { isHighS } from './strict.js';

export interface VerifyOptions {
  /** Which type is acceptable; default `access`. */
  type?: TokenType | 'any';
  /** Tolerance for `exp`/`nbf`/`iat`, s (default 60; at most 300). */
  clockSkew?: number;
  /** Required `iss`, when set. */
  issuer?: string | null;
  /** Required `aud`, when set. */
  audience?: string | null;
  /** The time to verify at (default: now). */
  now?: Date;
}

/** Every algorithm a key of ours can have; the key's own is enforced per token. */
export const KEY_ALGORITHMS: readonly string[] = ['ES256', 'RS256', 'EdDSA'];

/** A token longer than MAX_TOKEN_LENGTH, refused before anything of it is decoded. */
export function tokenTooLarge(length: number): KaijuAuthError {
  return authError('auth.token.too_large', `the token is ${length} bytes, over the limit of ${MAX_TOKEN_LENGTH}`, {
    length,
    limit: MAX_TOKEN_LENGTH,
  });
}

/**
 * Our checks after jose's (signature, `exp`, `nbf`, `iss`, `aud`), in their order: low-S for
 * ES256, `iat` not in the future, `exp` not beyond the key, then the claims' shape and type. Shared
 * with the fast path (token-verifier.ts). `now` in epoch seconds.
 */
export function checkVerifiedPayload(
  payload: Record<string, unknown>,
  key: Pick<VerificationKey, 'alg' | 'kid' | 'verifiesUntil'> | null,
  signature: Uint8Array,
  now: number,
  skew: number,
  type: TokenType | 'any',
): TokenClaims {
  if (key?.alg === 'ES256' && isHighS(signature)) {
    throw authError('auth.token.non_canonical_signature', 'the token signature is not in canonical (low-S) form');
  }
  if (typeof payload.iat === 'number' && payload.iat > now + skew) {
    throw authError('auth.token.iat_future', 'the token was issued in the future (iat beyond the clock skew)', { iat: payload.iat });
  }
  if (key?.verifiesUntil !== undefined && typeof payload.exp === 'number' && payload.exp > key.verifiesUntil) {
    throw authError('auth.token.exp_beyond_key', `the token expires after its signing key ${key.kid} stops verifying`, {
      kid: key.kid,
    });
  }
  return checkClaims(payload, type);
}
