/**
 * Issue 6: every write command of the tool leaves an audit row (actor, command, target, summary),
 * and no row of a run that handled passwords, hashes, salts or private keys contains any of them.
 */
import { generateKeyPairSync } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, tempDir, type CliTarget } from '../support/cli.js';

const PW = 'audit trail pw 1';
const PW2 = 'audit trail pw 2';
const SECRET = 'audit trail key secret, long enough';
const KAIJU_HASH = '$2b$13$/MqmjCLV6kXOWbpryr0yROcQdgZvIO45fZwChL.lK2VBNcrRChtOG';

interface AuditRow {
  actor: string;
  command: string;
  target: string | null;
  summary: Record<string, unknown>;
}

describe.each(BACKENDS)('the audit trail through the binary on %s', (backend) => {
  let target: CliTarget;
  let dir: string;
  const env = { KAIJU_AUTH_SECRET: SECRET, KAIJU_AUTH_ACTOR: 'auditor' };
  const ok = async (args: string[], input?: string) => {
    const r = await runCli([...target.args, '-q', '-y', ...args], { env, ...(input !== undefined ? { input } : {}) });
    expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    return r;
  };

  beforeAll(async () => {
    target = await cliTarget(backend);
    dir = await tempDir();
  });
  afterAll(async () => {
    await target.cleanup();
    await removeTempDirs();
  });

  it('records every write, with the actor, and never a secret', async () => {
    // Permissions, groups, users: every write command.
    await ok(['permission', 'create', 'docs.read']);
    await ok(['permission', 'create', 'docs.write']);
    await ok(['permission', 'disable', 'docs.write']);
    await ok(['permission', 'enable', 'docs.write']);
    await ok(['group', 'create', 'editors']);
    await ok(['group', 'grant', 'editors', 'docs.read', 'docs.write']);
    await ok(['group', 'revoke', 'editors', 'docs.write']);
    await ok(['group', 'set-permissions', 'editors', 'docs.read', 'docs.write']);
    await ok(['user', 'register', '--username', 'alice', '--email', 'alice@example.com', '--password-stdin'], `${PW}\n`);
    await ok(['user', 'update', 'alice', '--full-name', 'Alice', '--set', 'theme=dark']);
    await ok(['user', 'passwd', 'alice', '--password-stdin'], `${PW}\n${PW2}\n`);
    await ok(['user', 'set-password', 'alice', '--password-stdin'], `${PW}\n`);
    await ok(['user', 'groups', 'alice', '--add', 'editors']);
    await ok(['user', 'block', 'alice']);
    await ok(['user', 'unblock', 'alice']);
    await ok(['user', 'deactivate', 'alice']);
    await ok(['user', 'activate', 'alice']);

    // Fixtures and bulk provisioning.
    const fixtures = path.join(dir, 'fixtures');
    await ok(['user', 'export', '--out', path.join(dir, 'empty.jsonl')]);
    await import('node:fs/promises').then((fs) => fs.mkdir(fixtures));
    await writeFile(path.join(fixtures, 'permissions.json'), JSON.stringify([{ id: 'seeded.perm' }]));
    await writeFile(path.join(fixtures, 'users.json'), JSON.stringify([{ data: { username: 'seeded', email: 'seeded@example.com', password: PW }, groups: [] }]));
    await ok(['seed', fixtures]);
    const csv = path.join(dir, 'people.csv');
    await writeFile(csv, `username,email,password,password_hash,full_name,groups\nbobby,bob@example.com,${PW},,,editors\ncarol,carol@example.com,,${KAIJU_HASH},,\n`);
    await ok(['user', 'import', csv]);
    await ok(['user', 'export', '--with-hashes', '--out', path.join(dir, 'backup.jsonl')]);

    // Keys and tokens.
    await ok(['keys', 'rotate', '--now']);
    const pem = path.join(dir, 'key.pem');
    await writeFile(pem, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }));
    await ok(['keys', 'import', pem]);
    await ok(['keys', 'prune']);
    await ok(['token', 'issue', '--username', 'bobby', '--without-password', '--json']);

    // Sessions as kaiju writes them, then revoked and pruned.
    await target.withKnex(async (k) => {
      const bob = await k('users').where({ username: 'bobby' }).first();
      const now = Math.floor(Date.now() / 1000);
      await k('sessions').insert([
        { id: 's-live', h_agent: Buffer.from('agent'), user_id: bob.id, expires: now + 3600, permissions: '["docs.read"]', data: '{}', created: '2024-01-01 00:00:00' },
        { id: 's-old', h_agent: null, user_id: bob.id, expires: now - 3600, permissions: '[]', data: '{}', created: '2024-01-01 00:00:00' },
      ]);
    });
    await ok(['session', 'revoke', 's-live']);
    await ok(['session', 'prune']);

    await ok(['group', 'delete', 'editors']);
    await ok(['permission', 'delete', 'docs.write']);
    await ok(['user', 'delete', 'alice']);
    await ok(['audit', 'prune', '--older-than', '3650d']);

    const rows = (await ok(['audit', 'list', '--limit', '1000', '--json'])).json() as AuditRow[];
    const commands = new Set(rows.map((r) => r.command));
    for (const expected of [
      'permission.create',
      'permission.disable',
      'permission.enable',
      'permission.delete',
      'group.create',
      'group.grant',
      'group.revoke',
      'group.set_permissions',
      'group.delete',
      'user.register',
      'user.update',
      'user.passwd',
      'user.set_password',
      'user.groups.modify',
      'user.block',
      'user.unblock',
      'user.deactivate',
      'user.activate',
      'user.delete',
      'seed',
      'user.import',
      'user.export',
      'keys.rotate',
      'keys.import',
      'token.issue',
      'session.revoke',
      'session.prune',
    ]) {
      expect(commands, expected).toContain(expected);
    }
    expect(rows.every((r) => r.actor === 'auditor')).toBe(true);

    // No secret of this run, in any form, in any row.
    const stored = await target.withKnex(async (k) => ({
      audit: JSON.stringify(await k('audit_log').select('*')),
      hashes: ((await k('users').select('password', 'salt')) as { password: Buffer; salt: Buffer }[]).flatMap((u) => [
        u.password.toString(),
        u.salt.toString(),
      ]),
    }));
    for (const secret of [PW, PW2, SECRET, KAIJU_HASH, '$2b$', '$2a$', 'PRIVATE KEY', ...stored.hashes]) {
      expect(stored.audit, secret).not.toContain(secret);
    }
  }, 300_000);
});
