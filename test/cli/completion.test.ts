/**
 * `completion bash|zsh|fish`: the scripts the built binary prints parse in their shells, and
 * complete commands, subcommands, flags and values when the shells call them; names in the
 * database (users, groups, permissions, key ids) through the hidden `__complete`, on both backends,
 * and nothing, at once and silently, when the database cannot answer.
 */
import { execFile, execFileSync } from 'node:child_process';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The built modules, as the binary runs them (program.ts finds package.json from dist/).
import { buildProgram } from '../../dist/src/cli/program.js';
import { bashScript } from '../../dist/src/cli/completion/bash.js';
import { completionTree } from '../../dist/src/cli/completion/tree.js';
import { NAME_ARGUMENTS } from '../../dist/src/cli/completion/names.js';
import { BACKENDS } from '../support/db.js';
import { BIN, cliEnv, cliTarget, removeTempDirs, runCli, tempDir, type CliTarget } from '../support/cli.js';
import { insertKaijuUser } from '../support/kaiju-rows.js';

const exec = promisify(execFile);

function installed(shell: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${shell}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

let dir: string;
const scripts: Record<string, string> = {};
/** The environment the shells run in: a clean one (cliEnv) with `kaiju-auth` on PATH. */
let shellEnv: NodeJS.ProcessEnv;

beforeAll(async () => {
  dir = await tempDir('kaiju-auth-completion-');
  for (const shell of ['bash', 'zsh', 'fish']) {
    const r = await runCli(['completion', shell]);
    expect(r.code, r.stderr).toBe(0);
    scripts[shell] = path.join(dir, `kaiju-auth.${shell}`);
    await writeFile(scripts[shell] as string, r.stdout);
  }
  await mkdir(path.join(dir, 'data-a'));
  await mkdir(path.join(dir, 'data-b'));
  await writeFile(path.join(dir, 'data-file.txt'), '');
  // The scripts run the command the line starts with: `kaiju-auth` on PATH, as an install puts it.
  await mkdir(path.join(dir, 'bin'));
  await writeFile(path.join(dir, 'bin', 'kaiju-auth'), `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`);
  await chmod(path.join(dir, 'bin', 'kaiju-auth'), 0o755);
  shellEnv = cliEnv({ PATH: `${path.join(dir, 'bin')}:${process.env.PATH ?? ''}` });
});
afterAll(removeTempDirs);

/** Call the bash completion function as bash would, for the words typed (the last one is being completed). */
async function bashComplete(words: string[], script = scripts.bash as string, env: Record<string, string> = {}): Promise<string[]> {
  const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const { stdout, stderr } = await exec(
    'bash',
    ['-c', `source "$1"; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _kaiju_auth; printf '%s\\n' "\${COMPREPLY[@]}"`, 'x', script],
    { cwd: dir, env: { ...shellEnv, ...env } },
  );
  expect(stderr).toBe('');
  return stdout.split('\n').filter((l) => l !== '');
}

async function fishComplete(line: string, env: Record<string, string> = {}): Promise<string[]> {
  const { stdout, stderr } = await exec('fish', ['--no-config', '-c', 'source "$argv[1]"; complete -C "$argv[2]"', scripts.fish as string, line], {
    cwd: dir,
    env: { ...shellEnv, ...env },
  });
  expect(stderr).toBe('');
  return stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => l.split('\t')[0] as string);
}

/** The zsh completer run with zsh's completion builtins stubbed to print what they are given. */
async function zshComplete(words: string[], env: Record<string, string> = {}): Promise<string[]> {
  const stubs = [
    'compdef() { :; }',
    '_describe() { print -l -- ${(P)${argv[-1]}} }',
    "compadd() { [[ $1 == -a ]] && print -l -- ${(P)2} }",
    "_files() { print -- FILES $* }",
    "_message() { print -- MESSAGE $* }",
    'compset() { :; }',
  ].join('\n');
  const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const { stdout, stderr } = await exec('zsh', ['-fc', `${stubs}\nsource "$1"\nwords=(${quoted}); CURRENT=${words.length}; _kaiju-auth`, 'x', scripts.zsh as string], {
    cwd: dir,
    env: { ...shellEnv, ...env },
  });
  expect(stderr).toBe('');
  return stdout.split('\n').filter((l) => l !== '');
}

