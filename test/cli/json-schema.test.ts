/**
 * Every command's `--json` output against its JSON Schema in docs/json (issue 13 item 8), on both
 * backends: each command of the tool runs once with `--json` (in an order that gives each what it
 * needs) and its stdout must validate against `docs/json/<command words>.schema.json`, whose
 * objects say `additionalProperties: false`: a new key, a camelCase key or a timestamp without
 * `Z` fails here until the schema (and CHANGELOG.md, when it breaks a script) says so.
 */
import { generateKeyPairSync } from 'node:crypto';
import { mkdir, readdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runnableCommands } from '../support/commands.js';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, ROOT, runCli, type CliOptions, type CliTarget } from '../support/cli.js';
import { epoch, insertKaijuSession, insertKaijuUser } from '../support/kaiju-rows.js';
import { nonSnakeKeys, validate } from '../support/json-schema.js';

const SCHEMAS = path.join(ROOT, 'docs', 'json');
const SECRET = 'json schema test secret, long enough';
const NEW_SECRET = 'json schema test new secret, long enough';
const PW = 'first password 1';
const PW2 = 'second password 2';

/** Commands whose stdout is not a `--json` document, and why. */
const NOT_JSON: Record<string, string> = {
  completion: 'prints a shell script',
  'user export': 'writes the export format (JSON lines or CSV), documented under Import and export',
  'keys jwks': 'prints a standard JWKS (RFC 7517), the document verifiers read',
  __complete: 'hidden: prints names for the completion scripts, one a line',
};

const schemaFile = (command: string) => path.join(SCHEMAS, `${command.replace(/ /g, '-')}.schema.json`);

afterAll(removeTempDirs);

describe('docs/json', () => {
  it('every schema is valid JSON, names only snake_case keys, and closes its objects', async () => {
    const files = (await readdir(SCHEMAS)).filter((f) => f.endsWith('.schema.json'));
    expect(files.length).toBeGreaterThan(40);
    for (const f of files) {
      const schema = JSON.parse(await readFile(path.join(SCHEMAS, f), 'utf8'));
      expect(nonSnakeKeys(schema), f).toEqual([]);
      const open: string[] = [];
      const walk = (s: unknown, at: string) => {
        if (!s || typeof s !== 'object') return;
        const o = s as Record<string, unknown>;
        if (o.properties !== undefined && o.additionalProperties !== false) open.push(at);
        for (const [k, v] of Object.entries(o)) walk(v, `${at}.${k}`);
      };
      walk(schema, '$');
      expect(open, `${f}: objects with properties must say additionalProperties: false`).toEqual([]);
    }
  });

  it('the validator finds what it must: an extra key, a missing one, a wrong type, a time without Z', () => {
    const schema = {
      type: 'object',
      properties: { id: { type: 'string' }, created: { type: 'string', format: 'date-time' }, n: { type: ['integer', 'null'] } },
      required: ['id', 'created', 'n'],
      additionalProperties: false,
    };
    expect(validate(schema, { id: 'a', created: '2026-12-05T02:04:05.123Z', n: null })).toEqual([]);
    expect(validate(schema, { id: 'a', created: '2026-12-05T02:04:05.123Z', n: 1, dryRun: true })).toEqual(['$: unexpected key "dryRun"']);
    expect(validate(schema, { id: 'a', n: 1 })).toEqual(['$: missing "created"']);
    expect(validate(schema, { id: 1, created: '2026-12-05T02:04:05Z', n: 1.5 })).toHaveLength(2);
    expect(validate(schema, { id: 'a', created: '2026-12-05 02:04:05', n: 1 })).toHaveLength(1);
    expect(validate({ type: 'object', patternProperties: {} }, {})[0]).toMatch(/does not check/);
  });
});

