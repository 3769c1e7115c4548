/**
 * The keystore: signing keys in the `keystore` table, private parts encrypted at rest
 * (key-crypto.ts), public parts as JWKs. One key signs at a time (state `active`, unique);
 * `rotate` makes a new one and retires the old, which keeps verifying until `verifies_until`
 * (every token it signed expires by its `signs_until`, plus a grace for clock skew).
 *
 * Rotation and import run under a transaction-scoped advisory lock, so concurrent cron jobs
 * serialise and `--if-older-than` makes exactly one new key; transaction-scoped so it works
 * through PgBouncer in transaction mode.
 *
 * Every operation that seals or opens a private key first proves that the key secret opens the
 * keystore (secret-verifier.ts): a wrong secret is `auth.key.secret_invalid` before anything is
 * written, also when every key has expired. Rotation and import prove it under the lock, in the
 * transaction that installs the key.
 */
import type { Knex } from 'knex';
import type { KeyObject } from 'node:crypto';
import { recordAudit } from '../audit.js';
import type { CoreContext } from '../context.js';
import { isUniqueViolation } from '../../db/errors.js';
import { authError, isKaijuAuthError, remediableError } from '../../errors.js';
import { jsonb, toBuffer } from '../../db/values.js';
import { KEY_VERIFY_GRACE, checkSetting } from '../tokens/settings.js';
import { openPrivateKey, resolveSecret, sealPrivateKey, type KeySecretSource } from './key-crypto.js';
import { checkKeySecrets, keystoreIsNew, proveSecret, readVerifier, sealVerifier, verifierOpens, type KeySecretState, type ProofBasis } from './secret-verifier.js';
import { assertSigningAlgorithm, type SigningAlgorithm } from './algorithms.js';
import type { Jwks, KeyResolver } from './jwks.js';
import type { KeyMaterial } from './key-material.js';
import {
  INFO_COLUMNS,
  activatedAt,
  activeRow,
  activeRowAny,
  nextRow,
  rotationDueAt,
  keyState,
  keystoreExists,
  keystoreResolver,
  listKeys,
  readJwks,
  readKeyStatus,
  readVerifyingKeys,
  toInfo,
  type InfoRow,
  type KeyInfo,
  type KeyRow,
  type KeyStatus,
  type VerifyingKeyRow,
} from './key-queries.js';

export { checkKeySecret, type KeySecretState } from './secret-verifier.js';
export {
  keyState,
  keystoreResolver,
  listKeys,
  readJwks,
  readKeyStatus,
  readVerifyingKeys,
  rotationDueAt,
  verifyingKeysResolver,
  type KeyInfo,
  type KeyState,
  type KeyStatus,
  type VerifyingKeyRow,
} from './key-queries.js';

// jose (through key-material.js) is imported only where keys are made or opened.
const loadMaterial = () => import('./key-material.js');

/** Advisory lock key for rotation/import ("kaijukey" in ASCII); every process agrees on it. */
const KEYSTORE_LOCK_KEY = '7737581540756645241';

export interface SigningKey {
  kid: string;
  alg: SigningAlgorithm;
  privateKey: KeyObject;
  signsUntil: Date;
}

export interface RotateOptions {
  /**
   * Rotation is due when the signing key has signed at least this long, s (default: half its
   * signing life). Due, a `next` key is published; it signs once it has been published for the
   * switch delay (the JWKS max age plus the clock skew).
   */
  ifOlderThan?: number;
  /** Switch now (a leaked key): the `next` key if there is one, else a new key, signs at once. */
  now?: boolean;
  alg?: SigningAlgorithm;
  /** How long the new key signs, s; default the configured key lifetime. */
  lifetime?: number;
}

/** What a `rotate` call did. */
export type RotateAction =
  /** Nothing due, or a `next` key still waiting for verifiers to fetch it. */
  | 'none'
  /** A new key was published as `next`; it signs after `switchesAt`. */
  | 'published'
  /** The `next` key began to sign; the old one was retired. */
  | 'promoted'
  /** A new key signs at once (the first key, nothing else can sign, `--now`, or a JWKS max age of 0). */
  | 'created';

