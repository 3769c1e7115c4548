/**
 * One paging for every list command (issue 13 item 8): a default limit of 100, `--limit/--offset`,
 * stdout the page alone (a JSON array with `--json`) and the total in one stderr notice of one
 * wording, which `--quiet` hides. On both backends.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliTarget } from '../support/cli.js';
import { epoch, insertKaijuSessions, insertKaijuUser } from '../support/kaiju-rows.js';
import { jsonb } from '../../src/db/values.js';

const N = 105;
const SECRET = 'paging test secret, long enough to pass';

afterAll(removeTempDirs);

/** The last notice (the first may name the database used). */
const notice = (stderr: string) => stderr.trim().split('\n').at(-1);

/** Each list command, the noun of its notice, and how many rows the fixture gives it. */
const LISTS: { args: string[]; noun: string; total: number }[] = [
  { args: ['user', 'list'], noun: 'users', total: N },
  { args: ['group', 'list'], noun: 'groups', total: N },
  { args: ['permission', 'list'], noun: 'permissions', total: N },
  { args: ['session', 'list'], noun: 'live sessions', total: N },
  { args: ['audit', 'list'], noun: 'audit rows', total: N },
  { args: ['keys', 'list'], noun: 'keys', total: 1 },
];

describe.each(BACKENDS)('list paging on %s', (backend) => {
  let t: CliTarget;
  const cli = (...args: string[]) => runCli([...t.args, ...args], { env: { KAIJU_AUTH_SECRET: SECRET } });

  beforeAll(async () => {
    t = await cliTarget(backend, { create: false });
    expect((await cli('migrate', '-q')).code).toBe(0);
    expect((await cli('keys', 'rotate', '-q')).code).toBe(0);
    const now = epoch(new Date());
    await t.withKnex(async (k) => {
      await k('audit_log').del();
      const ids = Array.from({ length: N }, (_, i) => String(i).padStart(3, '0'));
      for (const i of ids) await insertKaijuUser(k, `user_${i}`);
      await k('permissions').insert(ids.map((i) => ({ id: `perm.${i}`, enabled: true, tag: null, description: null })));
      await k('groups').insert(ids.map((i) => ({ id: `group_${i}`, tag: null, description: null })));
      await insertKaijuSessions(k, ids.map((_, i) => ({ userId: null, expires: now + 3600 + i })));
      await k('audit_log').insert(ids.map((i) => ({ actor: 'test', command: `test.${i}`, target_type: null, target: null, summary: jsonb({}) })));
    });
  });
  afterAll(() => t?.cleanup());

  it.each(LISTS)('$args: default limit 100, the total in one notice, --limit/--offset, --quiet', async ({ args, noun, total }) => {
    const all = await cli(...args, '--json');
    expect(all.code, all.stderr).toBe(0);
    const shown = Math.min(total, 100);
    expect(all.json()).toHaveLength(shown);
    const more = total > 100 ? ` (--offset 100 for more)` : '';
    expect(notice(all.stderr)).toBe(`${shown} of ${total} ${noun} shown${more}`);

    const page = await cli(...args, '--json', '--limit', '2', '--offset', String(total - 1));
    expect(page.json()).toHaveLength(1);
    expect(notice(page.stderr)).toBe(`1 of ${total} ${noun} shown${total > 1 ? ` from offset ${total - 1}` : ''}`);
    // The last page of --offset N is the row the whole list has at N.
    const whole = await cli(...args, '--json', '--limit', '1000');
    expect(whole.json()).toHaveLength(total);
    expect(page.json()[0]).toEqual(whole.json()[total - 1]);

    // Past the end: nothing shown, the total still said.
    const past = await cli(...args, '--json', '--offset', String(total + 5));
    expect([past.json(), notice(past.stderr)]).toEqual([[], `0 of ${total} ${noun} shown from offset ${total + 5}`]);

    const quiet = await cli(...args, '--json', '--quiet');
    expect([quiet.code, quiet.stderr]).toEqual([0, '']);
    expect((await cli(...args, '--limit', '0')).code).toBe(2);
  });

  it('a full page counts the total as 2,345 would be written (thousands separated)', async () => {
    const r = await cli('user', 'list', '--json', '--limit', '3', '--offset', '3');
    expect(notice(r.stderr)).toBe(`3 of ${N} users shown from offset 3 (--offset 6 for more)`);
    const { pageNotice } = await import('../../src/cli/paging.js');
    expect(pageNotice(100, 0, 2345, 'users')).toBe('100 of 2,345 users shown (--offset 100 for more)');
  });

  it('permission list --by-tag shows every permission: no --limit', async () => {
    expect((await cli('permission', 'list', '--by-tag', '--limit', '5')).code).toBe(2);
  });
});
