/**
 * The exit codes and error output of the schema commands, through the built binary: usage errors,
 * bad and unreachable URLs (password never shown), a missing database, a schema that is not ours,
 * `--json` errors, `--version` and `--help` (every command's help has examples).
 */
import { randomBytes } from 'node:crypto';
import { createRequire } from 'node:module';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Command } from 'commander';
import type * as ProgramModule from '../../src/cli/program.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ADMIN_URL, BACKENDS, createPgDatabase, databaseUrl, dropPgDatabase } from '../support/db.js';
import { cliTarget, emptyDataDir, removeTempDirs, ROOT, runCli, type CliResult, type CliTarget } from '../support/cli.js';

// The program as built (it reads package.json relative to dist/), like the binary the tests run.
const { buildProgram } = (await import(
  pathToFileURL(path.join(ROOT, 'dist', 'src', 'cli', 'program.js')).href
)) as typeof ProgramModule;

const pkg = createRequire(import.meta.url)('../../package.json') as { version: string };
const SECRET = 'Tr0ub4dor-S3cret';

afterAll(removeTempDirs);

/** An error run: the exit code, nothing on stdout, one line on stderr, and no secret anywhere. */
function expectOneLineError(r: CliResult, exit: number): string {
  expect(r.code, r.stderr).toBe(exit);
  expect(r.stdout).toBe('');
  const lines = r.stderr.trim().split('\n');
  expect(lines, r.stderr).toHaveLength(1);
  expect(r.stderr).not.toContain(SECRET);
  expect(r.stderr).not.toMatch(/\n\s+at /);
  return lines[0] as string;
}

function expectJsonError(r: CliResult, exit: number, code: string) {
  expect(r.code, r.stderr).toBe(exit);
  expect(r.stdout).toBe('');
  expect(r.stderr).not.toContain(SECRET);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  const doc = r.errorJson();
  expect(doc.error).toMatchObject({ code, exit });
  expect(typeof doc.error.message).toBe('string');
  return doc.error;
}

