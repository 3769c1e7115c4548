/**
 * `status --check` for monitoring (issue 15 item 3): exit 9 with the report when something needs
 * a human, 0 when all is well; `--format prometheus` for node_exporter's textfile collector;
 * `--jwks-file` compares the published JWKS with what should be published.
 */
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliTarget } from '../support/cli.js';

const SECRET = 'a health check key secret, long enough';

afterAll(removeTempDirs);

describe.each(BACKENDS)('status --check on %s', (backend) => {
  let db: CliTarget;
  const cli = (args: string[]) => runCli([...db.args, ...args], { env: { KAIJU_AUTH_SECRET: SECRET, KAIJU_AUTH_LOCK_TIMEOUT: '120s' } });
  beforeAll(async () => {
    db = await cliTarget(backend);
  }, 180_000);
  afterAll(async () => db.cleanup());

  it('exit 9 naming what needs a human; 0 once fixed; prometheus metrics either way; --jwks-file compared', async () => {
    const bad = await cli(['status', '--check']);
    expect(bad.code, bad.stderr).toBe(9);
    expect(bad.stdout).toMatch(/signing key:\s+FAIL\s+no key can sign/);
    expect(bad.stderr).toMatch(/check\(s\) need a human: signing_key/);
    const json = await cli(['status', '--check', '--json', '-q']);
    expect(json.code).toBe(9);
    expect(json.json()).toMatchObject({ ok: false, checks: expect.arrayContaining([{ name: 'signing_key', ok: false, message: expect.any(String) }]) });
    expect(json.errorJson().error).toMatchObject({ code: 'status.check_failed', exit: 9 });
    const metrics = await cli(['status', '--format', 'prometheus', '-q']);
    expect([metrics.code, metrics.stderr]).toEqual([0, '']);
    expect(metrics.stdout).toContain('kaiju_auth_up 0\n');
    expect(metrics.stdout).toContain('kaiju_auth_check_ok{check="signing_key"} 0\n');
    expect((await cli(['status', '--format', 'prometheus', '--check', '-q'])).code).toBe(9);

    expect((await cli(['keys', 'rotate', '-q'])).code).toBe(0);
    const good = await cli(['status', '--check', '-q']);
    expect(good.code, good.stderr).toBe(0);
    expect(good.stdout).not.toMatch(/FAIL/);
    const up = await cli(['status', '--format', 'prometheus', '-q']);
    expect(up.stdout).toContain('kaiju_auth_up 1\n');
    expect(up.stdout).toMatch(/^kaiju_auth_signing_key_rotation_due_seconds 4\d{4}$/m);

    const jwks = path.join(db.tmp, 'jwks.json');
    const missing = await cli(['status', '--check', '--jwks-file', jwks, '--json', '-q']);
    expect([missing.code, missing.json().checks.find((c: { name: string }) => c.name === 'jwks_file').ok]).toEqual([9, false]);
    expect((await cli(['keys', 'jwks', '--out', jwks, '-q'])).code).toBe(0);
    expect((await cli(['status', '--check', '--jwks-file', jwks, '-q'])).code).toBe(0);
    expect((await cli(['keys', 'rotate', '--now', '-q'])).code).toBe(0);
    const stale = await cli(['status', '--check', '--jwks-file', jwks, '-q']);
    expect(stale.code).toBe(9);
    expect(stale.stderr).toMatch(/jwks_file/);
    expect((await cli(['status', '--format', 'yaml'])).code).toBe(2);
  });
});
