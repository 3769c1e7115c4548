/**
 * `migrate down` on a real terminal (tmux, 80 and 120 columns): it asks, naming the migrations in
 * one summary (count, first .. last) and the rows each dropped table holds; "n" refuses (exit 8,
 * nothing changed), "y" rolls back; tables holding rows are asked about even with -y; Ctrl-C and
 * SIGTERM at the prompt end the process and free the data directory.
 */
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../migrations/index.js';
import { exists, makeDataDir, removeTempDirs, runCli } from '../support/cli.js';
import { TMUX_AVAILABLE, tmuxCli, type TmuxCli } from '../support/tmux.js';

const NAMES = MIGRATIONS.map((m) => m.name);
const FIRST = NAMES[0]!;
const LAST = NAMES[NAMES.length - 1]!;
const PROMPT = new RegExp(
  `Rolling back batch 1 of embedded database at .*\\n\\s+${NAMES.length} migrations: ${FIRST}\\.\\.${LAST}\\n\\s+would drop 15 table\\(s\\):[\\s\\S]*Roll back \\(y/N\\)`,
);
const DATA_PROMPT = /users\s+1 row[\s\S]*This deletes the rows of \d+ table\(s\) for good\. Drop them \(y\/N\)/;

/** Every screen line fits the terminal: no line was wrapped by the terminal (tmux keeps it whole). */
function widest(screen: string): number {
  return Math.max(...screen.split('\n').map((l) => l.length));
}

async function withAUser(dir: string): Promise<void> {
  const r = await runCli(['user', 'register', '--username', 'alice', '--email', 'alice@example.com', '--password-stdin', '-q', '--data-dir', dir], {
    input: 'correct horse battery staple 9\n',
  });
  expect(r.code, r.stderr).toBe(0);
}

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

  it.each([80, 120])('at %i columns the question summarises the migrations and fits the screen', async (columns) => {
    const dir = await makeDataDir();
    term = await tmuxCli(['migrate', 'down', '--data-dir', dir], { columns, lines: 50 });
    const screen = await term.waitFor(PROMPT);
    expect(widest(screen)).toBeLessThan(columns);
    expect(screen).toMatch(/^\s+users\s+0 rows$/m);
    expect(screen).toMatch(/^\s+kaiju_auth_schema_info\s+1 row\s+\(derived\/bookkeeping\)$/m);
    term.send('n', 'Enter');
    expect(await term.exitCode(), term.screen()).toBe(8);
    expect(await applied(dir)).toEqual(NAMES.map(() => true));
  });

  it('tables holding rows: asked even with -y, naming the rows; n keeps them, y drops them', async () => {
    const dir = await makeDataDir();
    await withAUser(dir);
    term = await tmuxCli(['migrate', 'down', '-y', '--data-dir', dir]);
    await term.waitFor(DATA_PROMPT);
    term.send('n', 'Enter');
    expect(await term.exitCode(), term.screen()).toBe(8);
    expect(await applied(dir)).toEqual(NAMES.map(() => true));
    term.kill();
    term = await tmuxCli(['migrate', 'down', '--data-dir', dir]);
    await term.waitFor(DATA_PROMPT);
    term.send('y', 'Enter');
    expect(await term.exitCode(), term.screen()).toBe(0);
    expect(await applied(dir)).toEqual(NAMES.map(() => false));
  });

  it('with --drop-data -y it does not ask', async () => {
    const dir = await makeDataDir();
    await withAUser(dir);
    term = await tmuxCli(['migrate', 'down', '-y', '--drop-data', '--data-dir', dir]);
    expect(await term.exitCode(), term.screen()).toBe(0);
    expect(term.screen()).not.toMatch(/\(y\/N\)/);
    expect(term.screen()).toMatch(/users\s+1 row/);
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
