import { generateKeyPairSync, type KeyObject } from 'node:crypto';
import { stat, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliOptions, type CliTarget } from '../support/cli.js';

const SECRET = 'cli test key secret, long enough';
const HOUR = 3600_000;
const pem = (k: KeyObject, type: 'pkcs8' | 'pkcs1' | 'sec1' = 'pkcs8') => String(k.export({ format: 'pem', type } as never));

interface KeyJson {
  kid: string;
  alg: string;
  state: string;
  created: string;
  signs_until: string;
  verifies_until: string;
}

afterAll(removeTempDirs);

describe.each(BACKENDS)('keys commands on %s', (backend) => {
  let db: CliTarget;
  // The embedded database makes its own secret; PostgreSQL needs one from the environment.
  // Processes queue on the embedded data directory's lock: wait longer than the default 10 s.
  const env = { KAIJU_AUTH_LOCK_TIMEOUT: '120s', ...(backend === 'postgres' ? { KAIJU_AUTH_SECRET: SECRET } : {}) };
  const cli = (args: string[], options: CliOptions = {}) => runCli([...db.args, ...args], { ...options, env: { ...env, ...options.env } });
  const keys = async (): Promise<KeyJson[]> => JSON.parse((await cli(['keys', 'list', '--json'])).stdout);
  const active = async () => (await keys()).find((k) => k.state === 'active') as KeyJson;

  beforeAll(async () => {
    db = await cliTarget(backend, { create: false });
  });
  afterAll(async () => db.cleanup());

  it('init makes a signing key once; status shows its age and when rotation is due', async () => {
    const first = await cli(['init', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const doc = JSON.parse(first.stdout);
    expect(doc.key).toMatchObject({ created: true, alg: 'ES256' });
    expect(doc.keys.active).toMatchObject({ kid: doc.key.kid, rotation_due: false });
    if (db.dataDir) {
      const s = await stat(path.join(db.dataDir, 'secret'));
      expect(s.mode & 0o777).toBe(0o600);
      expect((await readFile(path.join(db.dataDir, 'secret'), 'utf8')).trim().length).toBeGreaterThanOrEqual(32);
    }
    const again = await cli(['init', '--json']);
    expect(JSON.parse(again.stdout).key).toEqual({ created: false, kid: doc.key.kid, alg: 'ES256' });
    const status = await cli(['status', '--json']);
    const keysStatus = JSON.parse(status.stdout).keys;
    expect(keysStatus).toMatchObject({ verifying: 1, expired: 0, active: { kid: doc.key.kid, alg: 'ES256', rotation_due: false } });
    expect(keysStatus.active.age_seconds).toBeGreaterThanOrEqual(0);
    expect(new Date(keysStatus.active.rotation_due_at).getTime() - new Date(keysStatus.active.created).getTime()).toBe(12 * HOUR);
    const human = await cli(['status']);
    expect(human.stdout).toMatch(new RegExp(`signing key: ${doc.key.kid} \\(ES256\\), \\d+s old, rotation due in 11h 59m`));
  });

  it('rotate --now: a new key at once, the old one retired; --if-older-than is silent while the key is younger', async () => {
    const before = await active();
    const r = await cli(['keys', 'rotate', '--now', '--alg', 'EdDSA', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const doc = JSON.parse(r.stdout);
    expect(doc).toMatchObject({ rotated: true, action: 'created', retired: before.kid, next: null, key: { alg: 'EdDSA', state: 'active' } });
    const noop = await cli(['keys', 'rotate', '--if-older-than', '12h', '-q']);
    expect(noop).toEqual({ code: 0, stdout: '', stderr: '' });
    const list = await keys();
    expect(list.map((k) => [k.kid, k.state])).toEqual([
      [doc.key.kid, 'active'],
      [before.kid, 'retired'],
    ]);
    expect(Object.keys(list[0] as object).sort()).toEqual(['activated', 'alg', 'created', 'kid', 'signs_until', 'source', 'state', 'verifies_until']);
    expect((await cli(['keys', 'rotate', '--alg', 'HS256'])).code).toBe(2);
    expect((await cli(['keys', 'rotate', '--if-older-than', 'soon'])).code).toBe(2);
    expect((await cli(['keys', 'rotate', '--now', '--if-older-than', '1h'])).code).toBe(2);
    expect((await cli(['keys', 'rotate', '--jwks-max-age', '25h'])).code).toBe(2);
  });

  it('jwks: public keys that still verify, to stdout or atomically to a file', async () => {
    const r = await cli(['keys', 'jwks']);
    expect(r.code).toBe(0);
    const jwks = JSON.parse(r.stdout) as { keys: Record<string, unknown>[] };
    expect(jwks.keys.map((k) => k.kid)).toEqual((await keys()).map((k) => k.kid));
    for (const k of jwks.keys) {
      expect(k).toMatchObject({ use: 'sig' });
      expect(k).not.toHaveProperty('d');
    }
    const out = path.join(db.tmp, 'jwks.json');
    const w = await cli(['keys', 'jwks', '--out', out, '--json']);
    expect(JSON.parse(w.stdout)).toEqual({ out, changed: true, kids: jwks.keys.map((k) => k.kid) });
    expect(JSON.parse(await readFile(out, 'utf8'))).toEqual(jwks);
  });

  it('import: RSA, EC P-256 and Ed25519 PEM keys; weak, missing and duplicate ones refused', async () => {
    const dir = db.tmp;
    const files = {
      rsa: pem(generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey, 'pkcs1'),
      ec: pem(generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey, 'sec1'),
      ed: pem(generateKeyPairSync('ed25519').privateKey),
      weak: pem(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey),
    };
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(dir, `${name}.pem`), text, { mode: 0o600 });
    const file = (name: string) => path.join(dir, `${name}.pem`);
    for (const [name, alg] of [['rsa', 'RS256'], ['ec', 'ES256'], ['ed', 'EdDSA']] as const) {
      const r = await cli(['keys', 'import', file(name), '--kid', `legacy-${name}`, '--json']);
      expect(r.code, r.stderr).toBe(0);
      expect(JSON.parse(r.stdout).key).toMatchObject({ kid: `legacy-${name}`, alg, state: 'active', source: 'imported' });
      expect(r.stdout + r.stderr).not.toContain('PRIVATE KEY');
    }
    const weak = await cli(['keys', 'import', file('weak'), '--json']);
    expect([weak.code, weak.errorJson().error.code]).toEqual([6, 'auth.key.invalid']);
    expect((await cli(['keys', 'import', path.join(dir, 'missing.pem')])).code).toBe(2);
    const dup = await cli(['keys', 'import', file('ed'), '--kid', 'legacy-ed', '--json']);
    expect([dup.code, dup.errorJson().error.code]).toEqual([5, 'auth.key.exists']);
    expect((await active()).kid).toBe('legacy-ed');
  });

  it('prune: never the signing key (exit 8), unknown kid (exit 4), a retired key only when confirmed', async () => {
    const signing = await active();
    const last = await cli(['keys', 'prune', '--kid', signing.kid, '-y', '--json']);
    expect([last.code, last.errorJson().error.code]).toEqual([8, 'auth.key.last_signing_key']);
    const unknown = await cli(['keys', 'prune', '--kid', 'nope', '-y', '--json']);
    expect([unknown.code, unknown.errorJson().error.code]).toEqual([4, 'auth.key.not_found']);
    const retired = (await keys()).find((k) => k.state === 'retired') as KeyJson;
    const unconfirmed = await cli(['keys', 'prune', '--kid', retired.kid, '--json']);
    expect([unconfirmed.code, unconfirmed.errorJson().error.code]).toEqual([8, 'cli.not_confirmed']);
    const done = await cli(['keys', 'prune', '--kid', retired.kid, '-y', '--json']);
    expect(done.code).toBe(0);
    expect(JSON.parse(done.stdout).pruned.map((k: KeyJson) => k.kid)).toEqual([retired.kid]);
    // JSON keys are snake_case, as in every other command (it said `dryRun` up to 0.1.0).
    expect(Object.keys(JSON.parse(done.stdout)).sort()).toEqual(['dry_run', 'pruned']);
    expect((await keys()).map((k) => k.kid)).not.toContain(retired.kid);
    expect(await cli(['keys', 'prune', '-q'])).toEqual({ code: 0, stdout: '', stderr: '' });
  });

  it('ten concurrent `keys rotate --if-older-than 12h` processes publish exactly one next key', { timeout: 240_000 }, async () => {
    const stale = await active();
    const now = Date.now();
    await db.withKnex((knex) =>
      knex('keystore').where({ kid: stale.kid }).update({
        created: new Date(now - 13 * HOUR),
        activated: new Date(now - 13 * HOUR),
        signs_until: new Date(now + 11 * HOUR),
        verifies_until: new Date(now + 12 * HOUR),
      }),
    );
    const count = (await keys()).length;
    const runs = await Promise.all(Array.from({ length: 10 }, () => cli(['keys', 'rotate', '--if-older-than', '12h', '--json'], { timeoutMs: 240_000 })));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    const docs = runs.map((r) => JSON.parse(r.stdout) as { rotated: boolean; action: string; key: KeyJson; next: KeyJson | null });
    expect(docs.filter((d) => d.rotated)).toHaveLength(0);
    expect(docs.filter((d) => d.action === 'published')).toHaveLength(1);
    const nextKid = docs.find((d) => d.action === 'published')?.next?.kid;
    for (const d of docs) expect([d.key.kid, d.next?.kid]).toEqual([stale.kid, nextKid]);
    const after = await keys();
    expect(after).toHaveLength(count + 1);
    expect(after.filter((k) => k.state === 'active').map((k) => k.kid)).toEqual([stale.kid]);
    expect(after.filter((k) => k.state === 'next').map((k) => k.kid)).toEqual([nextKid]);
  });
  it('a published next key: in the JWKS and status, not signing; revoke takes a key out at once (asks; -y); due again publishes', async () => {
    // The concurrent runs above published a next key.
    const signing = await active();
    const nextKid = (await keys()).find((k) => k.state === 'next')?.kid as string;
    expect(nextKid).toBeDefined();
    const jwks = JSON.parse((await cli(['keys', 'jwks'])).stdout) as { keys: { kid: string }[] };
    expect(jwks.keys.map((k) => k.kid).slice(0, 2)).toEqual([signing.kid, nextKid]);
    const status = await cli(['status']);
    expect(status.stdout).toMatch(new RegExp(`next ${nextKid} switches in \\d+m`));
    // Publishing from cron: --if-changed rewrites the file only when the key set changed.
    const published = path.join(db.tmp, 'published-jwks.json');
    const publish = async () => {
      const r = await cli(['keys', 'jwks', '--out', published, '--if-changed', '--json', '-q']);
      expect(r.code, r.stderr).toBe(0);
      return r.json().changed as boolean;
    };
    expect(await publish()).toBe(true);
    const mtime = (await stat(published)).mtimeMs;
    expect(await publish()).toBe(false);
    expect((await stat(published)).mtimeMs).toBe(mtime);
    expect((await cli(['keys', 'jwks', '--if-changed'])).code).toBe(2);
    const waiting = await cli(['keys', 'rotate', '--if-older-than', '12h']);
    expect([waiting.code, waiting.stdout]).toEqual([0, '']);
    expect(waiting.stderr).toMatch(/next key .* is published; it signs after/);
    // Revoking the signing key: asked (exit 8 without a terminal and -y), then the next key signs.
    expect((await cli(['keys', 'revoke', signing.kid])).code).toBe(8);
    expect((await active()).kid).toBe(signing.kid);
    const revoked = await cli(['keys', 'revoke', signing.kid, '-y', '--json']);
    expect(revoked.code, revoked.stderr).toBe(0);
    expect(JSON.parse(revoked.stdout)).toMatchObject({ revoked: { kid: signing.kid, state: 'revoked' }, replacement: { kid: nextKid, state: 'active' } });
    expect(Object.keys(JSON.parse(revoked.stdout)).sort()).toEqual(['dry_run', 'replacement', 'revoked']);
    expect((await active()).kid).toBe(nextKid);
    const after = JSON.parse((await cli(['keys', 'jwks'])).stdout) as { keys: { kid: string }[] };
    expect(after.keys.map((k) => k.kid)).not.toContain(signing.kid);
    expect(await publish()).toBe(true);
    expect(JSON.parse(await readFile(published, 'utf8'))).toEqual(after);
    const again = await cli(['keys', 'revoke', signing.kid, '-y', '--json', '-q']);
    expect([again.code, again.errorJson().error.code]).toEqual([5, 'auth.key.revoked']);
    expect((await cli(['keys', 'revoke', 'no-such-kid', '-y'])).code).toBe(4);
    // Due again: a new next key, switching after the JWKS max age (15m) plus the clock skew (1m).
    const pub = await cli(['keys', 'rotate', '--if-older-than', '1s', '--json']);
    expect(pub.code, pub.stderr).toBe(0);
    const doc = JSON.parse(pub.stdout);
    expect(doc).toMatchObject({ rotated: false, action: 'published', key: { kid: nextKid }, next: { state: 'next', activated: null } });
    expect(new Date(doc.next.switches_at).getTime() - new Date(doc.next.created).getTime()).toBe(16 * 60_000);
  });
});

describe.each(BACKENDS.filter((b) => b === 'postgres'))('the key secret on %s', (backend) => {
  let db: CliTarget;
  beforeAll(async () => {
    db = await cliTarget(backend, { create: false });
    expect((await runCli([...db.args, 'migrate', '-q'])).code).toBe(0);
  });
  afterAll(async () => db.cleanup());

  it('without a secret, signing commands exit 2 saying how to give one; listing and JWKS need none', async () => {
    for (const args of [['keys', 'rotate'], ['init']]) {
      const r = await runCli([...db.args, ...args, '--json']);
      expect(r.code).toBe(2);
      expect(r.errorJson().error.code).toBe('auth.key.secret_missing');
      expect(r.errorJson().error.message).toMatch(/KAIJU_AUTH_SECRET.*--secret-file/);
    }
    expect((await runCli([...db.args, 'keys', 'list', '--json'])).stdout.trim()).toBe('[]');
    const short = await runCli([...db.args, 'keys', 'rotate', '--json'], { env: { KAIJU_AUTH_SECRET: 'short' } });
    expect([short.code, short.errorJson().error.code]).toEqual([2, 'auth.key.secret_missing']);
  });

  it('--secret-file FILE; a missing file is exit 2; the secret never appears in output', async () => {
    const file = path.join(db.tmp, 'secret');
    await writeFile(file, `${SECRET}\n`, { mode: 0o600 });
    const r = await runCli([...db.args, 'keys', 'rotate', '--secret-file', file, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).not.toContain(SECRET);
    const viaEnv = await runCli([...db.args, 'keys', 'rotate', '--now', '--json'], { env: { KAIJU_AUTH_SECRET: SECRET } });
    expect(viaEnv.code).toBe(0);
    const missing = await runCli([...db.args, 'keys', 'rotate', '--secret-file', `${file}.nope`, '--json']);
    expect([missing.code, missing.errorJson().error.code]).toEqual([2, 'auth.key.secret_missing']);
    const jwks = await runCli([...db.args, 'keys', 'jwks']);
    expect(JSON.parse(jwks.stdout).keys).toHaveLength(2);
  });
});
