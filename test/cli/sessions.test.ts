/** `session ...` through the built binary, on both backends. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliTarget } from '../support/cli.js';
import { epoch, insertKaijuSession, insertKaijuSessions, insertKaijuUser, type KaijuUser } from '../support/kaiju-rows.js';
import { KAIJU_HASH, KAIJU_SALT } from '../support/kaiju-ddl.js';

const HOUR = 3600;
const SESSION_KEYS = ['agent_bound', 'created', 'expired', 'expires', 'expires_at', 'id', 'permissions', 'user_id', 'username'];

afterAll(removeTempDirs);

describe.each(BACKENDS)('session commands on %s', (backend) => {
  let t: CliTarget;
  let alice: KaijuUser;
  let bob: KaijuUser;
  const ids: Record<string, string> = {};
  const cli = (...args: string[]) => runCli([...t.args, ...args]);

  beforeAll(async () => {
    t = await cliTarget(backend, { create: false });
    expect((await runCli([...t.args, 'migrate', '-q'])).code).toBe(0);
    const now = epoch(new Date());
    await t.withKnex(async (k) => {
      alice = await insertKaijuUser(k, 'alice');
      bob = await insertKaijuUser(k, 'bob_1');
      ids.aliceLive = await insertKaijuSession(k, {
        userId: alice.id,
        expires: now + 3 * HOUR + 600,
        permissions: ['users.read', 'users.write'],
        data: { ip: '10.0.0.1' },
      });
      ids.aliceOld = await insertKaijuSession(k, { userId: alice.id, expires: now - 2 * 24 * HOUR - 600 });
      ids.bobLive = await insertKaijuSession(k, { userId: bob.id, expires: now + 24 * HOUR });
      ids.bobLive2 = await insertKaijuSession(k, { userId: bob.id, expires: now + 5 * HOUR });
      ids.anon = await insertKaijuSession(k, { userId: null, expires: now + HOUR, userAgent: null });
      await insertKaijuSessions(k, Array.from({ length: 30 }, (_, i) => ({ userId: null, expires: now - 100 - i })));
    });
  });
  afterAll(() => t?.cleanup());

  it('list --json: live sessions, longest-lived first, the documented shape, never h_agent', async () => {
    const r = await cli('session', 'list', '--json');
    expect(r.code).toBe(0);
    const rows = r.json<Record<string, unknown>[]>();
    expect(rows.map((s) => s.id)).toEqual([ids.bobLive, ids.bobLive2, ids.aliceLive, ids.anon]);
    for (const row of rows) expect(Object.keys(row).sort()).toEqual(SESSION_KEYS);
    expect(rows[2]).toMatchObject({
      username: 'alice',
      user_id: alice.id,
      expired: false,
      permissions: ['users.read', 'users.write'],
      agent_bound: true,
    });
    expect(rows[3]).toMatchObject({ username: null, user_id: null, agent_bound: false });
    expect(typeof rows[0]?.expires).toBe('number');
    expect(new Date(rows[0]?.expires_at as string).getTime()).toBe((rows[0]?.expires as number) * 1000);
    expect(r.stdout).not.toMatch(/h_agent/);
  });

  it('list: a table with the username, ISO expiry and "in 3h" / "expired 2d ago"', async () => {
    const live = await cli('session', 'list', '--user', 'alice');
    expect(live.code).toBe(0);
    const [header, line, ...rest] = live.stdout.trimEnd().split('\n');
    expect(header).toMatch(/^ID\s+USER\s+EXPIRES\s+PERMISSIONS\s+CREATED$/);
    expect(rest).toEqual([]);
    expect(line).toContain(ids.aliceLive);
    expect(line).toMatch(/\balice\b/);
    expect(line).toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z\s+in 3h\s+2\s/);

    const expired = await cli('session', 'list', '--user', alice.id, '--expired');
    expect(expired.stdout).toContain(ids.aliceOld);
    expect(expired.stdout).toContain('expired 2d ago');

    const all = await cli('session', 'list', '--all', '--limit', '1000', '--json');
    expect(all.json<unknown[]>()).toHaveLength(35);
  });

  it('list --limit says on stderr that there is more', async () => {
    const r = await cli('session', 'list', '--expired', '--limit', '2', '--json');
    expect(r.json<unknown[]>()).toHaveLength(2);
    expect(r.stderr).toContain('2 of 31 expired sessions shown (--offset 2 for more)');
    const q = await cli('session', 'list', '--expired', '--limit', '2', '--offset', '1', '-q');
    expect(q.stderr).toBe('');
    expect(q.stdout.trim().split('\n')).toHaveLength(3);
  });

  it('list: unknown user exits 4 (JSON error with --json); bad flags exit 2', async () => {
    const r = await cli('session', 'list', '--user', 'nobody', '--json');
    expect(r.code).toBe(4);
    expect(r.stdout).toBe('');
    expect(JSON.parse(r.stderr.trim().split('\n').pop() as string)).toMatchObject({
      error: { code: 'auth.user.not_found', exit: 4 },
    });
    expect((await cli('session', 'list', '--limit', '0')).code).toBe(2);
    expect((await cli('session', 'list', '--limit', 'ten')).code).toBe(2);
    expect((await cli('session', 'list', '--expired', '--all')).code).toBe(2);
  });

  it('show: details with data; unknown id exits 4', async () => {
    const r = await cli('session', 'show', ids.aliceLive as string, '--json');
    expect(r.code).toBe(0);
    const doc = r.json<Record<string, unknown>>();
    expect(Object.keys(doc).sort()).toEqual([...SESSION_KEYS, 'data'].sort());
    expect(doc).toMatchObject({ id: ids.aliceLive, username: 'alice', data: { ip: '10.0.0.1' } });
    const human = await cli('session', 'show', ids.aliceLive as string);
    expect(human.stdout).toMatch(/user:\s+alice/);
    expect(human.stdout).toMatch(/expires:\s+\S+Z \(in 3h\)/);
    expect(human.stdout).not.toMatch(/h_agent/);
    expect((await cli('session', 'show', 'no-such-session')).code).toBe(4);
  });

  it('revoke ID...: all or none (exit 4 on an unknown id), audited', async () => {
    const missing = await cli('session', 'revoke', ids.anon as string, 'no-such-session');
    expect(missing.code).toBe(4);
    expect(await t.withKnex((k) => k('sessions').where({ id: ids.anon }).first())).toBeDefined();

    const r = await runCli([...t.args, '--actor', 'ops-alice', 'session', 'revoke', ids.anon as string, '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({ revoked: [ids.anon] });
    expect(await t.withKnex((k) => k('sessions').where({ id: ids.anon }).first())).toBeUndefined();
  });

  it('revoke: usage errors exit 2', async () => {
    expect((await cli('session', 'revoke')).code).toBe(2);
    expect((await cli('session', 'revoke', 'x', '--user', 'alice')).code).toBe(2);
  });

  it('revoke --user: needs -y without a terminal (exit 8), unknown user exit 4, then revokes all of them', async () => {
    const refused = await cli('session', 'revoke', '--user', 'bob_1');
    expect(refused.code).toBe(8);
    expect(await t.withKnex((k) => k('sessions').where({ user_id: bob.id }).count({ n: '*' }).first())).toEqual({ n: 2 });
    const refusedJson = await cli('session', 'revoke', '--user', 'bob_1', '--json');
    expect(refusedJson.code).toBe(8);
    expect(refusedJson.stderr).toMatch(/"code":"cli.not_confirmed"/);

    expect((await cli('session', 'revoke', '--user', 'nobody', '-y')).code).toBe(4);

    const r = await runCli([...t.args, '--actor', 'ops-alice', 'session', 'revoke', '--user', 'bob_1', '-y', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({ user: 'bob_1', user_id: bob.id, revoked: 2 });
    // None left: nothing to confirm, exit 0.
    const again = await cli('session', 'revoke', '--user', 'bob_1');
    expect(again.code).toBe(0);
  });

  it('prune: prints how many, then is quiet with exit 0 when there is nothing to do', async () => {
    expect((await cli('session', 'prune', '--batch-size', '0')).code).toBe(2);
    const r = await runCli([...t.args, '--actor', 'cron', 'session', 'prune', '--batch-size', '7']);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('pruned 31 expired session(s) in 5 batch(es)\n');
    const quiet = await cli('session', 'prune', '-q');
    expect(quiet).toEqual({ code: 0, stdout: '', stderr: '' });
    const j = await cli('session', 'prune', '--json');
    expect(j.json()).toEqual({ deleted: 0, batches: 0, expired_before: expect.any(String) });
    expect((await cli('session', 'list', '--expired', '--json')).json<unknown[]>()).toEqual([]);
  });

  it('audit rows for the session writes, with no secret in any of them', async () => {
    const r = await cli('audit', 'list', '--command', 'session', '--limit', '1000', '--json');
    expect(r.code).toBe(0);
    const rows = r.json<
      { actor: string; command: string; target_type: string; target: string; summary: Record<string, unknown> }[]
    >();
    const revokes = rows.filter((x) => x.command === 'session.revoke');
    expect(revokes.map((x) => [x.actor, x.target_type, x.target, x.summary])).toEqual([
      ['ops-alice', 'user', 'bob_1', { sessions: 2 }],
      ['ops-alice', 'session', ids.anon, { user: null }],
    ]);
    const prunes = rows.filter((x) => x.command === 'session.prune');
    expect(prunes).toHaveLength(5);
    expect(prunes.every((x) => x.actor === 'cron')).toBe(true);
    expect(prunes.reduce((n, x) => n + (x.summary.deleted as number), 0)).toBe(31);

    const everything = await t.withKnex((k) => k('audit_log').select('*'));
    const text = JSON.stringify(everything);
    const agents = await t.withKnex((k) => k('sessions').select('h_agent').whereNotNull('h_agent'));
    for (const secret of [KAIJU_HASH, KAIJU_SALT, ...agents.map((a) => Buffer.from(a.h_agent).toString('hex'))]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toMatch(/h_agent|password|\$2b\$/);
  });
});
