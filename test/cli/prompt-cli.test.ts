/**
 * `migrate down` on a real terminal (tmux): it asks, "n" refuses (exit 8, nothing changed), "y"
 * rolls back; Ctrl-C and SIGTERM at the prompt end the process and free the data directory.
 */
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../migrations/index.js';
import { exists, makeDataDir, removeTempDirs, runCli } from '../support/cli.js';
import { TMUX_AVAILABLE, tmuxCli, type TmuxCli } from '../support/tmux.js';

const NAMES = MIGRATIONS.map((m) => m.name);
const PROMPT = /Roll\s+back\s+batch\s+1\s+\(20[\s\S]*Tables\s+it\s+created\s+are\s+dropped\s+\(y\/N\)/;

async function applied(dir: string): Promise<boolean[]> {
  const r = await runCli(['migrate', 'status', '--json', '-q', '--data-dir', dir]);
  expect(r.code, r.stderr).toBe(0);
  return r.json().map((m: { applied: boolean }) => m.applied);
}

afterAll(removeTempDirs);

describe.skipIf(!TMUX_AVAILABLE)('migrate down on a terminal (tmux; skipped only when tmux is not installed)', () => {
  let term: TmuxCli | undefined;
  afterEach(() => {
    term?.kill();
    term = undefined;
  });

  it('answering n refuses with exit 8 and changes nothing', async () => {
    const dir = await makeDataDir();
    term = await tmuxCli(['migrate', 'down', '--data-dir', dir]);
    await term.waitFor(PROMPT);
    term.send('n', 'Enter');
    expect(await term.exitCode(), term.screen()).toBe(8);
    expect(term.screen()).toMatch(/cancelled: not confirmed/);
    expect(await applied(dir)).toEqual(NAMES.map(() => true));
    expect(await exists(path.join(dir, 'lock'))).toBe(false);
  });

  it('answering y rolls the batch back', async () => {
    const dir = await makeDataDir();
    term = await tmuxCli(['migrate', 'down', '--data-dir', dir]);
    await term.waitFor(PROMPT);
    term.send('y', 'Enter');
    expect(await term.exitCode()).toBe(0);
    expect(term.screen()).toContain(`rolled back ${NAMES.length} migration(s) (batch 1)`);
    expect(await applied(dir)).toEqual(NAMES.map(() => false));
  });

  it('-y does not ask, on a terminal either', async () => {
    const dir = await makeDataDir();
    term = await tmuxCli(['migrate', 'down', '-y', '--data-dir', dir]);
    expect(await term.exitCode()).toBe(0);
    expect(term.screen()).not.toMatch(/\(y\/N\)/);
    expect(await applied(dir)).toEqual(NAMES.map(() => false));
  });

  it('Ctrl-C at the prompt exits 130, changes nothing and frees the data directory', async () => {
    const dir = await makeDataDir();
    term = await tmuxCli(['migrate', 'down', '--data-dir', dir]);
    await term.waitFor(PROMPT);
    expect(await exists(path.join(dir, 'lock'))).toBe(true);
    term.send('C-c');
    expect(await term.exitCode()).toBe(130);
    expect(term.screen()).toMatch(/interrupted/);
    expect(await exists(path.join(dir, 'lock'))).toBe(false);
    expect(await applied(dir)).toEqual(NAMES.map(() => true));
  });

  it('SIGTERM while it waits at the prompt exits 143 and leaves no lock behind', async () => {
    const dir = await makeDataDir();
    term = await tmuxCli(['migrate', 'down', '--data-dir', dir]);
    await term.waitFor(PROMPT);
    process.kill(term.pid(), 'SIGTERM');
    expect(await term.exitCode()).toBe(143);
    expect(await exists(path.join(dir, 'lock'))).toBe(false);
    expect(await applied(dir)).toEqual(NAMES.map(() => true));
  });
});
