/**
 * Verifying a token, the strict way: the key comes from the `kid` (which must resolve), the
 * algorithm from the key (never from the token: no `none`, no HMAC keyed with a public key),
 * `exp`/`nbf` with a bounded clock skew, `iss`/`aud` when configured, and the token type.
 * Stricter than jose alone, in this order, each with its own code:
 *
 * - longer than MAX_TOKEN_LENGTH: `auth.token.too_large` (before anything is decoded);
 * - a header or claims object naming a member twice: `auth.token.duplicate_member`;
 * - (jose: well-formed, known key, signature, `exp`, `nbf`, `iss`, `aud`);
 * - an ES256 signature not in low-S form: `auth.token.non_canonical_signature`;
 * - `iat` later than now plus the clock skew: `auth.token.iat_future`;
 * - `exp` later than the signing key's `verifies_until`: `auth.token.exp_beyond_key` (no token of
 *   ours outlives its key; offline, when the JWKS gives the key's `exp`);
 * - the claims' shape and type (claims.ts).
 *
 * Every failure is a `KaijuAuthError` of kind `auth` whose code says why; the token text is never
 * in a message.
 */
import { errors as joseErrors, jwtVerify } from 'jose';
import { authError, isKaijuAuthError, type KaijuAuthError } from '../../errors.js';
import type { KeyResolver, VerificationKey } from '../keys/jwks.js';
import type { TokenClaims } from './claims.js';
import { MAX_TOKEN_LENGTH, checkSetting } from './settings.js';
import { duplicateMember } from './strict.js';
import { KEY_ALGORITHMS, checkVerifiedPayload, tokenTooLarge, type VerifyOptions } from './verify-checks.js';

export { KEY_ALGORITHMS, checkVerifiedPayload, tokenTooLarge, type VerifyOptions } from './verify-checks.js';

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


/**
 * A part's bytes, refusing any but the one canonical base64url spelling of them (no padding, no
 * stray characters, no non-zero unused bits in the last character): otherwise one token would
 * have several encodings that all verify.
 */
function canonicalPart(part: string, where: string): Buffer {
  const bytes = Buffer.from(part, 'base64url');
  if (bytes.toString('base64url') !== part) {
    throw invalid(`not a well-formed JWT: the ${where} is not canonical base64url`);
  }
  return bytes;
}

/** Refuse a header or claims object that names a member twice (whatever a parser would keep). */
function assertNoDuplicateMembers(json: string, where: string): void {
  const name = duplicateMember(json);
  if (name === null) return;
  try {
    JSON.parse(json);
  } catch {
    return; // not JSON at all: jose says so
  }
  throw authError('auth.token.duplicate_member', `the token ${where} names member ${JSON.stringify(name.slice(0, 64))} twice`, {
    part: where,
  });
}

/** The checks before jose: three canonical base64url parts, no duplicate members. The signature's bytes. */
function precheck(text: string): Buffer {
  const dot1 = text.indexOf('.');
  const dot2 = dot1 < 0 ? -1 : text.indexOf('.', dot1 + 1);
  if (dot2 < 0 || text.indexOf('.', dot2 + 1) >= 0) {
    throw invalid('not a well-formed JWT (expected three base64url parts: JSON header, JSON claims, signature)');
  }
  const header = canonicalPart(text.slice(0, dot1), 'header');
  const claims = canonicalPart(text.slice(dot1 + 1, dot2), 'claims');
  const signature = canonicalPart(text.slice(dot2 + 1), 'signature');
  assertNoDuplicateMembers(header.toString('utf8'), 'header');
  assertNoDuplicateMembers(claims.toString('utf8'), 'claims');
  return signature;
}


/** Verify `token` against the keys `resolver` knows; its claims, or a coded `auth` error. */
export async function verifyToken(token: string, resolver: KeyResolver, options: VerifyOptions = {}): Promise<TokenClaims> {
  if (token.length > MAX_TOKEN_LENGTH + 64) throw tokenTooLarge(token.length);
  const text = token.trim();
  if (text.length > MAX_TOKEN_LENGTH) throw tokenTooLarge(text.length);
  if (text === '') throw invalid('the token is empty');
  const skew = options.clockSkew === undefined ? 60 : checkSetting('clockSkew', options.clockSkew);
  const signature = precheck(text);
  let payload: Record<string, unknown>;
  let used: VerificationKey | null = null;
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
        used = key;
        return key.key;
      },
      {
        algorithms: [...KEY_ALGORITHMS],
        clockTolerance: skew,
        currentDate: options.now ?? new Date(),
        requiredClaims: ['exp', 'iat'],
        ...(options.issuer ? { issuer: options.issuer } : {}),
        ...(options.audience ? { audience: options.audience } : {}),
      },
    ));
  } catch (err) {
    throw tokenErrorFromJose(err);
  }
  const key = used as VerificationKey | null;
  return checkVerifiedPayload(payload, key, signature, Math.floor((options.now ?? new Date()).getTime() / 1000), skew, options.type ?? 'access');
}
