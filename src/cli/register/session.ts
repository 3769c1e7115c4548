/** Declares `session list|show|revoke|prune`; handlers in commands/session.ts. */
import type { Command } from 'commander';
import { examples, lazyAction, withPaging, type Kit } from '../command-kit.js';
import { intArg } from '../arg-parsers.js';
import { DEFAULT_BATCH_SIZE } from '../../core/settings.js';

const load = () => import('../commands/session.js');

/** Fills the `session` command (made by program.ts, which holds its description) with its subcommands. */
export function registerSessionCommands(sessionCommand: Command, kit: Kit): void {
  const session = examples(sessionCommand, [
    'kaiju-auth session list --user alice',
    'kaiju-auth session prune --quiet',
  ]);

  examples(
    lazyAction(
      kit,
      withPaging(
        session
          .command('list')
          .description('list live sessions (longest-lived first), or expired ones')
          .option('--user <user>', 'only the sessions of this user (username or id)')
          .option('--expired', 'only expired sessions (most recently expired first)')
          .option('--all', 'live and expired sessions'),
        'sessions',
      ),
      async () => (await load()).runSessionList,
    ),
    ['kaiju-auth session list', 'kaiju-auth session list --user alice', 'kaiju-auth session list --expired --limit 20 --json'],
  );

  examples(
    lazyAction(
      kit,
      session.command('show').description('one session: user, expiry, permissions, data').argument('<id>', 'session id'),
      async () => (await load()).runSessionShow,
    ),
    ['kaiju-auth session show 3f9c0e2a5b7d4c1e9a8b6d5c4e3f2a1b', 'kaiju-auth session show 3f9c0e2a... --json'],
  );

  examples(
    lazyAction(
      kit,
      session
        .command('revoke')
        .description('delete the given sessions (all or none), or every session of a user with --user (asks; -y)')
        .argument('[ids...]', 'session ids')
        .option('--user <user>', 'revoke every session of this user (username or id)'),
      async () => (await load()).runSessionRevoke,
    ),
    ['kaiju-auth session revoke 3f9c0e2a5b7d4c1e9a8b6d5c4e3f2a1b', 'kaiju-auth session revoke --user alice -y'],
  );

  examples(
    lazyAction(
      kit,
      session
        .command('prune')
        .description('delete expired sessions in short batches; prints how many, nothing when none (cron-safe)')
        .option('--batch-size <n>', `rows deleted per transaction (default ${DEFAULT_BATCH_SIZE})`, intArg('batchSize')),
      async () => (await load()).runSessionPrune,
    ),
    ['kaiju-auth session prune', 'kaiju-auth session prune --quiet --batch-size 5000   # hourly from cron'],
  );
}
