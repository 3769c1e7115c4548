import { beforeAll, beforeEach, expect, it } from 'vitest';
import { KaijuAuth } from '../../src/core/auth.js';
import { resolveSettings } from '../../src/core/context.js';
import { describeOnBackends, type TestDb } from '../support/db.js';
import { epoch, insertKaijuSession, insertKaijuSessions, insertKaijuUser, type KaijuUser } from '../support/kaiju-rows.js';

const NOW = new Date('2026-03-01T12:00:00.000Z');
const HOUR = 3600;

function authOn(t: TestDb, actor = 'tester'): KaijuAuth {
  return new KaijuAuth(
    t.knex,
    resolveSettings({ actor, bcryptRounds: 4, failedLoginDelayMs: { base: 0, jitter: 0 }, now: () => NOW }),
  );
}

async function auditRows(t: TestDb, command: string) {
  return t.knex('audit_log').where({ command }).orderBy('id');
}

describeOnBackends('sessions', (t) => {
  let auth: KaijuAuth;
  let alice: KaijuUser;
  let bob: KaijuUser;

  beforeAll(async () => {
    auth = authOn(t);
  });

  beforeEach(async () => {
    await t.knex('sessions').del();
    await t.knex('audit_log').del();
    await t.knex('users').del();
    alice = await insertKaijuUser(t.knex, 'alice');
    bob = await insertKaijuUser(t.knex, 'bob_1');
  });

  it('lists sessions written as kaiju writes them: user by name, epoch expiry, JSONB permissions, never h_agent', async () => {
    const live = await insertKaijuSession(t.knex, {
      userId: alice.id,
      expires: epoch(NOW) + 3 * HOUR,
      permissions: ['users.read', 'users.write'],
      data: { ip: '10.0.0.1' },
      created: new Date('2026-03-01T09:00:00.123Z'),
    });
    const expired = await insertKaijuSession(t.knex, { userId: bob.id, expires: epoch(NOW) - 2 * 24 * HOUR });
    const anonymous = await insertKaijuSession(t.knex, { userId: null, expires: epoch(NOW) + HOUR, userAgent: null });

    const rows = await auth.sessions.list();
    expect(rows.map((r) => r.id)).toEqual([live, anonymous]);
    const first = rows[0];
    expect(first).toEqual({
      id: live,
      userId: alice.id,
      username: 'alice',
      expires: epoch(NOW) + 3 * HOUR,
      expiresAt: new Date((epoch(NOW) + 3 * HOUR) * 1000),
      expired: false,
      permissions: ['users.read', 'users.write'],
      created: new Date('2026-03-01T09:00:00.123Z'),
      agentBound: true,
    });
    expect(first).not.toHaveProperty('h_agent');
    expect(rows[1]).toMatchObject({ username: null, userId: null, agentBound: false });

    expect((await auth.sessions.list({ state: 'expired' })).map((r) => r.id)).toEqual([expired]);
    expect((await auth.sessions.list({ state: 'all' })).map((r) => r.id)).toEqual([live, anonymous, expired]);
    expect((await auth.sessions.list({ user: 'alice' })).map((r) => r.id)).toEqual([live]);
    expect((await auth.sessions.list({ user: bob.id, state: 'all' })).map((r) => r.id)).toEqual([expired]);
    expect((await auth.sessions.list({ user: bob.id.toUpperCase(), state: 'all' })).map((r) => r.id)).toEqual([expired]);
    expect((await auth.sessions.list({ state: 'all', limit: 1, offset: 1 })).map((r) => r.id)).toEqual([anonymous]);
    expect(await auth.sessions.count({ state: 'all' })).toBe(3);
    expect(await auth.sessions.count({ user: 'bob_1' })).toBe(0);
    await expect(auth.sessions.list({ user: 'nobody' })).rejects.toMatchObject({ code: 'auth.user.not_found', kind: 'not_found' });
  });

  it('a session that expires exactly now is expired', async () => {
    const id = await insertKaijuSession(t.knex, { userId: alice.id, expires: epoch(NOW) });
    expect(await auth.sessions.list()).toEqual([]);
    expect((await auth.sessions.show(id)).expired).toBe(true);
  });

  it('shows one session with its data; unknown id is auth.session.not_found', async () => {
    const id = await insertKaijuSession(t.knex, {
      userId: alice.id,
      expires: epoch(NOW) + 60,
      permissions: ['system'],
      data: { ip: '10.0.0.1', nested: { a: [1, 2] } },
    });
    const s = await auth.sessions.show(id);
    expect(s).toMatchObject({ id, username: 'alice', permissions: ['system'], data: { ip: '10.0.0.1', nested: { a: [1, 2] } } });
    expect(s).not.toHaveProperty('h_agent');
    await expect(auth.sessions.show('no-such-session')).rejects.toMatchObject({ code: 'auth.session.not_found', kind: 'not_found' });
  });

  it('revokes sessions by id, all or none, with one audit row each', async () => {
    const a = await insertKaijuSession(t.knex, { userId: alice.id, expires: epoch(NOW) + HOUR });
    const b = await insertKaijuSession(t.knex, { userId: bob.id, expires: epoch(NOW) + HOUR });
    const c = await insertKaijuSession(t.knex, { userId: null, expires: epoch(NOW) + HOUR });

    await expect(auth.sessions.revoke([a, 'missing-1'])).rejects.toMatchObject({
      code: 'auth.session.not_found',
      details: { missing: ['missing-1'] },
    });
    expect(await t.knex('sessions').count({ n: '*' }).first()).toEqual({ n: 3 });
    expect(await auditRows(t, 'session.revoke')).toEqual([]);

    expect(await auth.sessions.revoke([a, c, a])).toEqual({ revoked: [a, c] });
    expect((await t.knex('sessions').select('id')).map((r) => r.id)).toEqual([b]);
    const audit = await auditRows(t, 'session.revoke');
    expect(audit.map((r) => [r.actor, r.target_type, r.target, r.summary])).toEqual([
      ['tester', 'session', a, { user: 'alice' }],
      ['tester', 'session', c, { user: null }],
    ]);
  });

  it('revokes every session of a user (live and expired), leaving others', async () => {
    await insertKaijuSessions(t.knex, [
      { userId: alice.id, expires: epoch(NOW) + HOUR },
      { userId: alice.id, expires: epoch(NOW) - HOUR },
      { userId: alice.id, expires: epoch(NOW) + 24 * HOUR },
    ]);
    const keep = await insertKaijuSession(t.knex, { userId: bob.id, expires: epoch(NOW) + HOUR });

    const result = await auth.sessions.revokeUser('alice');
    expect(result).toEqual({ user: { id: alice.id, username: 'alice' }, revoked: 3 });
    expect((await t.knex('sessions').select('id')).map((r) => r.id)).toEqual([keep]);
    const audit = await auditRows(t, 'session.revoke');
    expect(audit.map((r) => [r.target_type, r.target, r.summary])).toEqual([['user', 'alice', { sessions: 3 }]]);

    // Nothing left: no write, no audit row.
    expect((await auth.sessions.revokeUser(alice.id)).revoked).toBe(0);
    expect(await auditRows(t, 'session.revoke')).toHaveLength(1);
    await expect(auth.sessions.revokeUser('nobody')).rejects.toMatchObject({ code: 'auth.user.not_found' });
  });

  it('prunes 20k expired sessions in bounded batches, leaving live ones untouched', async () => {
    const expired = Array.from({ length: 20_000 }, (_, i) => ({
      userId: i % 2 ? alice.id : null,
      expires: epoch(NOW) - 1 - (i % 5000),
      permissions: ['users.read'],
    }));
    const live = Array.from({ length: 500 }, (_, i) => ({ userId: bob.id, expires: epoch(NOW) + 1 + i }));
    await insertKaijuSessions(t.knex, expired);
    const liveIds = await insertKaijuSessions(t.knex, live);

    const report = await auth.sessions.prune({ batchSize: 3000 });
    expect(report).toEqual({ deleted: 20_000, batches: 7, expiredBefore: NOW });
    const left = (await t.knex('sessions').select('id').orderBy('id')).map((r) => r.id);
    expect(left).toEqual([...liveIds].sort());

    const audit = await auditRows(t, 'session.prune');
    expect(audit.map((r) => r.summary.deleted)).toEqual([3000, 3000, 3000, 3000, 3000, 3000, 2000]);
    expect(audit.map((r) => r.summary.batch)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(new Set(audit.map((r) => r.summary.run)).size).toBe(1);
    expect(audit.every((r) => r.summary.expired_before === NOW.toISOString() && r.actor === 'tester')).toBe(true);

    // Nothing left to do: no batches, no audit rows.
    expect(await auth.sessions.prune()).toEqual({ deleted: 0, batches: 0, expiredBefore: NOW });
    expect(await auditRows(t, 'session.prune')).toHaveLength(7);
  });

  it('two prunes at once split the work and count every row once', async () => {
    await insertKaijuSessions(
      t.knex,
      Array.from({ length: 5000 }, (_, i) => ({ userId: null, expires: epoch(NOW) - 10 - i })),
    );
    const other = authOn(t, 'other');
    const [x, y] = await Promise.all([auth.sessions.prune({ batchSize: 250 }), other.sessions.prune({ batchSize: 250 })]);
    expect(x.deleted + y.deleted).toBe(5000);
    expect(await t.knex('sessions').count({ n: '*' }).first()).toEqual({ n: 0 });
    const audit = await auditRows(t, 'session.prune');
    expect(audit.reduce((sum, r) => sum + r.summary.deleted, 0)).toBe(5000);
  });

  it('prune validates the batch size and refuses to run inside a transaction', async () => {
    await expect(auth.sessions.prune({ batchSize: 0 })).rejects.toMatchObject({ code: 'data.invalid' });
    await expect(auth.sessions.prune({ batchSize: 1.5 })).rejects.toMatchObject({ code: 'data.invalid' });
    await expect(auth.transaction((tx) => tx.sessions.prune())).rejects.toThrow(TypeError);
  });
});
