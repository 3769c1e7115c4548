/** `user register | list | show | update | block... | delete | groups | permissions`. */
import { cliError } from '../cli-errors.js';
import type { User, UserDetail, UserFlag } from '../../core/users.js';
import type { GroupChange } from '../../core/user-permissions.js';
import type { Runtime } from '../runtime.js';
import { pageLimit, pageNotice } from '../paging.js';
import { passwordRules, readSecret } from '../secrets.js';
import type { OptionsOf } from '../command-table.js';
import type * as def from './user.def.js';

/** The JSON shape of docs/CLI.md: never `password` or `salt`. */
export function userJson(u: User) {
  return {
    id: u.id,
    username: u.username,
    email: u.email,
    full_name: u.fullName,
    is_active: u.isActive,
    is_blocked: u.isBlocked,
    settings: u.settings,
    created: u.created,
  };
}

function userDetailJson(u: UserDetail) {
  return { ...userJson(u), groups: u.groups, permissions: u.permissions };
}

function state(rt: Runtime, u: User): string {
  const { c } = rt.out;
  if (u.isBlocked) return c.red('blocked');
  if (!u.isActive) return c.yellow('inactive');
  return c.green('active');
}

function printDetail(rt: Runtime, u: UserDetail): void {
  rt.out.keyValues([
    ['username', u.username],
    ['id', u.id],
    ['email', u.email],
    ['full name', u.fullName],
    ['state', state(rt, u)],
    ['created', u.created],
    ['groups', u.groups.join(', ') || '(none)'],
    ['permissions', u.permissions.join(', ') || '(none)'],
    ['settings', Object.keys(u.settings).length > 0 ? JSON.stringify(u.settings) : '{}'],
  ]);
}

export async function runRegister(
  rt: Runtime,
  opts: OptionsOf<typeof def.register>,
): Promise<void> {
  const auth = await rt.auth({ rounds: opts.rounds });
  const username = opts.username ?? (await askField(rt, 'Username:', '--username <username>', 'validateUsername'));
  const email = opts.email ?? (await askField(rt, 'Email:', '--email <email>', 'validateEmail'));
  const password = await readSecret(rt, opts, { label: `password for ${username}`, confirm: true, validate: await passwordRules() });
  const u = await auth.users.register({
    username,
    email,
    password,
    fullName: opts.fullName ?? null,
    groups: opts.group ?? [],
  });
  await rt.out.result(userDetailJson(u), () => {
    rt.out.line(`registered user ${shownName(u.username)} (${u.id})`);
    if (u.groups.length > 0) rt.out.line(`groups: ${u.groups.join(', ')}`);
  });
}

/**
 * A missing --username/--email, asked for on a terminal and checked by kaiju's rules as typed (the
 * option is only optional when there is a terminal: see user.def.ts).
 */
async function askField(rt: Runtime, message: string, flag: string, rule: 'validateUsername' | 'validateEmail'): Promise<string> {
  if (!rt.interactive) throw cliError('cli.usage', `required option '${flag}' not specified`);
  const validation = await import('../../core/validation.js');
  const check = validation[rule] as (value: string) => unknown;
  const { askText } = await import('../prompts.js');
  return askText(message, rt.io, (value) => {
    try {
      check(value);
      return true;
    } catch (err) {
      return (err as Error).message;
    }
  });
}

/**
 * A username or email as a table shows it: with anything beyond ASCII also spelt out, so that
 * `admin` and `аdmin` (Cyrillic а) do not look the same (`аdmin [\u0430dmin]`).
 */
export function shownName(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return value;
  const escaped = [...value].map((ch) => (/[\x20-\x7e]/.test(ch) ? ch : `\\u${(ch.codePointAt(0) as number).toString(16).padStart(4, '0')}`)).join('');
  return `${value} [${escaped}]`;
}

async function runCollisions(rt: Runtime): Promise<void> {
  const auth = await rt.auth();
  const groups = await auth.users.collisions();
  rt.out.notice(`${groups.length} group(s) of look-alike users`);
  await rt.out.result(groups, async () => {
    if (groups.length === 0) return;
    await rt.out.table(
      ['group', 'field', 'username', 'email'],
      groups.flatMap((g, i) => g.users.map((u) => [String(i + 1), g.field, shownName(u.username), shownName(u.email)])),
      { fit: [undefined, undefined, undefined, { shrink: true, minWidth: 16 }] },
    );
  });
}

export async function runList(
  rt: Runtime,
  opts: OptionsOf<typeof def.list>,
): Promise<void> {
  if (opts.collisions) {
    const other = ['group', 'search', 'blocked', 'inactive', 'limit', 'offset'].filter((k) => opts[k as keyof typeof opts] !== undefined);
    if (other.length > 0) throw cliError('cli.usage', `--collisions lists every group of look-alikes: it takes no --${other.join(', --')}`);
    return runCollisions(rt);
  }
  const auth = await rt.auth();
  const { total, users } = await auth.users.list({ ...opts, limit: pageLimit(opts) });
  rt.out.notice(pageNotice(users.length, opts.offset ?? 0, total, 'users'));
  await rt.out.result(users.map(userJson), async () => {
    if (users.length === 0) return;
    await rt.out.table(
      ['username', 'email', 'full name', 'state', 'created'],
      users.map((u) => [shownName(u.username), shownName(u.email), u.fullName, state(rt, u), u.created]),
      { fit: [undefined, { shrink: true, minWidth: 16 }, { shrink: true, optional: true }, undefined, { optional: true }] },
    );
  });
}

