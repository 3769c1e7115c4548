/**
 * The command tree. Registers commands and global options only; every handler is imported lazily
 * when its command runs.
 */
import type * as CommanderModule from 'commander';
import { Command, Option } from './commander.js';
import { dryRunnable, type Kit } from './command-kit.js';
import { registerSchemaCommands } from './register/schema.js';
import { registerSeedCommands } from './register/seed.js';
import { registerCompletionCommand } from './register/completion.js';
import { VERSION } from './version.js';

type Register = (command: CommanderModule.Command, kit: Kit) => void;

/**
 * Write commands whose `--dry-run` makes the change in a transaction that is rolled back (see
 * `dryRunnable`). seed, migrate, migrate down, keys revoke and keys prune have dry runs of their
 * own (plans).
 */
const DRY_RUN = new Set([
  'user register', 'user update', 'user passwd', 'user set-password', 'user block', 'user unblock', 'user activate',
  'user deactivate', 'user delete', 'user groups', 'user import',
  'group create', 'group delete', 'group grant', 'group revoke', 'group set-permissions',
  'permission create', 'permission update', 'permission enable', 'permission disable', 'permission delete',
  'session revoke', 'session prune',
  'keys rotate', 'keys import',
  'audit prune',
]);

/**
 * The command groups, in help order. A run declares in full only the group it runs (or asks help
 * for); the others are a name and a description, which is all the top-level help and commander's
 * "did you mean" need. So no run loads or builds the whole tree but `completion`, which walks it.
 */
const GROUPS: { name: string; description: string; load: () => Promise<Register> }[] = [
  { name: 'user', description: 'users: accounts, passwords, groups and permissions', load: async () => (await import('./register/user.js')).registerUserCommands },
  { name: 'group', description: 'groups and the permissions they grant', load: async () => (await import('./register/group.js')).registerGroupCommands },
  { name: 'permission', description: 'permissions: the keys groups grant', load: async () => (await import('./register/permission.js')).registerPermissionCommands },
  { name: 'session', description: 'kaiju sessions: list, show, revoke, prune expired ones', load: async () => (await import('./register/session.js')).registerSessionCommands },
  { name: 'audit', description: 'the audit trail of every write made with this tool', load: async () => (await import('./register/audit.js')).registerAuditCommands },
  {
    name: 'keys',
    description: 'signing keys: rotate (cron-safe, pre-published), list, export the JWKS, import a PEM key, rekey, revoke, prune',
    load: async () => (await import('./register/keys.js')).registerKeysCommands,
  },
  {
    name: 'token',
    description: 'JWTs: issue a pair for a user, verify (online or offline with a JWKS), refresh, inspect',
    load: async () => (await import('./register/token.js')).registerTokenCommands,
  },
];

/**
 * Which groups a run with these arguments (after `node script`) needs declared in full: the one
 * it names (`user list`, `help user`), every one for `completion`, none otherwise. `program`
 * holds the global options (those taking a value are skipped with it).
 */
export function groupsNeeded(args: readonly string[], program: CommanderModule.Command): Set<string> | 'all' {
  const [first, second] = commandWords(args, program, 2).map((w) => w.word);
  if (first === 'completion') return 'all';
  const named = first === 'help' ? second : first;
  return new Set(GROUPS.some((g) => g.name === named) ? [named as string] : []);
}

/**
 * The first `count` words of `args` that name commands, with their positions: global options are
 * skipped, with their values (`--data-dir DIR user list`), up to a `--`.
 */
function commandWords(args: readonly string[], program: CommanderModule.Command, count: number): { word: string; index: number }[] {
  const valueOptions = new Set(program.options.filter((o) => o.required || o.optional).map((o) => o.long));
  const words: { word: string; index: number }[] = [];
  for (let i = 0; i < args.length && words.length < count; i += 1) {
    const arg = args[i] as string;
    if (arg === '--') break;
    if (arg.startsWith('-')) {
      if (valueOptions.has(arg)) i += 1;
      continue;
    }
    words.push({ word: arg, index: i });
  }
  return words;
}

/**
 * The program for a run with `args` (after `node script`; default: every command declared, as
 * completion and tests want it).
 */
