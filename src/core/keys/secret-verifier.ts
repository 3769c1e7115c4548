/**
 * Proving that a key secret opens the keystore, before anything is sealed or opened with it.
 *
 * The proof is the `keystore_verifier` row: a known value sealed under the secret (the same
 * AES-256-GCM envelope as a private key, bound to its own associated data). It outlives every
 * key, so a wrong secret is refused even when all keys have expired or been pruned, and a
 * rotation with a wrong secret can never retire the good key for one sealed under the wrong one.
 *
 * A keystore without the row (made before it existed) is proven against its signing key (else its
 * newest key): the secret that opens it gets the row sealed then. An empty keystore has nothing
 * to prove against: the first key's installer seals the row with the key, in one transaction.
 *
 * Changing the secret (a `keys rekey`) is, under the keystore lock and in one transaction:
 * `proveSecret(trx, old)`, then every private key opened with the old secret and sealed with the
 * new one, then `sealVerifier(trx, new, { replace: true })`.
 */
import type { Knex } from 'knex';
import { authError, isKaijuAuthError } from '../../errors.js';
import { toBuffer, jsonb } from '../../db/values.js';
import { openEnvelope, openPrivateKey, resolveSecret, sealEnvelope, type Envelope, type KeySecretSource } from './key-crypto.js';
import { activeRow } from './key-queries.js';

const TABLE = 'keystore_verifier';
const KNOWN_VALUE = Buffer.from('kaiju-auth keystore secret verifier', 'utf8');
const ASSOCIATED = Buffer.from('kaiju-auth keystore verifier v1', 'utf8');

/** Rows as read (the tables' column names); internal. */
interface VerifierRow {
  sealed: Uint8Array;
  enc_params: unknown;
}

interface KeyEnvelopeRow {
  kid: string;
  alg: string;
  private_key_enc: Uint8Array;
  enc_params: unknown;
}

/** What a proof was made against: the verifier, a key (the verifier then sealed), or nothing. */
export type ProofBasis = 'verifier' | 'key' | 'empty';

function wrongSecret(against: string) {
  return authError(
    'auth.key.secret_invalid',
    `the key secret does not open the keystore (${against}): it is not the secret its keys were sealed with; nothing was changed`,
  );
}

/** True when `secret` opens a sealed verifier. */
export async function verifierOpens(row: VerifierRow, secret: Uint8Array): Promise<boolean> {
  const plain = await openEnvelope({ params: row.enc_params, ciphertext: toBuffer(row.sealed) }, secret, ASSOCIATED, 'the keystore verifier');
  return plain !== null && plain.equals(KNOWN_VALUE);
}

export function readVerifier(db: Knex): Promise<VerifierRow | undefined> {
  return db(TABLE).select('sealed', 'enc_params').where('id', 1).first() as Promise<VerifierRow | undefined>;
}

/** Whether anything is sealed yet (a verifier or any key): if not, a secret may be made up now. */
export async function keystoreIsNew(db: Knex): Promise<boolean> {
  const row = await db.raw(`select exists (select 1 from ${TABLE}) or exists (select 1 from keystore) as sealed`);
  return !row.rows[0]?.sealed;
}

/**
 * Seal a verifier under `secret`. Without `replace`, a verifier that is already there (sealed by
 * a concurrent process meanwhile) is kept, and `secret` must open it.
 */
export async function sealVerifier(db: Knex, secret: Uint8Array, options: { replace?: boolean } = {}): Promise<void> {
  const envelope: Envelope = await sealEnvelope(KNOWN_VALUE, secret, ASSOCIATED);
  const row = { id: 1, sealed: envelope.ciphertext, enc_params: jsonb(envelope.params) };
  if (options.replace) {
    await db(TABLE).insert(row).onConflict('id').merge(['sealed', 'enc_params']);
    return;
  }
  const inserted = await db(TABLE).insert(row).onConflict('id').ignore().returning('id');
  if (inserted.length === 0) {
    const existing = await readVerifier(db);
    if (!existing || !(await verifierOpens(existing, secret))) throw wrongSecret('its verifier');
  }
}

