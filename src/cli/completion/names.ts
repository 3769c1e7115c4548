/**
 * Which argument or option of which command takes the name of something in the database, so the
 * completion scripts ask the database for candidates (`kaiju-auth __complete <kind> <prefix>`, see
 * commands/complete-names.ts), as kubectl and gh complete resource names. The one place that says
 * so: keyed by command path, then by argument name (`user`) or long option (`--group`) as the
 * command declares them. test/cli/completion.test.ts checks that every entry names a real argument
 * or option, so a renamed one fails there rather than silently completing nothing.
 *
 * A kind with a trailing comma (`groups,`) is a comma-separated list (`--set editors,re<Tab>`): the
 * last item completes, after the ones before it.
 *
 * Only names that already exist: `group create <group>` or `user register --username` name new
 * things and complete nothing. Session ids are bearer secrets: never completed.
 */
import type { NameKind } from '../../core/names.js';

export type { NameKind };

/** A kind of name, or (trailing comma) a comma-separated list of them. */
export type NameSpec = NameKind | `${NameKind},`;

export const NAME_ARGUMENTS: Readonly<Record<string, Readonly<Record<string, NameSpec>>>> = {
  'user register': { '--group': 'groups,' },
  'user list': { '--group': 'groups' },
  'user show': { user: 'users' },
  'user update': { user: 'users' },
  'user passwd': { username: 'users' },
  'user set-password': { user: 'users' },
  'user block': { user: 'users' },
  'user unblock': { user: 'users' },
  'user activate': { user: 'users' },
  'user deactivate': { user: 'users' },
  'user delete': { user: 'users' },
  'user groups': { user: 'users', '--set': 'groups,', '--add': 'groups', '--remove': 'groups' },
  'user permissions': { user: 'users' },
  'group show': { group: 'groups' },
  'group delete': { group: 'groups' },
  'group permissions': { group: 'groups' },
  'group grant': { group: 'groups', permission: 'permissions' },
  'group revoke': { group: 'groups', permission: 'permissions' },
  'group set-permissions': { group: 'groups', permission: 'permissions' },
  'permission show': { permission: 'permissions' },
  'permission enable': { permission: 'permissions' },
  'permission disable': { permission: 'permissions' },
  'permission delete': { permission: 'permissions' },
  'session list': { '--user': 'users' },
  'session revoke': { '--user': 'users' },
  'keys revoke': { kid: 'keys' },
  'keys prune': { '--kid': 'keys' },
  'token issue': { '--username': 'users' },
};

/** The kind of name the argument or option `key` (`user`, `--group`) of `commandPath` takes, if any. */
export function nameKindOf(commandPath: string, key: string): NameSpec | null {
  return NAME_ARGUMENTS[commandPath]?.[key] ?? null;
}
