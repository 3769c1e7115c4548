/**
 * Verifying many tokens at the hardware's pace, with exactly `verifyToken`'s answers. A token
 * whose header is one we have seen with a usable key is checked here synchronously: the same
 * canonical-base64url and duplicate-member rules, jose's own claim rules (replicated below), our
 * stricter checks (shared with verify.ts), and the signature with `node:crypto` on a cached
 * `KeyObject`, the same OpenSSL verification WebCrypto runs, without its per-call promise and
 * thread-pool round trip. Only a token found valid is answered here; anything else (a failure of
 * any kind, an unusual header, a key we cannot use directly) goes to `verifyToken` itself, so
 * every refusal keeps its code and the jose-based path stays the reference.
 *
 * A kid's key is resolved once per verifier and kept (as the JWKS and keystore resolvers do
 * themselves), except that it is never used here from the second its `verifiesUntil` starts.
 */
import { KeyObject, verify as cryptoVerify, type webcrypto } from 'node:crypto';
import type { KeyResolver, VerificationKey } from '../keys/jwks.js';
import type { TokenClaims, TokenType } from './claims.js';
import { MAX_TOKEN_LENGTH, checkSetting } from './settings.js';
import { isAscii } from 'node:buffer';
import { duplicateMember, isPlainObjectText } from './strict.js';
import { KEY_ALGORITHMS, checkVerifiedPayload, type VerifyOptions } from './verify-checks.js';

/** A header this verifier has checked, with its key ready for `node:crypto`. */
interface KnownHeader {
  key: VerificationKey;
  keyObject: KeyObject;
  /** The digest `crypto.verify` takes (null for Ed25519). */
  digest: string | null;
  /** ES256 signatures are IEEE P1363 (r || s), as JWS has them. */
  p1363: boolean;
  /** What `crypto.verify` takes as the key. */
  verifyKey: KeyObject | { key: KeyObject; dsaEncoding: 'ieee-p1363' };
  /** Epoch ms from which this key is no longer used here (its verifiesUntil), or Infinity. */
  until: number;
}