/**
 * The key a keystore without a verifier is proven against: the one marked to sign (even past its
 * deadline), else the newest.
 */
function keyToProve(db: Knex): Promise<KeyEnvelopeRow | undefined> {
  return db<KeyEnvelopeRow>('keystore')
    .select('kid', 'alg', 'private_key_enc', 'enc_params')
    .orderByRaw("(state = 'active') desc, created desc, kid")
    .first();
}

/**
 * Prove that `secret` opens the keystore, or throw `auth.key.secret_invalid` having written
 * nothing. Against the verifier when there is one; else against a key, and then the verifier is
 * sealed (on `db`: inside the caller's transaction when it is one). 'empty' when nothing is
 * sealed yet: the caller seals the verifier with the first key.
 */
export async function proveSecret(db: Knex, secret: Uint8Array): Promise<ProofBasis> {
  const verifier = await readVerifier(db);
  if (verifier) {
    if (!(await verifierOpens(verifier, secret))) throw wrongSecret('its verifier');
    return 'verifier';
  }
  const key = await keyToProve(db);
  if (!key) return 'empty';
  try {
    await openPrivateKey({ params: key.enc_params, ciphertext: toBuffer(key.private_key_enc) }, secret, { kid: key.kid, alg: key.alg });
  } catch (err) {
    if ((err as { code?: string }).code === 'auth.key.secret_invalid') throw wrongSecret(`key ${key.kid}`);
    throw err;
  }
  await sealVerifier(db, secret);
  return 'key';
}

/**
 * Whether a key secret opens the signing key (for `status`): `opens`, `wrong`, `missing` (none
 * configured, or the configured file is absent), or `unchecked` (no signing key and no verifier:
 * nothing sealed to try it on). Reads only: never seals a verifier, never makes up a secret.
 */
export type KeySecretState = 'opens' | 'opens_new' | 'wrong' | 'missing' | 'unchecked';

/**
 * As `checkKeySecret`, and when the key secret does not open the keystore but the new secret of a
 * re-key being rolled out does: `opens_new` (commands work; finish the roll).
 */
export async function checkKeySecrets(db: Knex, source: KeySecretSource, newSource: KeySecretSource, now: Date): Promise<KeySecretState> {
  const state = await checkKeySecret(db, source, now);
  if ((state !== 'wrong' && state !== 'missing') || newSource === null) return state;
  const alternative = await checkKeySecret(db, newSource, now).catch(() => 'missing' as const);
  return alternative === 'opens' ? 'opens_new' : state;
}

export async function checkKeySecret(db: Knex, source: KeySecretSource, now: Date): Promise<KeySecretState> {
  // The key's row is asked for first, while the secret is read: its scrypt (on libuv's threads)
  // then overlaps whatever else the caller has queued on the connection.
  const rowQuery = activeRow(db, now);
  rowQuery.catch(() => undefined);
  let secret: Uint8Array;
  try {
    secret = await resolveSecret(source, { newKeystore: false });
  } catch (err) {
    if (isKaijuAuthError(err) && err.code === 'auth.key.secret_missing') return 'missing';
    throw err;
  }
  const row = await rowQuery;
  if (row) {
    try {
      await openPrivateKey({ params: row.enc_params, ciphertext: toBuffer(row.private_key_enc) }, secret, { kid: row.kid, alg: row.alg });
      return 'opens';
    } catch (err) {
      if (isKaijuAuthError(err) && err.code === 'auth.key.secret_invalid') return 'wrong';
      throw err;
    }
  }
  const verifier = await readVerifier(db);
  if (!verifier) return 'unchecked';
  return (await verifierOpens(verifier, secret)) ? 'opens' : 'wrong';
}
