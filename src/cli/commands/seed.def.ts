/** `seed` and `dump`: the auth data as fixture files, in and out. Handlers in seed.ts and dump.ts. */
import { command, option, runsFrom, type Entry } from '../command-table.js';
import { collect } from '../command-kit.js';

export const seed = command({
  name: 'seed',
  description:
    'load kaiju fixtures from DIR (permissions.json, groups.json, users.json; default ./fixtures/users) in one transaction; ' +
    'rerunning changes nothing; any problem: exit 6, nothing written. A user gives password, password_hash, ' +
    'password_env (a variable of this environment) or password_file (relative to DIR), or none if it exists already',
  args: ['[dir]'],
  options: {
    dryRun: option('--dry-run', 'print the plan (create / update with the changed fields / unchanged, per item), change nothing'),
    check: option('--check', 'compare the database with the fixtures, change nothing: exit 0 when they match, 9 with the plan when they differ (a CI drift check)'),
    prune: option(
      '--prune',
      'also delete the permissions (with permissions.json) and groups (with groups.json) the files do not name, with their grants and memberships; ' +
        'lists every deletion; asks on a terminal, needs -y otherwise',
    ),
    pruneUsers: option('--prune-users', 'with --prune and users.json: also delete the users the files do not name (with their memberships and sessions)'),
    keep: option(
      '--keep <tag>',
      'with --prune: never delete permissions or groups whose tag is TAG, nor what such a group grants or (--prune-users) its members (repeatable)',
      { parse: collect },
    ),
  },
  examples: [
    'kaiju-auth seed',
    'kaiju-auth seed ./deploy/fixtures --dry-run',
    'kaiju-auth seed ./deploy/fixtures --prune --keep legacy --dry-run   # what a prune would delete',
    'kaiju-auth seed ./deploy/fixtures --prune --prune-users -y',
    'kaiju-auth seed ./deploy/fixtures --check --json > drift.json   # CI: exit 9 on drift',
    'export DATABASE_URL=postgres://app@db/app; kaiju-auth migrate && kaiju-auth seed --json   # both on that database',
  ],
});

export const dump = command({
  name: 'dump',
  description:
    'write the whole auth data (permissions, groups with their grants, users with their groups, flags and settings) ' +
    'as a fixture directory that seed reads back: one consistent snapshot, written whole or not at all, audited. ' +
    'Without --with-hashes users have no password: seed then keeps existing users and refuses to create them (exit 6)',
  args: ['<dir>'],
  options: {
    withHashes: option('--with-hashes', "include each user's password_hash (bcrypt), so seed into an empty database restores the users; files 0600, directory 0700"),
    force: option('--force', 'replace an existing DIR (only once the new dump is complete; a failure keeps the old one)'),
  },
  examples: [
    'kaiju-auth dump ./backup --with-hashes',
    'kaiju-auth --database-url "$NEW" migrate && kaiju-auth --database-url "$NEW" seed ./backup   # restore',
    'kaiju-auth dump ./fixtures/live --force && git diff --stat ./fixtures/live',
  ],
});

export const SEED_COMMANDS: Entry[] = [...runsFrom(() => import('./seed.js'), { seed }), ...runsFrom(() => import('./dump.js'), { dump })];