export interface RotateResult {
  /** True when a different key signs after the call. */
  rotated: boolean;
  action: RotateAction;
  /** The key that signs after the call. */
  key: KeyInfo;
  /** The key it replaced, if any. */
  retired: string | null;
  /** The key published to sign next, after the call, and when it may switch. */
  next: (KeyInfo & { switchesAt: Date }) | null;
}

export interface ImportOptions {
  kid?: string;
  lifetime?: number;
}

export interface KeyRekeyResult {
  /** False when the keystore was already sealed under the new secret (nothing written). */
  rekeyed: boolean;
  /** Private keys in the keystore. */
  keys: number;
}

export interface KeyRevokeResult {
  revoked: KeyInfo;
  /** The key that signs instead, when the revoked key was the signing key. */
  replacement: KeyInfo | null;
  dryRun: boolean;
}

export interface KeyPruneOptions {
  /** Drop these keys now (tokens they signed stop verifying), instead of the expired ones. */
  kids?: string[];
  dryRun?: boolean;
}

export interface KeyPruneResult {
  pruned: KeyInfo[];
  dryRun: boolean;
}

/**
 * A keystore row for `material`, its private key sealed in `envelope`: it signs for `lifetime`
 * seconds from `created` and verifies KEY_VERIFY_GRACE longer.
 */
function sealedKeyRow(
  material: KeyMaterial,
  envelope: { ciphertext: Buffer; params: unknown },
  row: { state: 'next' | 'active'; source: KeyRow['source']; created: Date; activated: Date | null; lifetime: number },
) {
  const signsUntil = new Date(row.created.getTime() + row.lifetime * 1000);
  return {
    kid: material.publicJwk.kid,
    alg: material.alg,
    public_jwk: jsonb(material.publicJwk),
    private_key_enc: envelope.ciphertext,
    enc_params: jsonb(envelope.params),
    state: row.state,
    source: row.source,
    created: row.created,
    activated: row.activated,
    signs_until: signsUntil,
    verifies_until: new Date(signsUntil.getTime() + KEY_VERIFY_GRACE * 1000),
  };
}

/** Keystore operations over one context (database or transaction, settings with the secret). */
export class KeystoreService {
  private readonly ctx: CoreContext;
  private secretBytes: Promise<Uint8Array> | null = null;
  private proof: Promise<void> | null = null;
  private signing: { kid: string; key: Promise<SigningKey> } | null = null;

  constructor(ctx: CoreContext) {
    this.ctx = ctx;
  }

  private now(): Date {
    return this.ctx.settings.now();
  }

  /**
   * The key secret, resolved once and only when a private key must be sealed or opened. A source
   * that can make one up (the embedded data directory's) is allowed to only while nothing is
   * sealed yet.
   */
  private secret(db: Knex = this.ctx.db): Promise<Uint8Array> {
    this.secretBytes ??= (async () => {
      const source = this.ctx.settings.keySecret;
      const newKeystore = typeof source === 'function' ? await keystoreIsNew(db) : false;
      return resolveSecret(source, { newKeystore });
    })().catch((err: unknown) => {
      this.secretBytes = null;
      throw err;
    });
    return this.secretBytes;
  }

  /**
   * Prove (once per service) that the configured key secret opens the keystore: exit-3-worthy
   * `auth.key.secret_invalid` otherwise, `auth.key.secret_missing` without one. Seals the
   * verifier of a keystore that has none yet, when the secret opens its signing key.
   */
  proveSecret(): Promise<void> {
    this.proof ??= (async () => {
      await this.proveWithFallback(this.ctx.db);
    })().catch((err: unknown) => {
      this.proof = null;
      throw err;
    });
    return this.proof;
  }

