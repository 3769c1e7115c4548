import { writeFile, chmod } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, tempDir, type CliResult, type CliTarget } from '../support/cli.js';

const PW = 'correct horse 1';
const PW2 = 'battery staple 2';
const USER_KEYS = ['created', 'email', 'full_name', 'id', 'is_active', 'is_blocked', 'settings', 'username'];

describe.each(BACKENDS)('user commands through the binary on %s', (backend) => {
  let target: CliTarget;
  const outputs: CliResult[] = [];
  const cli = async (args: string[], options: Parameters<typeof runCli>[1] = {}) => {
    const r = await runCli([...target.args, ...args], options);
    outputs.push(r);
    return r;
  };

  beforeAll(async () => {
    target = await cliTarget(backend);
    for (const p of ['docs.read', 'docs.write']) expect((await cli(['permission', 'create', p, '-q'])).code).toBe(0);
    expect((await cli(['group', 'create', 'editors', '-q'])).code).toBe(0);
    expect((await cli(['group', 'grant', 'editors', 'docs.read', 'docs.write', '-q'])).code).toBe(0);
    expect((await cli(['group', 'create', 'readers', '-q'])).code).toBe(0);
    expect((await cli(['group', 'grant', 'readers', 'docs.read', '-q'])).code).toBe(0);
  });
  afterAll(async () => {
    // No password ever reaches stdout or stderr, whatever the command did.
    for (const r of outputs) {
      for (const secret of [PW, PW2, 'wrong password 1', '$2b$']) {
        expect(r.stdout + r.stderr).not.toContain(secret);
      }
    }
    await target.cleanup();
    await removeTempDirs();
  });

  it('registers from --password-stdin with the JSON shape of docs/CLI.md', async () => {
    const r = await cli(['user', 'register', '--username', 'alice', '--email', 'alice@example.com', '--full-name', 'Alice A', '--group', 'editors', '--password-stdin', '--json'], {
      input: `${PW}\n`,
    });
    expect(r.code).toBe(0);
    const u = r.json();
    expect(Object.keys(u).sort()).toEqual([...USER_KEYS, 'groups', 'permissions'].sort());
    expect(u).toMatchObject({ username: 'alice', full_name: 'Alice A', is_active: true, is_blocked: false, groups: ['editors'], permissions: ['docs.read', 'docs.write'] });
  });

  it('takes the password from --password-file and from KAIJU_AUTH_PASSWORD', async () => {
    const dir = await tempDir();
    const file = path.join(dir, 'pw');
    await writeFile(file, `${PW}\nignored second line\n`);
    await chmod(file, 0o600);
    expect((await cli(['user', 'register', '--username', 'bobby', '--email', 'bob@example.com', '--password-file', file, '-q'])).code).toBe(0);
    expect((await cli(['user', 'register', '--username', 'carol', '--email', 'carol@example.com', '-q'], { env: { KAIJU_AUTH_PASSWORD: PW } })).code).toBe(0);
    // Both authenticate with it: passwd with the right old password succeeds.
    expect((await cli(['user', 'passwd', 'bobby', '--password-stdin', '-q'], { input: `${PW}\n${PW2}\n` })).code).toBe(0);
    expect((await cli(['user', 'passwd', 'carol', '-q'], { env: { KAIJU_AUTH_PASSWORD: PW, KAIJU_AUTH_NEW_PASSWORD: PW2 } })).code).toBe(0);
  });

  it('without a secret channel and no terminal: exit 2, nothing created', async () => {
    const r = await cli(['user', 'register', '--username', 'nopass', '--email', 'n@example.com', '--json']);
    expect(r.code).toBe(2);
    expect(r.errorJson().error).toMatchObject({ code: 'cli.secret_missing', exit: 2 });
    expect(r.stdout).toBe('');
    expect((await cli(['user', 'show', 'nopass'])).code).toBe(4);
  });

  it('validation failures exit 6 and conflicts exit 5 with kaiju codes', async () => {
    const cases: [string[], string, number][] = [
      [['--username', 'ab', '--email', 'x@example.com'], 'auth.user.invalid_username', 6],
      [['--username', 'valid_1', '--email', 'not-an-email'], 'auth.user.invalid_email', 6],
      [['--username', 'alice', '--email', 'other@example.com'], 'auth.user.exists', 5],
      [['--username', 'other', '--email', 'alice@example.com'], 'auth.user.exists', 5],
      [['--username', 'valid_2', '--email', 'v2@example.com', '--group', 'ghosts'], 'auth.group.not_found', 4],
    ];
    for (const [args, code, exit] of cases) {
      const r = await cli(['user', 'register', ...args, '--password-stdin', '--json'], { input: `${PW}\n` });
      expect([r.code, r.errorJson().error.code], args.join(' ')).toEqual([exit, code]);
    }
    for (const bad of ['short1', 'no digits in this one', `${'ж'.repeat(36)}1`]) {
      const r = await cli(['user', 'register', '--username', 'weakling', '--email', 'w@example.com', '--password-stdin', '--json'], { input: `${bad}\n` });
      expect([r.code, r.errorJson().error.code]).toEqual([6, 'auth.user.invalid_password']);
    }
    expect((await cli(['user', 'register', '--username', 'bad', '--rounds', '99', '--password-stdin'], { input: `${PW}\n` })).code).toBe(2);
  });

  it('shows and lists users as JSON, with filters and paging', async () => {
    const show = await cli(['user', 'show', 'alice', '--json']);
    expect(show.code).toBe(0);
    expect(show.json()).toMatchObject({ username: 'alice', groups: ['editors'], permissions: ['docs.read', 'docs.write'] });
    const list = await cli(['user', 'list', '--json']);
    const users = list.json();
    expect(Array.isArray(users)).toBe(true);
    expect(users.map((u: { username: string }) => u.username)).toEqual(['alice', 'bobby', 'carol']);
    expect(Object.keys(users[0]).sort()).toEqual(USER_KEYS);
    expect(list.stderr).toContain('3 of 3 users shown');
    const page = await cli(['user', 'list', '--limit', '1', '--offset', '1', '--json']);
    expect(page.json().map((u: { username: string }) => u.username)).toEqual(['bobby']);
    expect(page.stderr).toContain('1 of 3 users shown from offset 1 (--offset 2 for more)');
    expect((await cli(['user', 'list', '--group', 'editors', '--json'])).json()).toHaveLength(1);
    expect((await cli(['user', 'list', '--search', 'CAR', '--json'])).json()[0].username).toBe('carol');
    const text = await cli(['user', 'list']);
    expect(text.stdout.split('\n')[0]).toMatch(/^USERNAME\s+EMAIL/);
    expect((await cli(['user', 'list', '--limit', 'x'])).code).toBe(2);
  });

  it('updates email, full name and settings (JSON where it parses, else a string)', async () => {
    const r = await cli(['user', 'update', 'alice', '--email', 'alice@new.example.com', '--set', 'theme=dark', '--set', 'limits={"daily":5}', '--set', 'beta=true', '--set', 'n=42', '--json']);
    expect(r.code).toBe(0);
    expect(r.json()).toMatchObject({ email: 'alice@new.example.com', settings: { theme: 'dark', limits: { daily: 5 }, beta: true, n: 42 } });
    const u = await cli(['user', 'update', 'alice', '--unset', 'beta', '--clear-full-name', '--json']);
    expect(u.json()).toMatchObject({ full_name: null, settings: { theme: 'dark', limits: { daily: 5 }, n: 42 } });
    expect((await cli(['user', 'update', 'alice', '--email', 'bob@example.com'])).code).toBe(5);
    expect((await cli(['user', 'update', 'alice', '--email', 'nope'])).code).toBe(6);
    expect((await cli(['user', 'update', 'alice'])).code).toBe(2);
    // A malformed --set is a usage error (exit 2), as every malformed argument (issue 13 item 5).
    const malformed = await cli(['user', 'update', 'alice', '--set', 'novalue', '--json']);
    expect([malformed.code, malformed.errorJson().error.code]).toEqual([2, 'cli.usage']);
    expect((await cli(['user', 'update', 'ghost', '--full-name', 'x'])).code).toBe(4);
  });

  it('passwd: wrong old password exit 3, same password exit 6; set-password resets', async () => {
    const wrong = await cli(['user', 'passwd', 'alice', '--password-stdin', '--json'], { input: `wrong password 1\n${PW2}\n` });
    expect([wrong.code, wrong.errorJson().error.code]).toEqual([3, 'auth.user.authentication_failed']);
    const same = await cli(['user', 'passwd', 'alice', '--password-stdin', '--json'], { input: `${PW}\n${PW}\n` });
    expect([same.code, same.errorJson().error.code]).toEqual([6, 'auth.user.identical_passwords_supplied']);
    expect((await cli(['user', 'passwd', 'alice', '--password-stdin'], { input: `${PW}\n` })).code).toBe(2);
    const ok = await cli(['user', 'passwd', 'alice', '--password-stdin', '--json'], { input: `${PW}\n${PW2}\n` });
    expect([ok.code, ok.json()]).toEqual([0, { username: 'alice', changed: true }]);
    expect((await cli(['user', 'set-password', 'alice', '--password-stdin', '-q'], { input: `${PW}\n` })).code).toBe(0);
    expect((await cli(['user', 'passwd', 'alice', '--password-stdin', '-q'], { input: `${PW}\n${PW2}\n` })).code).toBe(0);
    expect((await cli(['user', 'set-password', 'ghost', '--password-stdin'], { input: `${PW}\n` })).code).toBe(4);
    // An unknown user is not found (exit 4), for passwd too, not an authentication failure.
    const ghost = await cli(['user', 'passwd', 'ghost', '--password-stdin', '--json'], { input: `${PW}\n${PW2}\n` });
    expect([ghost.code, ghost.errorJson().error.code]).toEqual([4, 'auth.user.not_found']);
  });

  it('blocked and inactive users cannot authenticate until restored', async () => {
    const block = await cli(['user', 'block', 'bobby', '--json']);
    expect(block.json()).toMatchObject({ username: 'bobby', is_blocked: true });
    expect((await cli(['user', 'passwd', 'bobby', '--password-stdin'], { input: `${PW2}\n${PW}\n` })).code).toBe(3);
    expect((await cli(['user', 'block', 'bobby'])).stdout).toContain('already');
    expect((await cli(['user', 'unblock', 'bobby', '-q'])).code).toBe(0);
    expect((await cli(['user', 'deactivate', 'carol', '--json'])).json()).toMatchObject({ is_active: false });
    expect((await cli(['user', 'list', '--inactive', '--json'])).json().map((u: { username: string }) => u.username)).toEqual(['carol']);
    expect((await cli(['user', 'passwd', 'carol', '--password-stdin'], { input: `${PW2}\n${PW}\n` })).code).toBe(3);
    expect((await cli(['user', 'activate', 'carol', '-q'])).code).toBe(0);
    expect((await cli(['user', 'passwd', 'carol', '--password-stdin', '-q'], { input: `${PW2}\n${PW}\n` })).code).toBe(0);
    expect((await cli(['user', 'block', 'ghost'])).code).toBe(4);
  });

  it('shows and changes groups; unknown group exit 4 and nothing changes', async () => {
    expect((await cli(['user', 'groups', 'bobby', '--json'])).json()).toEqual([]);
    const add = await cli(['user', 'groups', 'bobby', '--add', 'readers,editors', '--json']);
    expect(add.json()).toEqual({ username: 'bobby', groups: ['editors', 'readers'], added: ['editors', 'readers'], removed: [] });
    const mod = await cli(['user', 'groups', 'bobby', '--remove', 'editors', '--json']);
    expect(mod.json()).toMatchObject({ groups: ['readers'], removed: ['editors'] });
    expect((await cli(['user', 'groups', 'bobby', '--set', 'readers,ghosts'])).code).toBe(4);
    expect((await cli(['user', 'groups', 'bobby', '--json'])).json()).toEqual(['readers']);
    expect((await cli(['user', 'groups', 'bobby', '--set', 'editors', '--add', 'readers'])).code).toBe(2);
    expect((await cli(['user', 'permissions', 'bobby', '--json'])).json()).toEqual(['docs.read']);
    expect((await cli(['user', 'groups', 'bobby', '--set', '', '--json'])).json()).toMatchObject({ groups: [] });
    expect((await cli(['user', 'permissions', 'ghost'])).code).toBe(4);
  });

  it('delete needs -y without a terminal (exit 8), then removes the user', async () => {
    const refused = await cli(['user', 'delete', 'carol', '--json']);
    expect([refused.code, refused.errorJson().error.code]).toEqual([8, 'cli.not_confirmed']);
    expect((await cli(['user', 'show', 'carol'])).code).toBe(0);
    const ok = await cli(['user', 'delete', 'carol', '-y', '--json']);
    expect(ok.json()).toMatchObject({ username: 'carol', deleted: true });
    expect((await cli(['user', 'show', 'carol'])).code).toBe(4);
    expect((await cli(['user', 'delete', 'carol', '-y'])).code).toBe(4);
  });

  it('20 concurrent registrations of one username: one success, 19 conflicts (exit 5)', async () => {
    const runs = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        runCli([...target.args, '--lock-timeout', '120s', 'user', 'register', '--username', 'racer', '--email', `racer${i}@example.com`, '--password-stdin', '--json'], {
          input: `${PW}\n`,
          timeoutMs: 180_000,
        }),
      ),
    );
    outputs.push(...runs);
    const codes = runs.map((r) => r.code).sort();
    expect(codes).toEqual([0, ...Array(19).fill(5)]);
    for (const r of runs.filter((x) => x.code === 5)) expect(r.errorJson().error.code).toBe('auth.user.exists');
  }, 240_000);
});
