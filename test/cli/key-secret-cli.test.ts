/**
 * A wrong key secret changes nothing (issue 11 item 1): `keys rotate` (also `--if-older-than`, as
 * cron runs it), `keys import`, `token issue`, `token refresh` and `init` exit 3
 * `auth.key.secret_invalid` with the key rows and the audit log unchanged, with a signing key in
 * place and with every key expired; `status` says whether the configured secret opens the signing
 * key. On the embedded database a lost `<data-dir>/secret` is reported, never silently replaced.
 */
import { existsSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { generateKeyPairSync } from 'node:crypto';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliOptions, type CliTarget } from '../support/cli.js';

const GOOD = 'the right key secret, long enough';
const WRONG = 'a wrong key secret, also long enough';
const PASSWORD = 'correct horse 1';
const HOUR = 3600_000;

afterAll(removeTempDirs);

describe.each(BACKENDS)('a wrong key secret on %s', (backend) => {
  let db: CliTarget;
  let refresh: string;
  let pemFile: string;
  let wrongFile: string;
  const env = { KAIJU_AUTH_LOCK_TIMEOUT: '120s', KAIJU_AUTH_SECRET: GOOD };
  const cli = (args: string[], options: CliOptions = {}) => runCli([...db.args, ...args], { ...options, env: { ...env, ...options.env } });
  const snapshot = () =>
    db.withKnex(async (knex) => ({
      keys: await knex('keystore').select('kid', 'state', 'created', 'signs_until', 'verifies_until', 'private_key_enc').orderBy('kid'),
      audit: await knex('audit_log').select('id', 'command', 'target').orderBy('id'),
    }));

  beforeAll(async () => {
    db = await cliTarget(backend, { create: false });
    for (const args of [['init', '-q'], ['user', 'register', '--username', 'alice', '--email', 'alice@example.com', '--password-stdin', '-q']]) {
      const r = await cli(args, { input: `${PASSWORD}\n` });
      expect(r.code, r.stderr).toBe(0);
    }
    const pair = await cli(['token', 'issue', '--username', 'alice', '--password-stdin', '--json'], { input: PASSWORD });
    expect(pair.code, pair.stderr).toBe(0);
    refresh = pair.json().refresh;
    pemFile = path.join(db.tmp, 'import.pem');
    await writeFile(pemFile, String(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' })));
    wrongFile = path.join(db.tmp, 'wrong-secret');
    await writeFile(wrongFile, `${WRONG}\n`, { mode: 0o600 });
  }, 180_000);
  afterAll(async () => db.cleanup());

  const commands: [string, string[], string?][] = [
    ['keys rotate', ['keys', 'rotate']],
    ['keys rotate --if-older-than 12h (cron)', ['keys', 'rotate', '--if-older-than', '12h']],
    ['keys import', ['keys', 'import', '<pem>']],
    ['token issue', ['token', 'issue', '--username', 'alice', '--password-stdin'], PASSWORD],
    ['token issue --without-password', ['token', 'issue', '--username', 'alice', '--without-password']],
    ['token refresh', ['token', 'refresh', '<refresh>']],
    ['init', ['init']],
  ];

  async function expectRefused(label: string) {
    const before = await snapshot();
    for (const [name, args, input] of commands) {
      const argv = args.map((a) => (a === '<pem>' ? pemFile : a === '<refresh>' ? refresh : a));
      for (const source of [{ env: { KAIJU_AUTH_SECRET: WRONG } }, { args: ['--secret-file', wrongFile] }]) {
        const r = await cli([...argv, ...(source.args ?? []), '--json'], { input: input ?? '', env: source.env ?? {} });
        expect(r.code, `${label}: ${name}: ${r.stderr}`).toBe(3);
        expect(r.errorJson().error.code, `${label}: ${name}`).toBe('auth.key.secret_invalid');
        expect(r.stdout).toBe('');
        expect(r.stderr).not.toContain(WRONG);
      }
    }
    expect(await snapshot(), label).toEqual(before);
  }

  // 14 runs of the CLI each: minutes on a loaded machine.
  it('with a signing key in place: every command that seals or uses a private key exits 3, nothing written', { timeout: 900_000 }, async () => {
    await expectRefused('signing key in place');
  });

  it('status says whether the configured secret opens the signing key', async () => {
    const good = await cli(['status', '--json']);
    expect(good.json().keys.secret).toBe('opens');
    const wrong = await cli(['status', '--json'], { env: { KAIJU_AUTH_SECRET: WRONG } });
    expect(wrong.code).toBe(0);
    expect(wrong.json().keys.secret).toBe('wrong');
    expect(wrong.stderr).toMatch(/does not open the signing key/);
    const human = await cli(['status'], { env: { KAIJU_AUTH_SECRET: WRONG } });
    expect(human.stdout).toMatch(/signing key: .*the key secret does NOT open it/);
  });

  it('with every key expired: still exit 3, nothing written; the right secret then rotates', { timeout: 900_000 }, async () => {
    const now = Date.now();
    await db.withKnex((knex) =>
      knex('keystore').update({ created: new Date(now - 48 * HOUR), signs_until: new Date(now - 24 * HOUR), verifies_until: new Date(now - 23 * HOUR) }),
    );
    await expectRefused('all keys expired');
    expect((await cli(['status', '--json'], { env: { KAIJU_AUTH_SECRET: WRONG } })).json().keys.secret).toBe('wrong');
    const r = await cli(['keys', 'rotate', '--if-older-than', '12h', '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().rotated).toBe(true);
  });
});

describe('the embedded data directory secret', () => {
  let db: CliTarget;
  const cli = (args: string[]) => runCli([...db.args, ...args], { env: { KAIJU_AUTH_LOCK_TIMEOUT: '120s' } });
  beforeAll(async () => {
    db = await cliTarget('pglite', { create: false });
  });
  afterAll(async () => db.cleanup());

  it('lost while keys are sealed under it: exit 2 naming the file, no new secret made, nothing written', async () => {
    expect((await cli(['init', '-q'])).code).toBe(0);
    const file = path.join(db.dataDir as string, 'secret');
    await rm(file);
    const before = await db.withKnex((knex) => knex('keystore').select('kid', 'state').orderBy('kid'));
    for (const args of [['keys', 'rotate'], ['init']]) {
      const r = await cli([...args, '--json']);
      expect(r.code, r.stderr).toBe(2);
      expect(r.errorJson().error.code).toBe('auth.key.secret_missing');
      expect(r.errorJson().error.message).toContain(file);
      expect(existsSync(file)).toBe(false);
    }
    expect((await cli(['status', '--json'])).json().keys.secret).toBe('missing');
    expect(await db.withKnex((knex) => knex('keystore').select('kid', 'state').orderBy('kid'))).toEqual(before);
  });
});
