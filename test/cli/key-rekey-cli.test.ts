/**
 * `keys rekey` from the command line (issue 15 item 2). The new secret never on the command line:
 * `--new-secret-file` or KAIJU_AUTH_NEW_SECRET; on the embedded database with its own secret file,
 * a fresh secret replaces the file, written to `secret.new` before the transaction so that a
 * rekey cut off after its commit loses nothing: the next command opens the keys through it, and
 * `keys rekey` finishes the swap.
 */
import { existsSync } from 'node:fs';
import { readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliOptions, type CliTarget } from '../support/cli.js';

const OLD = 'the old key secret, long enough';
const NEW = 'the new key secret, long enough';
const PASSWORD = 'correct horse 1';

afterAll(removeTempDirs);

describe.each(BACKENDS)('keys rekey on %s', (backend) => {
  let db: CliTarget;
  const cli = (args: string[], env: Record<string, string> = {}, options: CliOptions = {}) =>
    runCli([...db.args, ...args], { ...options, env: { KAIJU_AUTH_LOCK_TIMEOUT: '120s', ...env } });

  beforeAll(async () => {
    db = await cliTarget(backend, { create: false });
    for (const args of [['init', '-q'], ['user', 'register', '--username', 'alice', '--email', 'alice@example.com', '--password-stdin', '-q']]) {
      const r = await cli(args, { KAIJU_AUTH_SECRET: OLD }, { input: `${PASSWORD}\n` });
      expect(r.code, r.stderr).toBe(0);
    }
  }, 180_000);
  afterAll(async () => db.cleanup());

  it('rolls a secret: KAIJU_AUTH_NEW_SECRET (or a file) re-keys once; old-secret hosts keep working meanwhile; no secret in output', async () => {
    const noNew = await cli(['keys', 'rekey', '--json', '-q'], { KAIJU_AUTH_SECRET: OLD });
    if (backend === 'postgres') expect([noNew.code, noNew.errorJson().error.code]).toEqual([2, 'cli.secret_missing']);
    const wrong = await cli(['keys', 'rekey', '--json', '-q'], { KAIJU_AUTH_SECRET: 'a wrong secret, long enough', KAIJU_AUTH_NEW_SECRET: NEW });
    expect([wrong.code, wrong.errorJson().error.code]).toEqual([3, 'auth.key.secret_invalid']);
    const done = await cli(['keys', 'rekey', '--json'], { KAIJU_AUTH_SECRET: OLD, KAIJU_AUTH_NEW_SECRET: NEW });
    expect(done.code, done.stderr).toBe(0);
    expect(done.json()).toMatchObject({ rekeyed: true, keys: 1 });
    for (const text of [done.stdout, done.stderr]) for (const s of [OLD, NEW]) expect(text).not.toContain(s);
    // A host that still has the old secret and the new one: works, status says to finish the roll.
    const during = { KAIJU_AUTH_SECRET: OLD, KAIJU_AUTH_NEW_SECRET: NEW };
    const issued = await cli(['token', 'issue', '--username', 'alice', '--password-stdin', '-q'], during, { input: PASSWORD });
    expect(issued.code, issued.stderr).toBe(0);
    expect((await cli(['status', '--json', '-q'], during)).json().keys.secret).toBe('opens_new');
    expect((await cli(['status', '--json', '-q'], { KAIJU_AUTH_SECRET: NEW })).json().keys.secret).toBe('opens');
    const oldOnly = await cli(['token', 'issue', '--username', 'alice', '--password-stdin', '--json', '-q'], { KAIJU_AUTH_SECRET: OLD }, { input: PASSWORD });
    expect([oldOnly.code, oldOnly.errorJson().error.code]).toEqual([3, 'auth.key.secret_invalid']);
    // Run again (a second host): nothing to do, exit 0. From a file: the same.
    const file = path.join(db.tmp, 'new.secret');
    await writeFile(file, `${NEW}\n`, { mode: 0o600 });
    const again = await cli(['keys', 'rekey', '--new-secret-file', file, '--json', '-q'], { KAIJU_AUTH_SECRET: OLD });
    expect([again.code, again.json().rekeyed]).toEqual([0, false]);
    const audit = await db.withKnex((k) => k('audit_log').where({ command: 'keys.rekey' }).select('summary'));
    expect(audit).toEqual([{ summary: { keys: 1 } }]);
  });
});

describe.each(BACKENDS.filter((b) => b === 'pglite'))('keys rekey of the embedded secret file on %s', (backend) => {
  let db: CliTarget;
  const cli = (args: string[], options: CliOptions = {}) => runCli([...db.args, ...args], { ...options, env: { KAIJU_AUTH_LOCK_TIMEOUT: '120s' } });
  beforeAll(async () => {
    db = await cliTarget(backend, { create: false });
    for (const args of [['init', '-q'], ['user', 'register', '--username', 'alice', '--email', 'alice@example.com', '--password-stdin', '-q']]) {
      const r = await cli(args, { input: `${PASSWORD}\n` });
      expect(r.code, r.stderr).toBe(0);
    }
  }, 180_000);
  afterAll(async () => db.cleanup());

  it('a fresh secret replaces <data-dir>/secret; a rekey cut off before or after its commit is finished, never lost', async () => {
    const dir = db.dataDir as string;
    const secretFile = path.join(dir, 'secret');
    const first = await readFile(secretFile, 'utf8');
    const r = await cli(['keys', 'rekey', '--json', '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json()).toMatchObject({ rekeyed: true, keys: 1 });
    const second = await readFile(secretFile, 'utf8');
    expect(second).not.toBe(first);
    expect(existsSync(path.join(dir, 'secret.new'))).toBe(false);
    const issue = () => cli(['token', 'issue', '--username', 'alice', '--password-stdin', '-q'], { input: PASSWORD });
    expect((await issue()).code).toBe(0);

    // Cut off after the commit, before the rename: secret.new holds the secret the keys are under.
    await rename(secretFile, path.join(dir, 'secret.new'));
    await writeFile(secretFile, first, { mode: 0o600 });
    expect((await issue()).code).toBe(0);
    expect((await cli(['status', '--json', '-q'])).json().keys.secret).toBe('opens_new');
    const other = path.join(db.tmp, 'other.secret');
    await writeFile(other, 'yet another secret, long enough\n', { mode: 0o600 });
    const refused = await cli(['keys', 'rekey', '--new-secret-file', other, '--json', '-q']);
    expect([refused.code, refused.errorJson().error.code]).toEqual([2, 'cli.usage']);
    const finished = await cli(['keys', 'rekey', '--json', '-q']);
    expect([finished.code, finished.json().rekeyed]).toEqual([0, false]);
    expect(await readFile(secretFile, 'utf8')).toBe(second);
    expect(existsSync(path.join(dir, 'secret.new'))).toBe(false);

    // Cut off before the commit: secret.new is there, the keys are still under the current secret.
    await writeFile(path.join(dir, 'secret.new'), 'the staged secret, long enough\n', { mode: 0o600 });
    const staged = await cli(['keys', 'rekey', '--json', '-q']);
    expect([staged.code, staged.json().rekeyed]).toEqual([0, true]);
    expect(await readFile(secretFile, 'utf8')).toBe('the staged secret, long enough\n');
    expect((await issue()).code).toBe(0);
    expect((await cli(['status', '--json', '-q'])).json().keys.secret).toBe('opens');
  });
});
