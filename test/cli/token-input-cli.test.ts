/**
 * Where `token verify` (and `refresh`, `inspect`) read tokens from (issue 11 item 2): stdin only
 * when asked (`-` or `--batch`); a missing or empty token is exit 2, never "0 tokens verified";
 * a batch that read no line is exit 2; an empty line inside a batch is an invalid token on its
 * line, not skipped. Offline (`--jwks`) and against a database.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateKeyMaterial } from '../../src/core/keys/key-material.js';
import { signTokenPair } from '../../src/core/tokens/issue.js';
import { resolveTokenSettings } from '../../src/core/tokens/settings.js';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, tempDir, type CliOptions, type CliResult, type CliTarget } from '../support/cli.js';

interface BatchLine {
  line: number;
  valid: boolean;
  error?: { code: string };
}
const jsonLines = (text: string) => text.trim().split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as BatchLine);

afterAll(removeTempDirs);

function expectMissing(r: CliResult) {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.errorJson().error).toMatchObject({ code: 'auth.token.missing', exit: 2 });
}

describe('token verify --jwks: where tokens come from', () => {
  let jwks: string;
  let access: string;
  beforeAll(async () => {
    const key = await generateKeyMaterial('ES256');
    const signer = { kid: key.publicJwk.kid, alg: key.alg, privateKey: key.privateKey, signsUntil: new Date(Date.now() + 3600_000) };
    ({ access } = await signTokenPair(signer, { id: 'u-1', permissions: [] }, resolveTokenSettings(), new Date()));
    jwks = path.join(await tempDir(), 'jwks.json');
    await writeFile(jwks, JSON.stringify({ keys: [key.publicJwk] }));
  });
  const verify = (args: string[], options: CliOptions = {}) => runCli(['token', 'verify', '--jwks', jwks, '--json', ...args], options);

  it('no argument, stdin not a terminal (TOKEN=; kaiju-auth token verify $TOKEN </dev/null): exit 2, stdin unread', async () => {
    expectMissing(await verify([]));
    // Even with a valid token waiting on stdin: stdin is read only for '-' or --batch.
    expectMissing(await verify([], { input: `${access}\n` }));
  });

  it('an empty or blank argument is a missing token (exit 2)', async () => {
    expectMissing(await verify(['']));
    expectMissing(await verify(['  ']));
  });

  it("a batch ('-' or --batch) that reads no line is exit 2", async () => {
    expectMissing(await verify(['--batch']));
    expectMissing(await verify(['-']));
    expectMissing(await verify(['-'], { input: '' }));
  });

  it('an empty or blank line inside a batch is an invalid token on its line (exit 3)', async () => {
    const r = await verify(['--batch'], { input: `${access}\n\n  \r\n${access}\r\n` });
    expect(r.code, r.stderr).toBe(3);
    expect(jsonLines(r.stdout).map((l) => [l.line, l.valid, l.error?.code])).toEqual([
      [1, true, undefined],
      [2, false, 'auth.token.invalid'],
      [3, false, 'auth.token.invalid'],
      [4, true, undefined],
    ]);
    // One empty line is one invalid token: not a batch of zero.
    const blank = await verify(['-'], { input: '\n' });
    expect(blank.code).toBe(3);
    expect(jsonLines(blank.stdout).map((l) => [l.line, l.valid])).toEqual([[1, false]]);
  });

  it('a last line without a newline counts; the final newline adds no line', async () => {
    const r = await verify(['-'], { input: `${access}\n${access}` });
    expect(r.code, r.stderr).toBe(0);
    expect(jsonLines(r.stdout).map((l) => l.line)).toEqual([1, 2]);
  });

  it('refresh and inspect read stdin only for -', async () => {
    for (const command of ['refresh', 'inspect']) {
      const r = await runCli(['token', command, '--json'], { input: `${access}\n` });
      expect([r.code, r.errorJson().error.code]).toEqual([2, 'auth.token.missing']);
      const empty = await runCli(['token', command, '-', '--json'], { input: '' });
      expect([empty.code, empty.errorJson().error.code]).toEqual([2, 'auth.token.missing']);
    }
  });
});

describe.each(BACKENDS)('token verify against the keystore on %s', (backend) => {
  let db: CliTarget;
  const env = { KAIJU_AUTH_LOCK_TIMEOUT: '120s', KAIJU_AUTH_SECRET: 'token input test secret, long enough' };
  const cli = (args: string[], options: CliOptions = {}) => runCli([...db.args, ...args], { ...options, env: { ...env, ...options.env } });
  beforeAll(async () => {
    db = await cliTarget(backend, { create: false });
    expect((await cli(['init', '-q'])).code).toBe(0);
  }, 120_000);
  afterAll(async () => db.cleanup());

  it('no token, an empty batch, an empty line: exit 2, 2, 3', async () => {
    expectMissing(await cli(['token', 'verify', '--json']));
    expectMissing(await cli(['token', 'verify', '--batch', '--json']));
    const r = await cli(['token', 'verify', '-', '--json'], { input: 'garbage\n\n' });
    expect(r.code).toBe(3);
    expect(jsonLines(r.stdout).map((l) => [l.line, l.error?.code])).toEqual([
      [1, 'auth.token.invalid'],
      [2, 'auth.token.invalid'],
    ]);
  });
});
