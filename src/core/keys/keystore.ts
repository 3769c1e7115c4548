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
import { isUniqueViolation } from '../db-errors.js';
import { authError } from '../errors.js';
import { jsonb, toBuffer } from '../../db/values.js';
import { KEY_VERIFY_GRACE, checkSetting } from '../tokens/settings.js';
import { openPrivateKey, resolveSecret, sealPrivateKey } from './key-crypto.js';
import { keystoreIsNew, proveSecret, sealVerifier } from './secret-verifier.js';
import { assertSigningAlgorithm, type SigningAlgorithm } from './algorithms.js';
import type { Jwks, KeyResolver } from './jwks.js';
import type { KeyMaterial } from './key-material.js';
import {
  INFO_COLUMNS,
  activeRow,
  activeRowAny,
  keyState,
  keystoreResolver,
  listKeys,
  readJwks,
  readKeyStatus,
  toInfo,
  type InfoRow,
  type KeyInfo,
  type KeyRow,
  type KeyStatus,
} from './key-queries.js';

export { checkKeySecret, type KeySecretState } from './secret-verifier.js';
export {
  keyState,
  keystoreResolver,
  listKeys,
  readJwks,
  readKeyStatus,
  rotationDueAt,
  type KeyInfo,
  type KeyState,
  type KeyStatus,
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
  /** Only rotate when the active key is at least this old, s (cron: half the key lifetime). */
  ifOlderThan?: number;
  alg?: SigningAlgorithm;
  /** How long the new key signs, s; default the configured key lifetime. */
  lifetime?: number;
}

export interface RotateResult {
  rotated: boolean;
  /** The key that signs after the call. */
  key: KeyInfo;
  /** The key it replaced, if any. */
  retired: string | null;
}

export interface ImportOptions {
  kid?: string;
  lifetime?: number;
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
      await proveSecret(this.ctx.db, await this.secret());
    })().catch((err: unknown) => {
      this.proof = null;
      throw err;
    });
    return this.proof;
  }

  list(): Promise<KeyInfo[]> {
    return listKeys(this.ctx.db, this.now());
  }

  jwks(): Promise<Jwks> {
    return readJwks(this.ctx.db, this.now());
  }

  status(): Promise<KeyStatus> {
    return readKeyStatus(this.ctx.db, this.now());
  }

  resolver(): Promise<KeyResolver> {
    return keystoreResolver(this.ctx.db, () => this.now());
  }

  /**
   * Under the keystore lock, in its transaction: prove the secret (a keystore with nothing sealed
   * yet gets its verifier sealed here, with its first key).
   */
  private async proveLocked(trx: Knex.Transaction): Promise<Uint8Array> {
    const secret = await this.secret(trx);
    if ((await proveSecret(trx, secret)) === 'empty') await sealVerifier(trx, secret);
    return secret;
  }

  /** Under the keystore lock, the secret proven: retire the signing key and store `material` as the new one. */
  private async install(trx: Knex.Transaction, secret: Uint8Array, material: KeyMaterial, source: KeyRow['source'], lifetime: number) {
    const now = this.now();
    const kid = material.publicJwk.kid;
    const envelope = await sealPrivateKey(material.privateDer, secret, { kid, alg: material.alg });
    const previous = await activeRowAny(trx);
    if (previous) {
      await trx('keystore')
        .where({ kid: previous.kid })
        .update({ state: 'retired', signs_until: trx.raw('least(signs_until, ?)', [now]) });
    }
    const signsUntil = new Date(now.getTime() + lifetime * 1000);
    try {
      await trx('keystore').insert({
        kid,
        alg: material.alg,
        public_jwk: jsonb(material.publicJwk),
        private_key_enc: envelope.ciphertext,
        enc_params: jsonb(envelope.params),
        state: 'active',
        source,
        created: now,
        signs_until: signsUntil,
        verifies_until: new Date(signsUntil.getTime() + KEY_VERIFY_GRACE * 1000),
      });
    } catch (err) {
      if (isUniqueViolation(err, 'keystore_pkey')) {
        throw authError('auth.key.exists', `a key with kid ${kid} is already in the keystore`, { kid }, err);
      }
      throw err;
    }
    const row: InfoRow = await trx('keystore').select(INFO_COLUMNS).where({ kid }).first();
    return { key: toInfo(row, now), retired: previous?.kid ?? null };
  }

  /**
   * Make a new signing key and retire the current one. With `ifOlderThan`, do nothing (and say
   * so) while the signing key is younger: safe for cron, and for ten crons at once.
   */
  async rotate(options: RotateOptions = {}): Promise<RotateResult> {
    const alg = options.alg ?? this.ctx.settings.tokens.algorithm;
    const lifetime = checkSetting('keyLifetime', options.lifetime ?? this.ctx.settings.tokens.keyLifetime);
    return this.ctx.db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(?::bigint)', [KEYSTORE_LOCK_KEY]);
      // Before the age check: a cron job with a wrong secret fails every run, not only when due.
      const secret = await this.proveLocked(trx);
      const now = this.now();
      if (options.ifOlderThan !== undefined) {
        const active = await activeRow(trx, now);
        if (active && now.getTime() - new Date(active.created).getTime() < options.ifOlderThan * 1000) {
          return { rotated: false, key: toInfo(active, now), retired: null };
        }
      }
      const material = await (await loadMaterial()).generateKeyMaterial(alg);
      const done = await this.install(trx, secret, material, 'generated', lifetime);
      await recordAudit(trx, this.ctx.settings.actor, {
        command: 'keys.rotate',
        targetType: 'key',
        target: done.key.kid,
        summary: { alg, retired_kid: done.retired, lifetime_s: lifetime },
      });
      return { rotated: true, ...done };
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
      return { rotated: true, ...done };
    });
  }

  /** A signing key exists afterwards: made now when none can sign (for `init`). */
  async ensureSigningKey(): Promise<RotateResult> {
    // Proven even when a key is in place: `init` with a wrong secret must not report "ready".
    await this.proveSecret();
    const active = await activeRow(this.ctx.db, this.now());
    if (active) return { rotated: false, key: toInfo(active, this.now()), retired: null };
    // Re-checked under the lock: a concurrent init may have made one meanwhile.
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
          throw authError(
            'auth.key.last_signing_key',
            `key ${signing.kid} is the key that signs: it cannot be dropped (rotate first: kaiju-auth keys rotate)`,
            { kid: signing.kid },
          );
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
      throw authError('auth.key.no_signing_key', 'no signing key: run `kaiju-auth keys rotate` (or `kaiju-auth init`)');
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

