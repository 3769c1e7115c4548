/** `seed`, `init`'s seed step, `user import` and `user export` through the built binary, on both backends. */
import { cp, mkdtemp, readdir, readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, ROOT, runCli, type CliTarget } from '../support/cli.js';
import { KAIJU_HASH, KAIJU_PASSWORD } from '../support/kaiju-ddl.js';

const PW = 'cli import pw 1';

describe.each(BACKENDS)('seed, import and export commands on %s', (backend) => {
  let t: CliTarget;
  let work: string;
  // init makes a signing key: on PostgreSQL that needs the key secret.
  // The users' passwords, which the fixtures the first test writes give by reference.
  const passwords = { PW_0: `${PW} 0`, PW_1: `${PW} 1`, PW_2: `${PW} 2`, PW_3: `${PW} 3` };
  const env: Record<string, string> = { ...passwords, ...(backend === 'postgres' ? { KAIJU_AUTH_SECRET: 'seed test key secret, long enough' } : {}) };
  const cli = (args: string[], opts: Parameters<typeof runCli>[1] = {}) => runCli([...t.args, ...args], { cwd: work, env, ...opts });
  const count = (table: string) => t.withKnex(async (k) => Number((await k(table).count({ n: '*' }).first())?.n));

  beforeAll(async () => {
    t = await cliTarget(backend);
    work = t.tmp;
    await cp(path.join(ROOT, 'fixtures'), path.join(work, 'fixtures'), { recursive: true });
  });
  afterAll(async () => {
    await t?.cleanup();
    await removeTempDirs();
  });

  it('init migrates and seeds ./fixtures/users, which make no account; seed again changes nothing', async () => {
    const init = await cli(['init', '--json', '-q']);
    expect(init.code).toBe(0);
    const doc = init.json<{ seed: { created: Record<string, string[]> } }>();
    // The repository's example fixtures hold permissions and groups, no user: the quick start
    // never makes an account whose password is published.
    expect(doc.seed.created.users).toEqual([]);
    expect(doc.seed.created.permissions).toHaveLength(14);
    expect(await count('users')).toBe(0);
    // Users come from fixtures of one's own; here with passwords by reference.
    const users = ['admin', 'editor', 'support_desk', 'auditor'].map((username, i) => ({
      data: { username, email: `${username}@example.com`, password_env: `PW_${i}` },
      groups: [['admins'], ['editors', 'readers'], ['support'], ['auditors']][i],
    }));
    await writeFile(path.join(work, 'fixtures', 'users', 'users.json'), JSON.stringify(users));
    const seeded = await cli(['seed', '--json', '-q']);
    expect(seeded.code, seeded.stderr).toBe(0);
    expect(seeded.json<{ created: Record<string, string[]> }>().created.users).toEqual(['admin', 'editor', 'support_desk', 'auditor']);
    const again = await cli(['seed', '--json', '-q']);
    expect(again.code).toBe(0);
    const report = again.json<{ created: Record<string, string[]>; updated: Record<string, string[]>; unchanged: Record<string, string[]>; errors: unknown[] }>();
    expect(report.created).toEqual({ permissions: [], groups: [], users: [] });
    expect(report.updated).toEqual({ permissions: [], groups: [], users: [] });
    expect(report.unchanged.groups).toEqual(['admins', 'editors', 'support', 'auditors', 'readers']);
    expect(report.errors).toEqual([]);
    const human = await cli(['seed', '-q']);
    expect(human.stdout).toMatch(/^nothing to do: 14 permissions, 5 groups, 4 users unchanged/);
    // The users can log in with the passwords their variables gave (old + new via stdin).
    const passwd = await cli(['user', 'passwd', 'editor', '--password-stdin', '-q'], { input: `${PW} 1\nanother editor pw 9\n` });
    expect(passwd.code, passwd.stderr).toBe(0);
  });

  it('seed DIR --dry-run prints the plan and writes nothing; problems exit 6 with file:line:col', async () => {
    const dir = path.join(work, 'edited');
    await cp(path.join(work, 'fixtures', 'users'), dir, { recursive: true });
    const groups = JSON.parse(await readFile(path.join(dir, 'groups.json'), 'utf8'));
    groups[1].permissions = ['documents.read'];
    await writeFile(path.join(dir, 'groups.json'), JSON.stringify(groups));
    const before = await count('group_permissions');
    const dry = await cli(['seed', dir, '--dry-run', '-q']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toMatch(/group\s+editors\s+update\s+permissions -documents\.publish -documents\.write/);
    expect(dry.stdout).toMatch(/user\s+admin\s+unchanged/);
    expect(await count('group_permissions')).toBe(before);

    await writeFile(path.join(dir, 'users.json'), '[\n  {"data": {"username": "x"}\n]');
    await writeFile(path.join(dir, 'permissions.json'), '[{"id": "documents.read"}, {"id": "bad id"}]');
    const bad = await cli(['seed', dir, '-q']);
    expect(bad.code).toBe(6);
    expect(bad.stderr).toContain(`${path.join(dir, 'users.json')}:3:1: $: invalid JSON`);
    expect(bad.stderr).toContain(`${path.join(dir, 'permissions.json')}: $[1].id:`);
    const badJson = await cli(['seed', dir, '--json', '-q']);
    expect(badJson.code).toBe(6);
    expect(badJson.json<{ errors: { code: string }[] }>().errors.map((e) => e.code)).toEqual(['auth.permission.invalid_id', 'data.file_invalid']);
    expect(JSON.parse(badJson.stderr).error).toMatchObject({ code: 'data.invalid', exit: 6 });
    expect(await count('group_permissions')).toBe(before);
    expect((await cli(['seed', path.join(work, 'missing'), '-q'])).code).toBe(2);
  });

  it('user import: report, invalid rows (exit 6, nothing written), conflicts (exit 5), --skip-invalid', async () => {
    const good = path.join(work, 'people.csv');
    await writeFile(good, `username,email,password,password_hash,full_name,groups\nimp_one,one@example.com,${PW},,One,readers\nimp_py,py@example.com,,${KAIJU_HASH},,editors;readers\n`);
    const r = await cli(['user', 'import', good, '--json', '-q']);
    expect(r.code).toBe(0);
    expect(r.json()).toEqual({ created: { users: 2 }, updated: { users: 0 }, unchanged: { users: 0 }, errors: [], rows: 2, skipped: 0, stopped: null });
    expect(r.stderr).toBe('');
    // The Python-made hash authenticates: passwd needs the old password.
    expect((await cli(['user', 'passwd', 'imp_py', '--password-stdin', '-q'], { input: `${KAIJU_PASSWORD}\nnew password for py 1\n` })).code).toBe(0);

    const conflict = await cli(['user', 'import', good, '-q']);
    expect(conflict.code).toBe(5);
    // One line (issue 13 item 5): where it stopped, what earlier batches imported, what to rerun with.
    expect(conflict.stdout).toBe('');
    expect(conflict.stderr.trim().split('\n')).toEqual([
      expect.stringMatching(/stopped at row 1 \(user imp_one already exists\).*0 user\(s\) of earlier batches were imported; rerun with --on-conflict skip/),
    ]);
    // A later batch: the first one stays imported, and the line says so.
    const later = path.join(work, 'later.jsonl');
    await writeFile(
      later,
      ['imp_a', 'imp_b', 'imp_one', 'imp_c', 'imp_d'].map((u) => JSON.stringify({ username: u, email: `${u}.later@example.com`, password: PW })).join('\n') + '\n',
    );
    const stopped = await cli(['user', 'import', later, '--batch-size', '2', '-q']);
    expect(stopped.code, stopped.stderr).toBe(5);
    expect(stopped.stderr.trim().split('\n')).toEqual([expect.stringMatching(/stopped at row 3 \(user imp_one already exists\).* 2 user\(s\) of earlier batches were imported/)]);
    const stoppedJson = await cli(['user', 'import', later, '--batch-size', '2', '--json', '-q']);
    expect(stoppedJson.code).toBe(5);
    expect(stoppedJson.json<{ stopped: { row: number } }>().stopped.row).toBeGreaterThan(0);
    expect(stoppedJson.errorJson().error).toMatchObject({ code: 'auth.user.exists', exit: 5 });
    expect((await cli(['user', 'import', later, '--on-conflict', 'skip', '-q'])).code).toBe(0);
    expect((await cli(['user', 'import', good, '--on-conflict', 'skip', '--json', '-q'])).code).toBe(0);

    const bad = path.join(work, 'bad.jsonl');
    await writeFile(bad, `{"username": "imp_two", "email": "two@example.com", "password": "${PW}"}\n{"username": "imp_3", "email": "nope", "password": "${PW}"}\n`);
    const users = await count('users');
    const invalid = await cli(['user', 'import', bad, '-q']);
    expect(invalid.code).toBe(6);
    expect(invalid.stderr).toMatch(/row 2 \(line 2\): email: .*\(auth\.user\.invalid_email\)/);
    expect(await count('users')).toBe(users);
    const partial = await cli(['user', 'import', bad, '--skip-invalid', '--json', '-q']);
    expect(partial.code).toBe(6);
    expect(partial.json<{ created: { users: number } }>().created.users).toBe(1);
    expect(await count('users')).toBe(users + 1);

    expect((await cli(['user', 'import', path.join(work, 'people.txt'), '-q'])).code).toBe(2);
    expect((await cli(['user', 'import', good, '--format', 'xml', '-q'])).code).toBe(2);
  });

  it('user import - reads stdin (--format required), names it "stdin", and leaves no spooled copy behind', async () => {
    const tmp = await mkdtemp(path.join(work, 'tmpdir-'));
    const opts = { env: { ...env, TMPDIR: tmp } };
    const rows = `{"username": "stdin_one", "email": "stdin1@example.com", "password": "${PW}", "groups": ["readers"]}\n` +
      `{"username": "stdin_two", "email": "stdin2@example.com", "password_hash": "${KAIJU_HASH}"}\n`;
    const r = await cli(['user', 'import', '-', '--format', 'jsonl', '--rounds', '4', '--json', '-q'], { ...opts, input: rows });
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ created: { users: 2 }, rows: 2 });
    const show = await cli(['user', 'show', 'stdin_one', '--json', '-q']);
    expect(show.json<{ groups: string[] }>().groups).toEqual(['readers']);

    const users = await count('users');
    const bad = await cli(['user', 'import', '-', '--format', 'csv', '-q'], { ...opts, input: 'username,email,password\nstdin_three,nope,short\n' });
    expect(bad.code).toBe(6);
    expect(bad.stderr).toMatch(/^stdin: row 1 \(line 2\): email: .*\(auth\.user\.invalid_email\)$/m);
    expect(bad.stderr).not.toContain('short');
    expect(await count('users')).toBe(users);

    const noFormat = await cli(['user', 'import', '-', '-q'], { ...opts, input: rows });
    expect(noFormat.code).toBe(2);
    expect(noFormat.stderr).toContain('--format');
    expect(await readdir(tmp)).toEqual([]);
  });

  it('user export: JSON Lines, CSV, a --json array; hashes only to a 0600 file; export then import round-trips', async () => {
    const jsonl = await cli(['user', 'export', '-q']);
    expect(jsonl.code).toBe(0);
    const lines = jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((u) => u.username)).toEqual([...lines.map((u) => u.username)].sort());
    expect(lines.find((u) => u.username === 'imp_py')).toEqual({
      username: 'imp_py', email: 'py@example.com', full_name: null, groups: ['editors', 'readers'], is_active: true, is_blocked: false, settings: {},
    });
    expect(jsonl.stdout).not.toContain('$2b$');
    const arr = await cli(['user', 'export', '--json', '-q']);
    expect(JSON.parse(arr.stdout)).toEqual(lines);
    const csv = await cli(['user', 'export', '--format', 'csv', '-q']);
    expect(csv.stdout.split('\n')[0]).toBe('username,email,full_name,groups,is_active,is_blocked,settings');

    const backup = path.join(work, 'backup.csv');
    const out = await cli(['user', 'export', '--with-hashes', '--format', 'csv', '--out', backup, '--json', '-q']);
    expect(out.code).toBe(0);
    expect(out.json()).toEqual({ exported: lines.length, file: backup, format: 'csv', with_hashes: true });
    expect((await stat(backup)).mode & 0o777).toBe(0o600);
    expect((await readFile(backup, 'utf8')).match(/\$2b\$\d\d\$/g)).toHaveLength(lines.length);

    const other = await cliTarget(backend);
    try {
      expect((await runCli([...other.args, 'migrate', '-q'])).code).toBe(0);
      const seed = await runCli([...other.args, 'seed', path.join(work, 'fixtures', 'users'), '-q', '--json'], { env: passwords });
      expect(seed.code).toBe(0);
      await other.withKnex((k) => k('users').delete());
      const back = await runCli([...other.args, 'user', 'import', backup, '--json', '-q']);
      expect(back.code).toBe(0);
      expect(back.json<{ created: { users: number } }>().created.users).toBe(lines.length);
      const again = await runCli([...other.args, 'user', 'export', '-q']);
      expect(again.stdout).toBe(jsonl.stdout);
      const dump = async (target: CliTarget) =>
        target.withKnex(async (k) => (await k('users').orderBy('username').select('username', 'password', 'salt')).map((u) => `${u.username} ${u.password.toString()} ${u.salt.toString()}`));
      expect(await dump(other)).toEqual(await dump(t));
    } finally {
      await other.cleanup();
    }
  });
});
