/** `session list`, `session show`, `session revoke`, `session prune`. */
import { DEFAULT_PRUNE_BATCH, type SessionDetail, type SessionRecord } from '../../core/sessions.js';
import { cliError } from '../cli-errors.js';
import type { Runtime } from '../runtime.js';
import { pageQuery, shownPage } from '../paging.js';
import { formatExpiry } from '../time-format.js';
import type { OptionsOf } from '../command-table.js';
import type * as def from './session.def.js';

/** The JSON shape of a session (never `h_agent`; `expires` stays kaiju's epoch seconds). */
function sessionJson(s: SessionRecord) {
  return {
    id: s.id,
    user_id: s.userId,
    username: s.username,
    expires: s.expires,
    expires_at: s.expiresAt.toISOString(),
    expired: s.expired,
    permissions: s.permissions,
    created: s.created,
    agent_bound: s.agentBound,
  };
}

function userCell(s: SessionRecord): string {
  if (s.username !== null) return s.username;
  return s.userId === null ? '(anonymous)' : `(deleted ${s.userId})`;
}

export async function runSessionList(
  rt: Runtime,
  opts: OptionsOf<typeof def.list>,
): Promise<void> {
  if (opts.expired && opts.all) throw cliError('cli.usage', '--expired and --all cannot be used together');
  const auth = await rt.auth();
  const state = opts.all ? 'all' : opts.expired ? 'expired' : 'live';
  const filter = { state, ...(opts.user !== undefined ? { user: opts.user } : {}) } as const;
  const rows = await auth.sessions.list({ ...filter, ...pageQuery(opts) });
  const noun = `${state === 'all' ? '' : `${state} `}sessions`;
  const shown = await shownPage(rt.out, rows, opts, noun, () => auth.sessions.count(filter));
  const now = auth.ctx.settings.now();
  await rt.out.result(shown.map(sessionJson), async () => {
    const { out } = rt;
    if (shown.length === 0) return;
    await out.table(
      ['id', 'user', 'expires', '', 'permissions', 'created'],
      shown.map((s) => [
        s.id,
        userCell(s),
        s.expiresAt,
        s.expired ? out.c.red(formatExpiry(s.expiresAt, now)) : out.c.green(formatExpiry(s.expiresAt, now)),
        s.permissions.length,
        s.created,
      ]),
      {
        align: ['left', 'left', 'left', 'left', 'right', 'left'],
        fit: [undefined, undefined, undefined, { optional: 1 }, { optional: 2 }, { optional: 3 }],
      },
    );
  });
}

export async function runSessionShow(rt: Runtime, _opts: unknown, id: string): Promise<void> {
  const auth = await rt.auth();
  const s: SessionDetail = await auth.sessions.show(id);
  const now = auth.ctx.settings.now();
  await rt.out.result({ ...sessionJson(s), data: s.data }, () => {
    const { out } = rt;
    out.keyValues([
      ['id', s.id],
      ['user', userCell(s)],
      ['user id', s.userId ?? ''],
      ['expires', `${s.expiresAt.toISOString()} (${formatExpiry(s.expiresAt, now)})`],
      ['created', s.created],
      ['agent bound', s.agentBound ? 'yes' : 'no'],
      ['permissions', s.permissions.length === 0 ? '(none)' : s.permissions.map(String).join(', ')],
      ['data', JSON.stringify(s.data)],
    ]);
  });
}

export async function runSessionRevoke(rt: Runtime, opts: OptionsOf<typeof def.revoke>, ids: string[] = []): Promise<void> {
  if (opts.user !== undefined && ids.length > 0) {
    throw cliError('cli.usage', 'give session ids or --user, not both');
  }
  if (opts.user === undefined && ids.length === 0) {
    throw cliError('cli.usage', 'give the session ids to revoke, or --user U for all of a user\'s sessions');
  }
  const auth = await rt.auth();
  if (opts.user !== undefined) {
    const user = await auth.sessions.resolveUser(opts.user);
    const total = await auth.sessions.count({ user: user.id, state: 'all' });
    if (total === 0) {
      await rt.out.result({ user: user.username, user_id: user.id, revoked: 0 }, () =>
        rt.out.notice(`${user.username} has no sessions`),
      );
      return;
    }
    await rt.confirm(`Revoke all ${total} session(s) of ${user.username}?`);
    const result = await auth.sessions.revokeUser(user.id);
    await rt.out.result({ user: user.username, user_id: user.id, revoked: result.revoked }, () =>
      rt.out.line(`revoked ${result.revoked} session(s) of ${user.username}`),
    );
    return;
  }
  const result = await auth.sessions.revoke(ids);
  await rt.out.result({ revoked: result.revoked }, () =>
    rt.out.line(`revoked ${result.revoked.length} session(s)`),
  );
}

export async function runSessionPrune(rt: Runtime, opts: OptionsOf<typeof def.prune>): Promise<void> {
  const auth = await rt.auth();
  // Pruning commits batch by batch, so a dry run counts what it would delete instead.
  const report = rt.dryRun
    ? await (async () => {
        const deleted = await auth.sessions.count({ state: 'expired' });
        return { deleted, batches: Math.ceil(deleted / (opts.batchSize ?? DEFAULT_PRUNE_BATCH)), expiredBefore: auth.ctx.settings.now() };
      })()
    : await auth.sessions.prune(opts.batchSize !== undefined ? { batchSize: opts.batchSize } : {});
  const doc = { deleted: report.deleted, batches: report.batches, expired_before: report.expiredBefore.toISOString() };
  // Nothing to do prints nothing: cron mails only when there is something to say.
  await rt.out.result(doc, () => {
    if (report.deleted > 0) {
      rt.out.line(`pruned ${report.deleted} expired session(s) in ${report.batches} batch(es)`);
    }
  });
}
