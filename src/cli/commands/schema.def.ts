/** `init`, `status` and `migrate` (with `migrate status`, `migrate down`). Handlers in schema.ts. */
import { command, option, runsFrom, type Entry } from '../command-table.js';
import { intArg } from '../arg-parsers.js';
import { DEFAULT_MAX_EXPIRED_SESSIONS } from '../../core/settings.js';


export const init = command({
  name: 'init',
  description: 'prepare a database: apply migrations, seed ./fixtures/users when present; prints a summary',
  examples: ['kaiju-auth init', 'kaiju-auth init --database-url postgres://app@db.internal/app'],
});

export const status = command({
  name: 'status',
  description:
    "show the database in use, schema version, pending migrations, row counts, whether the derived grants match kaiju's tables, and the signing key; --check: exit 9 when something needs a human",
  options: {
    check: option(
      '--check',
      "run the health checks; exit 9 when one fails (no key signs, wrong key secret, rotation overdue, next key stuck, pending migrations, derived grants that differ from kaiju's tables, expired sessions piling up, --jwks-file out of date)",
    ),
    format: option('--format <format>', "output: text, json (as --json), prometheus (metrics for node_exporter's textfile collector)", {
      choices: ['text', 'json', 'prometheus'],
    }),
    jwksFile: option('--jwks-file <file>', 'check that this published JWKS file is what kaiju-auth keys jwks would write'),
    maxExpiredSessions: option('--max-expired-sessions <n>', `expired sessions allowed before the sessions check fails (default ${DEFAULT_MAX_EXPIRED_SESSIONS})`, {
      parse: intArg('expiredSessions'),
    }),
  },
  examples: [
    'kaiju-auth status',
    'kaiju-auth status --json | jq .counts',
    'kaiju-auth status --check -q || alert "kaiju-auth needs a human"',
    'kaiju-auth status --format prometheus > /var/lib/node_exporter/kaiju_auth.prom.tmp && mv /var/lib/node_exporter/kaiju_auth.prom.tmp /var/lib/node_exporter/kaiju_auth.prom',
  ],
});

export const migrate = command({
  name: 'migrate',
  description: "apply pending migrations (adopts a database created by kaiju_auth 2.1.0), then rebuild derived grants that differ from kaiju's tables",
  options: { dryRun: option('--dry-run', 'print the SQL that would run, change nothing') },
  examples: ['kaiju-auth migrate', 'kaiju-auth migrate --dry-run', 'DATABASE_URL=postgres://app@db/app kaiju-auth migrate --json'],
});

export const migrateStatus = command({ name: 'status', description: 'list migrations, applied and pending', examples: ['kaiju-auth migrate status', 'kaiju-auth migrate status --json']});

export const migrateDown = command({
  name: 'down',
  description:
    'roll back the last batch of migrations; says which tables it drops and the rows each holds (asks; -y to confirm without a terminal; dropping rows also needs --drop-data)',
  options: {
    dryRun: option('--dry-run', 'print the tables it would drop, their rows and the SQL; change nothing'),
    dropData: option('--drop-data', 'allow dropping tables that hold rows (users, groups, sessions...): they are lost; -y alone refuses'),
  },
  examples: [
    'kaiju-auth migrate down --dry-run',
    'kaiju-auth migrate down',
    'kaiju-auth migrate down -y',
    'kaiju-auth user export --with-hashes --out users.jsonl && kaiju-auth migrate down -y --drop-data',
  ],
});

const load = () => import('./schema.js');

export const SCHEMA_COMMANDS: Entry[] = runsFrom(load, { init, status, migrate }, { migrate: runsFrom(load, { migrateStatus, migrateDown }) });
