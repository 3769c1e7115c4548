/** The signing-key part of `status` and `init`: age of the active key and whether rotation is due. */
import type { Knex } from 'knex';
import { readKeyStatus, type KeyStatus } from '../../core/keys/key-queries.js';
import type { KeySecretState } from '../../core/keys/secret-verifier.js';
import { humanDuration } from '../../core/tokens/claims.js';
import { DEFAULT_TOKEN_SETTINGS } from '../../core/tokens/settings.js';
import type { Output } from '../output.js';
import type { Runtime } from '../runtime.js';

/** How long a next key waits in the JWKS before it signs, s: this run's JWKS max age plus clock skew. */
export function switchDelayOf(rt: Runtime): number {
  const t = { ...DEFAULT_TOKEN_SETTINGS, ...rt.config.tokens };
  return t.jwksMaxAge + t.clockSkew;
}

/** Null when the keystore table is not there yet (schema not migrated). */
export async function readKeyStatusOf(knex: Knex, switchDelay: number, now = new Date()): Promise<KeyStatus | null> {
  const exists = await knex.raw("select to_regclass('keystore') as t");
  if (!exists.rows[0]?.t) return null;
  return readKeyStatus(knex, now, switchDelay);
}

/**
 * Whether the configured key secret opens the signing key (never makes up a secret, never writes);
 * `unchecked` on an outdated schema.
 */
export async function readSecretStateOf(rt: Runtime, knex: Knex, schemaCurrent: boolean, now = new Date()): Promise<KeySecretState> {
  if (!schemaCurrent) return 'unchecked';
  const [{ checkKeySecrets }, { keySecretSource, newKeySecretSource }] = await Promise.all([
    import('../../core/keys/secret-verifier.js'),
    import('../key-secret.js'),
  ]);
  return checkKeySecrets(knex, keySecretSource(rt), newKeySecretSource(rt), now);
}

const SECRET_WORDS: Record<KeySecretState, (out: Output) => string> = {
  opens: () => 'the key secret opens it',
  opens_new: (out) => out.c.yellow('KAIJU_AUTH_NEW_SECRET opens it, the key secret does not: finish the re-key roll-out'),
  wrong: (out) => out.c.red('the key secret does NOT open it (signing exits 3)'),
  missing: (out) => out.c.yellow('no key secret configured (signing exits 2)'),
  unchecked: () => 'key secret not checked',
};

export function keyStatusLine(out: Output, s: KeyStatus & { secret?: KeySecretState }, now = Date.now()): string {
  const a = s.active;
  const secret = s.secret ? `; ${SECRET_WORDS[s.secret](out)}` : '';
  if (!a) return `${out.c.yellow('none can sign (run kaiju-auth keys rotate)')}${secret}`;
  const due = (a.rotation_due_at.getTime() - now) / 1000;
  const rotation = a.rotation_due ? out.c.yellow(`rotation due since ${humanDuration(-due)}`) : `rotation due in ${humanDuration(due)}`;
  const next = s.next
    ? s.next.switches_at.getTime() > now
      ? `; next ${s.next.kid} switches in ${humanDuration((s.next.switches_at.getTime() - now) / 1000)}`
      : `; next ${s.next.kid} ready to switch (at the next keys rotate)`
    : '';
  return `${a.kid} (${a.alg}), ${humanDuration(a.age_seconds)} old, ${rotation}${next}; ${s.verifying} key(s) verify, ${s.expired} to prune${secret}`;
}
