/**
 * Encryption at rest of private signing keys: an AEAD envelope (AES-256-GCM) under a key derived
 * from the operator's secret with scrypt. Each key row has its own salt and IV; the kid and the
 * algorithm are bound in as additional authenticated data, so a ciphertext moved to another row
 * does not decrypt. A wrong secret fails GCM's authentication: a coded error, never garbage.
 *
 * The secret itself is never stored: only the scrypt parameters and salt (`enc_params`).
 */
import { createCipheriv, createDecipheriv, randomBytes, scrypt as scryptCallback, type ScryptOptions } from 'node:crypto';
import { authError } from '../../errors.js';

/**
 * What the keystore tells a secret source when it asks for the secret: `newKeystore` is true only
 * when nothing is sealed yet (no verifier, no key), i.e. when a secret may be made up now (the
 * embedded database's own `<data-dir>/secret`). Otherwise a secret that is not there must not be
 * invented: it would never open what is sealed.
 */
export interface SecretRequest {
  newKeystore: boolean;
}

/** Where the secret comes from: the value, or a (lazy) function that produces it when first needed. */
export type KeySecretSource =
  | string
  | Uint8Array
  | ((request: SecretRequest) => string | Uint8Array | Promise<string | Uint8Array>)
  | null;

/** What is stored next to the ciphertext (JSON in `enc_params`). */
export interface EnvelopeParams {
  v: 1;
  kdf: 'scrypt';
  n: number;
  r: number;
  p: number;
  /** base64url */
  salt: string;
  cipher: 'aes-256-gcm';
  /** base64url, 12 bytes */
  iv: string;
}

export interface Envelope {
  params: EnvelopeParams;
  /** Ciphertext followed by the 16-byte GCM tag. */
  ciphertext: Buffer;
}

/** scrypt cost: 2^15 x 8 x 1 is ~32 MiB and ~0.1 s, once per key per process. */
export const SCRYPT_DEFAULTS = { n: 32768, r: 8, p: 1 } as const;
/** Shorter secrets are refused: scrypt slows guessing, it does not make `hunter2` safe. */
export const MIN_SECRET_BYTES = 16;
const TAG_BYTES = 16;

function scrypt(secret: Uint8Array, salt: Buffer, params: { n: number; r: number; p: number }): Promise<Buffer> {
  const options: ScryptOptions = { N: params.n, r: params.r, p: params.p, maxmem: 256 * params.n * params.r + 1024 * 1024 };
  return new Promise((resolve, reject) =>
    scryptCallback(secret, salt, 32, options, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

/** The secret as bytes, checked for a minimal length. Throws `auth.key.secret_missing` when absent. */
export async function resolveSecret(source: KeySecretSource, request: SecretRequest = { newKeystore: false }): Promise<Uint8Array> {
  if (source === null) {
    throw authError('auth.key.secret_missing', 'no key secret configured: signing needs the secret that encrypts private keys');
  }
  const value = typeof source === 'function' ? await source(request) : source;
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  if (bytes.byteLength < MIN_SECRET_BYTES) {
    throw authError('auth.key.secret_missing', `the key secret is too short: use at least ${MIN_SECRET_BYTES} bytes (e.g. \`openssl rand -base64 32\`)`);
  }
  return bytes;
}

function aad(kid: string, alg: string): Buffer {
  return Buffer.from(`kaiju-auth keystore v1|${kid}|${alg}`, 'utf8');
}

/**
 * Seal `plaintext` under `secret`: a fresh salt and IV, scrypt, AES-256-GCM with `associated` as
 * additional authenticated data (what the ciphertext is bound to).
 */
export async function sealEnvelope(
  plaintext: Buffer,
  secret: Uint8Array,
  associated: Buffer,
  cost: { n: number; r: number; p: number } = SCRYPT_DEFAULTS,
): Promise<Envelope> {
  const salt = randomBytes(16);
  const iv = randomBytes(12);
  const key = await scrypt(secret, salt, cost);
  const cipher = createCipheriv('aes-256-gcm', key, iv);
  cipher.setAAD(associated);
  const ciphertext = Buffer.concat([cipher.update(plaintext), cipher.final(), cipher.getAuthTag()]);
  key.fill(0);
  return {
    params: { v: 1, kdf: 'scrypt', ...cost, salt: salt.toString('base64url'), cipher: 'aes-256-gcm', iv: iv.toString('base64url') },
    ciphertext,
  };
}

/** Encrypt a private key (PKCS#8 DER) for the row `kid`/`alg`. */
export function sealPrivateKey(
  der: Buffer,
  secret: Uint8Array,
  binding: { kid: string; alg: string },
  cost: { n: number; r: number; p: number } = SCRYPT_DEFAULTS,
): Promise<Envelope> {
  return sealEnvelope(der, secret, aad(binding.kid, binding.alg), cost);
}

function checkParams(params: unknown, what: string): EnvelopeParams {
  const p = params as Partial<EnvelopeParams> | null;
  const ok =
    p !== null &&
    typeof p === 'object' &&
    p.v === 1 &&
    p.kdf === 'scrypt' &&
    p.cipher === 'aes-256-gcm' &&
    [p.n, p.r, p.p].every((x) => Number.isInteger(x) && (x as number) > 0) &&
    typeof p.salt === 'string' &&
    typeof p.iv === 'string';
  if (!ok) throw authError('auth.key.invalid', `${what}: unknown encryption parameters (made by a newer kaiju-auth?)`);
  return p as EnvelopeParams;
}

/**
 * Open an envelope sealed by `sealEnvelope` with the same `associated` data; null when the secret
 * (or the binding) is not the one it was sealed with: GCM's tag does not verify.
 */
export async function openEnvelope(
  envelope: { params: unknown; ciphertext: Buffer },
  secret: Uint8Array,
  associated: Buffer,
  what: string,
): Promise<Buffer | null> {
  const params = checkParams(envelope.params, what);
  const { ciphertext } = envelope;
  if (ciphertext.length <= TAG_BYTES) {
    throw authError('auth.key.invalid', `${what}: the stored ciphertext is truncated`);
  }
  const key = await scrypt(secret, Buffer.from(params.salt, 'base64url'), params);
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(params.iv, 'base64url'));
    decipher.setAAD(associated);
    decipher.setAuthTag(ciphertext.subarray(ciphertext.length - TAG_BYTES));
    return Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - TAG_BYTES)), decipher.final()]);
  } catch {
    return null;
  } finally {
    key.fill(0);
  }
}

/** Decrypt a private key sealed by `sealPrivateKey`. A wrong secret: `auth.key.secret_invalid`. */
export async function openPrivateKey(
  envelope: { params: unknown; ciphertext: Buffer },
  secret: Uint8Array,
  binding: { kid: string; alg: string },
): Promise<Buffer> {
  const der = await openEnvelope(envelope, secret, aad(binding.kid, binding.alg), `key ${binding.kid}`);
  if (der === null) {
    throw authError(
      'auth.key.secret_invalid',
      `cannot decrypt signing key ${binding.kid}: wrong key secret (not the one it was encrypted with)`,
      { kid: binding.kid },
    );
  }
  return der;
}
