/**
 * Documentation is executable. Every example of every command's `--help` and every shell block of
 * the README (```sh as one script, ```cron lines as the command cron would run) runs here, in a
 * shell, against a scratch embedded database that holds what the examples name (alice, editors,
 * docs.read, billing-svc, a session, signing keys, tokens in $ACCESS/$REFRESH, files such as
 * users.csv), with placeholders filled (PLACEHOLDERS below: absolute paths become paths in the
 * scratch directory, example database URLs a fresh PostgreSQL database). It must exit as
 * documented (0 unless a rule says otherwise), print no internal error, and leave what it promises.
 *
 * An example is exempt only when NOT_RUNNABLE names it with the reason; an example nobody listed
 * runs: a new example is tested the day it is written.
 */
import { execFile } from 'node:child_process';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { chmod, cp, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type * as TableModule from '../../src/cli/commands/index.js';
import type * as CommandTableModule from '../../src/cli/command-table.js';
import { ADMIN_URL, createPgDatabase, dropPgDatabase } from '../support/db.js';
import { BIN, cliEnv, cliTarget, removeTempDirs, ROOT, runCli, tempDir, type CliTarget } from '../support/cli.js';
import { epoch, insertKaijuSession } from '../support/kaiju-rows.js';

const { PROGRAM, fullTable } = (await import(pathToFileURL(path.join(ROOT, 'dist', 'src', 'cli', 'commands', 'index.js')).href)) as typeof TableModule;
const { splitExamples } = (await import(pathToFileURL(path.join(ROOT, 'dist', 'src', 'cli', 'command-table.js')).href)) as typeof CommandTableModule;
type Entry = CommandTableModule.Entry;

const ALICE_PW = 'alice example password 1';
const NEW_PW = 'alice new password 22';
const SESSION_ID = '3f9c0e2a5b7d4c1e9a8b6d5c4e3f2a1b';

interface Example {
  /** Where it is written: `user register --help`, `README.md:123`. */
  source: string;
  /** The text as documented. */
  text: string;
  /** A README block: several lines run as one script. */
  script?: boolean;
}

interface Rule {
  /** Expected exit code (default 0). */
  exit?: number;
  /** kaiju-auth arguments run first in the example's own copy (must exit 0). */
  before?: string[][];
  /** Needs PostgreSQL: every example database URL becomes a fresh database, $NEW too. */
  postgres?: boolean;
  /** After the run: what the example promises beyond its exit code. */
  check?: (env: RunEnv) => Promise<void>;
}

/** Examples that are not run here, each with the reason. Keep it short. */
const NOT_RUNNABLE: Record<string, string> = {
  'kaiju-auth user register --username alice --email alice@example.com --group editors':
    'asks for the password on a terminal: test/cli/user-prompts-cli.test.ts types it in tmux',
  'kaiju-auth user passwd alice': 'asks on a terminal: test/cli/user-prompts-cli.test.ts',
  'kaiju-auth user set-password alice': 'asks on a terminal: test/cli/user-prompts-cli.test.ts',
  'kaiju-auth user delete alice': 'asks on a terminal: test/cli/user-prompts-cli.test.ts answers n and y in tmux',
  'kaiju-auth migrate down': 'asks on a terminal: test/cli/prompt-cli.test.ts answers it in tmux',
  'kaiju-auth permission delete legacy.export': 'asks on a terminal (the -y form below runs here)',
  'kaiju-auth audit prune --older-than 180d': 'asks on a terminal (the -y forms run here)',
  'kaiju-auth token issue --username alice': 'asks for the password on a terminal (the --password-stdin form runs here)',
};

/** README blocks not run, by their first line. */
const NOT_RUNNABLE_BLOCKS: Record<string, string> = {
  'npm ci && npx kaiju-auth init      # install, then create the embedded database in ./.kaiju-auth':
    'installs the package and runs the tests: .ci/run does both from a fresh clone (`kaiju-auth init` runs here from --help)',
  'npm test                                                                    # embedded database only': 'the test suite itself (.ci/run)',
  'KAIJU_AUTH_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \\': 'the test suite through PgBouncer (.ci/run)',
  'npm pack --pack-destination /tmp && npm install -g /tmp/kaiju-auth-0.1.0.tgz   # then: kaiju-auth --version':
    'installs globally (run by hand in a fresh clone; here a shim on PATH stands for the installed command)',
  '#!/bin/sh': 'the cron wrapper script: written to ./kaiju-auth-cron here and run by every ```cron line',
};

const RULES: Record<string, Rule> = {
  'kaiju-auth group create editors': { before: [['group', 'delete', 'editors', '-y']] },
  'kaiju-auth group create editors --description "Can edit documents"': { before: [['group', 'delete', 'editors', '-y']] },
  'kaiju-auth permission create docs.read --tag docs': { before: [['permission', 'delete', 'docs.read', '-y']] },
  'kaiju-auth permission create users.read --tag users --description "Read user profiles"': {
    before: [['permission', 'delete', 'users.read', '-y']],
  },
  'kaiju-auth keys prune --kid 0f3a9c...e1 -y   # a leaked key, after a rotation': { before: [['keys', 'rotate', '--now']] },
  'kaiju-auth init --database-url postgres://app@db.internal/app': { postgres: true },
  'DATABASE_URL=postgres://app@db/app kaiju-auth migrate --json': { postgres: true },
  'export DATABASE_URL=postgres://app@db/app; kaiju-auth migrate && kaiju-auth seed --json   # both on that database': {
    postgres: true,
    // The variable reaches both commands: the fixtures land in PostgreSQL, not in ./.kaiju-auth.
    check: async ({ databaseUrl }) => {
      const r = await runCli(['user', 'show', 'alice', '--json', '-q', '--database-url', databaseUrl as string]);
      expect(r.code, r.stderr).toBe(0);
    },
  },
  // The scratch database holds rows: -y alone refuses to drop them (exit 8), as the help says.
  'kaiju-auth migrate down -y': { exit: 8 },
  'kaiju-auth --database-url "$NEW" migrate && kaiju-auth --database-url "$NEW" seed ./backup   # restore': {
    postgres: true,
    before: [['dump', './backup', '--with-hashes']],
  },
  '/usr/local/bin/kaiju-auth-cron status --check --jwks-file /srv/www/.well-known/jwks.json': {
    before: [['keys', 'jwks', '--out', 'srv/www/.well-known/jwks.json']],
  },
};

/**
 * Placeholders: what an example names that a test machine cannot have as such. Applied to every
 * example's text before it runs.
 */
const PLACEHOLDERS: [RegExp, string][] = [
  [/postgres:\/\/app@db(?:\.internal)?(?::5432)?\/app/g, '$EXAMPLE_DATABASE_URL'],
  [/\/srv\/www\//g, './srv/www/'],
  [/\/var\/lib\/node_exporter\//g, './node_exporter/'],
  [/\/usr\/local\/bin\/kaiju-auth-cron/g, './kaiju-auth-cron'],
  [/\/etc\/kaiju-auth\/env/g, './kaiju-auth.env'],
  [/\/run\/secrets\//g, './secrets/'],
  [/"\$\{fpath\[1\]\}"/g, './zfunc'],
  [/0f3a9c\.\.\.e1/g, '$KID'],
  [/3f9c0e2a\.\.\./g, SESSION_ID],
  // npx finds the installed package's bin; here that is the shim on PATH.
  [/\bnpx kaiju-auth\b/g, 'kaiju-auth'],
];

/** README blocks (by first line) with a rule. */
const BLOCK_RULES: Record<string, Rule> = {
  'kaiju-auth dump ./backup --with-hashes                          # permissions.json, groups.json, users.json': { postgres: true },
};

function fill(text: string): string {
  return PLACEHOLDERS.reduce((t, [re, to]) => t.replace(re, to), text);
}

/**
 * Every shell example of the command table, as each command's help shows it after `$ ` (crontab
 * lines are shown as such, not as shell commands: splitExamples).
 */
async function helpExamples(): Promise<Example[]> {
  const found: Example[] = [];
  const add = (words: string[], examples: readonly string[] = []) => {
    for (const text of splitExamples(examples).shell) found.push({ source: ['kaiju-auth', ...words, '--help'].join(' '), text: text.trim() });
  };
  const walk = (list: readonly Entry[], prefix: string[]) => {
    for (const e of list) {
      add([...prefix, e.spec.name], e.spec.examples);
      walk(e.commands ?? [], [...prefix, e.spec.name]);
    }
  };
  add([], PROGRAM.examples);
  walk(await fullTable(), []);
  return found;
}

/** README: each ```sh block as one script; each ```cron line's command. */
async function readmeExamples(): Promise<Example[]> {
  const lines = (await readFile(path.join(ROOT, 'README.md'), 'utf8')).split('\n');
  const found: Example[] = [];
  for (let i = 0; i < lines.length; i += 1) {
    const fence = /^```(sh|cron)\s*$/.exec(lines[i] as string);
    if (!fence) continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end] !== '```') end += 1;
    const body = lines.slice(start, end);
    if (fence[1] === 'sh') {
      found.push({ source: `README.md:${start + 1}`, text: body.join('\n'), script: true });
    } else {
      body.forEach((l, k) => {
        const m = /^(?:\S+\s+){5}(.+)$/.exec(l);
        if (m && !l.startsWith('#')) found.push({ source: `README.md:${start + k + 1}`, text: (m[1] as string).trim() });
      });
    }
    i = end;
  }
  return found;
}

interface RunEnv {
  dir: string;
  env: Record<string, string>;
  databaseUrl: string | null;
}

let template: string;
let shims: string;
let kid: string;
let access: string;
let refresh: string;
const databases: string[] = [];

function sh(script: string, cwd: string, env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      '/bin/bash',
      ['-c', script],
      { cwd, env: cliEnv(env) as NodeJS.ProcessEnv, timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? ((err as { code: number }).code) : 1) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

async function setUp(): Promise<void> {
  const root = await tempDir('kaiju-examples-');
  template = path.join(root, 'template');
  shims = path.join(root, 'bin');
  await mkdir(template);
  await mkdir(shims);
  const shim = async (name: string, body: string) => {
    await writeFile(path.join(shims, name), `#!/bin/sh\n${body}\n`);
    await chmod(path.join(shims, name), 0o755);
  };
  await shim('kaiju-auth', `exec "${process.execPath}" "${BIN}" "$@"`);
  await shim('generate-users', `for i in 1 2 3; do printf '{"username":"gen%s","email":"gen%s@example.com","password":"generated password %s"}\\n' $i $i $i; done`);
  await shim('alert', 'echo "alert: $*" >&2');
  await shim('logger', 'echo "logger: $*" >&2');

  // What the examples name, as fixtures: the template database is seeded from them, and
  // `seed` (./fixtures/users) and `seed ./deploy/fixtures` find them matching.
  const permissions = ['docs.read', 'docs.write', 'users.read', 'users.write', 'legacy.export'].map((id) => ({
    id,
    tag: id.split('.')[0],
    description: `example permission ${id}`,
  }));
  const groups = [
    { data: { id: 'editors', description: 'Can edit documents' }, permissions: ['docs.read', 'docs.write'] },
    { data: { id: 'reviewers' }, permissions: ['docs.read'] },
    { data: { id: 'interns' }, permissions: ['docs.read'] },
  ];
  const users = [
    { data: { username: 'alice', email: 'alice@example.com', password: ALICE_PW, settings: { beta: true } }, groups: ['editors', 'interns'] },
    { data: { username: 'billing-svc', email: 'billing@example.com', password: 'billing service password 3' }, groups: [] },
  ];
  for (const dir of ['fixtures/users', 'deploy/fixtures']) {
    await mkdir(path.join(template, dir), { recursive: true });
    await writeFile(path.join(template, dir, 'permissions.json'), JSON.stringify(permissions, null, 2));
    await writeFile(path.join(template, dir, 'groups.json'), JSON.stringify(groups, null, 2));
    await writeFile(path.join(template, dir, 'users.json'), JSON.stringify(users, null, 2));
  }

  const t: CliTarget = await cliTarget('pglite');
  const dataDir = t.dataDir as string;
  const cli = async (args: string[], input?: string) => {
    const r = await runCli(['--data-dir', dataDir, '-q', ...args], { cwd: template, input });
    expect(r.code, `set-up: kaiju-auth ${args.join(' ')}\n${r.stderr}`).toBe(0);
    return r.stdout;
  };
  await cli(['seed', 'fixtures/users']);
  await cli(['keys', 'rotate']);
  kid = JSON.parse(await cli(['keys', 'list', '--json'])).find((k: { state: string }) => k.state === 'active').kid;
  const pair = JSON.parse(await cli(['token', 'issue', '--username', 'alice', '--password-stdin', '--json'], `${ALICE_PW}\n`));
  access = pair.access;
  refresh = pair.refresh;
  await writeFile(path.join(template, 'jwks.json'), await cli(['keys', 'jwks']));
  await t.withKnex(async (knex) => {
    const alice = await knex('users').where({ username: 'alice' }).first('id');
    await insertKaijuSession(knex, { id: SESSION_ID, userId: alice.id, expires: epoch(new Date(Date.now() + 86_400_000)) });
    await insertKaijuSession(knex, { userId: alice.id, expires: epoch(new Date(Date.now() - 86_400_000)) });
  });
  await cp(dataDir, path.join(template, '.kaiju-auth'), { recursive: true });

  // Files the examples read.
  const files: Record<string, string> = {
    'users.csv': 'username,email,password,groups\ncarol,carol@example.com,carol example password 4,editors\n',
    'people.csv': 'username,email,password\nfrank,frank@example.com,frank example password 7\n',
    'people.jsonl': '{"username":"dave","email":"dave@example.com","password":"dave example password 5"}\n',
    'legacy.json': JSON.stringify([{ username: 'erin', email: 'erin@example.com', password: 'erin example password 6' }]),
    'new-password': `${NEW_PW}\n`,
    'new.secret': `${randomBytes(32).toString('base64')}\n`,
    'secrets/kaiju-new': `${randomBytes(32).toString('base64')}\n`,
    'tokens.txt': `${access}\n${access}\n`,
    'token.txt': `${access}\n`,
    'legacy-rsa.pem': generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    'kaiju-auth.env': `KAIJU_AUTH_DATA_DIR=${path.join('.', '.kaiju-auth')}\n`,
  };
  for (const [name, content] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(template, name)), { recursive: true });
    await writeFile(path.join(template, name), content, { mode: 0o600 });
  }
  for (const dir of ['srv/www/.well-known', 'node_exporter', 'zfunc', '.config/fish/completions']) {
    await mkdir(path.join(template, dir), { recursive: true });
  }
  // The README's cron wrapper, as the README writes it (its own placeholders filled).
  const readme = await readFile(path.join(ROOT, 'README.md'), 'utf8');
  const wrapper = /```sh\n(#!\/bin\/sh\n# \/usr\/local\/bin\/kaiju-auth-cron[\s\S]*?)```/.exec(readme);
  expect(wrapper, 'the README shows the cron wrapper').not.toBeNull();
  await writeFile(path.join(template, 'kaiju-auth-cron'), fill((wrapper as RegExpExecArray)[1] as string), { mode: 0o700 });
  // Fixtures are kept in git (`dump ... && git diff`): the scratch directory is a repository.
  await writeFile(path.join(template, '.gitignore'), '.kaiju-auth/\n');
  const git = await sh('git init -q && git add -A && git commit -qm template', template, {
    GIT_AUTHOR_NAME: 'examples', GIT_AUTHOR_EMAIL: 'examples@example.com', GIT_COMMITTER_NAME: 'examples', GIT_COMMITTER_EMAIL: 'examples@example.com',
  });
  expect(git.code, git.stderr).toBe(0);
  await t.cleanup();
}

/**
 * A README block as a script that stops at the first line that fails (`set -e` would not: it
 * ignores a failure on the left of `&&`). Continuation lines are joined first.
 */
function asSteps(block: string): string {
  const lines = block.replace(/\\\n/g, ' ').split('\n');
  return lines
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'))
    .map((l) => `{ ${l}\n} || exit $?`)
    .join('\n');
}

async function runExample(example: Example, rule: Rule): Promise<void> {
  const dir = await tempDir('kaiju-example-');
  await cp(template, dir, { recursive: true });
  let databaseUrl: string | null = null;
  const env: Record<string, string> = {
    PATH: `${shims}:${process.env.PATH}`,
    HOME: dir,
    PW: ALICE_PW,
    OLD: ALICE_PW,
    NEW: NEW_PW,
    ACCESS: access,
    REFRESH: refresh,
    KID: kid,
    KAIJU_AUTH_ACTOR: 'examples-test',
  };
  if (rule.postgres) {
    const created = await createPgDatabase();
    databases.push(created.name);
    databaseUrl = created.url;
    env.EXAMPLE_DATABASE_URL = created.url;
    env.NEW = created.url;
    env.KAIJU_AUTH_SECRET = 'examples test key secret, long enough';
    if (/user import/.test(example.text)) {
      const r = await runCli(['migrate', '-q', '--database-url', created.url]);
      expect(r.code, r.stderr).toBe(0);
    }
  }
  for (const args of rule.before ?? []) {
    const r = await runCli(['-q', ...args], { cwd: dir, env: { HOME: dir } });
    expect(r.code, `before: kaiju-auth ${args.join(' ')}\n${r.stderr}`).toBe(0);
  }
  const script = example.script ? asSteps(fill(example.text)) : fill(example.text);
  const r = await sh(script, dir, env);
  const shown = `${example.source}\n$ ${script}\n(exit ${r.code})\nstdout: ${r.stdout.slice(0, 2000)}\nstderr: ${r.stderr.slice(0, 2000)}`;
  expect(r.code, shown).toBe(rule.exit ?? 0);
  expect(r.stderr, shown).not.toMatch(/internal error|command not found|No such file/);
  await rule.check?.({ dir, env, databaseUrl });
}

const examples = [...(await helpExamples()), ...(await readmeExamples())];
const unique = [...new Map(examples.map((e) => [e.text, e])).values()];

afterAll(async () => {
  await Promise.all(databases.map((name) => dropPgDatabase(name)));
  await removeTempDirs();
});

describe('every documented example', () => {
  beforeAll(setUp, 180_000);

  it('finds the examples (help of every command and the README)', () => {
    expect(examples.filter((e) => e.source.endsWith('--help')).length).toBeGreaterThan(100);
    expect(examples.filter((e) => e.source.startsWith('README')).length).toBeGreaterThan(5);
    // Every exemption names an example that exists (a stale one would hide nothing and mislead).
    for (const text of Object.keys(NOT_RUNNABLE)) expect(unique.map((e) => e.text), text).toContain(text);
    const blocks = unique.filter((e) => e.script).map((e) => e.text.split('\n')[0]);
    for (const first of Object.keys(NOT_RUNNABLE_BLOCKS)) expect(blocks, first).toContain(first);
  });

  for (const example of unique) {
    const firstLine = example.text.split('\n')[0] as string;
    const reason = NOT_RUNNABLE[example.text] ?? (example.script ? NOT_RUNNABLE_BLOCKS[firstLine] : undefined);
    const rule = RULES[example.text] ?? (example.script ? BLOCK_RULES[firstLine] : undefined) ?? {};
    const title = `${example.source}: ${firstLine}${example.script ? ' ...' : ''}`;
    if (reason !== undefined) {
      it.skip(`${title} (not run: ${reason})`, () => undefined);
    } else if (rule.postgres && !ADMIN_URL) {
      it.skip(`${title} (needs PostgreSQL: set KAIJU_AUTH_TEST_DATABASE_URL)`, () => undefined);
    } else {
      it.concurrent(title, () => runExample(example, rule), 180_000);
    }
  }
});
