/** The signing-key part of `status` and `init`: age of the active key and whether rotation is due. */
import type { KaijuAuth } from '../../core/auth.js';
import type { KeyStatus } from '../../core/keys/key-queries.js';
import type { KeySecretState } from '../../core/keys/secret-verifier.js';
import { humanDuration } from '../../core/tokens/claims.js';
import type { Output } from '../output.js';

/**
 * Whether the configured key secret opens the signing key (never makes up a secret, never writes);
 * `unchecked` on an outdated schema.
 */
export function secretStateOf(auth: KaijuAuth, schemaCurrent: boolean): Promise<KeySecretState> {
  return schemaCurrent ? auth.keys.secretState() : Promise.resolve('unchecked');
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
  const due = (a.rotationDueAt.getTime() - now) / 1000;
  const rotation = a.rotationDue ? out.c.yellow(`rotation due since ${humanDuration(-due)}`) : `rotation due in ${humanDuration(due)}`;
  const next = s.next
    ? s.next.switchesAt.getTime() > now
      ? `; next ${s.next.kid} switches in ${humanDuration((s.next.switchesAt.getTime() - now) / 1000)}`
      : `; next ${s.next.kid} ready to switch (at the next keys rotate)`
    : '';
  return `${a.kid} (${a.alg}), ${humanDuration(a.ageSeconds)} old, ${rotation}${next}; ${s.verifying} key(s) verify, ${s.expired} to prune${secret}`;
}
