/** `permission create | list | show | enable | disable | delete`. */
import type { Permission } from '../../core/permissions.js';
import { cliError } from '../cli-errors.js';
import { slicePage } from '../paging.js';
import type { Runtime } from '../runtime.js';
import type { OptionsOf } from '../command-table.js';
import type * as def from './permission.def.js';

function row(rt: Runtime, p: Permission) {
  const dim = p.enabled ? (s: string) => s : rt.out.c.dim;
  return [dim(p.id), p.enabled ? rt.out.c.green('yes') : rt.out.c.dim('no'), dim(p.tag ?? ''), dim(p.description ?? '')];
}

const HEADERS = ['permission', 'enabled', 'tag', 'description'];

export async function runCreate(
  rt: Runtime,
  opts: OptionsOf<typeof def.create>,
  id: string,
): Promise<void> {
  const auth = await rt.auth();
  const p = await auth.permissions.create(id, { tag: opts.tag ?? null, description: opts.description ?? null, enabled: !opts.disabled });
  await rt.out.result(p, () => rt.out.line(`created permission ${p.id}${p.enabled ? '' : ' (disabled)'}`));
}

export async function runList(rt: Runtime, opts: OptionsOf<typeof def.list>): Promise<void> {
  if (opts.byTag && (opts.limit !== undefined || opts.offset !== undefined)) {
    throw cliError('cli.usage', '--by-tag shows every permission under its tag: it takes no --limit or --offset');
  }
  const auth = await rt.auth();
  const options = { all: !!opts.all, ...(opts.search ? { search: opts.search } : {}), ...(opts.tag !== undefined ? { tag: opts.tag } : {}) };
  if (opts.byTag) {
    const tagged = await auth.permissions.listByTag(options);
    await rt.out.result(tagged, async () => {
      for (const group of tagged) {
        rt.out.line(rt.out.c.bold(group.tag ?? '(no tag)'));
        for (const p of group.permissions) {
          rt.out.line(`  ${p.enabled ? p.id : rt.out.c.dim(`${p.id} (disabled)`)}${p.description ? `  ${rt.out.c.dim(p.description)}` : ''}`);
        }
      }
      if (tagged.length === 0) rt.out.notice('no permissions');
    });
    return;
  }
  const list = slicePage(rt.out, await auth.permissions.list(options), opts, 'permissions');
  await rt.out.result(list, async () => {
    if (list.length === 0) return;
    await rt.out.table(HEADERS, list.map((p) => row(rt, p)), {
      fit: [undefined, undefined, { shrink: true, optional: true }, { shrink: true, optional: true }],
    });
  });
}

export async function runShow(rt: Runtime, _opts: unknown, id: string): Promise<void> {
  const auth = await rt.auth();
  const p = await auth.permissions.show(id);
  await rt.out.result(p, () =>
    rt.out.keyValues([
      ['permission', p.id],
      ['enabled', p.enabled ? 'yes' : rt.out.c.yellow('no (grants nothing)')],
      ['tag', p.tag],
      ['description', p.description],
      ['groups', p.groups.join(', ') || '(none)'],
    ]),
  );
}

async function setEnabled(rt: Runtime, id: string, enabled: boolean): Promise<void> {
  const auth = await rt.auth();
  const { permission, changed } = await auth.permissions.setEnabled(id, enabled);
  await rt.out.result(permission, () =>
    rt.out.line(changed ? `${enabled ? 'enabled' : 'disabled'} permission ${id}` : `permission ${id} was already ${enabled ? 'enabled' : 'disabled'}`),
  );
}

export const runEnable = (rt: Runtime, _opts: unknown, id: string) => setEnabled(rt, id, true);
export const runDisable = (rt: Runtime, _opts: unknown, id: string) => setEnabled(rt, id, false);

export async function runDelete(rt: Runtime, _opts: unknown, id: string): Promise<void> {
  const auth = await rt.auth();
  const p = await auth.permissions.show(id);
  await rt.confirm(`Delete permission ${id}${p.groups.length > 0 ? ` (granted by ${p.groups.length} group(s): ${p.groups.join(', ')})` : ''}?`);
  const result = await auth.permissions.delete(id);
  await rt.out.result({ id, deleted: true, grants_removed: result.grantsRemoved }, () =>
    rt.out.line(`deleted permission ${id}${result.grantsRemoved > 0 ? `, removed ${result.grantsRemoved} grant(s)` : ''}`),
  );
}
