/** `user ...`: accounts, passwords, groups and permissions. Handlers in user.ts, user-password.ts, user-import.ts and user-export.ts. */
import { command, option, runsFrom, type GroupBody } from '../command-table.js';
import { collect, collectList, PASSWORD_OPTIONS, roundsOption } from '../command-kit.js';
import { intArg } from '../arg-parsers.js';
import { DEFAULT_PAGE_SIZE } from '../paging.js';
import { DEFAULT_BATCH_SIZE, DEFAULT_BCRYPT_COST } from '../../core/settings.js';


export const register = command({
  name: 'register',
  description: 'register a user (password: --password-stdin, --password-file, KAIJU_AUTH_PASSWORD or a prompt)',
  options: {
    // On a terminal a missing one is asked for (as Django's createsuperuser does); without one
    // (stdin or stderr not a terminal, as Runtime.interactive) it is commander's usage error,
    // never a prompt nobody can answer.
    username: option('--username <username>', '4-32 letters, digits, _ or -; asked on a terminal when missing', { required: 'off-terminal' }),
    email: option('--email <email>', 'e-mail address (unique); asked on a terminal when missing', { required: 'off-terminal' }),
    fullName: option('--full-name <name>', 'full name'),
    group: option('--group <group>', 'add to a group (repeatable, or comma-separated)', { parse: collectList }),
    rounds: roundsOption(),
    ...PASSWORD_OPTIONS,
  },
  dryRun: true,
  examples: [
    'kaiju-auth user register --username alice --email alice@example.com --group editors',
    "printf '%s\\n' \"$PW\" | kaiju-auth user register --username ci_bot --email bot@example.com --password-stdin --json",
  ],
});

export const list = command({
  name: 'list',
  description: 'list users (sorted by username) with the total count',
  options: {
    group: option('--group <group>', 'only members of this group'),
    search: option('--search <text>', 'literal, case-insensitive match on username, email or full name'),
    blocked: option('--blocked', 'only blocked users'),
    inactive: option('--inactive', 'only inactive users'),
    limit: option('--limit <n>', `at most N users (default ${DEFAULT_PAGE_SIZE})`, { parse: intArg('limit') }),
    offset: option('--offset <n>', 'skip the first N', { parse: intArg('offset') }),
    collisions: option('--collisions', 'instead: groups of existing users whose usernames or emails look alike (case, accents, confusable characters)'),
  },
  examples: ['kaiju-auth user list --group editors', 'kaiju-auth user list --blocked --json | jq -r ".[].username"', 'kaiju-auth user list --collisions'],
});

export const show = command({ name: 'show', description: 'profile, groups and effective permissions (user: username or id)', args: ['<user>'], examples: ['kaiju-auth user show alice']});

export const update = command({
  name: 'update',
  description: 'change email, full name or settings keys (a JSON value where it parses, else a string)',
  args: ['<user>'],
  options: {
    email: option('--email <email>', 'new e-mail address'),
    fullName: option('--full-name <name>', 'new full name'),
    clearFullName: option('--clear-full-name', 'remove the full name'),
    set: option('--set <key=value>', 'set a settings key (repeatable)', { parse: collect }),
    unset: option('--unset <key>', 'remove a settings key (repeatable)', { parse: collect }),
  },
  dryRun: true,
  examples: ['kaiju-auth user update alice --email alice@new.example.com', "kaiju-auth user update alice --set theme=dark --set 'limits={\"daily\": 5}' --unset beta"],
});

/** What `passwd` and `set-password` share: a new password, from the sources of docs/CLI.md, hashed at --rounds. */
const NEW_PASSWORD = { options: { rounds: roundsOption(), ...PASSWORD_OPTIONS }, dryRun: true } as const;

export const passwd = command({ name: 'passwd', description: "change a user's password with the old one (--password-stdin: old, then new, one per line)",
  args: ['<username>'], ...NEW_PASSWORD,
  examples: ['kaiju-auth user passwd alice', "printf '%s\\n%s\\n' \"$OLD\" \"$NEW\" | kaiju-auth user passwd alice --password-stdin"] });

export const setPassword = command({ name: 'set-password', description: 'administrative password reset (no old password)', args: ['<user>'], ...NEW_PASSWORD,
  examples: ['kaiju-auth user set-password alice', 'kaiju-auth user set-password alice --password-file ./new-password'] });

