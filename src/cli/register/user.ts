/** Declares `user ...`; handlers in commands/user.ts, user-password.ts, user-import.ts and user-export.ts. */
import type { Command } from 'commander';
import { Option } from '../commander.js';
import { collect, collectList, examples, lazyAction, roundsOption, withSecretOptions, type Kit } from '../command-kit.js';
import { intArg } from '../arg-parsers.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_BCRYPT_COST } from '../../core/settings.js';
import { DEFAULT_PAGE_SIZE } from '../paging.js';

/**
 * `--username` and `--email` of `register`: on a terminal a missing one is asked for (as Django's
 * createsuperuser does); without one (stdin or stderr not a terminal, as Runtime.interactive) it
 * stays commander's usage error, never a prompt nobody can answer.
 */
function identityOptions(kit: Kit, command: Command): Command {
  const interactive = !!kit.io.stdin.isTTY && !!kit.io.stderr.isTTY;
  const add = (flags: string, description: string) =>
    interactive ? command.option(flags, `${description}; asked on a terminal when missing`) : command.requiredOption(flags, `${description}; asked on a terminal when missing`);
  add('--username <username>', '4-32 letters, digits, _ or -');
  add('--email <email>', 'e-mail address (unique)');
  return command;
}

const load = () => import('../commands/user.js');
const loadPassword = () => import('../commands/user-password.js');

