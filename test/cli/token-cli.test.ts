import { fileURLToPath } from 'node:url';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliOptions, type CliTarget } from '../support/cli.js';

const SECRET = 'cli test key secret, long enough';
const PASSWORD = 'correct horse 1';
const FORBID = fileURLToPath(new URL('../support/forbid-db-modules.mjs', import.meta.url));

interface Pair {
  access: string;
  refresh: string;
}
interface BatchLine {
  line: number;
  valid: boolean;
  claims?: { id: string; typ: string; permissions: string[] };
  error?: { code: string; message: string };
}

const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1] as string, 'base64url').toString());
const jsonLines = (text: string) => text.trim().split('\n').map((l) => JSON.parse(l) as BatchLine);

afterAll(removeTempDirs);

describe.each(BACKENDS)('token commands on %s', (backend) => {
  let db: CliTarget;
  // Processes queue on the embedded data directory's lock: wait longer than the default 10 s.
  const env = { KAIJU_AUTH_LOCK_TIMEOUT: '120s', ...(backend === 'postgres' ? { KAIJU_AUTH_SECRET: SECRET } : {}) };
  const cli = (args: string[], options: CliOptions = {}) => runCli([...db.args, ...args], { ...options, env: { ...env, ...options.env } });
  const ok = async (args: string[], options: CliOptions = {}) => {
    const r = await cli(args, options);
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r;
  };
  const issue = async (username: string): Promise<Pair> =>
    JSON.parse((await ok(['token', 'issue', '--username', username, '--password-stdin', '--json'], { input: `${PASSWORD}\n` })).stdout);

  beforeAll(async () => {
    db = await cliTarget(backend, { create: false });
    await ok(['init', '-q']);
    await ok(['permission', 'create', 'users.read', '-q']);
    await ok(['permission', 'create', 'users.write', '-q']);
    await ok(['group', 'create', 'staff', '-q']);
    await ok(['group', 'grant', 'staff', 'users.write', 'users.read', '-q']);
    for (const [user, group] of [['alice', 'staff'], ['bob-1', 'staff'], ['svc-bot', null]] as const) {
      await ok(
        ['user', 'register', '--username', user, '--email', `${user}@example.com`, ...(group ? ['--group', group] : []), '--password-stdin', '-q'],
        { input: `${PASSWORD}\n` },
      );
    }
  }, 180_000);
  afterAll(async () => db.cleanup());

  it('issue prints {access, refresh}; verify prints {valid, claims}, a batch line without its line number', async () => {
    const pair = await issue('alice');
    expect(Object.keys(pair).sort()).toEqual(['access', 'refresh']);
    const v = await ok(['token', 'verify', pair.access, '--json']);
    const doc = JSON.parse(v.stdout);
    expect(Object.keys(doc).sort()).toEqual(['claims', 'valid']);
    expect(doc.valid).toBe(true);
    const claims = doc.claims;
    const batch = await ok(['token', 'verify', '--batch'], { input: `${pair.access}\n` });
    expect(JSON.parse(batch.stdout)).toEqual({ line: 1, ...doc });
    expect(claims).toMatchObject({ typ: 'access', permissions: ['users.read', 'users.write'], sub: claims.id });
    expect(claims.exp - claims.iat).toBe(1000);
    const human = await ok(['token', 'verify', pair.access]);
    expect(human.stdout).toMatch(/^valid access token, expires in 1[56]m \d+s/);
    expect(human.stdout).toContain('users.read, users.write');
    const ttl = JSON.parse((await ok(['token', 'issue', '--username', 'alice', '--password-stdin', '--ttl', '15m', '--json'], { input: PASSWORD })).stdout);
    expect(claimsOf(ttl.access).exp - claimsOf(ttl.access).iat).toBe(900);
  });

  it('a wrong password or unknown user is exit 3; no password source is exit 2; --ttl below 60s is exit 2', async () => {
    for (const user of ['alice', 'nobody']) {
      const r = await cli(['token', 'issue', '--username', user, '--password-stdin', '--json'], { input: 'wrong password 9\n' });
      expect([r.code, r.errorJson().error.code]).toEqual([3, 'auth.user.authentication_failed']);
      expect(r.stdout).toBe('');
    }
    expect((await cli(['token', 'issue', '--username', 'alice'])).code).toBe(2);
    expect((await cli(['token', 'issue', '--username', 'alice', '--password-stdin', '--ttl', '30s'], { input: PASSWORD })).code).toBe(2);
  });

  // Issue 11 item 6: bcrypt ignores what follows 72 bytes; a longer password used to pass.
  it('a password over 72 bytes is exit 3 for token issue and as the old one of user passwd, even when it starts with the stored one', async () => {
    const p72 = `${'ж'.repeat(35)}1a`;
    expect(Buffer.byteLength(p72)).toBe(72);
    await ok(['user', 'register', '--username', 'long72', '--email', 'long72@example.com', '--password-stdin', '-q'], { input: `${p72}\n` });
    const issued = await cli(['token', 'issue', '--username', 'long72', '--password-stdin', '--json'], { input: `${p72}EXTRA\n` });
    expect([issued.code, issued.errorJson().error.code, issued.stdout]).toEqual([3, 'auth.user.authentication_failed', '']);
    const passwd = await cli(['user', 'passwd', 'long72', '--password-stdin', '--json'], { input: `${p72}EXTRA\nbattery staple 2\n` });
    expect([passwd.code, passwd.errorJson().error.code]).toEqual([3, 'auth.user.authentication_failed']);
    // Nothing changed: the stored password still works as it is.
    await ok(['token', 'issue', '--username', 'long72', '--password-stdin', '-q'], { input: `${p72}\n` });
  });

  it('verify refuses the wrong type, garbage and tampering (exit 3 with the reason)', async () => {
    const pair = await issue('alice');
    const wrong = await cli(['token', 'verify', pair.refresh, '--json']);
    expect([wrong.code, wrong.errorJson().error.code]).toEqual([3, 'auth.token.wrong_type']);
    expect(JSON.parse((await ok(['token', 'verify', pair.refresh, '--type', 'refresh', '--json'])).stdout).claims.typ).toBe('refresh');
    const garbage = await cli(['token', 'verify', 'not-a-token', '--json']);
    expect([garbage.code, garbage.errorJson().error.code]).toEqual([3, 'auth.token.invalid']);
    const [h, , s] = pair.access.split('.') as [string, string, string];
    const forged = Buffer.from(JSON.stringify({ ...claimsOf(pair.access), permissions: ['system'] })).toString('base64url');
    const tampered = await cli(['token', 'verify', `${h}.${forged}.${s}`, '--json']);
    expect([tampered.code, tampered.errorJson().error.code]).toEqual([3, 'auth.token.bad_signature']);
    expect(tampered.stderr).not.toContain(s);
  });

  it('--without-password issues for a service account and is audited', async () => {
    const r = await ok(['token', 'issue', '--username', 'svc-bot', '--without-password', '--json', '--actor', 'ops-anna']);
    const pair = JSON.parse(r.stdout) as Pair;
    expect(claimsOf(pair.access)).toMatchObject({ typ: 'access', permissions: [] });
    const rows = await db.withKnex((knex) => knex('audit_log').where({ command: 'token.issue' }).select('actor', 'target', 'summary'));
    expect(rows).toEqual([
      expect.objectContaining({ actor: 'ops-anna', target: 'svc-bot', summary: expect.objectContaining({ authenticated: false, access_jti: claimsOf(pair.access).jti }) }),
    ]);
    expect(JSON.stringify(rows)).not.toContain(pair.access);
    const both = await cli(['token', 'issue', '--username', 'svc-bot', '--without-password', '--password-stdin'], { input: PASSWORD });
    expect(both.code).toBe(2);
  });

  it('refresh: new pair with current permissions; access tokens, blocked and deleted users are exit 3', async () => {
    const pair = await issue('bob-1');
    await ok(['group', 'create', 'readers', '-q']);
    await ok(['group', 'grant', 'readers', 'users.read', '-q']);
    await ok(['user', 'groups', 'bob-1', '--set', 'readers', '-q']);
    const next = JSON.parse((await ok(['token', 'refresh', pair.refresh, '--json'])).stdout) as Pair;
    expect(claimsOf(next.access).permissions).toEqual(['users.read']);
    const viaStdin = await ok(['token', 'refresh', '-', '--json'], { input: `${next.refresh}\n` });
    expect(Object.keys(JSON.parse(viaStdin.stdout)).sort()).toEqual(['access', 'refresh']);
    const access = await cli(['token', 'refresh', pair.access, '--json']);
    expect([access.code, access.errorJson().error.code]).toEqual([3, 'auth.token.wrong_type']);
    await ok(['user', 'block', 'bob-1', '-q']);
    const blocked = await cli(['token', 'refresh', pair.refresh, '--json']);
    expect([blocked.code, blocked.errorJson().error.code]).toEqual([3, 'auth.user.authentication_failed']);
    await ok(['user', 'unblock', 'bob-1', '-q']);
    await ok(['token', 'refresh', pair.refresh, '-q']);
    await ok(['user', 'delete', 'bob-1', '-y', '-q']);
    const deleted = await cli(['token', 'refresh', pair.refresh, '--json']);
    expect([deleted.code, deleted.errorJson().error.code]).toEqual([3, 'auth.user.authentication_failed']);
  });

  it('inspect decodes without verifying and says so', async () => {
    const pair = await issue('alice');
    const human = await ok(['token', 'inspect', pair.access]);
    expect(human.stdout).toMatch(/^NOT VERIFIED/);
    expect(human.stdout).toMatch(/expiry: +expires in 16m/);
    const doc = JSON.parse((await ok(['token', 'inspect', '-', '--json'], { input: pair.refresh })).stdout);
    expect(doc).toMatchObject({ verified: false, type: 'refresh', expired: false, header: { typ: 'JWT', alg: 'ES256' } });
    expect((await cli(['token', 'inspect', 'garbage'])).code).toBe(3);
  });

  it('--jwks verifies offline without loading any database driver', async () => {
    const pair = await issue('alice');
    const jwksFile = path.join(db.tmp, 'jwks.json');
    await ok(['keys', 'jwks', '--out', jwksFile, '-q']);
    const offline = { nodeArgs: ['--import', FORBID], env: { KAIJU_AUTH_DATABASE_URL: 'postgres://nobody@127.0.0.1:1/nothing' } };
    const r = await runCli(['token', 'verify', pair.access, '--jwks', jwksFile, '--json'], offline);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).claims.permissions).toEqual(['users.read', 'users.write']);
    expect(r.stderr).toBe('');
    // The hook works: a command that needs the database fails to load its driver.
    const control = await runCli(['--data-dir', path.join(db.tmp, 'scratch'), 'migrate'], { nodeArgs: offline.nodeArgs });
    expect(control.code).not.toBe(0);
    expect(control.stderr).toContain('forbidden module');
    const unknown = await runCli(['token', 'verify', pair.access, '--jwks', path.join(db.tmp, 'missing.json')], offline);
    expect(unknown.code).toBe(2);
  });

  it('batch: one JSON line per token, in order, concurrently verified; exit 3 if any failed', async () => {
    const a = await issue('alice');
    const s = await issue('svc-bot');
    const jwksFile = path.join(db.tmp, 'jwks-batch.json');
    await ok(['keys', 'jwks', '--out', jwksFile, '-q']);
    const mixed = [a.access, '', 'garbage', a.refresh, s.access].join('\n');
    for (const args of [['token', 'verify', '--batch'], ['token', 'verify', '-'], ['token', 'verify', '--batch', '--jwks', jwksFile]]) {
      const r = await cli([...args, '--json'], { input: `${mixed}\n` });
      expect(r.code, r.stderr).toBe(3);
      const lines = jsonLines(r.stdout);
      expect(lines.map((l) => [l.line, l.valid, l.error?.code ?? l.claims?.typ])).toEqual([
        [1, true, 'access'],
        // An empty line is an invalid token on its line (issue 11 item 2; it used to be skipped).
        [2, false, 'auth.token.invalid'],
        [3, false, 'auth.token.invalid'],
        [4, false, 'auth.token.wrong_type'],
        [5, true, 'access'],
      ]);
      expect(r.errorJson().error.code).toBe('auth.token.invalid');
    }
    // Thousands of tokens (more than the in-flight window): order kept, every one answered.
    const tokens = Array.from({ length: 3000 }, (_, i) => (i % 7 === 3 ? a.refresh : i % 2 ? a.access : s.access));
    const big = await runCli(['token', 'verify', '--batch', '--jwks', jwksFile], { input: `${tokens.join('\n')}\n` });
    expect(big.code).toBe(3);
    const out = jsonLines(big.stdout);
    expect(out).toHaveLength(3000);
    out.forEach((l, i) => {
      expect(l.line).toBe(i + 1);
      expect(l.valid).toBe(i % 7 !== 3);
      if (l.valid) expect(l.claims?.permissions).toEqual(i % 2 ? ['users.read', 'users.write'] : []);
    });
    const allValid = await runCli(['token', 'verify', '--batch', '--jwks', jwksFile, '-q'], { input: `${a.access}\n${s.access}\n` });
    expect(allValid.code).toBe(0);
    expect(jsonLines(allValid.stdout).map((l) => l.valid)).toEqual([true, true]);
  });

  it('after a rotation old tokens still verify, online and with the new JWKS', async () => {
    const pair = await issue('alice');
    await ok(['keys', 'rotate', '--now', '-q']);
    await ok(['token', 'verify', pair.access, '-q']);
    const jwksFile = path.join(db.tmp, 'jwks-rotated.json');
    await ok(['keys', 'jwks', '--out', jwksFile, '-q']);
    const r = await runCli(['token', 'verify', pair.access, '--jwks', jwksFile, '--json']);
    expect(r.code).toBe(0);
    const fresh = await issue('alice');
    expect(JSON.parse(Buffer.from(fresh.access.split('.')[0] as string, 'base64url').toString()).kid).not.toBe(
      JSON.parse(Buffer.from(pair.access.split('.')[0] as string, 'base64url').toString()).kid,
    );
  });

  it('a wrong key secret is exit 3 (auth.key.secret_invalid) before any password is read; verifying needs none', async () => {
    const pair = await issue('alice');
    const wrong = await cli(['token', 'issue', '--username', 'alice', '--password-stdin', '--json'], {
      input: PASSWORD,
      env: { KAIJU_AUTH_SECRET: 'another secret, also long enough' },
    });
    expect([wrong.code, wrong.errorJson().error.code]).toEqual([3, 'auth.key.secret_invalid']);
    if (backend === 'postgres') {
      const none = await cli(['token', 'issue', '--username', 'alice', '--password-stdin', '--json'], {
        input: PASSWORD,
        env: { KAIJU_AUTH_SECRET: undefined },
      });
      expect([none.code, none.errorJson().error.code]).toEqual([2, 'auth.key.secret_missing']);
    }
    const verify = await cli(['token', 'verify', pair.access, '-q'], { env: { KAIJU_AUTH_SECRET: undefined } });
    expect(verify.code).toBe(0);
  });
});
