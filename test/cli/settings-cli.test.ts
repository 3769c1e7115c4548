/**
 * Numbers from flags and the environment (issue 12 item 6) and the bounds of settings that weaken
 * security (issue 11 item 10): every bad or out-of-range value is exit 2 naming the accepted form,
 * never exit 1, and the database is unchanged; values at the bounds work.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliOptions, type CliTarget } from '../support/cli.js';

const SECRET = 'settings test key secret, long enough';

afterAll(removeTempDirs);

describe.each(BACKENDS)('bad numbers and unsafe settings on %s', (backend) => {
  let db: CliTarget;
  const env = { KAIJU_AUTH_LOCK_TIMEOUT: '120s', KAIJU_AUTH_SECRET: SECRET };
  const cli = (args: string[], options: CliOptions = {}) => runCli([...db.args, ...args], { ...options, env: { ...env, ...options.env } });
  const snapshot = () =>
    db.withKnex(async (knex) => ({
      keys: await knex('keystore').select('kid', 'state', 'signs_until', 'verifies_until').orderBy('kid'),
      audit: await knex('audit_log').select('id', 'command').orderBy('id'),
    }));

  beforeAll(async () => {
    db = await cliTarget(backend, { create: false });
    const init = await cli(['init', '-q']);
    expect(init.code, init.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => db.cleanup());

  const cases: [string, string[], Record<string, string>, RegExp][] = [
    // issue 12 item 6: exit 1 or accepted before
    ['--lifetime 100000000d', ['keys', 'rotate', '--lifetime', '100000000d'], {}, /from 2m to 90d/],
    ['--since 9999999999999999d', ['audit', 'list', '--since', '9999999999999999d'], {}, /from 1s to 36500d/],
    ['--older-than 99999999999999999999d', ['audit', 'prune', '--older-than', '99999999999999999999d', '-y'], {}, /from 1s to 36500d/],
    ['KAIJU_AUTH_BCRYPT_ROUNDS=1e1', ['keys', 'list'], { KAIJU_AUTH_BCRYPT_ROUNDS: '1e1' }, /KAIJU_AUTH_BCRYPT_ROUNDS.*integer from 4 to 31/],
    ['a bare --if-older-than 10', ['keys', 'rotate', '--if-older-than', '10'], {}, /a whole number and a unit/],
    ['PGPORT=1e1', ['keys', 'list'], { PGPORT: '1e1', KAIJU_AUTH_DATABASE_URL: 'postgres://127.0.0.1/x' }, /PGPORT.*integer from 1 to 65535/],
    ['--limit 1e3', ['audit', 'list', '--limit', '1e3'], {}, /integer from 1 to 1000000/],
    ['--offset -1', ['user', 'list', '--offset', '-1'], {}, /integer from 0/],
    ['--batch-size 0x10', ['session', 'prune', '--batch-size', '0x10'], {}, /integer from 1 to 100000/],
    ['--rounds " 8"', ['user', 'import', 'x.csv', '--rounds', ' 8'], {}, /integer from 4 to 31/],
    ['--lock-timeout 1.5s', ['keys', 'list', '--lock-timeout', '1.5s'], {}, /--lock-timeout.*whole number/],
    ['KAIJU_AUTH_FAILED_LOGIN_DELAY=1h', ['keys', 'list'], { KAIJU_AUTH_FAILED_LOGIN_DELAY: '1h' }, /from 0s to 1m/],
    // issue 11 item 10: settings that weaken security
    ['KAIJU_AUTH_CLOCK_SKEW=3650d', ['token', 'verify', 'x.y.z'], { KAIJU_AUTH_CLOCK_SKEW: '3650d' }, /KAIJU_AUTH_CLOCK_SKEW.*from 0s to 5m/],
    ['--clock-skew 6m', ['token', 'verify', 'x.y.z', '--clock-skew', '6m'], {}, /from 0s to 5m/],
    ['--lifetime 1000000d', ['keys', 'rotate', '--lifetime', '1000000d'], {}, /from 2m to 90d/],
    ['--lifetime 91d (import)', ['keys', 'import', 'k.pem', '--lifetime', '91d'], {}, /from 2m to 90d/],
    ['KAIJU_AUTH_KEY_LIFETIME=91d', ['keys', 'rotate'], { KAIJU_AUTH_KEY_LIFETIME: '91d' }, /KAIJU_AUTH_KEY_LIFETIME.*from 2m to 90d/],
    ['--ttl 25h', ['token', 'issue', '--username', 'u', '--ttl', '25h'], {}, /from 1m to 1d/],
    ['--ttl 59s', ['token', 'issue', '--username', 'u', '--ttl', '59s'], {}, /from 1m to 1d/],
    ['KAIJU_AUTH_ACCESS_TTL=2d', ['token', 'issue', '--username', 'u'], { KAIJU_AUTH_ACCESS_TTL: '2d' }, /KAIJU_AUTH_ACCESS_TTL/],
    ['--refresh-ttl 91d', ['token', 'refresh', 'x.y.z', '--refresh-ttl', '91d'], {}, /from 1m to 90d/],
    ['KAIJU_AUTH_REFRESH_TTL=13w', ['token', 'issue', '--username', 'u'], { KAIJU_AUTH_REFRESH_TTL: '13w' }, /KAIJU_AUTH_REFRESH_TTL/],
  ];

  it.each(cases)('%s: exit 2 with the accepted form, database unchanged', async (_name, args, extraEnv, message) => {
    const before = await snapshot();
    const r = await cli([...args, '--json'], { env: extraEnv });
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const error = r.errorJson().error;
    expect(error.exit).toBe(2);
    expect(error.message).toMatch(message);
    expect(await snapshot()).toEqual(before);
  });

  it('values at the bounds are accepted', async () => {
    const rotated = await cli(['keys', 'rotate', '--now', '--lifetime', '90d', '--json']);
    expect(rotated.code, rotated.stderr).toBe(0);
    const key = rotated.json().key;
    expect(new Date(key.signs_until).getTime() - new Date(key.created).getTime()).toBe(90 * 86400_000);
    const noop = await cli(['keys', 'rotate', '--if-older-than', '90d', '--json']);
    expect([noop.code, noop.json().rotated]).toEqual([0, false]);
    const skew = await cli(['keys', 'list', '-q'], { env: { KAIJU_AUTH_CLOCK_SKEW: '5m', KAIJU_AUTH_FAILED_LOGIN_DELAY: '0' } });
    expect(skew.code, skew.stderr).toBe(0);
    const audit = await cli(['audit', 'list', '--since', '36500d', '--limit', '1000000', '-q']);
    expect(audit.code, audit.stderr).toBe(0);
  });
});
