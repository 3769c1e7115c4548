/**
 * `kaiju-auth __complete <kind> [prefix]` (hidden): what the completion scripts run to complete a
 * name in the database (names.ts says which arguments take one): the names of `kind` (users,
 * groups, permissions, keys) starting with `prefix`, one a line, sorted, at most MAX_NAMES. A kind
 * with a trailing comma (`groups,`) completes the last item of a comma-separated list: `a,b,c`
 * gives `a,b,` followed by each name starting with `c` that is not `a` or `b`.
 *
 * A Tab must answer at once or not at all, so this is not a command like the others: no runtime,
 * no notices, no audit row, only a read (`readOnce`: no knex, a read-only transaction), short
 * timeouts (connect 2 s, an embedded database another process holds is not waited for), and any
 * failure (no database, no schema, a wrong URL, a bad setting) prints nothing and exits 0. The
 * database is the one the command line names (the scripts pass on its `--database-url` or
 * `--data-dir`), else the environment's, as for any command.
 */
import { resolveTarget, type GlobalFlags } from '../config.js';
import type { Io } from '../runtime.js';

/** The most names one completion offers (a shell shows more as a wall nobody reads). */
export const MAX_NAMES = 200;

export const COMPLETE_TIMEOUTS = { connectMs: 2000, statementMs: 2000, lockMs: 0 };

/** A name a shell can offer as one word: no whitespace or control characters. */
const WORD = /^[^\s\p{C}]+$/u;

export async function printNames(io: Pick<Io, 'stdout' | 'env'>, flags: GlobalFlags, kind: string, prefix: string): Promise<void> {
  let names: string[];
  try {
    const { isNameKind, namesQuery } = await import('../../core/names.js');
    const list = kind.endsWith(',');
    const base = list ? kind.slice(0, -1) : kind;
    if (!isNameKind(base)) return;
    const head = list ? prefix.slice(0, prefix.lastIndexOf(',') + 1) : '';
    const listed = new Set(head.split(','));
    const target = resolveTarget(flags, io.env, '__complete');
    const { readOnce } = await import('../../db/open.js');
    const { sql, params } = namesQuery(base, prefix.slice(head.length), MAX_NAMES);
    const rows = await readOnce(target, sql, params, { command: 'kaiju-auth completion', ...COMPLETE_TIMEOUTS });
    names = rows
      .map((r) => r.name)
      .filter((n): n is string => typeof n === 'string' && WORD.test(n) && !n.includes(',') && !listed.has(n))
      .map((n) => head + n);
  } catch {
    return;
  }
  if (names.length > 0) io.stdout.write(`${names.join('\n')}\n`);
}
