/**
 * JSON Web Key Sets: the public half of the keystore as any JOSE library reads it, and the key
 * resolver a verifier uses (from a JWKS document, offline, or from the keystore table). A
 * resolver answers "which key, with which algorithm, verifies tokens with this kid"; the
 * algorithm comes from the key, never from the token.
 */
import type { CryptoKey, JWK } from 'jose';
import type { KeyObject } from 'node:crypto';
import { authError } from '../../errors.js';
import { isSigningAlgorithm, type PublicJwk, type SigningAlgorithm } from './algorithms.js';

export interface Jwks {
  keys: PublicJwk[];
}

/** A key that can verify tokens of one `kid`, with the one algorithm it is pinned to. */
export interface VerificationKey {
  kid: string;
  alg: SigningAlgorithm;
  key: CryptoKey | KeyObject;
  /** When the key stops verifying, epoch s, when known: no token it signed may expire later. */
  verifiesUntil?: number;
}

export interface KeyResolver {
  /** The key for `kid`; throws `auth.token.unknown_key` or `auth.token.key_retired`. */
  resolve(kid: string): Promise<VerificationKey>;
}

/** Members of a private JWK: a JWKS we read or write must contain none. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'];

/** The algorithm of a JWK: its `alg`, else what an EC/OKP key's curve allows (RSA must say). */
function algOf(jwk: JWK): SigningAlgorithm | null {
  if (jwk.alg !== undefined) return isSigningAlgorithm(jwk.alg) ? jwk.alg : null;
  if (jwk.kty === 'EC' && jwk.crv === 'P-256') return 'ES256';
  if (jwk.kty === 'OKP' && jwk.crv === 'Ed25519') return 'EdDSA';
  return null;
}

/**
 * Validate a JWKS document (e.g. a `--jwks` file). Keys for other uses (`use: "enc"`) are skipped;
 * a key with private material, an HMAC key, a key without `kid` or with an algorithm we do not
 * verify makes the whole document invalid (`data.file_invalid`), so a typo never silently drops
 * the key a service relies on.
 */
export function parseJwks(doc: unknown, source = 'JWKS'): Jwks {
  const keys = (doc as { keys?: unknown } | null)?.keys;
  if (!doc || typeof doc !== 'object' || !Array.isArray(keys)) {
    throw authError('data.file_invalid', `${source}: not a JWKS document (expected {"keys": [...]})`, { file: source });
  }
  const out: PublicJwk[] = [];
  keys.forEach((raw: unknown, i) => {
    const where = `${source}: keys[${i}]`;
    if (!raw || typeof raw !== 'object') throw authError('data.file_invalid', `${where} is not an object`, { file: source, index: i });
    const jwk = raw as JWK;
    if (jwk.use !== undefined && jwk.use !== 'sig') return;
    if (PRIVATE_MEMBERS.some((m) => m in jwk)) {
      throw authError('data.file_invalid', `${where} holds private key material: a JWKS must be public keys only`, {
        file: source,
        index: i,
      });
    }
    if (typeof jwk.kid !== 'string' || jwk.kid === '') {
      throw authError('data.file_invalid', `${where} has no "kid"`, { file: source, index: i });
    }
    const alg = algOf(jwk);
    if (alg === null || !['EC', 'RSA', 'OKP'].includes(String(jwk.kty))) {
      throw authError('data.file_invalid', `${where} (kid ${jwk.kid}): unsupported key type/algorithm ${jwk.kty}/${jwk.alg ?? '?'}`, {
        file: source,
        index: i,
      });
    }
    out.push({ ...jwk, kid: jwk.kid, alg, use: 'sig' });
  });
  return { keys: out };
}

/**
 * A resolver over a JWKS: each key is imported once, on first use, with its pinned algorithm.
 * A kid that is not in the set is `auth.token.unknown_key`.
 */
export function jwksResolver(jwks: Jwks): KeyResolver {
  const byKid = new Map(jwks.keys.map((k) => [k.kid, k]));
  const imported = new Map<string, Promise<VerificationKey>>();
  return {
    resolve(kid) {
      let found = imported.get(kid);
      if (!found) {
        const jwk = byKid.get(kid);
        if (!jwk) return Promise.reject(unknownKey(kid));
        found = importPublicJwk(jwk);
        imported.set(kid, found);
      }
      return found;
    },
  };
}

function unknownKey(kid: string) {
  return authError('auth.token.unknown_key', `unknown signing key ${JSON.stringify(kid)}`, { kid });
}

/**
 * A JWKS's keys imported at once, as plain data that can be handed to a worker thread (CryptoKeys
 * are cloneable): each kid's key, or the message its import failed with.
 */
export interface ImportedJwks {
  keys: VerificationKey[];
  invalid: { kid: string; message: string }[];
}

/** Import every key of `jwks` (the one `jwksResolver` would use for each kid). */
export async function importJwks(jwks: Jwks): Promise<ImportedJwks> {
  const resolver = jwksResolver(jwks);
  const out: ImportedJwks = { keys: [], invalid: [] };
  for (const kid of new Set(jwks.keys.map((k) => k.kid))) {
    try {
      out.keys.push(await resolver.resolve(kid));
    } catch (err) {
      out.invalid.push({ kid, message: err instanceof Error ? err.message : String(err) });
    }
  }
  return out;
}

/** The resolver `jwksResolver` is, over keys `importJwks` imported: the same keys, the same errors. */
export function importedJwksResolver(imported: ImportedJwks): KeyResolver {
  const keys = new Map(imported.keys.map((k) => [k.kid, Promise.resolve(k)]));
  const invalid = new Map(imported.invalid.map((k) => [k.kid, k.message]));
  return {
    resolve(kid) {
      const key = keys.get(kid);
      if (key) return key;
      const message = invalid.get(kid);
      return Promise.reject(message === undefined ? unknownKey(kid) : authError('auth.key.invalid', message, { kid }));
    },
  };
}

/**
 * Import a public JWK with its pinned algorithm. Its `exp` member (OpenID Federation's, which
 * `keys jwks` writes: the key's `verifies_until`) becomes `verifiesUntil`.
 */
export async function importPublicJwk(jwk: PublicJwk): Promise<VerificationKey> {
  const publicOnly = Object.fromEntries(Object.entries(jwk).filter(([k]) => !PRIVATE_MEMBERS.includes(k) && k !== 'exp')) as JWK;
  const exp = (jwk as { exp?: unknown }).exp;
  // jose's key import alone, and only when a key is imported (worker threads handed imported keys
  // never load it; a batch verifies without loading the rest of jose unless a token needs it).
  const { importJWK } = await import('jose/key/import');
  try {
    const key = (await importJWK(publicOnly, jwk.alg)) as CryptoKey;
    return { kid: jwk.kid, alg: jwk.alg, key, ...(typeof exp === 'number' && Number.isFinite(exp) ? { verifiesUntil: exp } : {}) };
  } catch (err) {
    throw authError('auth.key.invalid', `public key ${jwk.kid} cannot be imported`, { kid: jwk.kid }, err);
  }
}
