/** Declares `init`, `status` and `migrate` (with `status`, `down`); handlers in commands/schema.ts. */
import type { Command } from 'commander';
import { examples, lazyAction, type Kit } from '../command-kit.js';

const load = () => import('../commands/schema.js');

export function registerSchemaCommands(program: Command, kit: Kit): void {
  examples(
    lazyAction(
      kit,
      program.command('init').description('prepare a database: apply migrations, seed ./fixtures/users when present; prints a summary'),
      async () => (await load()).runInit,
    ),
    ['kaiju-auth init', 'kaiju-auth init --database-url postgres://app@db.internal/app'],
  );

  examples(
    lazyAction(
      kit,
      program
        .command('status')
        .description('show the database in use, schema version, pending migrations and row counts'),
      async () => (await load()).runStatus,
    ),
    ['kaiju-auth status', 'kaiju-auth status --json | jq .counts'],
  );

  const migrate = examples(
    lazyAction(
      kit,
      program
        .command('migrate')
        .description('apply pending migrations (adopts a database created by kaiju_auth 2.1.0)')
        .option('--dry-run', 'print the SQL that would run, change nothing'),
      async () => (await load()).runMigrate,
    ),
    ['kaiju-auth migrate', 'kaiju-auth migrate --dry-run', 'DATABASE_URL=postgres://app@db/app kaiju-auth migrate --json'],
  );

  examples(
    lazyAction(
      kit,
      migrate.command('status').description('list migrations, applied and pending'),
      async () => (await load()).runMigrateStatus,
    ),
    ['kaiju-auth migrate status', 'kaiju-auth migrate status --json'],
  );

  examples(
    lazyAction(
      kit,
      migrate
        .command('down')
        .description('roll back the last batch of migrations (asks; -y to confirm without a terminal)')
        .option('--dry-run', 'print the SQL that would run, change nothing'),
      async () => (await load()).runMigrateDown,
    ),
    ['kaiju-auth migrate down', 'kaiju-auth migrate down -y'],
  );
}
