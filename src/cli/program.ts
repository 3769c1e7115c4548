/**
 * The command tree. Registers commands and global options only; every handler is imported lazily
 * when its command runs.
 */
import { createRequire } from 'node:module';
import type * as CommanderModule from 'commander';
import type { Kit } from './command-kit.js';
import { registerGroupCommands } from './register/group.js';
import { registerPermissionCommands } from './register/permission.js';
import { registerSchemaCommands } from './register/schema.js';
import { registerSeedCommands } from './register/seed.js';
import { registerUserCommands } from './register/user.js';
import { registerSessionCommands } from './register/session.js';
import { registerAuditCommands } from './register/audit.js';
import { registerCompletionCommand } from './register/completion.js';
import { registerKeysCommands } from './register/keys.js';
import { registerTokenCommands } from './register/token.js';
import { VERSION } from './version.js';

// Commander is CommonJS: `require` skips its ES wrapper and the export scan (~3 ms of every start).
const { Command, Option } = createRequire(import.meta.url)('commander') as typeof CommanderModule;

export function buildProgram(kit: Kit): CommanderModule.Command {
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
    .addOption(new Option('--lock-timeout <duration>', 'how long to wait for a busy embedded database (default 10s)'))
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
  $ kaiju-auth init                      create/upgrade the embedded database in ./.kaiju-auth
  $ kaiju-auth status
  $ DATABASE_URL=postgres://app@db/app kaiju-auth migrate

Exit codes: 0 ok, 1 internal, 2 usage, 3 auth failed, 4 not found, 5 conflict,
            6 invalid data, 7 database unavailable or schema missing, 8 refused.
`,
    );

  registerSchemaCommands(program, kit);
  registerSeedCommands(program, kit);
  registerUserCommands(program, kit);
  registerGroupCommands(program, kit);
  registerPermissionCommands(program, kit);
  registerSessionCommands(program, kit);
  registerAuditCommands(program, kit);
  registerCompletionCommand(program, kit);
  registerKeysCommands(program, kit);
  registerTokenCommands(program, kit);
  return program;
}
