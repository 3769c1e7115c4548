/**
 * The library's errors know no command line (issue 14 item 1): no `cli.*` code, no flag or command
 * in a message. The CLI words their remedies when it renders them, and the codes and exit codes a
 * user of the command line sees are the ones it always saw.
 */
import { describe, expect, it } from 'vitest';
import { authError, ERROR_KINDS, remediableError, type Remedy } from '../../src/errors.js';
import { cliError } from '../../src/cli/cli-errors.js';
import { toErrorReport } from '../../src/cli/exit-codes.js';

describe('library errors and their rendering by the CLI', () => {
  it('the library has no CLI vocabulary', () => {
    expect(Object.keys(ERROR_KINDS).filter((code) => code.startsWith('cli.'))).toEqual([]);
    expect(Object.values(ERROR_KINDS)).not.toContain('interrupted');
  });

  it.each<[Remedy, string, string]>([
    ['migrate', 'the database has no kaiju-auth schema', 'the database has no kaiju-auth schema: run `kaiju-auth migrate`'],
    ['create_database', 'there is no embedded database at /d', 'there is no embedded database at /d: run `kaiju-auth init` (or pass --database-url / --data-dir)'],
    ['make_signing_key', 'no signing key', 'no signing key: run `kaiju-auth keys rotate` (or `kaiju-auth init`)'],
    ['rotate_first', 'key k1 is the key that signs: it cannot be dropped', 'key k1 is the key that signs: it cannot be dropped (rotate first: kaiju-auth keys rotate)'],
    ['allow_drop_data', 'rolling back batch 1 would drop users (2 rows): nothing was changed', 'rolling back batch 1 would drop users (2 rows): nothing was changed (allow it with --drop-data)'],
  ])('remedy %s is worded as the command that applies it', (remedy, message, shown) => {
    const err = remediableError('db.schema_missing', message, remedy);
    expect(err.message).not.toMatch(/`|kaiju-auth (migrate|init|keys)|--[a-z]/);
    expect(toErrorReport(err)).toMatchObject({ code: 'db.schema_missing', exit: 7, message: shown });
  });

  it('an error without a remedy is shown as the library wrote it', () => {
    expect(toErrorReport(authError('auth.user.not_found', 'no user bob'))).toMatchObject({ code: 'auth.user.not_found', exit: 4, message: 'no user bob' });
  });

  it('library codes the CLI has always reported as its own keep the CLI code and exit code', () => {
    expect(toErrorReport(authError('auth.key.secret_unchanged', 'same'))).toMatchObject({ code: 'cli.usage', exit: 2 });
    expect(toErrorReport(authError('db.migration_unknown', 'newer'))).toMatchObject({ code: 'cli.refused', exit: 8 });
  });

  it('CLI errors keep their codes and exit codes, interrupted included', () => {
    expect(toErrorReport(cliError('cli.usage', 'bad flag', { flag: '--x' }))).toEqual({ exit: 2, code: 'cli.usage', message: 'bad flag', details: { flag: '--x' } });
    expect(toErrorReport(cliError('cli.not_confirmed', 'no'))).toMatchObject({ exit: 8, code: 'cli.not_confirmed' });
    expect(toErrorReport(cliError('cli.interrupted', 'interrupted'))).toMatchObject({ exit: 130, code: 'cli.interrupted' });
    expect(toErrorReport(cliError('cli.output_failed', 'disk full'))).toMatchObject({ exit: 2, code: 'cli.output_failed' });
  });
});
