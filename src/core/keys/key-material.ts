/**
 * Key pairs: generating them, reading an existing private key from PEM, and their public JWK with
 * a stable `kid` (the RFC 7638 thumbprint). Loaded only when a key is made, imported or opened.
 */
import { createPrivateKey, createPublicKey, generateKeyPair as generateKeyPairCallback, type KeyObject } from 'node:crypto';
import { promisify } from 'node:util';
import { calculateJwkThumbprint, exportJWK, type JWK } from 'jose';
import { authError } from '../../errors.js';
import { assertKid, MIN_RSA_BITS, type PublicJwk, type SigningAlgorithm, DEFAULT_ALGORITHM } from './algorithms.js';

export type { PublicJwk, SigningAlgorithm } from './algorithms.js';

export interface KeyMaterial {
  alg: SigningAlgorithm;
  privateKey: KeyObject;
  /** PKCS#8 DER of the private key: what gets encrypted at rest. */
  privateDer: Buffer;
  publicJwk: PublicJwk;
}

const generate = promisify(generateKeyPairCallback);

/** The algorithm a private key can sign with, or an `auth.key.invalid` error saying why not. */
export function algorithmForKey(key: KeyObject): SigningAlgorithm {
  const type = key.asymmetricKeyType;
  const details = key.asymmetricKeyDetails ?? {};
  if (type === 'rsa') {
    const bits = details.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) {
      throw authError('auth.key.invalid', `RSA key of ${bits} bits is too weak: at least ${MIN_RSA_BITS} bits`, { bits });
    }
    return 'RS256';
  }
  if (type === 'ec') {
    if (details.namedCurve !== 'prime256v1') {
      throw authError('auth.key.invalid', `EC key on curve ${details.namedCurve ?? 'unknown'}: only P-256 (ES256) is supported`, {
        curve: details.namedCurve,
      });
    }
    return 'ES256';
  }
  if (type === 'ed25519') return 'EdDSA';
  throw authError('auth.key.invalid', `unsupported key type ${type ?? 'unknown'}: use RSA >= 2048, EC P-256 or Ed25519`, {
    type,
  });
}

/**
 * The default kid: the first 128 bits of the key's RFC 7638 SHA-256 thumbprint, in hex (32
 * characters, the shape of kaiju's `uuid4().hex` kids). Hex rather than base64url so a kid never
 * starts with '-' and is taken for an option on a command line.
 */
export async function defaultKid(publicJwk: JWK): Promise<string> {
  const thumbprint = await calculateJwkThumbprint(publicJwk, 'sha256');
  return Buffer.from(thumbprint, 'base64url').subarray(0, 16).toString('hex');
}

/** The key's public JWK with the default kid (or the given one). */
export async function publicJwkOf(privateKey: KeyObject, alg: SigningAlgorithm, kid?: string): Promise<PublicJwk> {
  const jwk = await exportJWK(createPublicKey(privateKey));
  return { ...jwk, kid: kid ?? (await defaultKid(jwk)), alg, use: 'sig' };
}

async function materialOf(privateKey: KeyObject, alg: SigningAlgorithm, kid?: string): Promise<KeyMaterial> {
  return {
    alg,
    privateKey,
    privateDer: privateKey.export({ format: 'der', type: 'pkcs8' }),
    publicJwk: await publicJwkOf(privateKey, alg, kid),
  };
}

export async function generateKeyMaterial(alg: SigningAlgorithm = DEFAULT_ALGORITHM): Promise<KeyMaterial> {
  let pair: { privateKey: KeyObject };
  switch (alg) {
    case 'ES256':
      pair = await generate('ec', { namedCurve: 'P-256' });
      break;
    case 'RS256':
      pair = await generate('rsa', { modulusLength: 2048 });
      break;
    case 'EdDSA':
      pair = await generate('ed25519');
      break;
  }
  return materialOf(pair.privateKey, alg);
}

/**
 * An existing private key from PEM (PKCS#8, or the traditional RSA / SEC1 EC forms). Refused with
 * `auth.key.invalid`: public keys, encrypted PEM, weak or unsupported keys. Error messages never
 * include the key text.
 */
export async function importPemKeyMaterial(pem: string, options: { kid?: string } = {}): Promise<KeyMaterial> {
  if (/-----BEGIN (RSA |EC )?PUBLIC KEY-----|-----BEGIN CERTIFICATE-----/.test(pem)) {
    throw authError('auth.key.invalid', 'this is a public key or certificate: import needs the private key');
  }
  if (/-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(pem)) {
    throw authError('auth.key.invalid', 'the PEM private key is passphrase-protected: decrypt it first (e.g. `openssl pkey -in k.pem -out plain.pem`)');
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: pem, format: 'pem' });
  } catch (err) {
    throw authError('auth.key.invalid', 'not a PEM private key (expected PKCS#8, RSA or EC PRIVATE KEY)', undefined, err);
  }
  const alg = algorithmForKey(privateKey);
  return materialOf(privateKey, alg, options.kid === undefined ? undefined : assertKid(options.kid));
}

/** The private key back from its PKCS#8 DER (after decryption). */
export function privateKeyFromDer(der: Buffer): KeyObject {
  return createPrivateKey({ key: der, format: 'der', type: 'pkcs8' });
}