describe('completion scripts', () => {
  it('the binary prints them; an unknown shell is a usage error; --json wraps the script', async () => {
    expect((await runCli(['completion', 'tcsh'])).code).toBe(2);
    expect((await runCli(['completion'])).code).toBe(2);
    const r = await runCli(['completion', 'bash', '--json']);
    expect(r.json()).toEqual({ shell: 'bash', script: expect.stringContaining('complete -F _kaiju_auth kaiju-auth') });
  });

  it('bash -n parses the bash script', async () => {
    await expect(exec('bash', ['-n', scripts.bash as string])).resolves.toBeDefined();
  });

  it.skipIf(!installed('zsh'))('zsh -n parses the zsh script', async () => {
    await expect(exec('zsh', ['-n', scripts.zsh as string])).resolves.toBeDefined();
  });

  it.skipIf(!installed('fish'))('fish -n parses the fish script', async () => {
    await expect(exec('fish', ['-n', scripts.fish as string])).resolves.toBeDefined();
  });
});

describe('bash completion', () => {
  it('completes top-level commands', async () => {
    const all = await bashComplete(['kaiju-auth', '']);
    expect(all).toEqual(expect.arrayContaining(['init', 'status', 'migrate', 'session', 'audit', 'completion', 'help']));
    expect((await bashComplete(['kaiju-auth', 'se'])).sort()).toEqual(['seed', 'session']);
  });

  it('completes subcommands, also after global flags and their values', async () => {
    expect((await bashComplete(['kaiju-auth', 'session', ''])).sort()).toEqual(['help', 'list', 'prune', 'revoke', 'show']);
    expect(await bashComplete(['kaiju-auth', '--json', 'session', 'li'])).toEqual(['list']);
    expect(await bashComplete(['kaiju-auth', '--data-dir', '/tmp/x', 'session', 'pr'])).toEqual(['prune']);
    expect((await bashComplete(['kaiju-auth', 'migrate', ''])).sort()).toEqual(['down', 'status']);
    expect((await bashComplete(['kaiju-auth', 'audit', ''])).sort()).toEqual(['help', 'list', 'prune']);
  });

  it('completes a command\'s own flags plus the global ones (and --version only at the top)', async () => {
    const flags = await bashComplete(['kaiju-auth', 'session', 'list', '--']);
    expect(flags).toEqual(
      expect.arrayContaining(['--user', '--expired', '--all', '--limit', '--offset', '--json', '--data-dir', '--database-url', '--quiet', '--yes', '--help']),
    );
    expect(flags).not.toContain('--version');
    expect(flags).not.toContain('--batch-size');
    expect(await bashComplete(['kaiju-auth', 'session', 'prune', '--b'])).toEqual(['--batch-size']);
    expect(await bashComplete(['kaiju-auth', 'audit', 'prune', '--ol'])).toEqual(['--older-than']);
    expect(await bashComplete(['kaiju-auth', '--vers'])).toEqual(['--version']);
    expect(await bashComplete(['kaiju-auth', 'status', '--vers'])).toEqual([]);
    // After a flag's value, flags again; nothing positional left.
    expect(await bashComplete(['kaiju-auth', 'session', 'list', '--user', 'alice', '--e'])).toEqual(['--expired']);
    expect(await bashComplete(['kaiju-auth', 'session', 'list', ''])).toContain('--expired');
  });

  it('completes values: choices, directories for --data-dir (also --data-dir=), nothing for free values', async () => {
    expect((await bashComplete(['kaiju-auth', 'completion', ''])).sort()).toEqual(['bash', 'fish', 'zsh']);
    expect(await bashComplete(['kaiju-auth', 'completion', 'z'])).toEqual(['zsh']);
    expect((await bashComplete(['kaiju-auth', '--data-dir', 'data-'])).sort()).toEqual(['data-a', 'data-b']);
    expect((await bashComplete(['kaiju-auth', 'status', '--data-dir', '=', 'data-'])).sort()).toEqual(['data-a', 'data-b']);
    expect(await bashComplete(['kaiju-auth', 'session', 'list', '--limit', ''])).toEqual([]);
    expect(await bashComplete(['kaiju-auth', 'audit', 'list', '--since', ''])).toEqual([]);
    expect((await bashComplete(['kaiju-auth', 'help', 'se'])).sort()).toEqual(['seed', 'session']);
  });

  it('follows the program tree: a command registered later is completed without touching the generator', async () => {
    const program = await buildProgram({ io: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: {} }, onRuntime: () => undefined });
    const extra = program.command('zz-extra').description('added by a test');
    extra.command('thing').option('--flag-one <file>', 'a file').option('--flag-two', 'a switch');
    const script = path.join(dir, 'extended.bash');
    await writeFile(script, bashScript(completionTree(program), 'kaiju-auth'));
    expect(await bashComplete(['kaiju-auth', 'zz'], script)).toEqual(['zz-extra']);
    expect(await bashComplete(['kaiju-auth', 'zz-extra', ''], script)).toEqual(expect.arrayContaining(['thing']));
    expect(await bashComplete(['kaiju-auth', 'zz-extra', 'thing', '--flag'], script)).toEqual(['--flag-one', '--flag-two']);
    expect(await bashComplete(['kaiju-auth', 'zz-extra', 'thing', '--flag-one', 'data-f'], script)).toEqual(['data-file.txt']);
  });
});

