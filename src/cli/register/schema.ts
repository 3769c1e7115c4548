/** Declares `init`, `status` and `migrate` (with `status`, `down`); handlers in commands/schema.ts. */
import type { Command } from 'commander';
import { Option } from '../commander.js';
import { examples, lazyAction, type Kit } from '../command-kit.js';
import { intArg } from '../arg-parsers.js';
import { DEFAULT_MAX_EXPIRED_SESSIONS } from '../../core/settings.js';

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
        .description("show the database in use, schema version, pending migrations, row counts, whether the derived grants match kaiju's tables, and the signing key; --check: exit 9 when something needs a human")
        .option('--check', "run the health checks; exit 9 when one fails (no key signs, wrong key secret, rotation overdue, next key stuck, pending migrations, derived grants that differ from kaiju's tables, expired sessions piling up, --jwks-file out of date)")
        .addOption(new Option('--format <format>', 'output: text, json (as --json), prometheus (metrics for node_exporter\'s textfile collector)').choices(['text', 'json', 'prometheus']))
        .option('--jwks-file <file>', 'check that this published JWKS file is what kaiju-auth keys jwks would write')
        .option('--max-expired-sessions <n>', `expired sessions allowed before the sessions check fails (default ${DEFAULT_MAX_EXPIRED_SESSIONS})`, intArg('expiredSessions')),
      async () => (await load()).runStatus,
    ),
    [
      'kaiju-auth status',
      'kaiju-auth status --json | jq .counts',
      'kaiju-auth status --check -q || alert "kaiju-auth needs a human"',
      'kaiju-auth status --format prometheus > /var/lib/node_exporter/kaiju_auth.prom.tmp && mv /var/lib/node_exporter/kaiju_auth.prom.tmp /var/lib/node_exporter/kaiju_auth.prom',
    ],
  );

  const migrate = examples(
    lazyAction(
      kit,
      program
        .command('migrate')
        .description("apply pending migrations (adopts a database created by kaiju_auth 2.1.0), then rebuild derived grants that differ from kaiju's tables")
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
        .description(
          'roll back the last batch of migrations; says which tables it drops and the rows each holds (asks; -y to confirm without a terminal; dropping rows also needs --drop-data)',
        )
        .option('--dry-run', 'print the tables it would drop, their rows and the SQL; change nothing')
        .option('--drop-data', 'allow dropping tables that hold rows (users, groups, sessions...): they are lost; -y alone refuses'),
      async () => (await load()).runMigrateDown,
    ),
    ['kaiju-auth migrate down --dry-run', 'kaiju-auth migrate down', 'kaiju-auth migrate down -y', 'kaiju-auth user export --with-hashes --out users.jsonl && kaiju-auth migrate down -y --drop-data'],
  );
}