/** `block`, `unblock`, `activate`, `deactivate`: one flag of one user. */
function flagCommand<const N extends 'block' | 'unblock' | 'activate' | 'deactivate'>(name: N, description: string) {
  return command({ name, description, args: ['<user>'], dryRun: true, examples: [`kaiju-auth user ${name} alice`] });
}
export const block = flagCommand('block', 'block a user (authentication fails until unblocked)');
export const unblock = flagCommand('unblock', 'unblock a user');
export const activate = flagCommand('activate', 'activate a user');
export const deactivate = flagCommand('deactivate', 'deactivate a user (authentication fails until activated)');

export const del = command({ name: 'delete', description: 'delete a user, its memberships and sessions (asks; -y)',
  args: ['<user>'], dryRun: true, examples: ['kaiju-auth user delete alice', 'kaiju-auth user delete alice -y --json'] });

export const groups = command({
  name: 'groups',
  description: "show a user's groups, or change them",
  args: ['<user>'],
  options: {
    set: option('--set <groups>', 'replace with exactly these (comma-separated; "" for none)'),
    add: option('--add <group>', 'add to a group (repeatable, or comma-separated)', { parse: collectList }),
    remove: option('--remove <group>', 'remove from a group (repeatable, or comma-separated)', { parse: collectList }),
  },
  dryRun: true,
  examples: ['kaiju-auth user groups alice', 'kaiju-auth user groups alice --add editors --remove interns', 'kaiju-auth user groups alice --set editors,reviewers'],
});

export const permissions = command({ name: 'permissions', description: 'effective permissions (enabled ones, through groups)', args: ['<user>'], examples: ['kaiju-auth user permissions alice --json']});

export const importUsers = command({
  name: 'import',
  description:
    'import users from CSV (username,email,password,password_hash,full_name,groups), JSON Lines or a JSON array ' +
    '(FILE - reads stdin, with --format); ' +
    'the whole file is checked first (exit 6 lists every problem, nothing written), then written in batches',
  args: ['<file>'],
  options: {
    format: option('--format <format>', 'file format (default: from the extension)', { choices: ['csv', 'jsonl', 'json'] }),
    onConflict: option('--on-conflict <policy>', 'existing username: fail (exit 5), skip, or update it', { choices: ['fail', 'skip', 'update'], default: 'fail' }),
    batchSize: option('--batch-size <n>', `rows per transaction (default ${DEFAULT_BATCH_SIZE})`, { parse: intArg('batchSize') }),
    rounds: roundsOption(`bcrypt cost for plain passwords (env KAIJU_AUTH_BCRYPT_ROUNDS; default ${DEFAULT_BCRYPT_COST})`),
    skipInvalid: option('--skip-invalid', 'import the valid rows of a file with invalid ones (still exits 6 with the list)'),
  },
  dryRun: true,
  examples: [
    'kaiju-auth user import users.csv',
    'kaiju-auth user import people.jsonl --on-conflict update --batch-size 5000',
    'kaiju-auth user import legacy.json --on-conflict skip --json > report.json   # rerun after a crash: converges',
    'generate-users | kaiju-auth user import - --format jsonl',
  ],
});

export const exportUsers = command({
  name: 'export',
  description:
    'export every user with the names of its groups (JSON Lines or CSV, streamed); hashes only with --with-hashes. ' +
    'Not a whole backup: groups and permissions are not in it (use `kaiju-auth dump DIR --with-hashes` and `seed DIR` for backup and restore)',
  options: {
    format: option('--format <format>', 'output format', { choices: ['jsonl', 'csv'], default: 'jsonl' }),
    withHashes: option('--with-hashes', 'include password hashes (never to a terminal; a file is created with mode 0600)'),
    out: option('--out <file>', 'write to FILE instead of stdout (replaced only by a complete export)'),
  },
  examples: [
    'kaiju-auth user export > users.jsonl',
    'kaiju-auth user export --format csv --out users.csv',
    'kaiju-auth user export --with-hashes --out users.jsonl   # users only: import them where their groups exist',
    'kaiju-auth dump ./backup --with-hashes                   # the whole auth data: restore with seed ./backup',
  ],
});

const load = () => import('./user.js');

const body: GroupBody = {
  examples: [
    'kaiju-auth user register --username alice --email alice@example.com --group editors',
    'kaiju-auth user show alice',
    'kaiju-auth user list --json',
  ],
  commands: [
    ...runsFrom(load, { register, list, show, update }),
    ...runsFrom(() => import('./user-password.js'), { passwd, setPassword }),
    ...runsFrom(load, { block, unblock, activate, deactivate, delete: del, groups, permissions }),
    ...runsFrom(() => import('./user-import.js'), { import: importUsers }),
    ...runsFrom(() => import('./user-export.js'), { export: exportUsers }),
  ],
};
export default body;