describe.skipIf(!installed('fish'))('fish completion', () => {
  it('completes commands, subcommands, flags and choices', async () => {
    expect(await fishComplete('kaiju-auth ')).toEqual(expect.arrayContaining(['session', 'audit', 'completion', 'migrate']));
    expect((await fishComplete('kaiju-auth session ')).sort()).toEqual(['help', 'list', 'prune', 'revoke', 'show']);
    expect((await fishComplete('kaiju-auth --json migrate ')).sort()).toEqual(['down', 'status']);
    expect(await fishComplete('kaiju-auth session list --')).toEqual(expect.arrayContaining(['--user', '--expired', '--limit', '--json', '--data-dir']));
    expect(await fishComplete('kaiju-auth session list --')).not.toContain('--batch-size');
    expect((await fishComplete('kaiju-auth completion ')).sort()).toEqual(['bash', 'fish', 'zsh']);
    expect((await fishComplete('kaiju-auth --data-dir data-')).sort()).toEqual(['data-a/', 'data-b/']);
  });
});

describe.skipIf(!installed('zsh'))('zsh completion', () => {
  it('offers subcommands and flags with descriptions, and values', async () => {
    const top = await zshComplete(['kaiju-auth', '']);
    expect(top.map((l) => l.split(':')[0])).toEqual(expect.arrayContaining(['session', 'audit', 'completion']));
    expect(top.find((l) => l.startsWith('session:'))).toMatch(/^session:.+/);
    expect((await zshComplete(['kaiju-auth', '--data-dir', 'x', 'session', ''])).map((l) => l.split(':')[0]).sort()).toEqual([
      'help',
      'list',
      'prune',
      'revoke',
      'show',
    ]);
    const flags = (await zshComplete(['kaiju-auth', 'session', 'revoke', '--'])).map((l) => l.split(':')[0]);
    expect(flags).toEqual(expect.arrayContaining(['--user', '--json', '--yes', '-y']));
    expect((await zshComplete(['kaiju-auth', 'completion', ''])).sort()).toEqual(['bash', 'fish', 'zsh']);
    expect(await zshComplete(['kaiju-auth', '--data-dir', ''])).toEqual(['FILES -/']);
  });
});

