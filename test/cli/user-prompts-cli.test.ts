/**
 * Password prompts and delete confirmation of the user commands on a real terminal (tmux): masked
 * entry, typed twice when setting one, a weak password refused before it is typed twice,
 * mismatches asked again, Ctrl-C exits 130, and `user delete` asks.
 */
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { makeDataDir, removeTempDirs, runCli } from '../support/cli.js';
import { TMUX_AVAILABLE, tmuxCli, type TmuxCli } from '../support/tmux.js';

const PW = 'typed secret 42';

afterAll(removeTempDirs);

describe.skipIf(!TMUX_AVAILABLE)('user prompts on a terminal (tmux; skipped only when tmux is not installed)', () => {
  let term: TmuxCli | undefined;
  afterEach(() => {
    term?.kill();
    term = undefined;
  });

  it('register: masked, weak refused at once, mismatch asked again, then the user authenticates', async () => {
    const dir = await makeDataDir();
    term = await tmuxCli(['user', 'register', '--username', 'tina', '--email', 'tina@example.com', '--data-dir', dir]);
    await term.waitFor(/Password for tina:/);
    term.send('short', 'Enter');
    await term.waitFor(/password must be 12 to 128 characters/);
    for (let i = 0; i < 5; i++) term.send('BSpace');
    term.send(PW, 'Enter');
    await term.waitFor(/Repeat password for tina:/);
    term.send('something else 1', 'Enter');
    await term.waitFor(/The two entries differ; try again\./);
    await term.waitFor(/differ; try again\.\n.*Password for tina:/);
    term.send(PW, 'Enter');
    await term.waitFor(/Repeat password for tina:\s*$/m);
    term.send(PW, 'Enter');
    expect(await term.exitCode(), term.screen()).toBe(0);
    const screen = term.screen();
    expect(screen).toMatch(/registered user tina/);
    expect(screen).not.toContain(PW); // masked
    expect(screen).toMatch(/\*{15}/);
    // The typed password is the one stored: passwd with it as the old one succeeds.
    const r = await runCli(['user', 'passwd', 'tina', '--password-stdin', '-q', '--data-dir', dir], { input: `${PW}\nanother secret 43\n` });
    expect(r.code, r.stderr).toBe(0);
  });

  it('Ctrl-C at the password prompt exits 130 and registers nobody', async () => {
    const dir = await makeDataDir();
    term = await tmuxCli(['user', 'register', '--username', 'tina', '--email', 'tina@example.com', '--data-dir', dir]);
    await term.waitFor(/Password for tina:/);
    term.send('C-c');
    expect(await term.exitCode()).toBe(130);
    expect((await runCli(['user', 'show', 'tina', '-q', '--data-dir', dir])).code).toBe(4);
  });

  it('delete asks: n keeps the user (exit 8), y deletes it', async () => {
    const dir = await makeDataDir();
    expect((await runCli(['user', 'register', '--username', 'tina', '--email', 't@example.com', '--password-stdin', '-q', '--data-dir', dir], { input: `${PW}\n` })).code).toBe(0);
    term = await tmuxCli(['user', 'delete', 'tina', '--data-dir', dir]);
    await term.waitFor(/Delete user tina \(t@example\.com\)[\s\S]*\(y\/N\)/);
    term.send('n', 'Enter');
    expect(await term.exitCode()).toBe(8);
    expect((await runCli(['user', 'show', 'tina', '-q', '--data-dir', dir])).code).toBe(0);
    term.kill();
    term = await tmuxCli(['user', 'delete', 'tina', '--data-dir', dir]);
    await term.waitFor(/\(y\/N\)/);
    term.send('y', 'Enter');
    expect(await term.exitCode(), term.screen()).toBe(0);
    expect((await runCli(['user', 'show', 'tina', '-q', '--data-dir', dir])).code).toBe(4);
  });

  it('passwd checks the old password before asking for the new one: a wrong one exits 3 at once', async () => {
    const dir = await makeDataDir();
    expect((await runCli(['user', 'register', '--username', 'tina', '--email', 't@example.com', '--password-stdin', '-q', '--data-dir', dir], { input: `${PW}\n` })).code).toBe(0);
    term = await tmuxCli(['user', 'passwd', 'tina', '--data-dir', dir]);
    await term.waitFor(/Current password of tina:/);
    term.send('not the password 1', 'Enter');
    expect(await term.exitCode(), term.screen()).toBe(3);
    expect(term.screen()).not.toMatch(/New password/);
    // The right one: then new, twice.
    term.kill();
    term = await tmuxCli(['user', 'passwd', 'tina', '--data-dir', dir]);
    await term.waitFor(/Current password of tina:/);
    term.send(PW, 'Enter');
    await term.waitFor(/New password:/);
    term.send('another secret 43', 'Enter');
    await term.waitFor(/Repeat new password:/);
    term.send('another secret 43', 'Enter');
    expect(await term.exitCode(), term.screen()).toBe(0);
    expect(term.screen()).not.toContain(PW);
  });

  it('--password-stdin on a terminal prompts and reads one line without echo (Enter ends it)', async () => {
    const dir = await makeDataDir();
    term = await tmuxCli(['user', 'register', '--username', 'tina', '--email', 't@example.com', '--password-stdin', '--data-dir', dir]);
    await term.waitFor(/Password for tina \(one line\):/);
    term.send(PW, 'Enter');
    expect(await term.exitCode(), term.screen()).toBe(0);
    expect(term.screen()).toMatch(/registered user tina/);
    expect(term.screen()).not.toContain(PW);
    const r = await runCli(['user', 'passwd', 'tina', '--password-stdin', '-q', '--data-dir', dir], { input: `${PW}\nanother secret 43\n` });
    expect(r.code, r.stderr).toBe(0);
  });

  it('register asks for a missing --username and --email on a terminal, checked as typed', async () => {
    const dir = await makeDataDir();
    term = await tmuxCli(['user', 'register', '--data-dir', dir]);
    await term.waitFor(/Username:/);
    term.send('x', 'Enter');
    await term.waitFor(/username must be 4 to 32 characters/);
    term.send('BSpace', 'tina', 'Enter');
    await term.waitFor(/Email:/);
    term.send('t@example.com', 'Enter');
    await term.waitFor(/Password for tina:/);
    term.send(PW, 'Enter');
    await term.waitFor(/Repeat password for tina:/);
    term.send(PW, 'Enter');
    expect(await term.exitCode(), term.screen()).toBe(0);
    const shown = await runCli(['user', 'show', 'tina', '--json', '-q', '--data-dir', dir]);
    expect(shown.json()).toMatchObject({ username: 'tina', email: 't@example.com' });
    // Without a terminal: the usage error, never a prompt.
    const piped = await runCli(['user', 'register', '--email', 'u@example.com', '--password-stdin', '--data-dir', dir], { input: `${PW}\n` });
    expect(piped.code).toBe(2);
    expect(piped.stderr).toMatch(/required option '--username <username>' not specified/);
  });

  it('a second command waiting for the embedded lock says at once who holds it', async () => {
    const dir = await makeDataDir();
    // The holder: migrate down waiting at its question keeps the directory.
    const holder = await tmuxCli(['migrate', 'down', '--data-dir', dir]);
    try {
      await holder.waitFor(/Roll back \(y\/N\)/);
      const pid = holder.pid();
      term = await tmuxCli(['status', '--data-dir', dir], { env: { KAIJU_AUTH_LOCK_TIMEOUT: '60s' } });
      await term.waitFor(new RegExp(`waiting for pid ${pid} \\(kaiju-auth migrate down\\) to release`));
      holder.send('n', 'Enter');
      expect(await holder.exitCode()).toBe(8);
      expect(await term.exitCode(), term.screen()).toBe(0);
    } finally {
      holder.kill();
    }
  });
});
