/**
 * Tables that fit the terminal (issue 13 item 3), in a real terminal (tmux) 80 and 120 columns
 * wide, on both backends: no line the CLI writes is wider than the pane (measured in display
 * columns, wide characters counted twice), rows are compact, and what a reader looks for is still
 * there (usernames, group names, kids, commands, session users). The rules of the fitting itself
 * are unit-tested in test/unit/table-fit.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliTarget } from '../support/cli.js';
import { epoch, insertKaijuSessions, insertKaijuUser } from '../support/kaiju-rows.js';
import { TMUX_AVAILABLE, tmuxCli } from '../support/tmux.js';
import { displayWidth } from '../../src/cli/table-fit.js';
import { jsonb } from '../../src/db/values.js';

const SECRET = 'tables test secret, long enough to pass';
const USERS = ['alice', 'bob_the_builder', 'carol_cjk'];
const GROUPS = ['administrators', 'auditors', 'billing_team', 'customer_support', 'developers', 'editors', 'marketing', 'operations'];

afterAll(removeTempDirs);

describe.runIf(TMUX_AVAILABLE).each(BACKENDS)('tables in a terminal on %s', (backend) => {
  let t: CliTarget;
  let kid = '';
  const cli = (...args: string[]) => runCli([...t.args, ...args], { timeoutMs: 180_000, env: { KAIJU_AUTH_SECRET: SECRET } });

  beforeAll(async () => {
    t = await cliTarget(backend, { create: false });
    expect((await cli('migrate', '-q')).code).toBe(0);
    expect((await cli('keys', 'rotate', '-q')).code).toBe(0);
    kid = (await cli('keys', 'list', '--json', '-q')).json()[0].kid;
    const now = epoch(new Date());
    await t.withKnex(async (k) => {
      const ids: Record<string, string> = {};
      for (const u of USERS) ids[u] = (await insertKaijuUser(k, u)).id;
      await k('users').where({ username: 'alice' }).update({ full_name: 'Alice Marguerite Longname-Wonderland of Somewhere Far', email: 'alice.marguerite.longname@a-rather-long-domain.example.com' });
      await k('users').where({ username: 'carol_cjk' }).update({ full_name: '山田花子の非常に長い表示名です本当に長い' });
      await k('permissions').insert(
        ['billing.read', 'billing.refund', 'documents.publish', 'documents.read', 'users.read', 'users.write'].map((id) => ({ id, enabled: true, tag: 'app', description: `may ${id} everywhere, in every tenant, at any hour of the day or night` })),
      );
      await k('groups').insert(GROUPS.map((id) => ({ id, tag: 'staff', description: `the ${id} of the whole organisation, with a description that does not fit` })));
      await k('group_permissions').insert(GROUPS.map((g, i) => ({ group_id: g, permission_id: i % 2 ? 'users.read' : 'documents.read' })));
      await insertKaijuSessions(k, USERS.map((u, i) => ({ userId: ids[u] as string, expires: now + 3600 * (i + 1), permissions: ['users.read', 'users.write'] })));
      await k('audit_log').insert(
        USERS.map((u) => ({ actor: 'operator@example.com', command: 'user.update', target_type: 'user', target: u, summary: jsonb({ changed: ['email', 'full_name', 'settings'], settings: { theme: 'dark', locale: 'en-GB' } }) })),
      );
    });
  });
  afterAll(() => t?.cleanup());

  /** Run the command in a terminal `columns` wide; its lines as written (wrapped ones whole). */
  async function onTerminal(columns: number, args: string[]): Promise<string[]> {
    const term = await tmuxCli([...t.args, '-q', ...args], { columns, lines: 150, env: { KAIJU_AUTH_SECRET: SECRET } });
    try {
      expect(await term.exitCode(120_000)).toBe(0);
      return term.writtenLines();
    } finally {
      term.kill();
    }
  }

  const CASES: { args: string[]; findable: () => string[] }[] = [
    { args: ['user', 'list'], findable: () => USERS },
    { args: ['group', 'list'], findable: () => GROUPS },
    { args: ['keys', 'list'], findable: () => [kid, 'active'] },
    { args: ['audit', 'list'], findable: () => ['user.update', ...USERS.map((u) => `user:${u}`)] },
    { args: ['session', 'list'], findable: () => USERS },
    { args: ['group', 'matrix'], findable: () => [...GROUPS, 'billing.refund', 'documents.publish'] },
  ];

  for (const columns of [80, 120]) {
    it.each(CASES)(`$args at ${columns} columns: every line fits, rows compact, content findable`, async ({ args, findable }) => {
      const lines = await onTerminal(columns, args);
      const text = lines.join('\n');
      const tooWide = lines.filter((l) => displayWidth(l) > columns);
      expect(tooWide, text).toEqual([]);
      expect(lines.filter((l) => l.startsWith('│')).length, text).toBeGreaterThan(0);
      for (const s of findable()) expect(text, s).toContain(s);
      // Compact: one rule under the header of each table, none between rows.
      const tables = lines.filter((l) => l.startsWith('┌')).length;
      expect(lines.filter((l) => l.startsWith('├')).length, text).toBe(tables);
    });
  }

  it('a wide CJK name is cut by display width, not by length', async () => {
    const lines = await onTerminal(80, ['user', 'list']);
    const carol = lines.find((l) => l.includes('carol_cjk')) as string;
    expect(carol).toContain('山田');
    expect(carol).toContain('…');
    expect(displayWidth(carol)).toBe(displayWidth(lines.find((l) => l.startsWith('┌')) as string));
  });

  it('group matrix at 80 columns: the groups come in chunks, each named, none wider than the pane', async () => {
    const lines = await onTerminal(80, ['group', 'matrix']);
    const heads = lines.filter((l) => /^groups \d+-\d+ of 8$/.test(l));
    expect(heads.length).toBeGreaterThan(1);
    expect(heads.at(-1)).toMatch(/-8 of 8$/);
  });

  it('piped, a table keeps every column whole (for awk), whatever the width', async () => {
    const r = await cli('-q', 'user', 'list');
    expect(r.stdout).toContain('Alice Marguerite Longname-Wonderland of Somewhere Far');
    expect(r.stdout).toMatch(/^USERNAME\s+EMAIL\s+FULL NAME\s+STATE\s+CREATED$/m);
    expect(r.stdout).toMatch(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/);
  });
});
