/**
 * Reading the keystore: key states, the JWKS, the signing key's status and a verification key
 * resolver. Public parts only (no secret needed), and no jose at load time, so `status` and
 * `keys list` stay light.
 */
import type { Knex } from 'knex';
import { authError } from '../../errors.js';
import { assertSigningAlgorithm, type PublicJwk, type SigningAlgorithm } from './algorithms.js';
import type { Jwks, KeyResolver, VerificationKey } from './jwks.js';

const loadJwks = () => import('./jwks.js');

/**
 * What a key can do now: published ahead of signing (next: verifies, does not sign yet), sign
 * (active), only verify (retired), nothing (expired: prunable), nothing ever again (revoked:
 * withdrawn from the JWKS at once; prunable).
 */
export type KeyState = 'next' | 'active' | 'retired' | 'expired' | 'revoked';

export interface KeyInfo {
  kid: string;
  alg: SigningAlgorithm;
  state: KeyState;
  source: 'generated' | 'imported';
  /** When it was published (first in the JWKS). */
  created: Date;
  /** When it started to sign; null for a `next` key (and for one revoked before it signed). */
  activated: Date | null;
  signsUntil: Date;
  verifiesUntil: Date;
}

export interface KeyStatus {
  /** The signing key, or null when no key can sign (run `keys rotate`). */
  active: {
    kid: string;
    alg: SigningAlgorithm;
    created: Date;
    ageSeconds: number;
    signsUntil: Date;
    rotationDueAt: Date;
    rotationDue: boolean;
  } | null;
  /** The key published to sign next, and when `keys rotate` may switch to it. */
  next: {
    kid: string;
    alg: SigningAlgorithm;
    created: Date;
    switchesAt: Date;
  } | null;
  /** Keys whose public part still verifies tokens (the JWKS). */
  verifying: number;
  /** Keys past `verifies_until`, removed by `keys prune`. */
  expired: number;
}

/** A keystore row as read: the table's column names; internal to core (never exported). */
export interface KeyRow {
  kid: string;
  alg: string;
  public_jwk: PublicJwk;
  private_key_enc: Uint8Array;
  enc_params: unknown;
  state: 'next' | 'active' | 'retired' | 'revoked';
  source: 'generated' | 'imported';
  created: Date;
  activated: Date | null;
  signs_until: Date;
  verifies_until: Date;
}

export type InfoRow = Pick<KeyRow, 'kid' | 'alg' | 'state' | 'source' | 'created' | 'activated' | 'signs_until' | 'verifies_until'>;
export const INFO_COLUMNS: string[] = ['kid', 'alg', 'state', 'source', 'created', 'activated', 'signs_until', 'verifies_until'];

export function keyState(row: Pick<KeyRow, 'state' | 'signs_until' | 'verifies_until'>, now: Date): KeyState {
  if (row.state === 'revoked') return 'revoked';
  if (row.state === 'next') return new Date(row.verifies_until) > now ? 'next' : 'expired';
  if (row.state === 'active' && new Date(row.signs_until) > now) return 'active';
  return new Date(row.verifies_until) > now ? 'retired' : 'expired';
}

export function toInfo(row: InfoRow, now: Date): KeyInfo {
  return {
    kid: row.kid,
    alg: assertSigningAlgorithm(row.alg),
    state: keyState(row, now),
    source: row.source,
    created: new Date(row.created),
    // Keys from before pre-publication signed from the moment they were made.
    activated: row.state === 'next' ? null : row.activated ? new Date(row.activated) : row.state === 'revoked' ? null : new Date(row.created),
    signsUntil: new Date(row.signs_until),
    verifiesUntil: new Date(row.verifies_until),
  };
}

/**
 * Rotation is due at half of the key's signing life (kaiju renewed keys every ttl/2), counted from
 * when it began to sign.
 */
export function rotationDueAt(key: { created: Date; activated?: Date | null; signsUntil: Date }): Date {
  const from = (key.activated ?? key.created).getTime();
  return new Date(from + (key.signsUntil.getTime() - from) / 2);
}

/** When a key began to sign: `activated`, or `created` for keys made before pre-publication. */
export function activatedAt(row: Pick<KeyRow, 'created' | 'activated'>): Date {
  return new Date(row.activated ?? row.created);
}

export async function activeRow(db: Knex, now: Date): Promise<KeyRow | undefined> {
  return db<KeyRow>('keystore').where({ state: 'active' }).andWhere('signs_until', '>', now).first();
}

/** The key published to sign next, if any (at most one: a partial unique index). */
export async function nextRow(db: Knex): Promise<KeyRow | undefined> {
  return db<KeyRow>('keystore').where({ state: 'next' }).first();
}

/** Every key, newest first. */
export async function listKeys(db: Knex, now: Date): Promise<KeyInfo[]> {
  const rows = await db('keystore').select(INFO_COLUMNS).orderBy('created', 'desc').orderBy('kid');
  return rows.map((r: InfoRow) => toInfo(r, now));
}

/** `verifies_until` as the JWK `exp` member (epoch s, as OpenID Federation's historical keys have it). */
function jwkExp(verifiesUntil: Date): number {
  return Math.floor(new Date(verifiesUntil).getTime() / 1000);
}

