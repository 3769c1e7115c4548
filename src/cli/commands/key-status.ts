/** The signing-key part of `status` and `init`: age of the active key and whether rotation is due. */
import type { Knex } from 'knex';
import { readKeyStatus, type KeyStatus } from '../../core/keys/key-queries.js';
import { humanDuration } from '../../core/tokens/claims.js';
import type { Output } from '../output.js';

/** Null when the keystore table is not there yet (schema not migrated). */
export async function readKeyStatusOf(knex: Knex, now = new Date()): Promise<KeyStatus | null> {
  const exists = await knex.raw("select to_regclass('keystore') as t");
  if (!exists.rows[0]?.t) return null;
  return readKeyStatus(knex, now);
}

export function keyStatusLine(out: Output, s: KeyStatus, now = Date.now()): string {
  const a = s.active;
  if (!a) return out.c.yellow('none can sign (run kaiju-auth keys rotate)');
  const due = (a.rotation_due_at.getTime() - now) / 1000;
  const rotation = a.rotation_due ? out.c.yellow(`rotation due since ${humanDuration(-due)}`) : `rotation due in ${humanDuration(due)}`;
  return `${a.kid} (${a.alg}), ${humanDuration(a.age_seconds)} old, ${rotation}; ${s.verifying} key(s) verify, ${s.expired} to prune`;
}
