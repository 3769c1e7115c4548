/**
 * `user import` on a real terminal (tmux) at 80 and 120 columns: the progress bar is drawn whole
 * (never cut by the terminal), its rate carries the unit, and Ctrl-C leaves the bar's last frame on
 * a line of its own, then "kaiju-auth: interrupted" (exit 130), with whole batches imported.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeDataDir, removeTempDirs, runCli, tempDir } from '../support/cli.js';
import { TMUX_AVAILABLE, tmuxCli, type TmuxCli } from '../support/tmux.js';

const ROWS = 400;
const BAR = new RegExp(`^importing +\\[[^\\]]*\\] +\\d+% \\| \\d+/${ROWS} users( \\| (\\d+|-) users/s( \\| ETA .+)?)?$`);

afterAll(removeTempDirs);

async function peopleFile(): Promise<string> {
  const file = path.join(await tempDir('kaiju-import-tty-'), 'people.jsonl');
  const rows = Array.from({ length: ROWS }, (_, i) => JSON.stringify({ username: `tty_user_${i}`, email: `tty${i}@example.com`, password: `terminal password ${i}` }));
  await writeFile(file, `${rows.join('\n')}\n`);
  return file;
}

describe.skipIf(!TMUX_AVAILABLE)('user import on a terminal (tmux; skipped only when tmux is not installed)', () => {
  let term: TmuxCli | undefined;
  afterEach(() => {
    term?.kill();
    term = undefined;
  });

  it.each([80, 120])('at %i columns the bar fits; Ctrl-C leaves it whole and says interrupted on its own line', async (columns) => {
    const dir = await makeDataDir();
    const file = await peopleFile();
    // A high bcrypt cost keeps the import busy long enough to watch it.
    term = await tmuxCli(['user', 'import', file, '--rounds', '11', '--batch-size', '50', '--data-dir', dir], { columns });
    await term.waitFor(/^importing +\[.*\d+ users\/s/m, 60_000);
    const drawing = term.screen().split('\n');
    const bar = drawing.find((l) => l.startsWith('importing '));
    expect(bar, term.screen()).toMatch(BAR);
    for (const line of drawing) expect(line.length, line).toBeLessThan(columns);
    term.send('C-c');
    expect(await term.exitCode(), term.screen()).toBe(130);
    const lines = term.screen().split('\n');
    const at = lines.indexOf('kaiju-auth: interrupted');
    expect(at, term.screen()).toBeGreaterThan(0);
    expect(lines[at - 1], term.screen()).toMatch(BAR);
    expect(term.screen()).not.toContain('^C');
    const count = await runCli(['user', 'list', '--json', '-q', '--limit', String(ROWS), '--data-dir', dir]);
    expect(count.code, count.stderr).toBe(0);
    // Batches commit one by one: whole batches were imported, the one in flight rolled back.
    const imported = count.json<unknown[]>().length;
    expect(imported % 50).toBe(0);
    expect(imported).toBeLessThan(ROWS);
  });
});