describe.each(BACKENDS)('every command --json against its schema on %s', (backend) => {
  let t: CliTarget;
  const ran = new Set<string>();
  /** Run `kaiju-auth <command> --json ...args` (exit 0) and check stdout against the command's schema. */
  const run = async (command: string, args: string[] = [], options: CliOptions = {}) => {
    ran.add(command);
    const r = await runCli([...t.args, '-q', '--json', ...command.split(' '), ...args], { timeoutMs: 180_000, ...options, env: { KAIJU_AUTH_SECRET: SECRET, ...options.env } });
    expect(r.code, `kaiju-auth ${command} ${args.join(' ')}\n${r.stderr}`).toBe(0);
    if (command in NOT_JSON) return r.stdout;
    const doc: unknown = JSON.parse(r.stdout);
    const schema = JSON.parse(await readFile(schemaFile(command), 'utf8'));
    expect(validate(schema, doc), `kaiju-auth ${command} ${args.join(' ')} --json:\n${r.stdout.slice(0, 2000)}`).toEqual([]);
    return r.stdout;
  };

  beforeAll(async () => {
    t = await cliTarget(backend, { create: false });
  });
  afterAll(async () => t?.cleanup());

  it('schema, fixtures, permissions and groups', { timeout: 900_000 }, async () => {
    await run('init');
    await run('migrate');
    await run('migrate', ['--dry-run']);
    await run('migrate status');
    await run('status');
    const fixtures = path.join(t.tmp, 'fixtures');
    await mkdir(fixtures);
    await writeFile(path.join(fixtures, 'permissions.json'), JSON.stringify([{ id: 'docs.read', tag: 'docs' }]));
    await writeFile(path.join(fixtures, 'groups.json'), JSON.stringify([{ data: { id: 'editors' }, permissions: ['docs.read'] }]));
    await writeFile(path.join(fixtures, 'users.json'), JSON.stringify([{ data: { username: 'alice', email: 'alice@example.com', password: PW }, groups: ['editors'] }]));
    await run('seed', [fixtures]);
    await run('seed', [fixtures, '--check']);
    await run('dump', [path.join(t.tmp, 'dump'), '--with-hashes']);
    await run('permission create', ['docs.write', '--tag', 'docs', '--description', 'write docs']);
    await run('permission list', ['--all']);
    await run('permission list', ['--by-tag']);
    await run('permission show', ['docs.write']);
    await run('permission disable', ['docs.write']);
    await run('permission enable', ['docs.write']);
    await run('group create', ['writers', '--tag', 'staff']);
    await run('group list');
    await run('group show', ['writers']);
    await run('group grant', ['writers', 'docs.write']);
    await run('group permissions', ['writers']);
    await run('group revoke', ['writers', 'docs.write']);
    await run('group set-permissions', ['writers', 'docs.read', 'docs.write']);
    await run('group set-permissions', ['writers', 'docs.read', '--dry-run']);
    await run('group matrix');
  });

  it('users, import and export', { timeout: 900_000 }, async () => {
    await run('user register', ['--username', 'bobby', '--email', 'bobby@example.com', '--group', 'writers', '--password-stdin'], { input: `${PW}\n` });
    await run('user list');
    expect(await run('__complete', ['users', 'bob'])).toBe('bobby\n');
    await run('user list', ['--collisions']);
    await run('user show', ['bobby']);
    await run('user update', ['bobby', '--full-name', 'Bob', '--set', 'locale=en']);
    await run('user passwd', ['bobby', '--password-stdin'], { input: `${PW}\n${PW2}\n` });
    await run('user set-password', ['bobby', '--password-stdin'], { input: `${PW}\n` });
    for (const c of ['block', 'unblock', 'deactivate', 'activate']) await run(`user ${c}`, ['bobby']);
    await run('user groups', ['bobby', '--add', 'editors']);
    await run('user groups', ['bobby']);
    await run('user permissions', ['bobby']);
    const file = path.join(t.tmp, 'people.csv');
    await writeFile(file, `username,email,password,full_name,groups\ncarol,carol@example.com,${PW},Carol,writers;editors\n`);
    await run('user import', [file]);
    await run('user export', ['--out', path.join(t.tmp, 'export.jsonl')]);
  });

  it('keys and tokens', { timeout: 900_000 }, async () => {
    await run('keys rotate');
    await run('keys rotate', ['--if-older-than', '1s']);
    await run('keys list');
    await run('keys jwks', ['--out', path.join(t.tmp, 'jwks.json')]);
    await run('status', ['--check', '--jwks-file', path.join(t.tmp, 'jwks.json')]);
    const signing = (JSON.parse(await run('keys list')) as { kid: string; state: string }[]).find((k) => k.state === 'active');
    await run('keys revoke', [signing?.kid as string, '-y']);
    const newSecret = path.join(t.tmp, 'new-secret');
    await writeFile(newSecret, `${NEW_SECRET}\n`, { mode: 0o600 });
    await run('keys rekey', ['--new-secret-file', newSecret]);
    const pem = path.join(t.tmp, 'key.pem');
    await writeFile(pem, String(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' })));
    await run('keys import', [pem], { env: { KAIJU_AUTH_NEW_SECRET: NEW_SECRET } });
    await run('keys prune', ['--dry-run']);
    await run('keys prune', ['-y']);
    const newEnv = { env: { KAIJU_AUTH_SECRET: NEW_SECRET } };
    const pair = JSON.parse(await run('token issue', ['--username', 'bobby', '--password-stdin'], { input: `${PW}\n`, ...newEnv }));
    await run('token verify', [pair.access], newEnv);
    await run('token refresh', [pair.refresh], newEnv);
    await run('token inspect', [pair.access]);
  });

  it('sessions, audit, deletions, migrate down', { timeout: 900_000 }, async () => {
    const id = await t.withKnex(async (k) => {
      const dave = await insertKaijuUser(k, 'dave_1');
      await insertKaijuSession(k, { userId: dave.id, expires: epoch(new Date()) - 3600 });
      return insertKaijuSession(k, { userId: dave.id, expires: epoch(new Date()) + 3600, permissions: ['docs.read'], data: { ip: '10.0.0.1' } });
    });
    await run('session list', ['--all']);
    await run('session show', [id]);
    await run('session revoke', [id]);
    await run('session revoke', ['--user', 'dave_1', '-y']);
    await run('session prune');
    await run('audit list');
    await run('audit prune', ['--older-than', '1d', '-y']);
    await run('user delete', ['bobby', '-y']);
    await run('group delete', ['writers', '-y']);
    await run('permission delete', ['docs.write', '-y']);
    await run('migrate down', ['--dry-run']);
    await run('migrate down', ['-y', '--drop-data']);
    await run('completion', ['bash']);
  });

  it('no command of the tool was left out', async () => {
    const commands = await runnableCommands();
    expect(commands.filter((c) => !ran.has(c))).toEqual([]);
    for (const c of commands) if (!(c in NOT_JSON)) expect(JSON.parse(await readFile(schemaFile(c), 'utf8')), c).toBeTruthy();
  });
});
