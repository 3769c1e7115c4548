/**
 * The logger every knex handle of ours gets. knex's default writes to stdout (console.log), which
 * belongs to results (`--json` must be the only thing there), and it logs a driver stack for every
 * failed connection attempt, which reaches the caller anyway as one `db.unavailable` error. So:
 * connection failures are dropped here, anything else knex has to say goes to stderr.
 */
import type { Knex } from 'knex';

const CONNECTION_NOISE = /^(Acquire connection error|Connection Error)/;

function toStderr(level: string) {
  return (message: unknown) => {
    const text = typeof message === 'string' ? message : String(message);
    if (CONNECTION_NOISE.test(text)) return;
    process.stderr.write(`knex ${level}: ${text}\n`);
  };
}

export const KNEX_LOG: Knex.Config['log'] = {
  warn: toStderr('warning'),
  error: toStderr('error'),
  deprecate: (method: string, alternative: string) => toStderr('deprecation')(`${method} is deprecated, use ${alternative}`),
  debug: () => undefined,
};
