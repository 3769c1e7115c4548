/**
 * Every command of the tool, once, on one PostgreSQL database, in an order that gives each what it
 * needs: the pass `.ci/run` makes through PgBouncer in transaction mode (KAIJU_AUTH_TEST_POOLER_URL,
 * see support/db.ts) runs this file to keep "works through PgBouncer" true for every command, not
 * only for the ones the integration tests reach. A command added to the tool without a step here
 * fails the last test. Each step must exit 0.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runnableCommands } from '../support/commands.js';
import { ADMIN_URL } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliOptions, type CliTarget } from '../support/cli.js';
import { epoch, insertKaijuSession, insertKaijuUser } from '../support/kaiju-rows.js';

const SECRET = 'every command test secret, long enough';
const PW = 'first password 1';
const PW2 = 'second password 2';

/** Commands that never open a database (nothing to try through a pooler). */
const NO_DATABASE = new Set(['completion', 'token inspect']);

afterAll(removeTempDirs);

describe.runIf(ADMIN_URL)('every command on PostgreSQL (through PgBouncer in the pooler pass)', () => {
  let t: CliTarget;
  const ran = new Set<string>();
  /** Run `kaiju-auth <command> ...args`, which must exit 0; returns stdout. */
  const run = async (command: string, args: string[] = [], options: CliOptions = {}) => {
    ran.add(command);
    const r = await runCli([...t.args, '-q', ...command.split(' '), ...args], { ...options, env: { KAIJU_AUTH_SECRET: SECRET, ...options.env } });
    expect(r.code, `kaiju-auth ${command} ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };

  beforeAll(async () => {
    t = await cliTarget('postgres', { create: false });
  });
  afterAll(async () => t?.cleanup());

  it('schema, fixtures, permissions and groups', async () => {
    await run('init');
    await run('migrate', ['--json']);
    await run('migrate status');
    await run('status', ['--json']);
    const fixtures = path.join(t.tmp, 'fixtures');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(fixtures);
    await writeFile(path.join(fixtures, 'permissions.json'), JSON.stringify([{ id: 'docs.read' }]));
    await writeFile(path.join(fixtures, 'groups.json'), JSON.stringify([{ data: { id: 'editors' }, permissions: ['docs.read'] }]));
    await writeFile(path.join(fixtures, 'users.json'), JSON.stringify([{ data: { username: 'alice', email: 'alice@example.com', password: PW }, groups: ['editors'] }]));
    await run('seed', [fixtures, '--json']);
    await run('dump', [path.join(t.tmp, 'dump'), '--with-hashes', '--json']);
    await run('permission create', ['docs.write', '--tag', 'docs']);
    await run('permission list', ['--json']);
    await run('permission show', ['docs.write']);
    await run('permission disable', ['docs.write']);
    await run('permission enable', ['docs.write']);
    await run('group create', ['writers']);
    await run('group list');
    await run('group show', ['writers']);
    await run('group grant', ['writers', 'docs.write']);
    await run('group permissions', ['writers']);
    await run('group revoke', ['writers', 'docs.write']);
    await run('group set-permissions', ['writers', 'docs.read', 'docs.write']);
    await run('group matrix');
  });

  it('users, import and export', async () => {
    await run('user register', ['--username', 'bobby', '--email', 'bobby@example.com', '--password-stdin'], { input: `${PW}\n` });
    await run('user list', ['--json']);
    // Hidden: what the completion scripts ask for names.
    expect(await run('__complete', ['users', 'bob'])).toBe('bobby\n');
    await run('user show', ['bobby']);
    await run('user update', ['bobby', '--full-name', 'Bob', '--set', 'locale=en']);
    await run('user passwd', ['bobby', '--password-stdin'], { input: `${PW}\n${PW2}\n` });
    await run('user set-password', ['bobby', '--password-stdin'], { input: `${PW}\n` });
    for (const c of ['block', 'unblock', 'deactivate', 'activate']) await run(`user ${c}`, ['bobby']);
    await run('user groups', ['bobby', '--add', 'writers']);
    await run('user permissions', ['bobby', '--json']);
    const file = path.join(t.tmp, 'people.csv');
    await writeFile(file, `username,email,password,full_name,groups\ncarol,carol@example.com,${PW},Carol,writers;editors\n`);
    expect(JSON.parse(await run('user import', [file, '--json'])).created).toEqual({ users: 1 });
    expect((await run('user export')).trim().split('\n')).toHaveLength(3);
  });

  it('keys and tokens', async () => {
    await run('keys rotate');
    await run('keys rotate', ['--if-older-than', '1s']); // publishes a next key
    await run('keys list', ['--json']);
    await run('keys jwks', ['--out', path.join(t.tmp, 'jwks.json'), '--if-changed']);
    await run('status', ['--check', '--jwks-file', path.join(t.tmp, 'jwks.json')]);
    const signing = (JSON.parse(await run('keys list', ['--json'])) as { kid: string; state: string }[]).find((k) => k.state === 'active');
    await run('keys revoke', [signing?.kid as string, '-y']);
    const newSecret = path.join(t.tmp, 'new-secret');
    await writeFile(newSecret, 'every command new secret, long enough\n', { mode: 0o600 });
    await run('keys rekey', ['--new-secret-file', newSecret]);
    const pem = path.join(t.tmp, 'key.pem');
    await writeFile(pem, String(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' })));
    await run('keys import', [pem], { env: { KAIJU_AUTH_NEW_SECRET: 'every command new secret, long enough' } });
    await run('keys prune');
    const newEnv = { env: { KAIJU_AUTH_SECRET: 'every command new secret, long enough' } };
    const pair = JSON.parse(await run('token issue', ['--username', 'bobby', '--password-stdin', '--json'], { input: `${PW}\n`, ...newEnv }));
    await run('token verify', [pair.access]);
    await run('token refresh', [pair.refresh, '--json'], newEnv);
    await run('token inspect', [pair.access]);
  });

  it('sessions, audit, deletions, migrate down', async () => {
    const id = await t.withKnex(async (k) => {
      const dave = await insertKaijuUser(k, 'dave_1');
      return insertKaijuSession(k, { userId: dave.id, expires: epoch(new Date()) + 3600 });
    });
    await run('session list', ['--json']);
    await run('session show', [id]);
    await run('session revoke', [id]);
    await run('session prune');
    await run('audit list', ['--json']);
    await run('audit prune', ['--older-than', '1d', '-y']);
    await run('user delete', ['bobby', '-y']);
    await run('group delete', ['writers', '-y']);
    await run('permission delete', ['docs.write', '-y']);
    await run('migrate down', ['-y', '--drop-data']);
    await run('completion', ['bash']);
  });

  it('no command of the tool was left out', async () => {
    const commands = await runnableCommands();
    expect(commands.length).toBeGreaterThan(45);
    const missing = commands.filter((c) => !ran.has(c) && !NO_DATABASE.has(c));
    expect(missing).toEqual([]);
  });
});
