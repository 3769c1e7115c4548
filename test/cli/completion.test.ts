/**
 * `completion bash|zsh|fish`: the scripts the built binary prints parse in their shells, and
 * complete commands, subcommands, flags and values when the shells call them.
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The built modules, as the binary runs them (program.ts finds package.json from dist/).
import { buildProgram } from '../../dist/src/cli/program.js';
import { bashScript } from '../../dist/src/cli/completion/bash.js';
import { completionTree } from '../../dist/src/cli/completion/tree.js';
import { removeTempDirs, runCli, tempDir } from '../support/cli.js';

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
});
afterAll(removeTempDirs);

/** Call the bash completion function as bash would, for the words typed (the last one is being completed). */
async function bashComplete(words: string[], script = scripts.bash as string): Promise<string[]> {
  const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
  const { stdout } = await exec(
    'bash',
    ['-c', `source "$1"; COMP_WORDS=(${quoted}); COMP_CWORD=${words.length - 1}; _kaiju_auth; printf '%s\\n' "\${COMPREPLY[@]}"`, 'x', script],
    { cwd: dir },
  );
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
  async function fishComplete(line: string): Promise<string[]> {
    const { stdout } = await exec('fish', ['--no-config', '-c', `source "$argv[1]"; complete -C "${line}"`, scripts.fish as string], { cwd: dir });
    return stdout
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => l.split('\t')[0] as string);
  }

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
  /** The completer run with zsh's completion builtins stubbed to print what they are given. */
  async function zshComplete(words: string[]): Promise<string[]> {
    const stubs = [
      'compdef() { :; }',
      '_describe() { print -l -- ${(P)${argv[-1]}} }',
      "compadd() { [[ $1 == -a ]] && print -l -- ${(P)2} }",
      "_files() { print -- FILES $* }",
      "_message() { print -- MESSAGE $* }",
      'compset() { :; }',
    ].join('\n');
    const quoted = words.map((w) => `'${w.replace(/'/g, `'\\''`)}'`).join(' ');
    const { stdout } = await exec('zsh', ['-fc', `${stubs}\nsource "$1"\nwords=(${quoted}); CURRENT=${words.length}; _kaiju-auth`, 'x', scripts.zsh as string]);
    return stdout.split('\n').filter((l) => l !== '');
  }

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
