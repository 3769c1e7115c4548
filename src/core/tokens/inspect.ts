/**
 * Decoding a token without verifying it, for people looking at one: header and claims, and what
 * its times mean now. The result says `verified: false`; nothing here is trustworthy.
 */
import { decodeJwt, decodeProtectedHeader, type JWTPayload, type ProtectedHeaderParameters } from 'jose';
import { authError } from '../../errors.js';

export interface InspectedToken {
  verified: false;
  /** The JOSE header and the JWT claims as the token carries them (the wire format's names). */
  header: ProtectedHeaderParameters;
  claims: JWTPayload;
  /** `typ` claim when it is one of ours. */
  type: string | null;
  issuedAt: Date | null;
  expiresAt: Date | null;
  /** Seconds until `exp` (negative: expired since), or null without `exp`. */
  expiresInSeconds: number | null;
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
    issuedAt: date(claims.iat),
    expiresAt: expires,
    expiresInSeconds: inSeconds,
    expired: inSeconds === null ? null : inSeconds <= 0,
  };
}
