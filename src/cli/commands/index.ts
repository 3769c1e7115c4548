/**
 * The command table: every command of kaiju-auth, in help order, as data (see command-table.ts).
 * program.ts builds commander's program from it, completion/tree.ts the shells' completion,
 * scripts/commands-doc.mjs docs/commands.md, and test/cli/examples.test.ts runs its examples.
 *
 * A new command: its declaration in `<group>.def.ts` (name, arguments, options, examples,
 * `dryRun`), a `runs(spec, load)` line there, and its handler in `<group>.ts`, typed from the
 * declaration (`OptionsOf<typeof def.x>`).
 */
import { option, isLazyGroup, runs, type Entry, type GroupBody, type TopEntry } from '../command-table.js';
import { SCHEMA_COMMANDS } from './schema.def.js';
import { SEED_COMMANDS } from './seed.def.js';
import { completion } from './completion.def.js';

/** The program itself: its description, its options (valid before or after any command), its help epilogue. */
export const PROGRAM = {
  name: 'kaiju-auth',
  description: 'Administer kaiju auth data (users, groups, permissions, sessions, keys, tokens) in PostgreSQL or an embedded database',
  version: { flags: '-V, --version', description: 'print the version' },
  help: { flags: '-h, --help', description: 'show help for a command' },
  options: {
    databaseUrl: option('--database-url <url>', 'PostgreSQL URL (env KAIJU_AUTH_DATABASE_URL, then DATABASE_URL); default: embedded database', {
      env: 'KAIJU_AUTH_DATABASE_URL',
    }),
    dataDir: option('--data-dir <dir>', 'embedded database directory (env KAIJU_AUTH_DATA_DIR; default ./.kaiju-auth)', { env: 'KAIJU_AUTH_DATA_DIR' }),
    json: option('--json', 'machine output: one JSON document on stdout'),
    quiet: option('-q, --quiet', 'no notices on stderr'),
    yes: option('-y, --yes', 'confirm destructive actions without asking'),
    color: option('--no-color', 'no colours (also NO_COLOR)'),
    actor: option('--actor <name>', 'who to record in the audit log (env KAIJU_AUTH_ACTOR; default: OS user)', { env: 'KAIJU_AUTH_ACTOR' }),
    lockTimeout: option(
      '--lock-timeout <duration>',
      'how long to wait for a lock another process holds (the embedded database; a row, table or advisory lock on PostgreSQL), 0s to 1d (default 10s; bulk commands 1m, migrate and init 2m)',
    ),
    statementTimeout: option('--statement-timeout <duration>', 'PostgreSQL: longest a statement may run, 100ms to 1d (default 30s; bulk commands 5m, migrate and init 30m)'),
    connectTimeout: option('--connect-timeout <duration>', 'PostgreSQL: longest wait to connect and log in, 100ms to 10m (default 10s)'),
    idleInTransactionTimeout: option(
      '--idle-in-transaction-timeout <duration>',
      'PostgreSQL: the server ends a transaction left idle this long, 1s to 1d (default 1m; bulk and schema commands 5m)',
    ),
    secretFile: option('--secret-file <file>', "key secret for signing keys (else env KAIJU_AUTH_SECRET, else the embedded data dir's own)", { env: 'KAIJU_AUTH_SECRET' }),
    verbose: option('--verbose', 'show stack traces of internal errors'),
  },
  examples: [
    'kaiju-auth init                      # create or upgrade the embedded database in ./.kaiju-auth',
    'kaiju-auth status',
    'DATABASE_URL=postgres://app@db/app kaiju-auth migrate',
  ],
  epilogue: `Exit codes: 0 ok, 1 internal, 2 usage, 3 auth failed, 4 not found, 5 conflict,
            6 invalid data, 7 database unavailable or schema missing, 8 refused,
            9 check failed (status --check, seed --check), 130 interrupted.`,
} as const;

/**
 * The commands, in help order. A group's body (`<group>.def.ts`) loads only when a run names it:
 * the top-level help and commander's "did you mean" need its name and description alone.
 */
export const TABLE: readonly TopEntry[] = [
  ...SCHEMA_COMMANDS,
  ...SEED_COMMANDS,
  { name: 'user', description: 'users: accounts, passwords, groups and permissions', load: async () => (await import('./user.def.js')).default },
  { name: 'group', description: 'groups and the permissions they grant', load: async () => (await import('./group.def.js')).default },
  { name: 'permission', description: 'permissions: the keys groups grant', load: async () => (await import('./permission.def.js')).default },
  { name: 'session', description: 'kaiju sessions: list, show, revoke, prune expired ones', load: async () => (await import('./session.def.js')).default },
  { name: 'audit', description: 'the audit trail of every write made with this tool', load: async () => (await import('./audit.def.js')).default },
  {
    name: 'keys',
    description: 'signing keys: rotate (cron-safe, pre-published), list, export the JWKS, import a PEM key, rekey, revoke, prune',
    load: async () => (await import('./keys.def.js')).default,
  },
  {
    name: 'token',
    description: 'JWTs: issue a pair for a user, verify (online or offline with a JWKS), refresh, inspect',
    load: async () => (await import('./token.def.js')).default,
  },
  // completion.ts gets the table from here, so it imports none (no import cycle).
  runs(completion, async () => {
    const { runCompletion } = await import('./completion.js');
    return async (rt, _opts, shell) => runCompletion(rt, shell, PROGRAM, await fullTable());
  }),
];

/** A group's body as an entry of its own. */
export function groupEntry(name: string, description: string, body: GroupBody): Entry {
  return { spec: { name, description, ...(body.examples ? { examples: body.examples } : {}) }, commands: body.commands };
}

/** The whole table, every group loaded: what completion, the docs and the example runner read. */
export async function fullTable(table: readonly TopEntry[] = TABLE): Promise<Entry[]> {
  return Promise.all(table.map(async (e) => (isLazyGroup(e) ? groupEntry(e.name, e.description, await e.load()) : e)));
}