describe('usage errors exit 2', () => {
  it.each([
    [['bogus'], /unknown command 'bogus'/],
    [['--bogus'], /unknown option '--bogus'/],
    [['status', '--bogus'], /unknown option '--bogus'/],
    [['migrate', 'sideways'], /too many arguments|unknown command/],
    [['status', 'extra'], /too many arguments/],
    [['status', '--data-dir'], /argument missing/],
    [['status', '--lock-timeout', 'soon'], /invalid --lock-timeout "soon": expected a duration/],
  ])('kaiju-auth %j', async (args, message) => {
    const r = await runCli(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(message);
    const json = await runCli(['--json', ...args]);
    expect(json.code).toBe(2);
    expect(json.stdout).toBe('');
    expect(json.errorJson().error).toMatchObject({ code: 'cli.usage', exit: 2 });
  });

  it('no command at all shows the help on stderr and exits 2', async () => {
    const r = await runCli([]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toContain('Usage: kaiju-auth');
  });

  it('a bad setting in the environment is a usage error too', async () => {
    const dir = await emptyDataDir();
    const r = await runCli(['status', '--data-dir', dir], { env: { KAIJU_AUTH_BCRYPT_ROUNDS: '99' } });
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/KAIJU_AUTH_BCRYPT_ROUNDS/);
  });
});

describe('a usage error is one line plus a hint naming the help of the command it is about', () => {
  it.each([
    [['usr'], /^kaiju-auth: unknown command 'usr' \(did you mean user\?\)$/, 'kaiju-auth --help'],
    [['user', 'lst'], /unknown command 'lst' \(did you mean list\?\)$/, 'kaiju-auth user --help'],
    [['user', 'register'], /required option '--username <username>' not specified$/, 'kaiju-auth user register --help'],
    [['user', 'list', '--limt', '3'], /unknown option '--limt' \(did you mean --limit\?\)$/, 'kaiju-auth user list --help'],
    [['keys', 'revoke'], /missing required argument 'kid'$/, 'kaiju-auth keys revoke --help'],
  ])('kaiju-auth %j', async (args, message, help) => {
    const r = await runCli(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stdout).toBe('');
    const lines = r.stderr.trimEnd().split('\n');
    expect(lines, r.stderr).toHaveLength(2);
    expect(lines[0]).toMatch(message);
    expect(lines[1]).toBe(`(run ${help} for usage)`);
    // The command the hint names exists: its help runs.
    const shown = await runCli([...help.split(' ').slice(1)]);
    expect(shown.code, shown.stderr).toBe(0);
  });

  it('`help user register` shows the help of `user register`, as `user register --help` does', async () => {
    const [viaHelp, viaFlag] = await Promise.all([runCli(['help', 'user', 'register']), runCli(['user', 'register', '--help'])]);
    expect(viaHelp.code, viaHelp.stderr).toBe(0);
    expect(viaHelp.stdout).toMatch(/^Usage: kaiju-auth user register /);
    expect(viaHelp.stdout).toBe(viaFlag.stdout);
    const global = await runCli(['--quiet', 'help', 'keys', 'rotate']);
    expect(global.stdout).toMatch(/^Usage: kaiju-auth keys rotate /);
  });
});

describe('database URLs', () => {
  it.each([
    [`mysql://app:${SECRET}@db.internal/app`],
    [`postgres://app:${SECRET}@db.internal:99999/app`],
    [`postgres://app:${SECRET}@db.internal:port/app`],
    [`postgresql://app:${SECRET}@[::1/app`],
  ])('a malformed URL exits 2 without showing the password: %s', async (url) => {
    expectOneLineError(await runCli(['status', '--database-url', url]), 2);
    expectJsonError(await runCli(['status', '--json', '--database-url', url]), 2, 'db.invalid_url');
  });

  it('an unreachable server exits 7 with one line naming the target, password redacted', async () => {
    const url = `postgres://kaiju:${SECRET}@127.0.0.1:1/kaiju`;
    for (const command of [['status'], ['migrate'], ['migrate', 'status'], ['init']]) {
      // init checks its own preconditions first (a key secret on PostgreSQL: exit 2 without one).
      const env = command[0] === 'init' ? { KAIJU_AUTH_SECRET: 'errors test key secret, long enough' } : {};
      const line = expectOneLineError(await runCli([...command, '--database-url', url], { env }), 7);
      expect(line).toBe('kaiju-auth: cannot connect to PostgreSQL postgres://kaiju:***@127.0.0.1:1/kaiju: connection refused');
    }
    const error = expectJsonError(await runCli(['status', '--json', '--database-url', url]), 7, 'db.unavailable');
    expect(error.message).toContain('127.0.0.1:1');
  });

  it('a wrong password exits 7 saying so, and the password reaches only the server', async () => {
    // A stand-in server speaking just enough of the PostgreSQL protocol to ask for a password and refuse it.
    const received: string[] = [];
    const server = net.createServer((socket) => {
      let buffered = Buffer.alloc(0);
      let started = false;
      socket.on('data', (chunk: Buffer) => {
        buffered = Buffer.concat([buffered, chunk]);
        if (!started && buffered.length >= 4 && buffered.length >= buffered.readInt32BE(0)) {
          started = true;
          buffered = buffered.subarray(buffered.readInt32BE(0));
          socket.write(Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3])); // AuthenticationCleartextPassword
        }
        if (started && buffered.length >= 5 && buffered[0] === 0x70 && buffered.length >= 1 + buffered.readInt32BE(1)) {
          received.push(buffered.subarray(5, buffered.readInt32BE(1)).toString('utf8').replace(/\0$/, ''));
          const fields = ['SFATAL', 'VFATAL', 'C28P01', 'Mpassword authentication failed for user "kaiju"'];
          const body = Buffer.concat([...fields.map((f) => Buffer.from(`${f}\0`)), Buffer.from([0])]);
          const head = Buffer.alloc(5);
          head[0] = 0x45; // ErrorResponse
          head.writeInt32BE(body.length + 4, 1);
          socket.end(Buffer.concat([head, body]));
        }
      });
      socket.on('error', () => undefined);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const port = (server.address() as net.AddressInfo).port;
      const url = `postgres://kaiju:${SECRET}@127.0.0.1:${port}/kaiju`;
      const line = expectOneLineError(await runCli(['status', '--database-url', url]), 7);
      expect(line).toBe(`kaiju-auth: cannot connect to PostgreSQL postgres://kaiju:***@127.0.0.1:${port}/kaiju: password authentication failed`);
      expectJsonError(await runCli(['migrate', '--json', '--database-url', url]), 7, 'db.unavailable');
      const viaEnv = await runCli(['status', '--database-url', `postgres://kaiju@127.0.0.1:${port}/kaiju`], { env: { PGPASSWORD: SECRET } });
      expect(expectOneLineError(viaEnv, 7)).toMatch(/password authentication failed$/);
      expect(received.length).toBeGreaterThanOrEqual(3);
      expect(new Set(received)).toEqual(new Set([SECRET]));
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('a password from PGPASSWORD is never shown either', async () => {
    const r = await runCli(['status', '--database-url', 'postgres://kaiju@127.0.0.1:1/kaiju'], { env: { PGPASSWORD: SECRET } });
    expect(expectOneLineError(r, 7)).toContain('postgres://kaiju@127.0.0.1:1/kaiju');
  });

  it('takes the URL from --database-url, else KAIJU_AUTH_DATABASE_URL, else DATABASE_URL', async () => {
    const env = {
      KAIJU_AUTH_DATABASE_URL: `postgres://from-kaiju-env:${SECRET}@127.0.0.1:2/x`,
      DATABASE_URL: `postgres://from-database-url:${SECRET}@127.0.0.1:3/x`,
    };
    const flag = await runCli(['status', '--database-url', `postgres://from-flag:${SECRET}@127.0.0.1:1/x`], { env });
    expect(expectOneLineError(flag, 7)).toContain('from-flag:***@127.0.0.1:1');
    expect(expectOneLineError(await runCli(['status'], { env }), 7)).toContain('from-kaiju-env:***@127.0.0.1:2');
    const last = await runCli(['status'], { env: { DATABASE_URL: env.DATABASE_URL } });
    expect(expectOneLineError(last, 7)).toContain('from-database-url:***@127.0.0.1:3');
    // An empty variable counts as unset.
    const empty = await runCli(['status'], { env: { ...env, KAIJU_AUTH_DATABASE_URL: '' } });
    expect(expectOneLineError(empty, 7)).toContain('from-database-url:***@127.0.0.1:3');
  });

  it.runIf(ADMIN_URL)('a role the server refuses exits 7 with the server\'s words, and changes nothing', async () => {
    const { default: knexFactory } = await import('knex');
    const db = await createPgDatabase();
    const role = `kaiju_test_role_${randomBytes(4).toString('hex')}`;
    const admin = knexFactory({ client: 'pg', connection: db.url, pool: { min: 0, max: 1 } });
    try {
      await admin.raw(`CREATE ROLE ${role} LOGIN`);
      const url = new URL(db.url);
      url.username = role;
      // PostgreSQL 15+: nobody but the owner may create in schema public.
      await admin.raw(`REVOKE CREATE ON SCHEMA public FROM PUBLIC`);
      const line = expectOneLineError(await runCli(['migrate', '-q', '--database-url', url.toString()]), 7);
      expect(line).toMatch(/the database refused: permission denied for schema public/);
      expectJsonError(await runCli(['migrate', '--json', '-q', '--database-url', url.toString()]), 7, 'db.permission_denied');
      const tables = await admin('pg_tables').where({ schemaname: 'public' }).pluck('tablename');
      expect(tables).toEqual([]);
      // Migrated by its owner, the schema is there but this role may not read it: still 7, not 1.
      expect((await runCli(['migrate', '--database-url', db.url])).code).toBe(0);
      const read = expectOneLineError(await runCli(['user', 'list', '-q', '--database-url', url.toString()]), 7);
      expect(read).toMatch(/the database refused: permission denied for table \w+/);
    } finally {
      await admin.destroy();
      await dropPgDatabase(db.name);
      const cleanup = knexFactory({ client: 'pg', connection: ADMIN_URL as string, pool: { min: 0, max: 1 } });
      await cleanup.raw(`DROP ROLE IF EXISTS ${role}`).finally(() => cleanup.destroy());
    }
  });

  it.runIf(ADMIN_URL)('a role missing on a running server exits 7 with the server\'s words, as psql says it', async () => {
    const url = new URL(ADMIN_URL as string);
    url.username = 'kaiju_test_no_such_role';
    url.password = '';
    const line = expectOneLineError(await runCli(['status', '--database-url', url.toString()]), 7);
    expect(line).toMatch(/: not authorized: role "kaiju_test_no_such_role" does not exist$/);
  });

  it.runIf(ADMIN_URL)('a database missing on a running server exits 7 naming it', async () => {
    const url = databaseUrl(ADMIN_URL as string, 'kaiju_test_does_not_exist');
    const line = expectOneLineError(await runCli(['status', '--database-url', url]), 7);
    expect(line).toMatch(/cannot connect to PostgreSQL postgres:\/\/.*\/kaiju_test_does_not_exist: database does not exist$/);
    expectJsonError(await runCli(['migrate', '--json', '--database-url', url]), 7, 'db.unavailable');
  });
});

describe('an embedded data directory without a database', () => {
  it('exits 7 for commands that need one, saying to run init, and creates nothing', async () => {
    const dir = await emptyDataDir();
    for (const command of [['status'], ['migrate', 'status'], ['migrate', 'down', '-y']]) {
      const line = expectOneLineError(await runCli([...command, '--data-dir', dir]), 7);
      expect(line).toMatch(/no embedded database at .*run `kaiju-auth init`/);
    }
    expectJsonError(await runCli(['status', '--json', '--data-dir', dir]), 7, 'db.schema_missing');
  });
});

describe.each(BACKENDS)('a database that is not kaiju_auth 2.1.0 on %s', (backend) => {
  let target: CliTarget | undefined;
  afterEach(async () => target?.cleanup());

  it('migrate exits 5 (conflict), names the table, and changes nothing', async () => {
    target = await cliTarget(backend, { migrate: false });
    await target.withKnex((knex) => knex.raw('create table users (id uuid primary key, name text)'));
    const error = expectJsonError(await runCli(['migrate', '--json', '-q', ...target.args]), 5, 'db.schema_conflict');
    expect(error.message).toMatch(/table "users" exists but lacks column/);
    const status = await runCli(['migrate', 'status', '--json', '-q', ...target.args]);
    expect(status.json().every((m: { applied: boolean }) => !m.applied)).toBe(true);
  });
});

/**
 * Every command path of the program a user is shown: [['init'], ['migrate'], ['migrate', 'down'],
 * ...]. Hidden commands (`__complete`, which only the completion scripts call) are not documented
 * commands and are left out, as help leaves them out.
 */
async function commandPaths(): Promise<string[][]> {
  const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: {} };
  const program = await buildProgram({ io, onRuntime: () => undefined });
  const help = program.createHelp();
  const paths: string[][] = [];
  const walk = (cmd: Command, prefix: string[]) => {
    for (const sub of help.visibleCommands(cmd).filter((c) => cmd.commands.includes(c))) {
      const p = [...prefix, sub.name()];
      paths.push(p);
      walk(sub, p);
    }
  };
  walk(program, []);
  return paths;
}

const paths = await commandPaths();

describe('--version and --help', () => {
  it.each([['--version'], ['-V']])('%s prints the package version and exits 0', async (flag) => {
    const r = await runCli([flag]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
    expect(r.stderr).toBe('');
  });

  it.each([['--help'], ['-h'], ['help']])('%s shows usage, examples and the exit codes; exit 0', async (flag) => {
    const r = await runCli([flag]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('Usage: kaiju-auth');
    expect(r.stdout).toMatch(/Examples:\n {2}\$ kaiju-auth /);
    expect(r.stdout).toContain('Exit codes:');
  });

  it('the program has the schema commands at least', () => {
    expect(paths).toEqual(expect.arrayContaining([['init'], ['status'], ['migrate'], ['migrate', 'status'], ['migrate', 'down']]));
  });

  it.each(paths.map((p) => [p.join(' '), p] as const))('kaiju-auth %s --help shows an example; exit 0', async (_name, words) => {
    const r = await runCli([...words, '--help']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain(`Usage: kaiju-auth ${words.join(' ')}`);
    expect(r.stdout).toMatch(new RegExp(`Examples:\\n {2}\\$ (\\S+=\\S+ )?kaiju-auth ${words[0]}`));
    // What follows `$ ` is a shell command: a crontab line pasted at a prompt would glob `*`.
    for (const line of r.stdout.split('\n').filter((l) => l.startsWith('  $ '))) {
      expect(line, 'a crontab line shown as a shell command').not.toMatch(/^ {2}\$ (?:[\d*/,-]+\s+){5}/);
    }
  });
});
