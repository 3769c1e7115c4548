/**
 * A real terminal for tests of prompts: runs the built CLI in a detached tmux pane (its own tmux
 * server socket, so a developer's sessions are never touched), types into it with send-keys and
 * reads the screen with capture-pane. The pane stays after the command ends, so its exit status
 * can be read. `TMUX_AVAILABLE` is false when tmux is not installed (`apt-get install tmux`).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { chmod, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { BIN, cliEnv, tempDir } from './cli.js';

export const TMUX_AVAILABLE = spawnSync('tmux', ['-V']).status === 0;

export interface TmuxCli {
  /** tmux send-keys arguments: literal text, or key names such as 'Enter', 'C-c'. */
  send(...keys: string[]): void;
  /** The pane's text now (lines joined, trailing blank lines dropped). */
  screen(): string;
  /**
   * The pane's lines as the program wrote them: a line wider than the pane, which the terminal
   * wrapped, comes back whole (capture-pane -J), so its width can be measured.
   */
  writtenLines(): string[];
  /** Wait until the screen matches, or fail showing what it did show. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<string>;
  /** The exit code once the command has ended (128+n if signal n killed it); waits for it. */
  exitCode(timeoutMs?: number): Promise<number>;
  /** The pid of the CLI process (the child of the pane's shell). */
  pid(): number;
  kill(): void;
}

let sessions = 0;

function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

/** Start `kaiju-auth args` in a new terminal, 120x40 unless `columns`/`lines` say otherwise. */
export async function tmuxCli(
  args: string[],
  options: { env?: Record<string, string | undefined>; cwd?: string; columns?: number; lines?: number } = {},
): Promise<TmuxCli> {
  const dir = await tempDir('kaiju-tmux-');
  const socket = `kaiju-test-${process.pid}-${++sessions}`;
  const session = 'cli';
  // The tmux server's environment is not ours: a script sets exactly the child's. It records the
  // exit code itself (tmux's #{pane_dead_status} is sometimes never filled in).
  const env = cliEnv(options.env);
  const script = path.join(dir, 'run.sh');
  const exitFile = path.join(dir, 'exit-code');
  const exports = Object.entries(env)
    .filter(([k]) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(k))
    .map(([k, v]) => `export ${k}=${shellQuote(v ?? '')}`);
  await writeFile(
    script,
    [
      '#!/bin/sh',
      // Ctrl-C signals the whole foreground group, this shell too: caught (not ignored, which the
      // CLI would inherit), so the shell lives on to record the CLI's own exit code.
      "trap 'true' INT",
      ...exports, `cd ${shellQuote(options.cwd ?? dir)}`,
      [process.execPath, BIN, ...args].map(shellQuote).join(' '),
      `echo $? > ${shellQuote(exitFile)}`,
      '',
    ].join('\n'),
  );
  await chmod(script, 0o755);
  const tmux = (...a: string[]) => execFileSync('tmux', ['-L', socket, ...a], { encoding: 'utf8' });
  tmux('-f', '/dev/null', 'new-session', '-d', '-s', session, '-x', String(options.columns ?? 120), '-y', String(options.lines ?? 40), script);
  tmux('set-option', '-t', session, 'remain-on-exit', 'on');

  const screen = () =>
    tmux('capture-pane', '-p', '-t', session)
      .replace(/\s+$/, '')
      .split('\n')
      .map((l) => l.trimEnd())
      .join('\n');
  const until = async <T>(what: string, probe: () => T | undefined, timeoutMs: number): Promise<T> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = probe();
      if (v !== undefined) return v;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; the screen shows:\n${screen()}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };
  return {
    send: (...keys) => void tmux('send-keys', '-t', session, ...keys),
    screen,
    writtenLines: () =>
      tmux('capture-pane', '-p', '-J', '-S', '-', '-t', session)
        .replace(/\s+$/, '')
        .split('\n')
        .map((l) => l.trimEnd()),
    waitFor: (pattern, timeoutMs = 30_000) =>
      until(String(pattern), () => {
        const s = screen();
        return pattern.test(s) ? s : undefined;
      }, timeoutMs),
    exitCode: (timeoutMs = 30_000) =>
      until('the command to end', () => (existsSync(exitFile) ? Number(readFileSync(exitFile, 'utf8')) : undefined), timeoutMs),
    pid: () => {
      const shell = tmux('display-message', '-p', '-t', session, '#{pane_pid}').trim();
      return Number(execFileSync('ps', ['-o', 'pid=', '--ppid', shell], { encoding: 'utf8' }).trim());
    },
    kill: () => {
      try {
        tmux('kill-server');
      } catch {
        /* already gone */
      }
    },
  };
}
