/** Declares `seed`; handler in commands/seed.ts. */
import type { Command } from 'commander';
import { examples, lazyAction, type Kit } from '../command-kit.js';

export function registerSeedCommands(program: Command, kit: Kit): void {
  examples(
    lazyAction(
      kit,
      program
        .command('seed [dir]')
        .description(
          'load kaiju fixtures from DIR (permissions.json, groups.json, users.json; default ./fixtures/users) in one transaction; ' +
            'rerunning changes nothing; any problem: exit 6, nothing written',
        )
        .option('--dry-run', 'print the plan (create / update with the changed fields / unchanged, per item), change nothing')
        .option('--check', 'compare the database with the fixtures, change nothing: exit 0 when they match, 9 with the plan when they differ (a CI drift check)'),
      async () => (await import('../commands/seed.js')).runSeed,
    ),
    [
      'kaiju-auth seed',
      'kaiju-auth seed ./deploy/fixtures --dry-run',
      'kaiju-auth seed ./deploy/fixtures --check --json > drift.json   # CI: exit 9 on drift',
      'DATABASE_URL=postgres://app@db/app kaiju-auth migrate && kaiju-auth seed --json --quiet',
    ],
  );
}
