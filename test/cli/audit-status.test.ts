/** `audit list`, `audit prune` and `status` through the built binary, on both backends. */
import { MIGRATIONS } from '../../migrations/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { recordAudit } from '../../src/core/audit.js';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliTarget } from '../support/cli.js';
import { epoch, insertKaijuSessions, insertKaijuUser } from '../support/kaiju-rows.js';

const DAY = 86_400_000;
const AUDIT_KEYS = ['actor', 'at', 'command', 'id', 'summary', 'target', 'target_type'];

interface AuditJson {
  id: number;
  at: string;
  actor: string;
  command: string;
  target_type: string | null;
  target: string | null;
  summary: Record<string, unknown>;
}

afterAll(removeTempDirs);

describe.each(BACKENDS)('audit and status commands on %s', (backend) => {
  let t: CliTarget;
  const cli = (...args: string[]) => runCli([...t.args, ...args]);
  const ago = (days: number) => new Date(Date.now() - days * DAY);

  beforeAll(async () => {
    t = await cliTarget(backend, { create: false });
  });
  afterAll(() => t?.cleanup());

  it('status exits 7 on a database without the schema', async () => {
    if (backend === 'postgres') {
      // An empty PostgreSQL database: reachable, no schema.
      const r = await cli('status', '--json');
      expect(r.code).toBe(7);
      expect(r.stderr).toMatch(/"code":"db.schema_missing"/);
      expect(r.stderr).toMatch(/kaiju-auth migrate/);
    } else {
      const r = await cli('status');
      expect(r.code).toBe(7);
      expect(r.stderr).toMatch(/kaiju-auth init/);
    }
    expect((await cli('migrate', '-q')).code).toBe(0);
  });

  it('status: target redacted, schema version, no pending migrations, counts', async () => {
    const now = epoch(new Date());
    await t.withKnex(async (k) => {
      const a = await insertKaijuUser(k, 'alice');
      await insertKaijuUser(k, 'bob_1', { blocked: true });
      await insertKaijuUser(k, 'carol', { active: false });
      await k('permissions').insert([
        { id: 'users.read', enabled: true },
        { id: 'users.write', enabled: false },
      ]);
      await k('groups').insert({ id: 'admins' });
      await insertKaijuSessions(k, [
        { userId: a.id, expires: now + 3600 },
        { userId: a.id, expires: now + 7200 },
        { userId: null, expires: now - 10 },
      ]);
      await recordAudit(k, 'alice', { command: 'user.register', targetType: 'user', target: 'alice' }, ago(40));
      await recordAudit(k, 'alice', { command: 'group.create', targetType: 'group', target: 'admins' }, ago(3));
      await recordAudit(k, 'ci', { command: 'seed', targetType: 'fixtures', summary: { created: { users: 3 } } }, ago(0.01));
    });
    const r = await cli('status', '--json');
    expect(r.code).toBe(0);
    const doc = r.json<Record<string, unknown>>();
    expect(doc).toMatchObject({
      backend: backend === 'postgres' ? 'postgres' : 'embedded',
      schema: { pending: [], current: true, applied: MIGRATIONS.length, version: MIGRATIONS[MIGRATIONS.length - 1]?.name },
      counts: { users: 3, blocked_users: 1, inactive_users: 1, groups: 1, permissions: 2, live_sessions: 2, expired_sessions: 1 },
    });
    if (backend === 'postgres') expect(doc.database).not.toMatch(/:[^@/]*@/);

    const human = await cli('status');
    expect(human.stdout).toMatch(/^database:\s+\S/m);
    expect(human.stdout).toMatch(/^pending:\s+none$/m);
    expect(human.stdout).toMatch(/^users:\s+3 \(1 blocked, 1 inactive\)$/m);
    expect(human.stdout).toMatch(/^sessions:\s+2 live, 1 expired/m);
  });

  it.skipIf(backend !== 'postgres')('status redacts the password of the database URL', async () => {
    const url = new URL(t.args[1] as string);
    url.password = 'hunter2-secret';
    const r = await runCli(['status', '--json', '--database-url', url.toString()]);
    // trust auth may accept any password; either way the password never shows.
    expect(r.stdout + r.stderr).not.toContain('hunter2-secret');
  });

  it('audit list --json: newest first, the documented shape', async () => {
    const r = await cli('audit', 'list', '--json');
    expect(r.code).toBe(0);
    const rows = r.json<AuditJson[]>();
    expect(rows.map((x) => x.command)).toEqual(['seed', 'group.create', 'user.register']);
    for (const row of rows) expect(Object.keys(row).sort()).toEqual(AUDIT_KEYS);
    expect(rows[0]).toMatchObject({ actor: 'ci', target_type: 'fixtures', target: null, summary: { created: { users: 3 } } });
    expect(Number.isNaN(Date.parse(rows[0]?.at as string))).toBe(false);
  });

  it('audit list filters: --since, --actor, --target, --command, --limit', async () => {
    const commands = async (...args: string[]) => (await cli('audit', 'list', '--json', ...args)).json<AuditJson[]>().map((x) => x.command);
    expect(await commands('--since', '7d')).toEqual(['seed', 'group.create']);
    expect(await commands('--since', '1h')).toEqual(['seed']);
    expect(await commands('--actor', 'alice')).toEqual(['group.create', 'user.register']);
    expect(await commands('--target', 'admins')).toEqual(['group.create']);
    expect(await commands('--command', 'user')).toEqual(['user.register']);
    expect(await commands('--actor', 'alice', '--since', '7d', '--limit', '5')).toEqual(['group.create']);
    const limited = await cli('audit', 'list', '--limit', '1');
    expect(limited.stdout.trimEnd().split('\n')).toHaveLength(2);
    expect(limited.stdout).toMatch(/^AT\s+ACTOR\s+COMMAND\s+TARGET\s+SUMMARY$/m);
    expect(limited.stdout).toMatch(/\bago\s+ci\s+seed\s+fixtures\s+\{"created":\{"users":3\}\}$/m);
    // The one paging notice of every list: how many of the total, and the offset of the next page.
    expect(limited.stderr).toMatch(/^1 of 3 audit rows shown \(--offset 1 for more\)$/m);
    expect((await cli('audit', 'list', '--since', 'yesterday')).code).toBe(2);
    expect((await cli('audit', 'list', '--limit', '-1')).code).toBe(2);
  });

  it('audit prune: asks (exit 8 without -y), deletes old rows with -y, and is itself audited', async () => {
    expect((await cli('audit', 'prune')).code).toBe(2);
    const refused = await cli('audit', 'prune', '--older-than', '30d');
    expect(refused.code).toBe(8);
    expect((await cli('audit', 'list', '--json')).json<AuditJson[]>()).toHaveLength(3);

    const r = await runCli([...t.args, '--actor', 'ops', 'audit', 'prune', '--older-than', '30d', '-y', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({ deleted: 1, older_than: expect.any(String) });
    const rows = (await cli('audit', 'list', '--json')).json<AuditJson[]>();
    expect(rows.map((x) => x.command)).toEqual(['audit.prune', 'seed', 'group.create']);
    expect(rows[0]).toMatchObject({ actor: 'ops', target_type: 'audit', summary: { deleted: 1 } });

    // Nothing that old any more: nothing to confirm, exit 0, quiet.
    const none = await cli('audit', 'prune', '--older-than', '30d', '-q');
    expect(none).toEqual({ code: 0, stdout: '', stderr: '' });
  });
});
