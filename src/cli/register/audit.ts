/** Declares `audit list` and `audit prune`; handlers in commands/audit.ts. */
import type { Command } from 'commander';
import { examples, lazyAction, withPaging, type Kit } from '../command-kit.js';
import { durationArg } from '../arg-parsers.js';

const load = () => import('../commands/audit.js');

/** Fills the `audit` command (made by program.ts, which holds its description) with its subcommands. */
export function registerAuditCommands(auditCommand: Command, kit: Kit): void {
  const audit = examples(auditCommand, [
    'kaiju-auth audit list --since 7d',
    'kaiju-auth audit prune --older-than 180d -y',
  ]);

  examples(
    lazyAction(
      kit,
      withPaging(
        audit
          .command('list')
          .description('audit rows, newest first')
          .option('--since <duration>', 'only rows from the last DURATION (90s, 15m, 12h, 7d; at most 36500d)', durationArg('auditAge'))
          .option('--actor <actor>', 'only rows recorded for this actor')
          .option('--target <target>', 'only rows about this target (username, group, permission, kid, session id)')
          .option('--command <command>', 'only this command (session.revoke) or command group (session)'),
        'rows',
      )
        // The program's global --actor (who to record for writes) takes the flag wherever it is
        // typed; on this read-only command it means the filter.
        .hook('preAction', (cmd) => {
          const given = (cmd.optsWithGlobals() as { actor?: string }).actor;
          if (given !== undefined) cmd.setOptionValue('actor', given);
        }),
      async () => (await load()).runAuditList,
    ),
    ['kaiju-auth audit list --since 1d', 'kaiju-auth audit list --target alice --json', 'kaiju-auth audit list --command session'],
  );

  examples(
    lazyAction(
      kit,
      audit
        .command('prune')
        .description('delete audit rows older than DURATION (asks; -y); the prune itself is recorded')
        .requiredOption('--older-than <duration>', 'age of the rows to delete (e.g. 90d; at most 36500d)', durationArg('auditAge')),
      async () => (await load()).runAuditPrune,
    ),
    ['kaiju-auth audit prune --older-than 180d', 'kaiju-auth audit prune --older-than 90d -y --quiet'],
  );
}
