/**
 * Transactions that the database may roll back on its own. PostgreSQL ends one of two transactions
 * that wait for each other (deadlock, 40P01), and under REPEATABLE READ or SERIALIZABLE a writer
 * that comes second (40001): nothing of it was written, and running it again from the start is
 * the documented remedy. Services whose work re-reads what it depends on run through here, so a
 * grant racing a running kaiju app's writes is retried instead of failing.
 */
import type { Knex } from 'knex';
import { SQLSTATE, sqlState } from '../db/errors.js';

const RETRIED: ReadonlySet<string> = new Set([SQLSTATE.deadlockDetected, SQLSTATE.serializationFailure]);

/** Whether the database rolled the transaction back on its own (deadlock, serialization failure). */
export function isTransactionRollback(err: unknown): boolean {
  return RETRIED.has(String(sqlState(err) ?? ''));
}

/**
 * `work` in a transaction of its own, run again (up to `attempts` times in all, after a short
 * random pause) when the database rolled it back on its own. Inside a caller's transaction
 * (`db.isTransaction`) it runs once: the caller owns that transaction and its retries.
 */
export async function retryingTransaction<T>(db: Knex, work: (trx: Knex.Transaction) => Promise<T>, attempts = 5): Promise<T> {
  if ((db as Knex.Transaction).isTransaction) return db.transaction(work);
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(work);
    } catch (err) {
      if (attempt >= attempts || !isTransactionRollback(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * attempt));
    }
  }
}
