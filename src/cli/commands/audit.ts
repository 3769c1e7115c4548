/** `audit list`, `audit prune`. */
import type { AuditRow } from '../../core/audit.js';
import type { Runtime } from '../runtime.js';
import { pageQuery, shownPage } from '../paging.js';
import { formatRelative } from '../time-format.js';
import type { OptionsOf } from '../command-table.js';
import type * as def from './audit.def.js';

function auditJson(r: AuditRow) {
  return {
    id: r.id,
    at: r.at,
    actor: r.actor,
    command: r.command,
    target_type: r.targetType,
    target: r.target,
    summary: r.summary,
  };
}

/** The summary as JSON (a terminal's table cuts it to fit; piped, it is whole). */
function summaryCell(summary: Record<string, unknown>): string {
  return Object.keys(summary).length === 0 ? '' : JSON.stringify(summary);
}

export async function runAuditList(
  rt: Runtime,
  opts: OptionsOf<typeof def.list>,
): Promise<void> {
  const auth = await rt.auth();
  const now = auth.ctx.settings.now();
  const filter = {
    ...(opts.since !== undefined ? { since: new Date(now.getTime() - opts.since) } : {}),
    ...(opts.actor !== undefined ? { actor: opts.actor } : {}),
    ...(opts.target !== undefined ? { target: opts.target } : {}),
    ...(opts.command !== undefined ? { command: opts.command } : {}),
  };
  const rows = await auth.audit.list({ ...filter, ...pageQuery(opts) });
  const shown = await shownPage(rt.out, rows, opts, 'audit rows', () => auth.audit.count(filter));
  await rt.out.result(shown.map(auditJson), async () => {
    const { out } = rt;
    if (shown.length === 0) return;
    await out.table(
      ['at', '', 'actor', 'command', 'target', 'summary'],
      shown.map((r) => [
        r.at,
        out.c.dim(formatRelative(r.at, now)),
        r.actor,
        r.command,
        r.target === null ? (r.targetType ?? '') : `${r.targetType ?? ''}${r.targetType ? ':' : ''}${r.target}`,
        summaryCell(r.summary),
      ]),
      { fit: [undefined, { optional: 2 }, { shrink: true, minWidth: 8 }, { shrink: true, minWidth: 14 }, { shrink: true, minWidth: 20 }, { shrink: true, minWidth: 10, optional: true }] },
    );
  });
}

export async function runAuditPrune(rt: Runtime, opts: OptionsOf<typeof def.prune>): Promise<void> {
  const auth = await rt.auth();
  const before = new Date(auth.ctx.settings.now().getTime() - opts.olderThan);
  const count = await auth.audit.countOlderThan(before);
  if (count === 0) {
    await rt.out.result({ deleted: 0, older_than: before.toISOString() }, () => undefined);
    return;
  }
  await rt.confirm(`Delete ${count} audit row(s) older than ${before.toISOString()}?`);
  const result = await auth.audit.prune(before);
  await rt.out.result({ deleted: result.deleted, older_than: before.toISOString() }, () =>
    rt.out.line(`pruned ${result.deleted} audit row(s) older than ${before.toISOString()}`),
  );
}
