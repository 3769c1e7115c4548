/**
 * `--dry-run` of every write command, on both databases: it reports the change as the real run
 * would (the same output, with `"dry_run": true` in JSON and a last line saying nothing changed),
 * fails as the real run would (a duplicate is still exit 5), asks nothing, and leaves every table
 * exactly as it was, the audit log included, and no key secret file behind.
 */
import { generateKeyPairSync } from 'node:crypto';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Knex } from 'knex';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildProgram } from '../../dist/src/cli/program.js';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliOptions, type CliTarget } from '../support/cli.js';
import { epoch, insertKaijuSession } from '../support/kaiju-rows.js';

const PW = 'dry run password 123';
const SECRET = 'dry run test key secret, long enough';

afterAll(removeTempDirs);

/** Every table's rows, as one digest each: any insert, update or delete shows. */
async function tableDigests(knex: Knex): Promise<Record<string, string>> {
  const tables = (await knex('information_schema.tables').where({ table_schema: 'public', table_type: 'BASE TABLE' }).pluck('table_name')) as string[];
  const out: Record<string, string> = {};
  for (const table of tables.sort()) {
    const row = await knex.raw(`select count(*)::int as n, md5(coalesce(string_agg(t::text, '|' order by t::text), '')) as digest from "${table}" t`);
    const r = (row.rows ?? row)[0] as { n: number; digest: string };
    out[table] = `${r.n}:${r.digest}`;
  }
  return out;
}

/** The write commands with the generic dry run, each with arguments that would change something. */
function cases(tmp: string): [string, string[], CliOptions?][] {
  return [
    ['user register', ['--username', 'carol', '--email', 'carol@example.com', '--group', 'editors', '--password-stdin'], { input: `${PW}\n` }],
    ['user update', ['alice', '--full-name', 'Alice A', '--set', 'theme=dark']],
    ['user passwd', ['alice', '--password-stdin'], { input: `${PW}\n${PW} 2\n` }],
    ['user set-password', ['alice', '--password-stdin'], { input: `${PW} 3\n` }],
    ['user block', ['alice']],
    ['user unblock', ['bob_blocked']],
    ['user deactivate', ['alice']],
    ['user activate', ['bob_blocked']],
    ['user delete', ['alice']],
    ['user groups', ['alice', '--add', 'reviewers', '--remove', 'editors']],
    ['user import', [path.join(tmp, 'people.csv')]],
    ['group create', ['writers', '--description', 'Writers']],
    ['group delete', ['editors']],
    ['group grant', ['reviewers', 'docs.write']],
    ['group revoke', ['editors', 'docs.write']],
    ['group set-permissions', ['editors', 'docs.read']],
    ['permission create', ['docs.publish', '--tag', 'docs']],
    ['permission enable', ['docs.off']],
    ['permission disable', ['docs.read']],
    ['permission delete', ['docs.write']],
    ['session revoke', ['--user', 'alice']],
    ['session prune', []],
    ['keys rotate', ['--now']],
    ['keys import', [path.join(tmp, 'key.pem')]],
    ['audit prune', ['--older-than', '1s']],
  ];
}