  /**
   * Before a migration (`init`): prove the key secret against a keystore that is already sealed,
   * writing nothing (a proof against a key seals the verifier: here in a transaction rolled
   * back). A wrong secret is `auth.key.secret_invalid` before the first write. Nothing to prove on
   * a database with no sealed keystore, or one older than the verifier (proven after migrating).
   */
  async proveSecretReadOnly(): Promise<void> {
    const db = this.ctx.db;
    const tables = await db.raw("select to_regclass('keystore') is not null and to_regclass('keystore_verifier') is not null as ready");
    if (!tables.rows[0]?.ready || (await keystoreIsNew(db))) return;
    const rollback = new Error('rolled back: a proof writes nothing');
    await db
      .transaction(async (trx) => {
        await this.proveWithFallback(trx);
        throw rollback;
      })
      .catch((err: unknown) => {
        if (err !== rollback) throw err;
      });
  }

  list(): Promise<KeyInfo[]> {
    return listKeys(this.ctx.db, this.now());
  }

  jwks(): Promise<Jwks> {
    return readJwks(this.ctx.db, this.now());
  }

  status(): Promise<KeyStatus> {
    return readKeyStatus(this.ctx.db, this.now(), this.switchDelay());
  }

  /** The same, or null on a database whose schema has no keystore yet (not migrated). */
  async statusIfMigrated(): Promise<KeyStatus | null> {
    return (await keystoreExists(this.ctx.db)) ? this.status() : null;
  }

  /**
   * Whether the configured key secret opens the signing key, or else the one being rolled out
   * (`opens_new`). Never makes up a secret and never writes.
   */
  secretState(): Promise<KeySecretState> {
    return checkKeySecrets(this.ctx.db, this.ctx.settings.keySecret, this.ctx.settings.newKeySecret, this.now());
  }

  resolver(): Promise<KeyResolver> {
    return keystoreResolver(this.ctx.db, () => this.now());
  }

  /** Every key's public side and state, for `verifyingKeysResolver` (e.g. in worker threads). */
  verifyingKeys(): Promise<VerifyingKeyRow[]> {
    return readVerifyingKeys(this.ctx.db);
  }

  /**
   * Under the keystore lock, in its transaction: prove the secret (a keystore with nothing sealed
   * yet gets its verifier sealed here, with its first key).
   */
  private async proveLocked(trx: Knex.Transaction): Promise<Uint8Array> {
    const { secret, basis } = await this.proveWithFallback(trx);
    if (basis === 'empty') await sealVerifier(trx, secret);
    return secret;
  }

  /**
   * Prove the key secret; when it does not open the keystore and a new secret is configured (a
   * re-key being rolled out), prove that one instead, and use it from then on.
   */
  private async proveWithFallback(db: Knex): Promise<{ secret: Uint8Array; basis: ProofBasis }> {
    const primary = await this.secret(db);
    try {
      return { secret: primary, basis: await proveSecret(db, primary) };
    } catch (err) {
      const next = this.ctx.settings.newKeySecret;
      if (!isKaijuAuthError(err) || err.code !== 'auth.key.secret_invalid' || next === null) throw err;
      let alternative: Uint8Array;
      try {
        alternative = await resolveSecret(next);
      } catch {
        throw err;
      }
      try {
        const basis = await proveSecret(db, alternative);
        this.secretBytes = Promise.resolve(alternative);
        return { secret: alternative, basis };
      } catch {
        throw err;
      }
    }
  }

