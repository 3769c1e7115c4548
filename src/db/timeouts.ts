/**
 * How long a command may wait on PostgreSQL, for each thing it can wait for. A library caller
 * sets them on its target (`{kind: 'postgres', url, timeouts}`); the CLI picks them per kind of
 * command (cli/timeouts.ts). pg-timeouts.ts enforces them.
 */

export interface DatabaseTimeouts {
  /** Connecting and logging in: a server that accepts the connection and says nothing. */
  connectMs: number;
  /**
   * One statement, enforced by the server (`statement_timeout`); the client gives up on an answer
   * a little after it (see answerDeadlineMs), for a server that cannot even say it timed out.
   */
  statementMs: number;
  /** Waiting for a lock another session holds: a row, a table, an advisory lock. 0: do not wait. */
  lockMs: number;
  /** A transaction whose client stopped sending (frozen, asleep, cut off): the server ends it. */
  idleInTransactionMs: number;
}

/** The library's defaults: an interactive command's (the CLI gives bulk and schema work longer). */
export const DEFAULT_TIMEOUTS: DatabaseTimeouts = {
  connectMs: 10_000,
  statementMs: 30_000,
  lockMs: 10_000,
  idleInTransactionMs: 60_000,
};

/**
 * How long the client waits for any answer to a statement: the statement timeout, after which a
 * working server answers with an error, plus as long again (at most 5 s) for that answer to arrive.
 * Past it the server is taken for gone (a stopped process, a cut network).
 */
export function answerDeadlineMs(t: DatabaseTimeouts): number {
  return t.statementMs + Math.min(t.statementMs, 5000);
}

/** The shortest exact way to write `ms`: `90s`, `5m`, `500ms` (as durations are written to the CLI). */
export function formatMs(ms: number): string {
  if (ms === 0) return '0s';
  for (const [unit, size] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0) return `${ms / size}${unit}`;
  }
  return `${ms}ms`;
}
