/**
 * What knex has to say goes to the logger the caller injects (node-pg-migrate's `logger` option),
 * never to a stream of our choosing: knex's default writes to stdout (console.log), which belongs
 * to the caller's results, and a library writes to no one's stderr. Without a logger it is dropped.
 * knex also logs a driver stack for every failed connection attempt, which reaches the caller
 * anyway as one `db.unavailable` error: that is dropped here whatever the logger.
 */
import type { Knex } from 'knex';

/** Receives what the database layer has to say: `level` is `warning`, `error` or `deprecation`. */
export type DbLogger = (level: 'warning' | 'error' | 'deprecation', message: string) => void;

const CONNECTION_NOISE = /^(Acquire connection error|Connection Error)/;

export function knexLog(logger: DbLogger | undefined): Knex.Config['log'] {
  const to = (level: 'warning' | 'error' | 'deprecation') => (message: unknown) => {
    const text = typeof message === 'string' ? message : String(message);
    if (logger && !CONNECTION_NOISE.test(text)) logger(level, text);
  };
  return {
    warn: to('warning'),
    error: to('error'),
    deprecate: (method: string, alternative: string) => to('deprecation')(`${method} is deprecated, use ${alternative}`),
    debug: () => undefined,
  };
}