describe('names in the database: the map and the hidden command', () => {
  it('every entry of the name map is an argument or a long option of a real command', async () => {
    const program = await buildProgram({ io: { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: {} }, onRuntime: () => undefined });
    const find = (words: string[]) => words.reduce<typeof program | undefined>((c, w) => c?.commands.find((s) => s.name() === w), program);
    for (const [commandPath, keys] of Object.entries(NAME_ARGUMENTS)) {
      const command = find(commandPath.split(' '));
      expect(command, commandPath).toBeDefined();
      for (const key of Object.keys(keys)) {
        const known = key.startsWith('--')
          ? command?.options.some((o) => o.long === key && (o.required || o.optional))
          : command?.registeredArguments.some((a) => a.name() === key);
        expect(known, `${commandPath} ${key}`).toBe(true);
      }
    }
    // The tree carries them to the scripts.
    const tree = completionTree(program);
    const grant = tree.subcommands.find((s) => s.name === 'group')?.subcommands.find((s) => s.name === 'grant');
    expect(grant?.args.map((a) => a.names)).toEqual(['groups', 'permissions']);
    const register = tree.subcommands.find((s) => s.name === 'user')?.subcommands.find((s) => s.name === 'register');
    expect(register?.options.find((o) => o.long === '--group')?.names).toBe('groups,');
    expect(register?.options.find((o) => o.long === '--username')?.names).toBeNull();
  });

  it('__complete is hidden: in no help and no completion script', async () => {
    const help = await runCli(['--help']);
    expect(help.stdout + help.stderr).not.toMatch(/__complete/);
    expect(await bashComplete(['kaiju-auth', '_'])).toEqual([]);
    expect(await bashComplete(['kaiju-auth', ''])).not.toContain('__complete');
    // It is not a command a typo is steered to either.
    expect((await runCli(['__complet'])).stderr).not.toMatch(/__complete/);
  });

  it('nothing, at once and silently, when there is nothing to ask: exit 0, no output', async () => {
    const empty = await tempDir('kaiju-auth-completion-empty-');
    const unmigrated = await cliTarget('pglite', { migrate: false });
    const cases: [string, string[], Record<string, string>][] = [
      ['a server that is not there', ['--database-url', 'postgres://postgres:pw-123@127.0.0.1:1/x', '__complete', 'users', ''], {}],
      ['not a PostgreSQL URL', ['__complete', 'users', 'a'], { KAIJU_AUTH_DATABASE_URL: 'mysql://root@localhost/x' }],
      ['no database in the data directory', ['--data-dir', path.join(empty, 'none'), '__complete', 'groups', ''], {}],
      ['a database without the schema', [...unmigrated.args, '__complete', 'permissions', ''], {}],
      ['an unknown kind', [...unmigrated.args, '__complete', 'sessions', ''], {}],
      ['a bad setting in the environment', ['--data-dir', path.join(empty, 'none'), '__complete', 'users', ''], { KAIJU_AUTH_LOCK_TIMEOUT: 'soon' }],
    ];
    for (const [what, args, env] of cases) {
      const r = await runCli(args, { env });
      expect({ what, code: r.code, stdout: r.stdout, stderr: r.stderr }).toEqual({ what, code: 0, stdout: '', stderr: '' });
    }
    expect(await bashComplete(['kaiju-auth', '--database-url', 'postgres://postgres@127.0.0.1:1/x', 'user', 'show', ''])).toEqual([]);
    await unmigrated.cleanup();
  });

  it('the scripts pass the line\'s database on in the environment, never as an argument (a URL may hold a password)', async () => {
    const spy = path.join(dir, 'spy');
    await mkdir(spy, { recursive: true });
    const out = path.join(spy, 'called');
    await writeFile(
      path.join(spy, 'kaiju-auth'),
      `#!/bin/sh\n{ printf 'arg:%s\\n' "$@"; printf 'url:%s\\n' "$KAIJU_AUTH_DATABASE_URL"; printf 'dir:%s\\n' "$KAIJU_AUTH_DATA_DIR"; } > '${out}'\necho alice\n`,
    );
    await chmod(path.join(spy, 'kaiju-auth'), 0o755);
    const env = { PATH: `${spy}:${process.env.PATH ?? ''}` };
    const url = 'postgres://app:s3cret-pw@db.example/app';
    expect(await bashComplete(['kaiju-auth', '--database-url', url, 'user', 'show', 'al'], undefined, env)).toEqual(['alice']);
    expect(await readFile(out, 'utf8')).toBe(`arg:__complete\narg:users\narg:al\nurl:${url}\ndir:\n`);
    expect(await bashComplete(['kaiju-auth', 'user', 'show', '--data-dir', '~/some dir', ''], undefined, env)).toEqual(['alice']);
    expect(await readFile(out, 'utf8')).toBe(`arg:__complete\narg:users\narg:\nurl:\ndir:${process.env.HOME}/some dir\n`);
    if (installed('zsh')) {
      expect(await zshComplete(['kaiju-auth', `--database-url=${url}`, 'keys', 'revoke', ''], env)).toEqual(['alice']);
      expect(await readFile(out, 'utf8')).toBe(`arg:__complete\narg:keys\narg:\nurl:${url}\ndir:\n`);
    }
    if (installed('fish')) {
      // (fish keeps only what starts with the word typed: the spy's alice, for an empty one.)
      expect(await fishComplete(`kaiju-auth --database-url '${url}' group grant admins `, env)).toEqual(['alice']);
      expect(await readFile(out, 'utf8')).toBe(`arg:__complete\narg:permissions\narg:\nurl:${url}\ndir:\n`);
    }
  });
});

