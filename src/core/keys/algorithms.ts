/**
 * The signing algorithms we support, each pinned to one key type: ES256 (EC P-256, kaiju's
 * default), RS256 (RSA >= 2048 bits) and EdDSA (Ed25519). Free of heavy imports, so listing keys
 * and `status` do not load jose.
 */
import type { JWK } from 'jose';
import { authError } from '../../errors.js';

export const SIGNING_ALGORITHMS = ['ES256', 'RS256', 'EdDSA'] as const;
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number];

export const DEFAULT_ALGORITHM: SigningAlgorithm = 'ES256';
export const MIN_RSA_BITS = 2048;

/** A public key as published in a JWKS: `kid`, `alg` and `use: "sig"` always set. */
export interface PublicJwk extends JWK {
  kid: string;
  alg: SigningAlgorithm;
  use: 'sig';
  /** When the key stops verifying (epoch s; OpenID Federation's JWK member), in JWKS we publish. */
  exp?: number;
}

export function isSigningAlgorithm(value: unknown): value is SigningAlgorithm {
  return typeof value === 'string' && (SIGNING_ALGORITHMS as readonly string[]).includes(value);
}

export function assertSigningAlgorithm(value: string): SigningAlgorithm {
  if (!isSigningAlgorithm(value)) {
    throw authError('auth.key.invalid', `unsupported algorithm "${value}": use one of ${SIGNING_ALGORITHMS.join(', ')}`, {
      alg: value,
    });
  }
  return value;
}

/** kid syntax for imported keys given a name: URL- and filename-safe. */
const KID_PATTERN = /^[A-Za-z0-9._-]{1,128}$/;

export function assertKid(kid: string): string {
  if (!KID_PATTERN.test(kid)) {
    throw authError('auth.key.invalid', `invalid kid "${kid}": use 1 to 128 letters, digits, '.', '_' or '-'`, { kid });
  }
  return kid;
}