export async function runShow(rt: Runtime, _opts: unknown, user: string): Promise<void> {
  const auth = await rt.auth();
  const u = await auth.users.show(user);
  await rt.out.result(userDetailJson(u), () => printDetail(rt, u));
}

/** `KEY=VALUE`: the value as JSON where it parses (`5`, `true`, `{"a":1}`), else the string. */
export function parseSetting(pair: string): [string, unknown] {
  const eq = pair.indexOf('=');
  if (eq <= 0) {
    // A malformed argument is a usage error (exit 2), not invalid data: the settings were never read.
    throw cliError('cli.usage', `--set expects KEY=VALUE, got "${pair}"`, { field: 'settings' });
  }
  const key = pair.slice(0, eq);
  const raw = pair.slice(eq + 1);
  try {
    return [key, JSON.parse(raw)];
  } catch {
    return [key, raw];
  }
}

export async function runUpdate(
  rt: Runtime,
  opts: OptionsOf<typeof def.update>,
  user: string,
): Promise<void> {
  if (opts.fullName !== undefined && opts.clearFullName) {
    throw cliError('cli.usage', '--full-name and --clear-full-name contradict each other');
  }
  const set = Object.fromEntries((opts.set ?? []).map(parseSetting));
  const change = {
    ...(opts.email !== undefined ? { email: opts.email } : {}),
    ...(opts.fullName !== undefined ? { fullName: opts.fullName } : {}),
    ...(opts.clearFullName ? { fullName: null } : {}),
    ...(Object.keys(set).length > 0 ? { set } : {}),
    ...(opts.unset?.length ? { unset: opts.unset } : {}),
  };
  if (Object.keys(change).length === 0) {
    throw cliError('cli.usage', 'nothing to update: give --email, --full-name, --clear-full-name, --set or --unset');
  }
  const auth = await rt.auth();
  const u = await auth.users.update(user, change);
  await rt.out.result(userJson(u), () => rt.out.line(`updated user ${u.username}`));
}

export function flagHandler(flag: UserFlag) {
  const past = { block: 'blocked', unblock: 'unblocked', activate: 'activated', deactivate: 'deactivated' }[flag];
  return async (rt: Runtime, _opts: unknown, user: string): Promise<void> => {
    const auth = await rt.auth();
    const { user: u, changed } = await auth.users.setFlag(user, flag);
    await rt.out.result(userJson(u), () => rt.out.line(changed ? `${past} user ${u.username}` : `user ${u.username} was already ${past}`));
  };
}

export const runBlock = flagHandler('block');
export const runUnblock = flagHandler('unblock');
export const runActivate = flagHandler('activate');
export const runDeactivate = flagHandler('deactivate');

export async function runDelete(rt: Runtime, _opts: unknown, user: string): Promise<void> {
  const auth = await rt.auth();
  const u = await auth.users.get(user);
  await rt.confirm(`Delete user ${u.username} (${u.email}) with its group memberships and sessions?`);
  const r = await auth.users.delete(u.id);
  await rt.out.result({ ...userJson(r.user), deleted: true, sessions_removed: r.sessionsRemoved }, () =>
    rt.out.line(`deleted user ${r.user.username}${r.sessionsRemoved > 0 ? ` and ${r.sessionsRemoved} session(s)` : ''}`),
  );
}

function printGroupChange(rt: Runtime, username: string, change: GroupChange) {
  return rt.out.result({ username, ...change }, () => {
    if (!rt.out.setChange(change)) return rt.out.line(`user ${username}: groups unchanged`);
    rt.out.line(`groups of ${username}: ${change.groups.join(', ') || '(none)'}`);
  });
}

export async function runGroups(rt: Runtime, opts: OptionsOf<typeof def.groups>, user: string): Promise<void> {
  const auth = await rt.auth();
  const modifying = opts.add !== undefined || opts.remove !== undefined;
  if (opts.set !== undefined && modifying) {
    throw cliError('cli.usage', '--set replaces the groups; it cannot be combined with --add or --remove');
  }
  if (opts.set !== undefined) {
    const groups = opts.set.split(',').map((g) => g.trim()).filter((g) => g !== '');
    return printGroupChange(rt, user, await auth.users.setGroups(user, groups));
  }
  if (modifying) return printGroupChange(rt, user, await auth.users.modifyGroups(user, opts.add ?? [], opts.remove ?? []));
  const groups = await auth.users.groups(user);
  await rt.out.result(groups, () => rt.out.items(groups, `user ${user} is in no group`));
}

export async function runPermissions(rt: Runtime, _opts: unknown, user: string): Promise<void> {
  const auth = await rt.auth();
  const permissions = await auth.users.permissions(user);
  await rt.out.result(permissions, () => rt.out.items(permissions, `user ${user} has no permissions`));
}
