/**
 * Tokens stricter than jose's defaults, through the CLI (issue 11 item 9): a token signed by the
 * keystore's own key but with `iat` in the future, `exp` beyond the key's `verifies_until`, a
 * duplicate header member, a high-S signature, or over the size limit is exit 3 with its own code
 * against the keystore, offline with `--jwks`, and line by line in `--batch`.
 */
import { createPrivateKey, generateKeyPairSync, sign as cryptoSign, type KeyObject } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliOptions, type CliTarget } from '../support/cli.js';

const P256_N = BigInt('0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551');
const b64 = (text: string) => Buffer.from(text).toString('base64url');

function setS(signature: Buffer, high: boolean): Buffer {
  const s = BigInt(`0x${signature.subarray(32).toString('hex')}`);
  const isHigh = s > P256_N >> 1n;
  if (isHigh === high) return signature;
  return Buffer.concat([signature.subarray(0, 32), Buffer.from((P256_N - s).toString(16).padStart(64, '0'), 'hex')]);
}

function signRaw(key: KeyObject, header: string, claims: string, high = false): string {
  const input = `${b64(header)}.${b64(claims)}`;
  const signature = cryptoSign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${setS(signature, high).toString('base64url')}`;
}

afterAll(removeTempDirs);

describe.each(BACKENDS)('strict token verification on %s', (backend) => {
  let db: CliTarget;
  let key: KeyObject;
  let jwks: string;
  let cases: [string, string, string][];
  const KID = 'strict-test-key';
  const env = { KAIJU_AUTH_LOCK_TIMEOUT: '120s', KAIJU_AUTH_SECRET: 'strict token test secret, long enough' };
  const cli = (args: string[], options: CliOptions = {}) => runCli([...db.args, ...args], { ...options, env: { ...env, ...options.env } });

  beforeAll(async () => {
    db = await cliTarget(backend, { create: false });
    expect((await cli(['migrate', '-q'])).code).toBe(0);
    const pem = String(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }));
    key = createPrivateKey(pem);
    const file = path.join(db.tmp, 'k.pem');
    await writeFile(file, pem, { mode: 0o600 });
    const imported = await cli(['keys', 'import', file, '--kid', KID, '--lifetime', '1h', '-q']);
    expect(imported.code, imported.stderr).toBe(0);
    jwks = path.join(db.tmp, 'jwks.json');
    expect((await cli(['keys', 'jwks', '--out', jwks, '-q'])).code).toBe(0);
    const now = Math.floor(Date.now() / 1000);
    const header = JSON.stringify({ typ: 'JWT', alg: 'ES256', kid: KID });
    const claims = { id: 'u1', sub: 'u1', permissions: ['p'], iat: now, exp: now + 600, jti: 'j', typ: 'access' };
    const c = (extra: object) => JSON.stringify({ ...claims, ...extra });
    cases = [
      ['control: a good token', signRaw(key, header, c({})), 'ok'],
      ['iat an hour in the future', signRaw(key, header, c({ iat: now + 3600 })), 'auth.token.iat_future'],
      ["exp far beyond the key's verifies_until", signRaw(key, header, c({ exp: now + 3650 * 86400 })), 'auth.token.exp_beyond_key'],
      ['a duplicate header member', signRaw(key, header.replace('}', `,"kid":"${KID}"}`), c({})), 'auth.token.duplicate_member'],
      ['a high-S signature', signRaw(key, header, c({}), true), 'auth.token.non_canonical_signature'],
      ['a 20 KB token', signRaw(key, header, c({ pad: 'x'.repeat(20_000) })), 'auth.token.too_large'],
    ];
  }, 120_000);
  afterAll(async () => db.cleanup());

  it('each is exit 3 with its own code, online and offline (--jwks)', async () => {
    for (const [name, token, code] of cases) {
      for (const offline of [false, true]) {
        const r = await cli(['token', 'verify', token, '--json', ...(offline ? ['--jwks', jwks] : [])]);
        const where = `${name} (${offline ? '--jwks' : 'keystore'})`;
        if (code === 'ok') {
          expect(r.code, `${where}: ${r.stderr}`).toBe(0);
        } else {
          expect(r.code, `${where}: ${r.stderr}`).toBe(3);
          expect(r.errorJson().error.code, where).toBe(code);
        }
      }
    }
  });

  it('and in --batch, each on its line; a 10 MB line too, without buffering it', async () => {
    const lines = [...cases.map((c) => c[1]), `${'A'.repeat(10 * 1024 * 1024)}.B.C`];
    const expected = [...cases.map((c) => c[2]), 'auth.token.too_large'];
    for (const offline of [false, true]) {
      const r = await cli(['token', 'verify', '--batch', ...(offline ? ['--jwks', jwks] : [])], { input: `${lines.join('\n')}\n` });
      expect(r.code, r.stderr).toBe(3);
      const out = r.stdout.trim().split('\n').map((l) => JSON.parse(l) as { line: number; valid: boolean; error?: { code: string } });
      expect(out.map((l) => l.line)).toEqual(lines.map((_, i) => i + 1));
      expect(out.map((l) => (l.valid ? 'ok' : l.error?.code))).toEqual(expected);
    }
  });

  it('the JWKS says when each key stops verifying (exp), as keys list does', async () => {
    const doc = JSON.parse((await cli(['keys', 'jwks'])).stdout) as { keys: { kid: string; exp: number }[] };
    const listed = JSON.parse((await cli(['keys', 'list', '--json'])).stdout) as { kid: string; verifies_until: string }[];
    for (const k of doc.keys) {
      const row = listed.find((l) => l.kid === k.kid);
      expect(k.exp).toBe(Math.floor(new Date(row?.verifies_until as string).getTime() / 1000));
    }
  });
});