describe.each(BACKENDS)('names from the %s database', (backend) => {
  let t: CliTarget;
  const bulk = Array.from({ length: 250 }, (_, i) => `bulk-${String(i).padStart(3, '0')}`);

  beforeAll(async () => {
    t = await cliTarget(backend);
    await t.withKnex(async (k) => {
      for (const name of ['bob_1', 'alice', 'albert', 'Alfred']) await insertKaijuUser(k, name);
      await k('groups').insert([...['editors', 'admins', 'auditors', 'has space'], ...bulk].map((id) => ({ id })));
      await k('permissions').insert(['docs.write', 'docs.read', 'users.read'].map((id) => ({ id, enabled: true })));
      const now = new Date();
      await k('keystore').insert(
        ['kid-b', 'kid-a'].map((kid) => ({
          kid,
          alg: 'ES256',
          public_jwk: JSON.stringify({ kty: 'EC' }),
          private_key_enc: Buffer.from('not a key'),
          enc_params: JSON.stringify({}),
          state: 'retired',
          signs_until: now,
          verifies_until: now,
        })),
      );
    });
  });
  afterAll(() => t?.cleanup());

  const names = async (kind: string, prefix: string, env: Record<string, string> = {}) => {
    const r = await runCli([...t.args, '__complete', kind, prefix], { env });
    expect({ code: r.code, stderr: r.stderr }).toEqual({ code: 0, stderr: '' });
    return r.stdout.split('\n').filter((l) => l !== '');
  };

  it('__complete prints the names starting with the prefix, sorted, at most 200, and writes nothing', async () => {
    const audit = () => t.withKnex(async (k) => Number((await k('audit_log').count({ n: '*' }))[0]?.n));
    const before = await audit();
    expect(await names('users', 'al')).toEqual(['albert', 'alice']);
    expect(await names('users', '')).toEqual(['Alfred', 'albert', 'alice', 'bob_1']);
    expect(await names('permissions', 'docs.')).toEqual(['docs.read', 'docs.write']);
    expect(await names('keys', '')).toEqual(['kid-a', 'kid-b']);
    // A name no shell can offer as one word (an adopted database has no id rule) is left out.
    expect(await names('groups', 'has')).toEqual([]);
    // A comma-separated list: the last item completes, without the ones already listed.
    expect(await names('groups,', 'admins,a')).toEqual(['admins,auditors']);
    // Capped: the first 200 in order, of 250.
    expect(await names('groups', 'bulk-')).toEqual(bulk.slice(0, 200));
    // LIKE's wildcards are plain characters in a prefix.
    expect(await names('users', '_')).toEqual([]);
    expect(await audit()).toBe(before);
  });

  it('bash completes names where a command takes them, on the database the line names', async () => {
    expect(await bashComplete(['kaiju-auth', ...t.args, 'user', 'show', 'al'])).toEqual(['albert', 'alice']);
    expect(await bashComplete(['kaiju-auth', 'group', 'grant', ...t.args, 'a'])).toEqual(['admins', 'auditors']);
    expect(await bashComplete(['kaiju-auth', ...t.args, 'group', 'grant', 'admins', 'docs.'])).toEqual(['docs.read', 'docs.write']);
    expect(await bashComplete(['kaiju-auth', ...t.args, 'group', 'grant', 'admins', 'docs.read', 'u'])).toEqual(['users.read']);
    expect(await bashComplete(['kaiju-auth', ...t.args, 'keys', 'revoke', ''])).toEqual(['kid-a', 'kid-b']);
    expect(await bashComplete(['kaiju-auth', ...t.args, 'user', 'list', '--group', 'ed'])).toEqual(['editors']);
    expect(await bashComplete(['kaiju-auth', ...t.args, 'user', 'list', '--group=ed'])).toEqual(['--group=editors']);
    expect(await bashComplete(['kaiju-auth', ...t.args, 'user', 'groups', 'alice', '--set', 'editors,a'])).toEqual(['editors,admins', 'editors,auditors']);
    // `--flag=value` for the database too, and the environment when the line names none.
    const [flag, value] = t.args as [string, string];
    expect(await bashComplete(['kaiju-auth', `${flag}=${value}`, 'permission', 'show', 'us'])).toEqual(['users.read']);
    const env: Record<string, string> = t.url ? { KAIJU_AUTH_DATABASE_URL: t.url } : { KAIJU_AUTH_DATA_DIR: t.dataDir as string };
    expect(await bashComplete(['kaiju-auth', 'user', 'show', 'b'], undefined, env)).toEqual(['bob_1']);
    // A new name completes nothing from the database.
    expect(await bashComplete(['kaiju-auth', ...t.args, 'group', 'create', 'a'])).toEqual([]);
  });

  it.skipIf(!installed('zsh'))('zsh completes names', async () => {
    expect(await zshComplete(['kaiju-auth', ...t.args, 'group', 'revoke', 'admins', 'docs.w'])).toEqual(['docs.write']);
    expect(await zshComplete(['kaiju-auth', ...t.args, 'keys', 'prune', '--kid', 'kid-'])).toEqual(['kid-a', 'kid-b']);
    expect(await zshComplete(['kaiju-auth', ...t.args, 'user', 'groups', 'alice', '--add=ad'])).toEqual(['admins']);
    const [flag, value] = t.args as [string, string];
    expect(await zshComplete(['kaiju-auth', 'token', 'issue', `${flag}=${value}`, '--username', 'bo'])).toEqual(['bob_1']);
  });

  it.skipIf(!installed('fish'))('fish completes names', async () => {
    const on = t.args.map((a) => `'${a}'`).join(' ');
    expect((await fishComplete(`kaiju-auth ${on} user show al`)).sort()).toEqual(['albert', 'alice']);
    expect((await fishComplete(`kaiju-auth ${on} group set-permissions admins docs.read d`)).sort()).toEqual(['docs.read', 'docs.write']);
    expect((await fishComplete(`kaiju-auth ${on} group grant a`)).sort()).toEqual(['admins', 'auditors']);
    expect(await fishComplete(`kaiju-auth ${on} user list --group ed`)).toEqual(['editors']);
    expect(await fishComplete(`kaiju-auth ${on} user register --group readers,ed`)).toEqual(['readers,editors']);
    // After the one argument `group show` takes, no more names.
    expect(await fishComplete(`kaiju-auth ${on} group show admins a`)).toEqual([]);
  });

  it('a busy database gives nothing at once rather than waiting for it', async () => {
    // The user's own lock timeout would have this wait a day: completion does not wait at all. A
    // wait would be a run killed at runCli's limit (exit null, not the 0 names() expects), so no
    // clock is read here: on a loaded host two runs may take longer than any bound a clock sets.
    const env = { KAIJU_AUTH_LOCK_TIMEOUT: '1d' };
    await t.withKnex(async (k) => {
      // Embedded: this process holds the data directory. PostgreSQL: a lock on the users table.
      const trx = backend === 'postgres' ? await k.transaction() : null;
      try {
        await trx?.raw('LOCK TABLE users IN ACCESS EXCLUSIVE MODE');
        expect(await names('users', '', env)).toEqual([]);
        expect(await bashComplete(['kaiju-auth', ...t.args, 'user', 'show', ''], undefined, env)).toEqual([]);
      } finally {
        await trx?.rollback();
      }
    });
    expect(await names('users', 'bo', env)).toEqual(['bob_1']);
  });
});
