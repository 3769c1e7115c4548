/**
 * An export is in the audit log before the first user leaves: the audit row is committed before
 * the first page is read, so a role that may read the users but not write `audit_log` gets no
 * hash at all (exit 7, nothing on stdout, no --out file), never "every row, then exit 7".
 * PostgreSQL: a real role without INSERT on audit_log. PGlite (one role): a trigger that refuses
 * the insert as the server would (SQLSTATE 42501).
 */
import { randomBytes } from 'node:crypto';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_URL, BACKENDS, databaseUrl } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliTarget } from '../support/cli.js';
import { KAIJU_HASH } from '../support/kaiju-ddl.js';
import { insertKaijuUser } from '../support/kaiju-rows.js';

describe.each(BACKENDS)('user export with an audit log it cannot write, on %s', (backend) => {
  let t: CliTarget;
  /** Flags selecting the database as the restricted role (PostgreSQL) or as usual (PGlite). */
  let restricted: string[];
  let role: string | null = null;

  const adminRaw = async (sql: string) => {
    const { default: knex } = await import('knex');
    const admin = knex({ client: 'pg', connection: ADMIN_URL as string, pool: { min: 0, max: 1 } });
    try {
      await admin.raw(sql);
    } finally {
      await admin.destroy();
    }
  };

  beforeAll(async () => {
    t = await cliTarget(backend);
    await t.withKnex(async (k) => {
      for (const name of ['alice', 'bobby', 'carol']) await insertKaijuUser(k, name);
    });
    if (backend === 'postgres') {
      role = `kaiju_reader_${randomBytes(4).toString('hex')}`;
      await adminRaw(`create role ${role} login`);
      await t.withKnex(async (k) => {
        await k.raw(`grant usage on schema public to ${role}`);
        await k.raw(`grant select on all tables in schema public to ${role}`);
      });
      const url = new URL(databaseUrl(ADMIN_URL as string, new URL(t.url as string).pathname.slice(1)));
      url.username = role;
      restricted = ['--database-url', url.toString()];
    } else {
      await t.withKnex(async (k) => {
        await k.raw(`create function refuse_audit() returns trigger language plpgsql as $$
          begin raise exception 'permission denied for table audit_log' using errcode = '42501'; end $$`);
        await k.raw('create trigger refuse_audit before insert on audit_log for each row execute function refuse_audit()');
      });
      restricted = t.args;
    }
  });
  afterAll(async () => {
    await t?.cleanup();
    if (role) await adminRaw(`drop role if exists ${role}`);
    await removeTempDirs();
  });

  it('the role can read the users (the refusal is about the audit log only)', async () => {
    const r = await runCli([...restricted, 'user', 'list', '--json', '-q']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().map((u: { username: string }) => u.username)).toEqual(['alice', 'bobby', 'carol']);
  });

  for (const format of ['jsonl', 'csv'] as const) {
    it(`--with-hashes --format ${format} to stdout: exit 7, not one byte out`, async () => {
      const r = await runCli([...restricted, 'user', 'export', '--with-hashes', '--format', format]);
      expect(r.code, r.stderr).toBe(7);
      expect(r.stdout).toBe('');
      expect(r.stderr).toMatch(/refused: permission denied for table audit_log/);
      expect(r.stderr).not.toContain(KAIJU_HASH);
    });
  }

  it('--with-hashes --json to stdout: exit 7, stdout empty', async () => {
    const r = await runCli([...restricted, 'user', 'export', '--with-hashes', '--json', '-q']);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stdout).toBe('');
    expect(r.errorJson().error).toMatchObject({ code: 'db.permission_denied', exit: 7 });
  });

  it('--with-hashes --out FILE: exit 7, no file (nor a temporary one) left', async () => {
    const file = path.join(t.tmp, 'backup.jsonl');
    const r = await runCli([...restricted, 'user', 'export', '--with-hashes', '--out', file, '-q']);
    expect(r.code, r.stderr).toBe(7);
    expect(r.stdout).toBe('');
    expect(await readdir(t.tmp)).toEqual([]);
  });

  it('with the audit log writable again, the export is recorded, with the count, before it ran', async () => {
    if (backend === 'postgres') await t.withKnex((k) => k.raw(`grant insert on audit_log to ${role}; grant usage on all sequences in schema public to ${role}`));
    else await t.withKnex((k) => k.raw('drop trigger refuse_audit on audit_log'));
    const r = await runCli([...restricted, 'user', 'export', '--with-hashes']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout.trim().split('\n')).toHaveLength(3);
    const rows = await t.withKnex((k) => k('audit_log').where({ command: 'user.export' }).select('target', 'summary'));
    expect(rows).toHaveLength(1);
    const summary = typeof rows[0].summary === 'string' ? JSON.parse(rows[0].summary) : rows[0].summary;
    expect(rows[0].target).toBe('stdout');
    expect(summary).toEqual({
      users: 3,
      fields: ['username', 'email', 'password_hash', 'full_name', 'groups', 'is_active', 'is_blocked', 'settings'],
      format: 'jsonl',
      destination: 'stdout',
    });
  });
});
