/** `group create | list | show | delete | permissions | grant | revoke | set-permissions | matrix`. */
import type { GroupSummary, PermissionChange } from '../../core/groups.js';
import { slicePage } from '../paging.js';
import type { Runtime } from '../runtime.js';
import type { OptionsOf } from '../command-table.js';
import type * as def from './group.def.js';

/** The JSON shape of a group in `group list`: the counts in snake_case. */
function groupSummaryJson(g: GroupSummary) {
  return { id: g.id, tag: g.tag, description: g.description, permission_count: g.permissionCount, user_count: g.userCount };
}

export async function runCreate(rt: Runtime, opts: OptionsOf<typeof def.create>, id: string): Promise<void> {
  const auth = await rt.auth();
  const g = await auth.groups.create(id, { tag: opts.tag ?? null, description: opts.description ?? null });
  await rt.out.result(g, () => rt.out.line(`created group ${g.id}`));
}

export async function runList(rt: Runtime, opts: OptionsOf<typeof def.list>): Promise<void> {
  const auth = await rt.auth();
  const groups = slicePage(rt.out, await auth.groups.list(opts.tag !== undefined ? { tag: opts.tag } : {}), opts, 'groups');
  await rt.out.result(groups.map(groupSummaryJson), async () => {
    if (groups.length === 0) return;
    await rt.out.table(
      ['group', 'tag', 'description', 'permissions', 'users'],
      groups.map((g) => [g.id, g.tag, g.description, g.permissionCount, g.userCount]),
      { align: ['left', 'left', 'left', 'right', 'right'], fit: [undefined, { shrink: true, optional: true }, { shrink: true, optional: true }] },
    );
  });
}

export async function runShow(rt: Runtime, _opts: unknown, id: string): Promise<void> {
  const auth = await rt.auth();
  const [group, permissions] = await Promise.all([auth.groups.get(id), auth.groups.permissions(id)]);
  const doc = { ...group, permissions: permissions.map((p) => p.id) };
  await rt.out.result(doc, () =>
    rt.out.keyValues([
      ['group', group.id],
      ['tag', group.tag],
      ['description', group.description],
      ['permissions', permissions.map((p) => (p.enabled ? p.id : rt.out.c.dim(`${p.id} (disabled)`))).join(', ') || '(none)'],
    ]),
  );
}

export async function runDelete(rt: Runtime, _opts: unknown, id: string): Promise<void> {
  const auth = await rt.auth();
  const summary = await auth.groups.summary(id);
  await rt.confirm(`Delete group ${id} (${summary.permissionCount} grant(s), ${summary.userCount} member(s))?`);
  const r = await auth.groups.delete(id);
  await rt.out.result({ id, deleted: true, permissions_removed: r.permissionsRemoved, members_removed: r.usersRemoved }, () =>
    rt.out.line(`deleted group ${id}`),
  );
}

export async function runPermissions(rt: Runtime, _opts: unknown, id: string): Promise<void> {
  const auth = await rt.auth();
  const list = await auth.groups.permissions(id);
  await rt.out.result(list, async () => {
    if (list.length === 0) return rt.out.notice(`group ${id} grants no permissions`);
    await rt.out.table(
      ['permission', 'enabled', 'tag', 'description'],
      list.map((p) => [p.enabled ? p.id : rt.out.c.dim(p.id), p.enabled ? 'yes' : rt.out.c.dim('no'), p.tag, p.description]),
      { fit: [undefined, undefined, { shrink: true, optional: true }, { shrink: true, optional: true }] },
    );
  });
}

function printChange(rt: Runtime, id: string, change: PermissionChange) {
  const doc = { group: id, ...change };
  return rt.out.result(doc, () => {
    if (!rt.out.setChange(change)) return rt.out.line(`group ${id}: unchanged`);
    rt.out.line(`group ${id} now grants ${change.permissions.length} permission(s)`);
  });
}

export async function runGrant(rt: Runtime, _opts: unknown, id: string, permissions: string[]): Promise<void> {
  const auth = await rt.auth();
  await printChange(rt, id, await auth.groups.grant(id, permissions));
}

export async function runRevoke(rt: Runtime, _opts: unknown, id: string, permissions: string[]): Promise<void> {
  const auth = await rt.auth();
  await printChange(rt, id, await auth.groups.revoke(id, permissions));
}

export async function runSetPermissions(rt: Runtime, _opts: unknown, id: string, permissions: string[]): Promise<void> {
  const auth = await rt.auth();
  if (permissions.length === 0) {
    const current = await auth.groups.show(id);
    if (current.permissions.length > 0) await rt.confirm(`Remove all ${current.permissions.length} permission(s) from group ${id}?`);
  }
  await printChange(rt, id, await auth.groups.setPermissions(id, permissions));
}

export async function runMatrix(rt: Runtime, opts: OptionsOf<typeof def.matrix>): Promise<void> {
  const auth = await rt.auth();
  const m = await auth.groups.matrix(opts.tag !== undefined ? { tag: opts.tag } : {});
  const doc = {
    groups: m.groups.map((g) => g.id),
    permissions: m.permissions.map((p) => ({ id: p.id, enabled: p.enabled, tag: p.tag })),
    grants: m.grants,
  };
  await rt.out.result(doc, async () => {
    if (m.groups.length === 0 || m.permissions.length === 0) return rt.out.notice('nothing to show: no groups or no permissions');
    const { c } = rt.out;
    const mark = rt.out.isTTY ? '●' : 'x';
    const granted = new Map(Object.entries(m.grants).map(([g, ps]) => [g, new Set(ps)]));
    // Permissions as rows; on a terminal the groups come in chunks of columns that fit its width.
    await rt.out.matrix(
      'permission',
      m.groups.map((g) => g.id),
      m.permissions.map((p) => {
        const style = p.enabled ? (s: string) => s : c.dim;
        return [
          style(p.enabled ? p.id : `${p.id} (disabled)`),
          ...m.groups.map((g) => (granted.get(g.id)?.has(p.id) ? style(p.enabled ? c.green(mark) : mark) : '')),
        ];
      }),
      'groups',
    );
  });
}
