/**
 * Decoding a token without verifying it, for people looking at one: header and claims, and what
 * its times mean now. The result says `verified: false`; nothing here is trustworthy.
 */
import { decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { authError } from '../../errors.js';

export interface InspectedToken {
  verified: false;
  header: ProtectedHeaderParameters;
  claims: JWTPayload;
  /** `typ` claim when it is one of ours. */
  type: string | null;
  issued_at: Date | null;
  expires_at: Date | null;
  /** Seconds until `exp` (negative: expired since), or null without `exp`. */
  expires_in_seconds: number | null;
  expired: boolean | null;
}

export function inspectToken(token: string, now: Date = new Date()): InspectedToken {
  const text = token.trim();
  let header: ProtectedHeaderParameters;
  let claims: JWTPayload;
  try {
    header = decodeProtectedHeader(text);
    claims = decodeJwt(text);
  } catch (err) {
    throw authError('auth.token.invalid', 'cannot decode: not a JWT (expected three base64url parts with JSON header and claims)', undefined, err);
  }
  const date = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? new Date(v * 1000) : null);
  const expires = date(claims.exp);
  const inSeconds = expires ? Math.round((expires.getTime() - now.getTime()) / 1000) : null;
  return {
    verified: false,
    header,
    claims,
    type: typeof claims.typ === 'string' ? claims.typ : null,
    issued_at: date(claims.iat),
    expires_at: expires,
    expires_in_seconds: inSeconds,
    expired: inSeconds === null ? null : inSeconds <= 0,
  };
}