/** What jose requires of the CryptoKey for each of our algorithms (its checkCryptoKey and minRsaBits). */
const KEY_RULES: Record<string, { name: string; namedCurve?: string; hash?: string; minBits?: number }> = {
  ES256: { name: 'ECDSA', namedCurve: 'P-256' },
  RS256: { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256', minBits: 2048 },
  EdDSA: { name: 'Ed25519' },
};

/** Header members a fast-path header may have: what we issue. Anything else goes to jose. */
const PLAIN_HEADER_MEMBERS = new Set(['alg', 'kid', 'typ']);
/** Headers remembered at most; past it the memory starts afresh (junk headers cost speed, not memory). */
const MAX_KNOWN_HEADERS = 64;

/** jose's decoder for headers and claims: invalid UTF-8 is an error, a leading BOM is dropped. */
const strictDecoder = new TextDecoder('utf-8', { fatal: true });

/** A part's bytes when it is the one canonical base64url spelling of them (verify.ts's rule), else null. */
function canonicalBytes(part: string): Buffer | null {
  const bytes = Buffer.from(part, 'base64url');
  return bytes.toString('base64url') === part ? bytes : null;
}

/** JSON text of a header or claims part as jose parses it, refusing duplicate members; null when not an object. */
function parseObject(bytes: Uint8Array): Record<string, unknown> | null {
  let text: string;
  let value: unknown;
  try {
    text = strictDecoder.decode(bytes);
    if (duplicateMember(text) !== null) return null;
    value = JSON.parse(text);
  } catch {
    return null;
  }
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;
}

/** A CryptoKey (as jose tells one: Node 20 has no CryptoKey export) that jose would verify `key.alg` with as it is. */
function isUsableCryptoKey(key: VerificationKey): key is VerificationKey & { key: webcrypto.CryptoKey } {
  const rule = KEY_RULES[key.alg];
  const k = key.key as webcrypto.CryptoKey & { [Symbol.toStringTag]?: string };
  if (!rule || k[Symbol.toStringTag] !== 'CryptoKey' || k.type !== 'public' || !k.usages.includes('verify')) return false;
  const algorithm = k.algorithm as { name: string; namedCurve?: string; hash?: { name?: string }; modulusLength?: number };
  if (algorithm.name !== rule.name) return false;
  if (rule.namedCurve !== undefined && algorithm.namedCurve !== rule.namedCurve) return false;
  if (rule.hash !== undefined && algorithm.hash?.name !== rule.hash) return false;
  if (rule.minBits !== undefined && !(typeof algorithm.modulusLength === 'number' && algorithm.modulusLength >= rule.minBits)) return false;
  return true;
}

export class TokenVerifier {
  private readonly resolver: KeyResolver;
  private readonly options: VerifyOptions;
  private readonly skew: number;
  private readonly type: TokenType | 'any';
  private readonly issuer: string | null;
  private readonly audience: string | null;
  private readonly known = new Map<string, KnownHeader>();
  private readonly learning = new Map<string, Promise<KnownHeader | null>>();

  /** Options as `verifyToken`'s; without `now`, each token is checked at the time it is verified. */
  constructor(resolver: KeyResolver, options: VerifyOptions = {}) {
    this.resolver = resolver;
    this.skew = options.clockSkew === undefined ? 60 : checkSetting('clockSkew', options.clockSkew);
    this.options = { ...options, clockSkew: this.skew };
    this.type = options.type ?? 'access';
    this.issuer = options.issuer || null;
    this.audience = options.audience || null;
  }

  /** `verifyToken(token, resolver, options)`'s answer: the claims, or the same coded `auth` error. */
  async verify(token: string): Promise<TokenClaims> {
    const nowMs = this.options.now?.getTime() ?? Date.now();
    const quick = this.verifyKnown(token, nowMs);
    if (quick !== undefined) return quick;
    if (await this.learn(token)) {
      const again = this.verifyKnown(token, nowMs);
      if (again !== undefined) return again;
    }
    // The reference, loaded on first need (a worker thread that meets only valid tokens never loads jose).
    const { verifyToken } = await import('./verify.js');
    return verifyToken(token, this.resolver, { ...this.options, now: new Date(nowMs) });
  }

  /**
   * The claims when `token` is valid at `nowMs` and its header is one already learnt (by `verify`);
   * undefined when this cannot tell (the token is invalid, or must go through `verify`). Synchronous.
   */
  verifyKnown(token: string, nowMs: number): TokenClaims | undefined {
    return this.check(token, nowMs, null) ? (this.claims as TokenClaims) : undefined;
  }

  /** As `verifyKnown`, but the claims as `JSON.stringify` writes them (made anyway on the way). */
  verifyKnownJson(token: string, nowMs: number): string | undefined {
    return this.check(token, nowMs, null) ? this.claimsJson : undefined;
  }

  /**
   * As `verifyKnownJson`, for a token given as its bytes (read as latin1: a token is ASCII, and any
   * other byte makes it invalid): the bytes are verified as they are, without a copy.
   */
  verifyKnownBytes(bytes: Uint8Array, nowMs: number): string | undefined {
    const data = Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    return this.check(data.toString('latin1'), nowMs, data, 0) ? this.claimsJson : undefined;
  }

  /**
   * As `verifyKnownBytes` for the token at `from` to `to` of `bytes`, whose latin1 text the caller
   * has already made of all of them (`text`): a batch is read as text once, and each token is a
   * slice of it, not a copy.
   */
  verifyKnownIn(text: string, bytes: Buffer, from: number, to: number, nowMs: number): string | undefined {
    return this.check(text.slice(from, to), nowMs, bytes, from) ? this.claimsJson : undefined;
  }

  /** The last claims `check` found valid, and their JSON text (fields, not a result object: no garbage per token). */
  private claims: TokenClaims | null = null;
  private claimsJson = '';

  /** `bytes`: the token's own bytes (latin1 of `token`) from `offset` on, when the caller has them. */
  private check(token: string, nowMs: number, bytes: Buffer | null, offset = 0): boolean {
    if (token.length > MAX_TOKEN_LENGTH) return false;
    const dot1 = token.indexOf('.');
    const dot2 = dot1 < 0 ? -1 : token.indexOf('.', dot1 + 1);
    if (dot2 < 0 || token.indexOf('.', dot2 + 1) >= 0) return false;
    const known = this.known.get(token.slice(0, dot1));
    if (known === undefined || nowMs >= known.until) return false;
    const claimsBytes = canonicalBytes(token.slice(dot1 + 1, dot2));
    const signature = claimsBytes && canonicalBytes(token.slice(dot2 + 1));
    if (!claimsBytes || !signature || (known.p1363 && signature.length !== 64)) return false;
    let text: string;
    let payload: unknown;
    try {
      // ASCII (what claims nearly always are) is its own UTF-8, with no BOM to drop.
      text = isAscii(claimsBytes) ? claimsBytes.toString('latin1') : strictDecoder.decode(claimsBytes);
      payload = JSON.parse(text);
    } catch {
      return false;
    }
    if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return false;
    // Text that is exactly what JSON.stringify makes of it (as every JWT library writes claims)
    // cannot name a member twice; other text is scanned. Plain text (isPlainObjectText) is known to be
    // that without writing it again.
    const json = isPlainObjectText(text, Object.keys(payload).length) ? text : JSON.stringify(payload);
    if (json !== text && duplicateMember(text) !== null) return false;
    const now = Math.floor(nowMs / 1000);
    if (!this.joseClaimsHold(payload as Record<string, unknown>, now)) return false;
    let claims: TokenClaims;
    try {
      claims = checkVerifiedPayload(payload as Record<string, unknown>, known.key, signature, now, this.skew, this.type);
    } catch {
      return false;
    }
    // The costly part last: every token that reaches it is valid unless its signature is not.
    let good = false;
    try {
      const input = bytes ? bytes.subarray(offset, offset + dot2) : Buffer.from(token.slice(0, dot2), 'latin1');
      good = cryptoVerify(known.digest, input, known.verifyKey, signature);
    } catch {
      return false;
    }
    if (!good) return false;
    this.claims = claims;
    this.claimsJson = json;
    return true;
  }

  /**
   * jose's jwtVerify claim rules for our options (jwt_claims_set.js): `exp` and `iat` present (and
   * `iss`/`aud` when required), `iss` equal, `aud` equal or listing ours, `iat`/`nbf`/`exp`
   * numbers when present, `nbf` not beyond now + skew, `exp` beyond now - skew.
   */
  private joseClaimsHold(payload: Record<string, unknown>, now: number): boolean {
    if (!Object.hasOwn(payload, 'exp') || !Object.hasOwn(payload, 'iat')) return false;
    if (this.issuer !== null && (!Object.hasOwn(payload, 'iss') || payload.iss !== this.issuer)) return false;
    if (this.audience !== null) {
      if (!Object.hasOwn(payload, 'aud')) return false;
      const aud = payload.aud;
      if (!(typeof aud === 'string' ? aud === this.audience : Array.isArray(aud) && aud.includes(this.audience))) return false;
    }
    const { iat, nbf, exp } = payload;
    if (iat !== undefined && typeof iat !== 'number') return false;
    if (nbf !== undefined && (typeof nbf !== 'number' || nbf > now + this.skew)) return false;
    return typeof exp === 'number' && exp > now - this.skew;
  }

  /** Learn the token's header (once; concurrent callers share the work): true when it is now known. */
  private async learn(token: string): Promise<boolean> {
    const dot = token.indexOf('.');
    if (dot < 0 || token.length > MAX_TOKEN_LENGTH) return false;
    const part = token.slice(0, dot);
    if (this.known.has(part)) return true;
    let pending = this.learning.get(part);
    if (!pending) {
      pending = this.headerEntry(part);
      this.learning.set(part, pending);
      void pending.finally(() => this.learning.delete(part));
    }
    const entry = await pending;
    if (entry === null) return false;
    if (this.known.size >= MAX_KNOWN_HEADERS) this.known.clear();
    this.known.set(part, entry);
    return true;
  }

  /** A header we issue (`{typ, alg, kid}`, nothing more), whose kid resolves to a key jose would use as it is. */
  private async headerEntry(part: string): Promise<KnownHeader | null> {
    const bytes = canonicalBytes(part);
    const header = bytes && parseObject(bytes);
    if (!header || Object.keys(header).some((name) => !PLAIN_HEADER_MEMBERS.has(name))) return null;
    const { alg, kid } = header;
    if (typeof alg !== 'string' || !KEY_ALGORITHMS.includes(alg) || typeof kid !== 'string' || kid === '') return null;
    let key: VerificationKey;
    try {
      key = await this.resolver.resolve(kid);
    } catch {
      return null;
    }
    if (key.alg !== alg || !isUsableCryptoKey(key)) return null;
    let keyObject: KeyObject;
    try {
      keyObject = KeyObject.from(key.key);
    } catch {
      return null;
    }
    return {
      key,
      keyObject,
      digest: alg === 'EdDSA' ? null : 'sha256',
      p1363: alg === 'ES256',
      verifyKey: alg === 'ES256' ? { key: keyObject, dsaEncoding: 'ieee-p1363' } : keyObject,
      until: key.verifiesUntil === undefined ? Infinity : key.verifiesUntil * 1000,
    };
  }
}
