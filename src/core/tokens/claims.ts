/**
 * What our tokens say, as pure functions. Claims are kaiju_auth 2.1.0's `{id, permissions, iat,
 * exp}` plus `sub` (the user id again, for standard JOSE tooling), `jti`, optional `iss`/`aud`,
 * and `typ`: "access" or "refresh", so a refresh token is never taken for an access token.
 *
 * A refresh token carries `permissions: []`: it is only good for getting a new pair (which
 * re-reads the user's current permissions), so an older verifier that ignores `typ` and accepts
 * a refresh token as an access token gets no permissions from it.
 */
import { authError } from '../../errors.js';
import { MIN_ACCESS_TTL, checkSetting, type TokenSettings } from './settings.js';

export const TOKEN_TYPES = ['access', 'refresh'] as const;
export type TokenType = (typeof TOKEN_TYPES)[number];

/** The JWT claims as the tokens carry them (the wire format's names). */
export interface TokenClaims {
  /** The user id (kaiju's claim). */
  id: string;
  /** Effective permissions, sorted (kaiju's claim); empty in a refresh token. */
  permissions: string[];
  iat: number;
  exp: number;
  sub: string;
  jti: string;
  typ: TokenType;
  iss?: string;
  aud?: string | string[];
  nbf?: number;
}

export interface TokenPair {
  access: string;
  refresh: string;
}

export interface TokenLifetimes {
  access: number;
  refresh: number;
}

/**
 * Lifetimes for one issue, s: an override of the access lifetime (`--ttl`) keeps kaiju's rules,
 * at least 60 s, and the refresh lifetime never below it; neither above its upper bound
 * (`settings.out_of_range`).
 */
export function tokenLifetimes(settings: Pick<TokenSettings, 'accessTtl' | 'refreshTtl'>, override: { accessTtl?: number; refreshTtl?: number } = {}): TokenLifetimes {
  if (override.accessTtl !== undefined) checkSetting('accessTtl', Math.max(MIN_ACCESS_TTL, override.accessTtl));
  if (override.refreshTtl !== undefined) checkSetting('refreshTtl', Math.max(MIN_ACCESS_TTL, override.refreshTtl));
  const access = Math.max(MIN_ACCESS_TTL, Math.floor(override.accessTtl ?? settings.accessTtl));
  const refresh = Math.max(access, Math.floor(override.refreshTtl ?? settings.refreshTtl));
  return { access, refresh };
}

/** `exp` for a token issued at `iat` (s): its lifetime, but never past the key's own deadline. */
export function expiryFor(iat: number, ttl: number, signsUntil: Date): number {
  return Math.min(iat + ttl, Math.floor(signsUntil.getTime() / 1000));
}

export interface ClaimsInput {
  userId: string;
  permissions: readonly string[];
  type: TokenType;
  iat: number;
  exp: number;
  jti: string;
  issuer: string | null;
  audience: string | null;
}

export function buildClaims(input: ClaimsInput): TokenClaims {
  return {
    id: input.userId,
    permissions: input.type === 'access' ? [...input.permissions].sort() : [],
    iat: input.iat,
    exp: input.exp,
    sub: input.userId,
    jti: input.jti,
    typ: input.type,
    ...(input.issuer !== null ? { iss: input.issuer } : {}),
    ...(input.audience !== null ? { aud: input.audience } : {}),
  };
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

/**
 * A verified payload checked for our shape: `auth.token.claim_invalid` when a claim is missing or
 * of the wrong type; `auth.token.wrong_type` when it is not the type expected.
 */
export function checkClaims(payload: Record<string, unknown>, expected: TokenType | 'any'): TokenClaims {
  const bad = (claim: string) =>
    authError('auth.token.claim_invalid', `token claim "${claim}" is missing or malformed`, { claim });
  if (typeof payload.typ !== 'string' || !(TOKEN_TYPES as readonly string[]).includes(payload.typ)) {
    throw authError('auth.token.wrong_type', 'not a kaiju-auth access or refresh token (no "typ" claim)', { expected });
  }
  if (expected !== 'any' && payload.typ !== expected) {
    throw authError('auth.token.wrong_type', `this is ${payload.typ === 'access' ? 'an access' : 'a refresh'} token, not ${expected === 'access' ? 'an access' : 'a refresh'} token`, {
      expected,
      actual: payload.typ,
    });
  }
  if (typeof payload.id !== 'string' || payload.id === '') throw bad('id');
  if (payload.sub !== payload.id) throw bad('sub');
  if (!isStringArray(payload.permissions)) throw bad('permissions');
  for (const claim of ['iat', 'exp'] as const) {
    if (typeof payload[claim] !== 'number' || !Number.isFinite(payload[claim])) throw bad(claim);
  }
  if (typeof payload.jti !== 'string' || payload.jti === '') throw bad('jti');
  return payload as unknown as TokenClaims;
}

/** "16m 40s", "23h 59m", "3d 4h": a duration for people (largest two units). */
export function humanDuration(seconds: number): string {
  const s = Math.abs(Math.round(seconds));
  const units: [string, number][] = [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const parts: string[] = [];
  let rest = s;
  for (const [name, size] of units) {
    if (rest >= size || (name === 's' && parts.length === 0)) {
      parts.push(`${Math.floor(rest / size)}${name}`);
      rest %= size;
    }
    if (parts.length === 2) break;
  }
  return parts.join(' ');
}
