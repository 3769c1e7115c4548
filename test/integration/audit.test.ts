import { beforeAll, beforeEach, expect, it } from 'vitest';
import { KaijuAuth } from '../../src/core/auth.js';
import { recordAudit } from '../../src/core/audit.js';
import { resolveSettings } from '../../src/core/context.js';
import { describeOnBackends } from '../support/db.js';

const DAY = 86_400_000;

describeOnBackends('audit trail', (t) => {
  let auth: KaijuAuth;
  const now = new Date();
  const ago = (days: number) => new Date(now.getTime() - days * DAY);

  beforeAll(async () => {
    auth = new KaijuAuth(t.knex, resolveSettings({ actor: 'ops', bcryptRounds: 4, now: () => now }));
  });

  beforeEach(async () => {
    await t.knex('audit_log').del();
    await recordAudit(t.knex, 'alice', { command: 'user.register', targetType: 'user', target: 'bob_1' }, ago(40));
    await recordAudit(t.knex, 'alice', { command: 'group.grant', targetType: 'group', target: 'admins', summary: { added: ['users.read'] } }, ago(10));
    await recordAudit(t.knex, 'ci', { command: 'session.revoke', targetType: 'session', target: 's1', summary: { user: 'bob_1' } }, ago(2));
    await recordAudit(t.knex, 'ci', { command: 'session.prune', targetType: 'session', summary: { deleted: 3 } }, ago(1));
    await recordAudit(t.knex, 'cron', { command: 'sessions_x.other', target: 'bob_1' }, ago(0.5));
  });

  it('lists newest first, with every column', async () => {
    const rows = await auth.audit.list();
    expect(rows.map((r) => r.command)).toEqual(['sessions_x.other', 'session.prune', 'session.revoke', 'group.grant', 'user.register']);
    expect(rows[3]).toEqual({
      id: expect.any(Number),
      at: ago(10),
      actor: 'alice',
      command: 'group.grant',
      targetType: 'group',
      target: 'admins',
      summary: { added: ['users.read'] },
    });
  });

  it('filters by since, actor, target, command (exact or group) and limit/offset, combined', async () => {
    const commands = async (f: Parameters<KaijuAuth['audit']['list']>[0]) => (await auth.audit.list(f)).map((r) => r.command);
    expect(await commands({ since: ago(5) })).toEqual(['sessions_x.other', 'session.prune', 'session.revoke']);
    expect(await commands({ actor: 'alice' })).toEqual(['group.grant', 'user.register']);
    expect(await commands({ target: 'bob_1' })).toEqual(['sessions_x.other', 'user.register']);
    // A group matches its own commands only: "session" is not a prefix match of "sessions_x".
    expect(await commands({ command: 'session' })).toEqual(['session.prune', 'session.revoke']);
    expect(await commands({ command: 'session.revoke' })).toEqual(['session.revoke']);
    expect(await commands({ command: 'sessio_' })).toEqual([]);
    expect(await commands({ command: 'session', actor: 'ci', since: ago(1.5) })).toEqual(['session.prune']);
    expect(await commands({ limit: 2, offset: 1 })).toEqual(['session.prune', 'session.revoke']);
    expect(await commands({ actor: 'nobody' })).toEqual([]);
  });

  it('prunes rows older than a date and records the prune in the same transaction', async () => {
    expect(await auth.audit.countOlderThan(ago(5))).toBe(2);
    const result = await auth.audit.prune(ago(5));
    expect(result).toEqual({ deleted: 2, olderThan: ago(5) });
    const rows = await auth.audit.list();
    expect(rows.map((r) => r.command)).toEqual(['audit.prune', 'sessions_x.other', 'session.prune', 'session.revoke']);
    expect(rows[0]).toMatchObject({ actor: 'ops', targetType: 'audit', summary: { deleted: 2, older_than: ago(5).toISOString() } });

    // Nothing old enough: nothing written.
    expect(await auth.audit.prune(ago(5))).toEqual({ deleted: 0, olderThan: ago(5) });
    expect(await auth.audit.list()).toHaveLength(4);
  });

  it('record() appends as the context actor, scrubbed', async () => {
    await auth.audit.record({ command: 'user.set-password', targetType: 'user', target: 'bob_1', summary: { password: 'hunter2 hunter2!' } });
    const [row] = await auth.audit.list({ limit: 1 });
    expect(row).toMatchObject({ actor: 'ops', command: 'user.set-password', summary: { password: '[redacted]' } });
  });
});