/** Fills the `user` command (made by program.ts, which holds its description) with its subcommands. */
export function registerUserCommands(userCommand: Command, kit: Kit): void {
  const user = examples(userCommand, [
    'kaiju-auth user register --username alice --email alice@example.com --group editors',
    'kaiju-auth user show alice',
    'kaiju-auth user list --json',
  ]);

  examples(
    lazyAction(
      kit,
      withSecretOptions(
        identityOptions(kit, user.command('register').description('register a user (password: --password-stdin, --password-file, KAIJU_AUTH_PASSWORD or a prompt)'))
          .option('--full-name <name>', 'full name')
          .option('--group <group>', 'add to a group (repeatable, or comma-separated)', collectList)
          .addOption(roundsOption()),
      ),
      async () => (await load()).runRegister,
    ),
    [
      'kaiju-auth user register --username alice --email alice@example.com --group editors',
      "printf '%s\\n' \"$PW\" | kaiju-auth user register --username ci_bot --email bot@example.com --password-stdin --json",
    ],
  );

  examples(
    lazyAction(
      kit,
      user
        .command('list')
        .description('list users (sorted by username) with the total count')
        .option('--group <group>', 'only members of this group')
        .option('--search <text>', 'literal, case-insensitive match on username, email or full name')
        .option('--blocked', 'only blocked users')
        .option('--inactive', 'only inactive users')
        .option('--limit <n>', `at most N users (default ${DEFAULT_PAGE_SIZE})`, intArg('limit'))
        .option('--offset <n>', 'skip the first N', intArg('offset'))
        .option('--collisions', 'instead: groups of existing users whose usernames or emails look alike (case, accents, confusable characters)'),
      async () => (await load()).runList,
    ),
    ['kaiju-auth user list --group editors', 'kaiju-auth user list --blocked --json | jq -r ".[].username"', 'kaiju-auth user list --collisions'],
  );

  examples(
    lazyAction(kit, user.command('show <user>').description('profile, groups and effective permissions (user: username or id)'), async () => (await load()).runShow),
    ['kaiju-auth user show alice'],
  );

  examples(
    lazyAction(
      kit,
      user
        .command('update <user>')
        .description('change email, full name or settings keys (a JSON value where it parses, else a string)')
        .option('--email <email>', 'new e-mail address')
        .option('--full-name <name>', 'new full name')
        .option('--clear-full-name', 'remove the full name')
        .option('--set <key=value>', 'set a settings key (repeatable)', collect)
        .option('--unset <key>', 'remove a settings key (repeatable)', collect),
      async () => (await load()).runUpdate,
    ),
    ['kaiju-auth user update alice --email alice@new.example.com', "kaiju-auth user update alice --set theme=dark --set 'limits={\"daily\": 5}' --unset beta"],
  );

  examples(
    lazyAction(
      kit,
      withSecretOptions(
        user
          .command('passwd <username>')
          .description("change a user's password with the old one (--password-stdin: old, then new, one per line)")
          .addOption(roundsOption()),
      ),
      async () => (await loadPassword()).runPasswd,
    ),
    ['kaiju-auth user passwd alice', "printf '%s\\n%s\\n' \"$OLD\" \"$NEW\" | kaiju-auth user passwd alice --password-stdin"],
  );

  examples(
    lazyAction(
      kit,
      withSecretOptions(
        user.command('set-password <user>').description('administrative password reset (no old password)').addOption(roundsOption()),
      ),
      async () => (await loadPassword()).runSetPassword,
    ),
    ['kaiju-auth user set-password alice', 'kaiju-auth user set-password alice --password-file ./new-password'],
  );

  for (const [name, description] of [
    ['block', 'block a user (authentication fails until unblocked)'],
    ['unblock', 'unblock a user'],
    ['activate', 'activate a user'],
    ['deactivate', 'deactivate a user (authentication fails until activated)'],
  ] as const) {
    examples(
      lazyAction(kit, user.command(`${name} <user>`).description(description), async () => (await load()).flagHandler(name)),
      [`kaiju-auth user ${name} alice`],
    );
  }

  examples(
    lazyAction(kit, user.command('delete <user>').description('delete a user, its memberships and sessions (asks; -y)'), async () => (await load()).runDelete),
    ['kaiju-auth user delete alice', 'kaiju-auth user delete alice -y --json'],
  );

  examples(
    lazyAction(
      kit,
      user
        .command('groups <user>')
        .description("show a user's groups, or change them")
        .option('--set <groups>', 'replace with exactly these (comma-separated; "" for none)')
        .option('--add <group>', 'add to a group (repeatable, or comma-separated)', collectList)
        .option('--remove <group>', 'remove from a group (repeatable, or comma-separated)', collectList),
      async () => (await load()).runGroups,
    ),
    ['kaiju-auth user groups alice', 'kaiju-auth user groups alice --add editors --remove interns', 'kaiju-auth user groups alice --set editors,reviewers'],
  );

  examples(
    lazyAction(kit, user.command('permissions <user>').description('effective permissions (enabled ones, through groups)'), async () => (await load()).runPermissions),
    ['kaiju-auth user permissions alice --json'],
  );

  examples(
    lazyAction(
      kit,
      user
        .command('import <file>')
        .description(
          'import users from CSV (username,email,password,password_hash,full_name,groups), JSON Lines or a JSON array ' +
            '(FILE - reads stdin, with --format); ' +
            'the whole file is checked first (exit 6 lists every problem, nothing written), then written in batches',
        )
        .addOption(new Option('--format <format>', 'file format (default: from the extension)').choices(['csv', 'jsonl', 'json']))
        .addOption(new Option('--on-conflict <policy>', 'existing username: fail (exit 5), skip, or update it').choices(['fail', 'skip', 'update']).default('fail'))
        .option('--batch-size <n>', `rows per transaction (default ${DEFAULT_BATCH_SIZE})`, intArg('batchSize'))
        .addOption(roundsOption(`bcrypt cost for plain passwords (env KAIJU_AUTH_BCRYPT_ROUNDS; default ${DEFAULT_BCRYPT_COST})`))
        .option('--skip-invalid', 'import the valid rows of a file with invalid ones (still exits 6 with the list)'),
      async () => (await import('../commands/user-import.js')).runImport,
    ),
    [
      'kaiju-auth user import users.csv',
      'kaiju-auth user import people.jsonl --on-conflict update --batch-size 5000',
      'kaiju-auth user import legacy.json --on-conflict skip --json > report.json   # rerun after a crash: converges',
      'generate-users | kaiju-auth user import - --format jsonl',
    ],
  );

  examples(
    lazyAction(
      kit,
      user
        .command('export')
        .description(
          'export every user with the names of its groups (JSON Lines or CSV, streamed); hashes only with --with-hashes. ' +
            'Not a whole backup: groups and permissions are not in it (use `kaiju-auth dump DIR --with-hashes` and `seed DIR` for backup and restore)',
        )
        .addOption(new Option('--format <format>', 'output format').choices(['jsonl', 'csv']).default('jsonl'))
        .option('--with-hashes', 'include password hashes (never to a terminal; a file is created with mode 0600)')
        .option('--out <file>', 'write to FILE instead of stdout (replaced only by a complete export)'),
      async () => (await import('../commands/user-export.js')).runExport,
    ),
    [
      'kaiju-auth user export > users.jsonl',
      'kaiju-auth user export --format csv --out users.csv',
      'kaiju-auth user export --with-hashes --out users.jsonl   # users only: import them where their groups exist',
      'kaiju-auth dump ./backup --with-hashes                   # the whole auth data: restore with seed ./backup',
    ],
  );
}