/**
 * The public keys that can still verify tokens, the signing key first, as a standard JWKS. Each
 * key carries `exp`, when it stops verifying: `token verify --jwks` refuses a token that expires
 * later; other verifiers ignore the member.
 */
export async function readJwks(db: Knex, now: Date): Promise<Jwks> {
  const rows: Pick<KeyRow, 'public_jwk' | 'alg' | 'kid' | 'verifies_until'>[] = await db('keystore')
    .select('kid', 'alg', 'public_jwk', 'verifies_until')
    .where('verifies_until', '>', now)
    .whereNot('state', 'revoked')
    .orderByRaw("(state = 'active') desc, created desc, kid");
  return {
    keys: rows.map((r) => ({ ...r.public_jwk, kid: r.kid, alg: assertSigningAlgorithm(r.alg), use: 'sig', exp: jwkExp(r.verifies_until) })),
  };
}

/** Whether the keystore table is there (a database not migrated yet has none). */
export async function keystoreExists(db: Knex): Promise<boolean> {
  const exists = await db.raw("select to_regclass('keystore') as t");
  return !!exists.rows[0]?.t;
}

/**
 * The signing key's age and whether rotation is due, for `status` and `init`. `switchDelay` (s):
 * how long a `next` key must have been published before it may sign (the JWKS max age plus the
 * clock skew).
 */
export async function readKeyStatus(db: Knex, now: Date, switchDelay = 0): Promise<KeyStatus> {
  const [active, next, counts] = await Promise.all([
    activeRow(db, now),
    nextRow(db),
    db('keystore')
      .select(
        db.raw("count(*) filter (where verifies_until > ? and state <> 'revoked') as verifying", [now]),
        db.raw("count(*) filter (where verifies_until <= ? or state = 'revoked') as expired", [now]),
      )
      .first(),
  ]);
  const info = active ? toInfo(active, now) : null;
  const due = info ? rotationDueAt(info) : null;
  return {
    active:
      info && due
        ? {
            kid: info.kid,
            alg: info.alg,
            created: info.created,
            ageSeconds: Math.max(0, Math.floor((now.getTime() - (info.activated ?? info.created).getTime()) / 1000)),
            signsUntil: info.signsUntil,
            rotationDueAt: due,
            rotationDue: now >= due,
          }
        : null,
    next: next
      ? {
          kid: next.kid,
          alg: assertSigningAlgorithm(next.alg),
          created: new Date(next.created),
          switchesAt: new Date(new Date(next.created).getTime() + switchDelay * 1000),
        }
      : null,
    verifying: Number(counts?.verifying ?? 0),
    expired: Number(counts?.expired ?? 0),
  };
}

/** The public side of the keystore's keys, as verifying needs it: plain data (a worker thread can be handed it). */
export interface VerifyingKeyRow {
  kid: string;
  alg: string;
  publicJwk: PublicJwk;
  verifiesUntil: Date;
  state: 'next' | 'active' | 'retired' | 'revoked';
}

/** Every key's public side and state, read once (public keys only; no secret needed). */
export async function readVerifyingKeys(db: Knex): Promise<VerifyingKeyRow[]> {
  const rows: Pick<KeyRow, 'kid' | 'alg' | 'public_jwk' | 'verifies_until' | 'state'>[] = await db('keystore').select('kid', 'alg', 'public_jwk', 'verifies_until', 'state');
  return rows.map((r) => ({ kid: r.kid, alg: r.alg, publicJwk: r.public_jwk, verifiesUntil: new Date(r.verifies_until), state: r.state }));
}

/**
 * A resolver over keys `readVerifyingKeys` read: an unknown kid, a revoked key and a key past its
 * `verifies_until` (by `now()`, at each resolution) are refused, each with its code.
 */
export function verifyingKeysResolver(rows: VerifyingKeyRow[], now: () => Date): KeyResolver {
  const byKid = new Map(rows.map((r) => [r.kid, r]));
  const imported = new Map<string, Promise<VerificationKey>>();
  return {
    async resolve(kid) {
      const row = byKid.get(kid);
      if (!row) throw authError('auth.token.unknown_key', `unknown signing key ${JSON.stringify(kid)}`, { kid });
      if (row.state === 'revoked') {
        throw authError('auth.token.key_revoked', `signing key ${kid} was revoked: its tokens no longer verify`, { kid });
      }
      if (new Date(row.verifiesUntil) <= now()) {
        throw authError('auth.token.key_retired', `signing key ${kid} no longer verifies tokens (retired)`, { kid });
      }
      let key = imported.get(kid);
      if (!key) {
        const { importPublicJwk } = await loadJwks();
        key = importPublicJwk({ ...row.publicJwk, kid, alg: assertSigningAlgorithm(row.alg), use: 'sig', exp: jwkExp(row.verifiesUntil) });
        imported.set(kid, key);
      }
      return key;
    },
  };
}

/** A resolver over the keystore table (public keys only; no secret needed). */
export async function keystoreResolver(db: Knex, now: () => Date): Promise<KeyResolver> {
  return verifyingKeysResolver(await readVerifyingKeys(db), now);
}

/** The row marked active, whether or not it can still sign. */
export async function activeRowAny(db: Knex): Promise<KeyRow | undefined> {
  return db<KeyRow>('keystore').where({ state: 'active' }).first();
}