export async function buildProgram(kit: Kit, args?: readonly string[]): Promise<CommanderModule.Command> {
  const program = new Command('kaiju-auth');
  program
    .description('Administer kaiju auth data (users, groups, permissions, sessions, keys, tokens) in PostgreSQL or an embedded database')
    .version(VERSION, '-V, --version', 'print the version')
    .helpOption('-h, --help', 'show help for a command')
    .option('--database-url <url>', 'PostgreSQL URL (env KAIJU_AUTH_DATABASE_URL, then DATABASE_URL); default: embedded database')
    .option('--data-dir <dir>', 'embedded database directory (env KAIJU_AUTH_DATA_DIR; default ./.kaiju-auth)')
    .option('--json', 'machine output: one JSON document on stdout')
    .option('-q, --quiet', 'no notices on stderr')
    .option('-y, --yes', 'confirm destructive actions without asking')
    .option('--no-color', 'no colours (also NO_COLOR)')
    .option('--actor <name>', 'who to record in the audit log (env KAIJU_AUTH_ACTOR; default: OS user)')
    .addOption(
      new Option(
        '--lock-timeout <duration>',
        'how long to wait for a lock another process holds (the embedded database; a row, table or advisory lock on PostgreSQL), 0s to 1d (default 10s; bulk commands 1m, migrate and init 2m)',
      ),
    )
    .addOption(new Option('--statement-timeout <duration>', 'PostgreSQL: longest a statement may run, 100ms to 1d (default 30s; bulk commands 5m, migrate and init 30m)'))
    .addOption(new Option('--connect-timeout <duration>', 'PostgreSQL: longest wait to connect and log in, 100ms to 10m (default 10s)'))
    .addOption(
      new Option('--idle-in-transaction-timeout <duration>', 'PostgreSQL: the server ends a transaction left idle this long, 1s to 1d (default 1m; bulk and schema commands 5m)'),
    )
    .option('--secret-file <file>', 'key secret for signing keys (else env KAIJU_AUTH_SECRET, else the embedded data dir\'s own)')
    .option('--verbose', 'show stack traces of internal errors')
    .exitOverride()
    .configureOutput({
      writeOut: (s) => kit.io.stdout.write(s),
      writeErr: (s) => kit.io.stderr.write(s),
      // Errors are reported by main, as text or JSON; commander's own line would duplicate it.
      outputError: () => undefined,
    })
    .showSuggestionAfterError(true)
    .addHelpText(
      'after',
      `
Examples:
  $ kaiju-auth init                      # create or upgrade the embedded database in ./.kaiju-auth
  $ kaiju-auth status
  $ DATABASE_URL=postgres://app@db/app kaiju-auth migrate

Exit codes: 0 ok, 1 internal, 2 usage, 3 auth failed, 4 not found, 5 conflict,
            6 invalid data, 7 database unavailable or schema missing, 8 refused,
            9 check failed (status --check, seed --check), 130 interrupted.
`,
    );

  registerSchemaCommands(program, kit);
  registerSeedCommands(program, kit);
  const needed = args === undefined ? 'all' : groupsNeeded(args, program);
  const groups = GROUPS.map((g) => ({ ...g, command: program.command(g.name).description(g.description) }));
  const loads = groups.filter((g) => needed === 'all' || needed.has(g.name)).map(async (g) => ({ g, register: await g.load() }));
  for (const { g, register } of await Promise.all(loads)) register(g.command, kit);
  registerCompletionCommand(program, kit);
  for (const command of program.commands) {
    for (const sub of command.commands) if (DRY_RUN.has(`${command.name()} ${sub.name()}`)) dryRunnable(sub);
  }
  tagUsageErrors(program);
  return program;
}

/**
 * A usage error carries the path of the command it is about (`user register`), so its hint can
 * name that command's help rather than the whole program's.
 */
function tagUsageErrors(command: CommanderModule.Command, path: string[] = []): void {
  command.exitOverride((err) => {
    Object.defineProperty(err, 'commandPath', { value: path.join(' '), enumerable: false });
    throw err;
  });
  for (const sub of command.commands) tagUsageErrors(sub, [...path, sub.name()]);
}

/**
 * `kaiju-auth help user register` as `kaiju-auth user register --help`: commander's help command
 * looks one level down only, and would show `user`'s help. Global options before `help` stay.
 */
export function helpArgs(args: readonly string[], program: CommanderModule.Command): string[] {
  const [help, command, sub] = commandWords(args, program, 3);
  if (help?.word !== 'help' || !command || !sub || !program.commands.some((c) => c.name() === command.word)) return [...args];
  return [...args.slice(0, help.index), ...args.slice(help.index + 1), '--help'];
}
