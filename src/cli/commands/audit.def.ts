/** `audit list` and `audit prune`. Handlers in audit.ts. */
import { command, option, runsFrom, type GroupBody } from '../command-table.js';
import { pagingOptions } from '../command-kit.js';
import { durationArg } from '../arg-parsers.js';


export const list = command({
  name: 'list',
  description: 'audit rows, newest first',
  options: {
    since: option('--since <duration>', 'only rows from the last DURATION (90s, 15m, 12h, 7d; at most 36500d)', { parse: durationArg('auditAge') }),
    // The program's --actor (who to record for writes) would take the flag wherever it is typed;
    // here it is this filter (command-table.ts hands it over).
    actor: option('--actor <actor>', 'only rows recorded for this actor'),
    target: option('--target <target>', 'only rows about this target (username, group, permission, kid, session id)'),
    command: option('--command <command>', 'only this command (session.revoke) or command group (session)'),
    ...pagingOptions('rows'),
  },
  examples: ['kaiju-auth audit list --since 1d', 'kaiju-auth audit list --target alice --json', 'kaiju-auth audit list --command session'],
});

export const prune = command({
  name: 'prune',
  description: 'delete audit rows older than DURATION (asks; -y); the prune itself is recorded',
  options: {
    olderThan: option('--older-than <duration>', 'age of the rows to delete (e.g. 90d; at most 36500d)', { parse: durationArg('auditAge'), required: true }),
  },
  dryRun: true,
  examples: ['kaiju-auth audit prune --older-than 180d', 'kaiju-auth audit prune --older-than 90d -y --quiet'],
});

const body: GroupBody = {
  examples: ['kaiju-auth audit list --since 7d', 'kaiju-auth audit prune --older-than 180d -y'],
  commands: runsFrom(() => import('./audit.js'), { auditList: list, auditPrune: prune }),
};
export default body;
