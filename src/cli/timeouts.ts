/**
 * Timeouts by kind of command: an import batch or a migration is not a `user show`. Each kind
 * has defaults for every timeout; flags and environment override them (config.ts). The embedded
 * database uses the lock timeout alone, for its data directory.
 */
import type { DatabaseTimeouts } from '../db/timeouts.js';

export type CommandKind = 'interactive' | 'bulk' | 'schema';

/** Commands that are not interactive, by their path (`user import`); every other one is. */
const KINDS: Record<string, CommandKind> = {
  seed: 'bulk',
  'user import': 'bulk',
  'user export': 'bulk',
  'session prune': 'bulk',
  'audit prune': 'bulk',
  init: 'schema',
  migrate: 'schema',
  'migrate down': 'schema',
};

const SECOND = 1000;
const MINUTE = 60 * SECOND;

/** The defaults of each kind (README, Timeouts). */
export const KIND_TIMEOUTS: Record<CommandKind, DatabaseTimeouts> = {
  interactive: { connectMs: 10 * SECOND, statementMs: 30 * SECOND, lockMs: 10 * SECOND, idleInTransactionMs: MINUTE },
  bulk: { connectMs: 10 * SECOND, statementMs: 5 * MINUTE, lockMs: MINUTE, idleInTransactionMs: 5 * MINUTE },
  schema: { connectMs: 10 * SECOND, statementMs: 30 * MINUTE, lockMs: 2 * MINUTE, idleInTransactionMs: 5 * MINUTE },
};

export function commandKind(command: string): CommandKind {
  return KINDS[command] ?? 'interactive';
}

/** The flag (and variable) that sets what a `db.timeout` error waited for, for its message. */
export const TIMEOUT_SETTING: Record<string, string> = {
  connect: '--connect-timeout',
  statement: '--statement-timeout',
  server: '--statement-timeout',
  lock: '--lock-timeout',
  idle_in_transaction: '--idle-in-transaction-timeout',
};