describe.each(BACKENDS)('--dry-run of every write command on %s', (backend) => {
  let t: CliTarget;
  const run = (args: string[], options: CliOptions = {}) =>
    runCli([...t.args, '-q', ...args], { ...options, env: { KAIJU_AUTH_SECRET: backend === 'postgres' ? SECRET : undefined, ...options.env } });
  const ok = async (args: string[], options: CliOptions = {}) => {
    const r = await run(args, options);
    expect(r.code, `kaiju-auth ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };
  const digests = () => t.withKnex(tableDigests);

  beforeAll(async () => {
    t = await cliTarget(backend);
    for (const p of ['docs.read', 'docs.write', 'docs.off']) await ok(['permission', 'create', p, '--tag', 'docs']);
    await ok(['permission', 'disable', 'docs.off']);
    await ok(['group', 'create', 'editors']);
    await ok(['group', 'create', 'reviewers']);
    await ok(['group', 'grant', 'editors', 'docs.read', 'docs.write']);
    await ok(['user', 'register', '--username', 'alice', '--email', 'alice@example.com', '--group', 'editors', '--password-stdin'], { input: `${PW}\n` });
    await ok(['user', 'register', '--username', 'bob_blocked', '--email', 'bob@example.com', '--password-stdin'], { input: `${PW}\n` });
    await ok(['user', 'block', 'bob_blocked']);
    await ok(['user', 'deactivate', 'bob_blocked']);
    await ok(['keys', 'rotate']);
    await t.withKnex(async (knex) => {
      const alice = await knex('users').where({ username: 'alice' }).first('id');
      await insertKaijuSession(knex, { userId: alice.id, expires: epoch(new Date()) + 3600 });
      await insertKaijuSession(knex, { userId: alice.id, expires: epoch(new Date()) - 3600 });
    });
    await writeFile(path.join(t.tmp, 'people.csv'), `username,email,password,groups\ndave,dave@example.com,${PW},editors\n`);
    await writeFile(
      path.join(t.tmp, 'key.pem'),
      String(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' })),
    );
  }, 180_000);
  afterAll(async () => t?.cleanup());

  it('every command with the generic dry run is tried here', async () => {
    const io = { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: {} };
    const program = await buildProgram({ io, onRuntime: () => undefined });
    const withDryRun: string[] = [];
    for (const group of program.commands) {
      for (const sub of group.commands) {
        const option = sub.options.find((o) => o.long === '--dry-run');
        if (option?.description.startsWith('make the change in a transaction that is rolled back')) withDryRun.push(`${group.name()} ${sub.name()}`);
      }
    }
    expect(withDryRun.sort()).toEqual(cases(t.tmp).map(([c]) => c).sort());
  });

  it.each(cases('').map(([command], i) => [command, i] as const))('%s --dry-run reports the change, changes nothing (audit log included), asks nothing', async (command, i) => {
    const [, args, options] = cases(t.tmp)[i] as [string, string[], CliOptions?];
    const before = await digests();
    const r = await run([...command.split(' '), ...args, '--dry-run'], options);
    expect(r.code, `${command} --dry-run\n${r.stderr}`).toBe(0);
    expect(r.stdout, command).toMatch(/dry run: rolled back, nothing was changed\n$/);
    expect(await digests(), `${command} --dry-run changed the database`).toEqual(before);
    if (t.dataDir) expect((await readdir(t.dataDir)).sort()).toEqual(['pgdata', 'secret']);
  }, 120_000);

  it('says what the change would be, in JSON too', async () => {
    const delete_ = JSON.parse(await ok(['user', 'delete', 'alice', '--dry-run', '--json']));
    expect(delete_).toMatchObject({ dry_run: true, username: 'alice', deleted: true, sessions_removed: 2 });
    const grant = await ok(['group', 'grant', 'reviewers', 'docs.read', 'docs.write', '--dry-run']);
    expect(grant).toMatch(/\+ docs.read, docs.write/);
    const prune = JSON.parse(await ok(['session', 'prune', '--dry-run', '--json']));
    expect(prune).toMatchObject({ dry_run: true, deleted: 1 });
    // And the real run does what the dry run said.
    expect(JSON.parse(await ok(['session', 'prune', '--json']))).toMatchObject({ deleted: 1 });
  });

  it('fails as the real change would: a duplicate is still exit 5, a missing user exit 4', async () => {
    const before = await digests();
    const dup = await run(['user', 'register', '--username', 'alice', '--email', 'other@example.com', '--password-stdin', '--dry-run'], { input: `${PW}\n` });
    expect(dup.code, dup.stderr).toBe(5);
    const missing = await run(['user', 'block', 'nobody_here', '--dry-run']);
    expect(missing.code, missing.stderr).toBe(4);
    expect(await digests()).toEqual(before);
  });
});
