/**
 * The embedded data directory is private to its owner whatever the umask (issue 11, item 3): the
 * directory 0700 and everything in it 0600/0700, for a new directory, for an existing one that was
 * open to others (tightened, said once on stderr), and for files PGlite creates mid-run. The
 * library is safe on its own (test/support/scripts/embedded-worker.mjs opens the directory through
 * the library, without the CLI's umask), and so is the CLI.
 */
import { spawn } from 'node:child_process';
import { chmod, lstat, readdir, stat } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIN, cliEnv, emptyDataDir, makeDataDir, removeTempDirs, ROOT, tempDir } from '../support/cli.js';

const WORKER = path.join(ROOT, 'test', 'support', 'scripts', 'embedded-worker.mjs');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `node SCRIPT ARGS` under `umask`, through a shell (the umask is the shell's to set). */
function runUnderUmask(umask: string, script: string, args: string[], input = ''): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('sh', ['-c', `umask ${umask} && exec "$@"`, 'sh', process.execPath, script, ...args], {
      env: cliEnv({ KAIJU_AUTH_SECRET: undefined }),
      cwd: ROOT,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
    child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(input);
  });
}

/** Every entry under `dir` (itself included), with its permission bits; symlinks are skipped. */
async function modes(dir: string): Promise<Map<string, { mode: number; dir: boolean }>> {
  const out = new Map<string, { mode: number; dir: boolean }>();
  const walk = async (p: string) => {
    const s = await lstat(p);
    if (s.isSymbolicLink()) return;
    out.set(path.relative(dir, p) || '.', { mode: s.mode & 0o7777, dir: s.isDirectory() });
    if (s.isDirectory()) for (const name of await readdir(p)) await walk(path.join(p, name));
  };
  await walk(dir);
  return out;
}

/** Entries that anyone but the owner can reach, as `name 0644` lines (empty: all private). */
async function openToOthers(dir: string): Promise<string[]> {
  return [...(await modes(dir))].filter(([, m]) => (m.mode & 0o077) !== 0).map(([n, m]) => `${n} ${m.mode.toString(8)}`);
}

async function makeOpenToEveryone(dir: string): Promise<number> {
  let n = 0;
  for (const [name, m] of await modes(dir)) {
    await chmod(path.join(dir, name), m.dir ? 0o777 : 0o666);
    n++;
  }
  return n;
}

afterAll(removeTempDirs);

describe('the embedded data directory is private to its owner', () => {
  for (const umask of ['022', '000']) {
    it(`init on a new directory under umask ${umask}: the directory 0700, every file 0600, the secret too`, async () => {
      const dir = await emptyDataDir();
      const r = await runUnderUmask(umask, BIN, ['init', '--data-dir', dir]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).not.toMatch(/private/);
      const m = await modes(dir);
      expect(m.get('.')?.mode).toBe(0o700);
      expect(m.get('pgdata')?.mode).toBe(0o700);
      expect(m.get('secret')?.mode).toBe(0o600);
      expect(m.size).toBeGreaterThan(500);
      expect(await openToOthers(dir)).toEqual([]);
    });
  }

  it('an existing directory open to everyone is tightened when opened, and the CLI says so once', async () => {
    const dir = await makeDataDir();
    const loosened = await makeOpenToEveryone(dir);
    expect((await openToOthers(dir)).length).toBe(loosened);
    const r = await runUnderUmask('022', BIN, ['status', '--data-dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    const said = r.stderr.split('\n').filter((l) => /private/.test(l));
    expect(said).toHaveLength(1);
    expect(said[0]).toBe(`warning: ${dir} was open to other users: made ${loosened} of its files and directories private (0600/0700)`);
    expect(await openToOthers(dir)).toEqual([]);
    // Owner bits are kept as they were: files stay readable and writable by their owner.
    expect((await stat(path.join(dir, 'pgdata', 'PG_VERSION'))).mode & 0o777).toBe(0o600);

    const again = await runUnderUmask('022', BIN, ['status', '--data-dir', dir]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stderr).not.toMatch(/private/);
    // --quiet: no notice, the work is still done.
    await makeOpenToEveryone(dir);
    const quiet = await runUnderUmask('022', BIN, ['status', '-q', '--data-dir', dir]);
    expect(quiet).toMatchObject({ code: 0, stderr: '' });
    expect(await openToOthers(dir)).toEqual([]);
  });

  it('files PGlite creates mid-run are private under umask 000, through the library alone', async () => {
    const dir = await makeDataDir();
    const before = new Set((await modes(dir)).keys());
    const r = await runUnderUmask('000', WORKER, ['ddl', dir, '20']);
    expect(r.code, r.stderr).toBe(0);
    const created = [...(await modes(dir))].filter(([name]) => !before.has(name));
    // Twenty tables with a sequence and an index each: dozens of new relation files.
    expect(created.length).toBeGreaterThan(40);
    expect(created.filter(([, m]) => (m.mode & 0o077) !== 0).map(([n, m]) => `${n} ${m.mode.toString(8)}`)).toEqual([]);
    expect(await openToOthers(dir)).toEqual([]);
  });

  it('the lock file, while held, is 0600 under umask 000', async () => {
    const dir = await makeDataDir();
    const holder = spawn('sh', ['-c', `umask 000 && exec "$@"`, 'sh', process.execPath, WORKER, 'hold', dir], { stdio: ['pipe', 'pipe', 'pipe'] });
    try {
      await new Promise<void>((resolve, reject) => {
        let out = '';
        holder.stdout.setEncoding('utf8').on('data', (s: string) => {
          out += s;
          if (out.includes('"ready"')) resolve();
        });
        holder.on('close', () => reject(new Error('holder exited early')));
      });
      expect((await stat(path.join(dir, 'lock'))).mode & 0o777).toBe(0o600);
      expect(await openToOthers(dir)).toEqual([]);
    } finally {
      holder.stdin.end();
      await new Promise((r) => holder.on('close', r));
    }
  });

  it('a new --data-dir below missing parents is 0700', async () => {
    const base = await tempDir('kaiju-modes-');
    const dir = path.join(base, 'a', 'b', 'data');
    const r = await runUnderUmask('022', BIN, ['migrate', '-q', '--data-dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect((await stat(dir)).mode & 0o777).toBe(0o700);
    expect(await openToOthers(dir)).toEqual([]);
  });
});