  /**
   * Re-encrypt every private key and the verifier from the current key secret to `newSecret`, in
   * one transaction under the keystore lock. Refused (`auth.key.secret_invalid`, nothing written)
   * unless the current secret opens the verifier and every key; a keystore the new secret already
   * opens is left as it is (`rekeyed: false`): safe to run again.
   */
  async rekey(newSecret: KeySecretSource): Promise<KeyRekeyResult> {
    const next = await resolveSecret(newSecret);
    return this.ctx.db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(?::bigint)', [KEYSTORE_LOCK_KEY]);
      const rows = await trx<KeyRow>('keystore').select('kid', 'alg', 'private_key_enc', 'enc_params').orderBy('kid');
      const opensAll = async (secret: Uint8Array): Promise<boolean> => {
        const verifier = await readVerifier(trx);
        if (verifier && !(await verifierOpens(verifier, secret))) return false;
        for (const row of rows) {
          try {
            await openPrivateKey({ params: row.enc_params, ciphertext: toBuffer(row.private_key_enc) }, secret, { kid: row.kid, alg: row.alg });
          } catch (err) {
            if (isKaijuAuthError(err) && err.code === 'auth.key.secret_invalid') return false;
            throw err;
          }
        }
        return true;
      };
      let current: Uint8Array | null = null;
      try {
        current = await this.secret(trx);
      } catch (err) {
        // No current secret configured: only an already re-keyed keystore is fine.
        if (!isKaijuAuthError(err) || err.code !== 'auth.key.secret_missing') throw err;
      }
      if (current !== null && Buffer.from(current).equals(Buffer.from(next))) {
        throw authError('auth.key.secret_unchanged', 'the new key secret is the current one: nothing to re-key');
      }
      const sealed = rows.length > 0 || (await readVerifier(trx)) !== undefined;
      if (sealed && (current === null || !(await opensAll(current)))) {
        if (await opensAll(next)) return { rekeyed: false, keys: rows.length };
        if (current === null) throw authError('auth.key.secret_missing', 'no key secret configured: re-keying needs the current secret');
        throw authError(
          'auth.key.secret_invalid',
          'the current key secret does not open every key of the keystore (nor does the new one): nothing was changed',
        );
      }
      for (const row of rows) {
        const der = await openPrivateKey(
          { params: row.enc_params, ciphertext: toBuffer(row.private_key_enc) },
          current as Uint8Array,
          { kid: row.kid, alg: row.alg },
        );
        const envelope = await sealPrivateKey(der, next, { kid: row.kid, alg: row.alg });
        der.fill(0);
        await trx('keystore').where({ kid: row.kid }).update({ private_key_enc: envelope.ciphertext, enc_params: jsonb(envelope.params) });
      }
      await sealVerifier(trx, next, { replace: true });
      await recordAudit(trx, this.ctx.settings.actor, {
        command: 'keys.rekey',
        targetType: 'key',
        target: null,
        summary: { keys: rows.length },
      });
      this.secretBytes = Promise.resolve(next);
      this.proof = null;
      this.signing = null;
      return { rekeyed: true, keys: rows.length };
    });
  }

  /** Under the keystore lock, the secret proven: retire the signing key and store `material` as the new one. */
  private async install(trx: Knex.Transaction, secret: Uint8Array, material: KeyMaterial, source: KeyRow['source'], lifetime: number) {
    const now = this.now();
    const kid = material.publicJwk.kid;
    const envelope = await sealPrivateKey(material.privateDer, secret, { kid, alg: material.alg });
    const retired = await this.retireSigningKey(trx, now);
    try {
      await trx('keystore').insert(sealedKeyRow(material, envelope, { state: 'active', source, created: now, activated: now, lifetime }));
    } catch (err) {
      if (isUniqueViolation(err, 'keystore_pkey')) {
        throw authError('auth.key.exists', `a key with kid ${kid} is already in the keystore`, { kid }, err);
      }
      throw err;
    }
    const row: InfoRow = await trx('keystore').select(INFO_COLUMNS).where({ kid }).first();
    return { key: toInfo(row, now), retired };
  }

  /** Under the keystore lock: the key marked to sign stops signing now (it keeps verifying); its kid. */
  private async retireSigningKey(trx: Knex.Transaction, now: Date): Promise<string | null> {
    const previous = await activeRowAny(trx);
    if (!previous) return null;
    await trx('keystore')
      .where({ kid: previous.kid })
      .update({ state: 'retired', signs_until: trx.raw('least(signs_until, ?)', [now]) });
    return previous.kid;
  }

  /** How long a `next` key is published before it may sign, s. */
  switchDelay(): number {
    const t = this.ctx.settings.tokens;
    return t.jwksMaxAge + t.clockSkew;
  }

  /**
   * Under the keystore lock: publish `material` as the `next` key. Its deadlines are fixed now,
   * counted from when it is planned to switch (published + switch delay), so the `exp` verifiers
   * cache with it never changes.
   */
  private async publishNext(trx: Knex.Transaction, secret: Uint8Array, material: KeyMaterial, lifetime: number): Promise<void> {
    const now = this.now();
    const kid = material.publicJwk.kid;
    const envelope = await sealPrivateKey(material.privateDer, secret, { kid, alg: material.alg });
    await trx('keystore').insert(
      sealedKeyRow(material, envelope, { state: 'next', source: 'generated', created: now, activated: null, lifetime: this.switchDelay() + lifetime }),
    );
  }

  /** Under the keystore lock: the `next` key signs from now on; the signing key is retired. */
  private async promote(trx: Knex.Transaction, next: KeyRow): Promise<{ key: KeyInfo; retired: string | null }> {
    const now = this.now();
    const retired = await this.retireSigningKey(trx, now);
    await trx('keystore').where({ kid: next.kid }).update({ state: 'active', activated: now });
    const row: InfoRow = await trx('keystore').select(INFO_COLUMNS).where({ kid: next.kid }).first();
    return { key: toInfo(row, now), retired };
  }

  private nextInfo(row: KeyRow | undefined, now: Date): RotateResult['next'] {
    if (!row) return null;
    return { ...toInfo(row, now), switchesAt: new Date(new Date(row.created).getTime() + this.switchDelay() * 1000) };
  }

  /**
   * One step of the key lifecycle, safe for cron every few minutes and for ten crons at once
   * (they serialise on the keystore lock; the partial unique indexes allow one `active` and one
   * `next` key):
   * - nothing can sign: the `next` key signs now if there is one, else a new key does;
   * - a `next` key published for the switch delay (JWKS max age + clock skew): it signs now;
   * - rotation due (half the signing life, or `ifOlderThan`) and no `next` key: one is published
   *   (a switch delay of 0 switches at once);
   * - `now`: switch at once (to the `next` key if there is one).
   */
  async rotate(options: RotateOptions = {}): Promise<RotateResult> {
    const alg = options.alg ?? this.ctx.settings.tokens.algorithm;
    const lifetime = checkSetting('keyLifetime', options.lifetime ?? this.ctx.settings.tokens.keyLifetime);
    return this.ctx.db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(?::bigint)', [KEYSTORE_LOCK_KEY]);
      // Before the age check: a cron job with a wrong secret fails every run, not only when due.
      const secret = await this.proveLocked(trx);
      const now = this.now();
      const active = await activeRow(trx, now);
      let next = await nextRow(trx);
      if (next && keyState(next, now) !== 'next') {
        // Published so long ago that it can no longer sign (cron stopped for its whole life): drop it.
        await trx('keystore').where({ kid: next.kid }).delete();
        next = undefined;
      }
      const audit = (action: RotateAction, kid: string, retired: string | null) =>
        recordAudit(trx, this.ctx.settings.actor, {
          command: 'keys.rotate',
          targetType: 'key',
          target: kid,
          summary: { action, alg, retired_kid: retired, lifetime_s: lifetime },
        });

      const switchNow = options.now === true || !active;
      if (next && (switchNow || now.getTime() - new Date(next.created).getTime() >= this.switchDelay() * 1000)) {
        const done = await this.promote(trx, next);
        await audit('promoted', done.key.kid, done.retired);
        return { rotated: true, action: 'promoted', ...done, next: null };
      }
      if (switchNow) {
        const material = await (await loadMaterial()).generateKeyMaterial(alg);
        const done = await this.install(trx, secret, material, 'generated', lifetime);
        await audit('created', done.key.kid, done.retired);
        return { rotated: true, action: 'created', ...done, next: null };
      }
      const activeInfo = toInfo(active as KeyRow, now);
      if (next) return { rotated: false, action: 'none', key: activeInfo, retired: null, next: this.nextInfo(next, now) };
      const signedFor = now.getTime() - activatedAt(active as KeyRow).getTime();
      const due = options.ifOlderThan !== undefined ? signedFor >= options.ifOlderThan * 1000 : now >= rotationDueAt(activeInfo);
      if (!due) return { rotated: false, action: 'none', key: activeInfo, retired: null, next: null };
      const material = await (await loadMaterial()).generateKeyMaterial(alg);
      if (this.switchDelay() === 0) {
        const done = await this.install(trx, secret, material, 'generated', lifetime);
        await audit('created', done.key.kid, done.retired);
        return { rotated: true, action: 'created', ...done, next: null };
      }
      await this.publishNext(trx, secret, material, lifetime);
      const published = await nextRow(trx);
      await audit('published', material.publicJwk.kid, null);
      return { rotated: false, action: 'published', key: activeInfo, retired: null, next: this.nextInfo(published, now) };
    });
  }

  /**
   * Revoke a key at once (a leak): it leaves the JWKS and its tokens stop verifying
   * (`auth.token.key_revoked`). Revoking the signing key switches to the `next` key, or to a new
   * key made now, in the same transaction: something always signs afterwards.
   */
  async revoke(kid: string, options: { dryRun?: boolean } = {}): Promise<KeyRevokeResult> {
    return this.ctx.db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(?::bigint)', [KEYSTORE_LOCK_KEY]);
      const now = this.now();
      const row = await trx<KeyRow>('keystore').where({ kid }).first();
      if (!row) throw authError('auth.key.not_found', `no key ${kid} in the keystore`, { kid });
      const state = keyState(row, now);
      if (state === 'revoked') throw authError('auth.key.revoked', `key ${kid} is already revoked`, { kid });
      const wasSigning = state === 'active';
      if (options.dryRun) return { revoked: toInfo(row, now), replacement: null, dryRun: true };
      let replacement: KeyInfo | null = null;
      if (wasSigning) {
        // Proven before anything changes: a wrong secret must not leave nothing that signs.
        const secret = await this.proveLocked(trx);
        await trx('keystore').where({ kid }).update({ state: 'retired', signs_until: trx.raw('least(signs_until, ?)', [now]) });
        const next = await nextRow(trx);
        if (next && keyState(next, now) === 'next') {
          replacement = (await this.promote(trx, next)).key;
        } else {
          if (next) await trx('keystore').where({ kid: next.kid }).delete();
          const material = await (await loadMaterial()).generateKeyMaterial(assertSigningAlgorithm(row.alg));
          replacement = (await this.install(trx, secret, material, 'generated', this.ctx.settings.tokens.keyLifetime)).key;
        }
      }
      await trx('keystore')
        .where({ kid })
        .update({
          state: 'revoked',
          signs_until: trx.raw('least(signs_until, ?)', [now]),
          verifies_until: trx.raw('least(verifies_until, ?)', [now]),
        });
      await recordAudit(trx, this.ctx.settings.actor, {
        command: 'keys.revoke',
        targetType: 'key',
        target: kid,
        summary: { was: state, replaced_by: replacement?.kid ?? null },
      });
      const revoked: InfoRow = await trx('keystore').select(INFO_COLUMNS).where({ kid }).first();
      return { revoked: toInfo(revoked, now), replacement, dryRun: false };
    });
  }

  /** Bring an existing private key (PEM) in as the signing key. */
  async importPem(pem: string, options: ImportOptions = {}): Promise<RotateResult> {
    const { importPemKeyMaterial } = await loadMaterial();
    const material = await importPemKeyMaterial(pem, options.kid === undefined ? {} : { kid: options.kid });
    const lifetime = checkSetting('keyLifetime', options.lifetime ?? this.ctx.settings.tokens.keyLifetime);
    return this.ctx.db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(?::bigint)', [KEYSTORE_LOCK_KEY]);
      const done = await this.install(trx, await this.proveLocked(trx), material, 'imported', lifetime);
      await recordAudit(trx, this.ctx.settings.actor, {
        command: 'keys.import',
        targetType: 'key',
        target: done.key.kid,
        summary: { alg: material.alg, retired_kid: done.retired, lifetime_s: lifetime },
      });
      return { rotated: true, action: 'created' as const, ...done, next: null };
    });
  }

  /** A signing key exists afterwards: made now when none can sign (for `init`). */
  async ensureSigningKey(): Promise<RotateResult> {
    // Proven even when a key is in place: `init` with a wrong secret must not report "ready".
    await this.proveSecret();
    const active = await activeRow(this.ctx.db, this.now());
    if (active) return { rotated: false, action: 'none', key: toInfo(active, this.now()), retired: null, next: null };
    // Re-checked under the lock: a concurrent init may have made one meanwhile (then nothing is due).
    return this.rotate({ ifOlderThan: Number.MAX_SAFE_INTEGER });
  }

  /**
   * Drop keys that can no longer verify anything (past `verifies_until`), or, with `kids`, those
   * keys now. The signing key is never dropped: `auth.key.last_signing_key` (rotate first).
   */
  async prune(options: KeyPruneOptions = {}): Promise<KeyPruneResult> {
    return this.ctx.db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(?::bigint)', [KEYSTORE_LOCK_KEY]);
      const now = this.now();
      let rows: InfoRow[];
      if (options.kids && options.kids.length > 0) {
        const kids = [...new Set(options.kids)];
        rows = await trx('keystore').select(INFO_COLUMNS).whereIn('kid', kids);
        const missing = kids.filter((k) => !rows.some((r) => r.kid === k));
        if (missing.length > 0) {
          throw authError('auth.key.not_found', `no key ${missing.join(', ')} in the keystore`, { kids: missing });
        }
        const signing = rows.find((r) => keyState(r, now) === 'active');
        if (signing) {
          throw remediableError('auth.key.last_signing_key', `key ${signing.kid} is the key that signs: it cannot be dropped`, 'rotate_first', {
            kid: signing.kid,
          });
        }
      } else {
        rows = await trx('keystore')
          .select(INFO_COLUMNS)
          .where('verifies_until', '<=', now)
          .andWhere('signs_until', '<=', now);
      }
      const pruned = rows.map((r) => toInfo(r, now)).sort((a, b) => a.created.getTime() - b.created.getTime());
      if (!options.dryRun && pruned.length > 0) {
        await trx('keystore').whereIn('kid', pruned.map((k) => k.kid)).delete();
        await recordAudit(trx, this.ctx.settings.actor, {
          command: 'keys.prune',
          targetType: 'key',
          target: pruned.length === 1 ? (pruned[0]?.kid ?? null) : null,
          summary: { kids: pruned.map((k) => k.kid), forced: !!options.kids?.length },
        });
      }
      return { pruned, dryRun: !!options.dryRun };
    });
  }

  /** The key that signs now, decrypted (once per service). `auth.key.no_signing_key` if none. */
  async signingKey(): Promise<SigningKey> {
    const row = await activeRow(this.ctx.db, this.now());
    // A wrong secret is said as such even when no key can sign (all expired, or pruned).
    if (row || !(await keystoreIsNew(this.ctx.db))) await this.proveSecret();
    if (!row) {
      throw remediableError('auth.key.no_signing_key', 'no signing key', 'make_signing_key');
    }
    if (this.signing?.kid !== row.kid) {
      const key = (async (): Promise<SigningKey> => {
        const alg = assertSigningAlgorithm(row.alg);
        const der = await openPrivateKey(
          { params: row.enc_params, ciphertext: toBuffer(row.private_key_enc) },
          await this.secret(),
          { kid: row.kid, alg },
        );
        const { privateKeyFromDer } = await loadMaterial();
        return { kid: row.kid, alg, privateKey: privateKeyFromDer(der), signsUntil: new Date(row.signs_until) };
      })();
      key.catch(() => (this.signing = null));
      this.signing = { kid: row.kid, key };
    }
    return this.signing.key;
  }
}

