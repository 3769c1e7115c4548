/** `session list|show|revoke|prune`. Handlers in session.ts. */
import { arg, command, option, runsFrom, type GroupBody } from '../command-table.js';
import { pagingOptions } from '../command-kit.js';
import { intArg } from '../arg-parsers.js';
import { DEFAULT_BATCH_SIZE } from '../../core/settings.js';


export const list = command({
  name: 'list',
  description: 'list live sessions (longest-lived first), or expired ones',
  options: {
    user: option('--user <user>', 'only the sessions of this user (username or id)'),
    expired: option('--expired', 'only expired sessions (most recently expired first)'),
    all: option('--all', 'live and expired sessions'),
    ...pagingOptions('sessions'),
  },
  examples: ['kaiju-auth session list', 'kaiju-auth session list --user alice', 'kaiju-auth session list --expired --limit 20 --json'],
});

export const show = command({ name: 'show', description: 'one session: user, expiry, permissions, data',
  args: [arg('<id>', 'session id')], examples: ['kaiju-auth session show 3f9c0e2a5b7d4c1e9a8b6d5c4e3f2a1b', 'kaiju-auth session show 3f9c0e2a... --json'] });

export const revoke = command({
  name: 'revoke',
  description: 'delete the given sessions (all or none), or every session of a user with --user (asks; -y)',
  args: [arg('[ids...]', 'session ids')],
  options: { user: option('--user <user>', 'revoke every session of this user (username or id)') },
  dryRun: true,
  examples: ['kaiju-auth session revoke 3f9c0e2a5b7d4c1e9a8b6d5c4e3f2a1b', 'kaiju-auth session revoke --user alice -y'],
});

export const prune = command({
  name: 'prune',
  description: 'delete expired sessions in short batches; prints how many, nothing when none (cron-safe)',
  options: { batchSize: option('--batch-size <n>', `rows deleted per transaction (default ${DEFAULT_BATCH_SIZE})`, { parse: intArg('batchSize') }) },
  dryRun: true,
  examples: ['kaiju-auth session prune', 'kaiju-auth session prune --quiet --batch-size 5000   # hourly from cron'],
});

const body: GroupBody = {
  examples: ['kaiju-auth session list --user alice', 'kaiju-auth session prune --quiet'],
  commands: runsFrom(() => import('./session.js'), { sessionList: list, sessionShow: show, sessionRevoke: revoke, sessionPrune: prune }),
};
export default body;
