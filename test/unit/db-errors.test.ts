import { describe, expect, it } from 'vitest';
import { databaseRefusal } from '../../src/db/errors.js';
import { toErrorReport } from '../../src/cli/exit-codes.js';

/** A driver error as knex hands it on: the statement, then the server's words. */
function driverError(code: string, message: string): Error {
  return Object.assign(new Error(`insert into "users" ("username") values ($1) - ${message}`), { code });
}

describe('database refusals', () => {
  it.each([
    ['42501', 'permission denied for table users', 'db.permission_denied', 'the database refused: permission denied for table users'],
    ['57P01', 'terminating connection due to administrator command', 'db.unavailable', 'database unavailable: terminating connection due to administrator command (SQLSTATE 57P01)'],
    ['53100', 'could not extend file "base/1/2": No space left on device', 'db.unavailable', 'No space left on device (SQLSTATE 53100)'],
    ['08006', 'connection failure', 'db.unavailable', 'database unavailable: connection failure (SQLSTATE 08006)'],
    ['53300', 'sorry, too many clients already', 'db.unavailable', 'database unavailable: too many connections'],
    ['ECONNRESET', 'read ECONNRESET', 'db.unavailable', 'database unavailable: connection reset'],
  ])('SQLSTATE %s is exit 7 in the server\'s words, without the statement', (state, message, code, words) => {
    const refusal = databaseRefusal(driverError(state, message));
    expect(refusal?.code).toBe(code);
    expect(refusal?.message).toContain(words);
    expect(refusal?.message).not.toContain('insert into');
    const report = toErrorReport(driverError(state, message));
    expect(report).toMatchObject({ exit: 7, code });
    expect(report.stack).toBeUndefined();
  });

  it('a connection dropped under a query is exit 7 too', () => {
    expect(toErrorReport(new Error('Connection terminated unexpectedly'))).toMatchObject({ exit: 7, code: 'db.unavailable' });
  });

  it.each([
    ['23505', 'duplicate key value violates unique constraint "users_username_key"'],
    ['42P01', 'relation "nope" does not exist'],
    ['22P02', 'invalid input syntax for type uuid: "x"'],
  ])('SQLSTATE %s is not the database\'s state: a bug, exit 1', (state, message) => {
    expect(databaseRefusal(driverError(state, message))).toBeNull();
    expect(toErrorReport(driverError(state, message))).toMatchObject({ exit: 1, code: 'internal' });
  });

  it('ignores what is not an error object', () => {
    expect(databaseRefusal(null)).toBeNull();
    expect(databaseRefusal('text')).toBeNull();
    expect(databaseRefusal(new Error('boom'))).toBeNull();
  });
});
