import { execFileSync } from 'node:child_process';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KaijuAuth } from '../../src/core/auth.js';
import { resolveSettings } from '../../src/core/context.js';
import { bcryptHasher, type PasswordHasher } from '../../src/core/passwords.js';
import { UserService } from '../../src/core/users.js';
import { describeOnBackends } from '../support/db.js';
import { PASSWORD, PASSWORD_2, TEST_SETTINGS, testAuth } from '../support/auth.js';
import { KAIJU_HASH, KAIJU_PASSWORD, KAIJU_SALT } from '../support/kaiju-ddl.js';

/** A Python with the bcrypt module (kaiju's own hashing), if this machine has one: PATH's, else the system's. */
const PYTHON_BCRYPT = ((): string | null => {
  for (const python of ['python3', '/usr/bin/python3']) {
    try {
      execFileSync(python, ['-c', 'import bcrypt'], { stdio: 'ignore' });
      return python;
    } catch {
      // next
    }
  }
  return null;
})();

describeOnBackends('users', { fresh: true }, (t) => {
  let auth: KaijuAuth;
  beforeAll(async () => {
    auth = testAuth(t);
  });
  beforeEach(async () => {
    for (const p of ['docs.read', 'docs.write', 'admin.all', 'old.off']) await auth.permissions.create(p);
    await auth.permissions.setEnabled('old.off', false);
    await auth.groups.create('readers');
    await auth.groups.create('writers');
    await auth.groups.create('guests');
    await auth.groups.setPermissions('readers', ['docs.read', 'old.off']);
    await auth.groups.setPermissions('writers', ['docs.read', 'docs.write']);
    await auth.groups.setPermissions('guests', ['docs.read']);
  });

  const register = (username = 'alice', extra: Partial<Parameters<KaijuAuth['users']['register']>[0]> = {}) =>
    auth.users.register({ username, email: `${username}@example.com`, password: PASSWORD, ...extra });

  describe('registration and validation', () => {
    it('registers with groups and returns profile, groups and effective permissions', async () => {
      const u = await register('alice', { fullName: 'Alice A', groups: ['readers'], settings: { lang: 'en' } });
      expect(u).toMatchObject({
        username: 'alice',
        email: 'alice@example.com',
        fullName: 'Alice A',
        isActive: true,
        isBlocked: false,
        settings: { lang: 'en' },
        groups: ['readers'],
        permissions: ['docs.read'],
      });
      expect(u.created).toBeInstanceOf(Date);
      expect(Math.abs(u.created.getTime() - Date.now())).toBeLessThan(60_000);
      expect(Object.keys(u)).not.toContain('password');
      const row = await t.knex('users').where({ username: 'alice' }).first();
      expect(row.password.toString('latin1')).toMatch(/^\$2b\$04\$/);
      expect(row.salt.toString('latin1')).toBe(row.password.toString('latin1').slice(0, 29));
    });

    it.each([
      ['abc', 'auth.user.invalid_username'],
      ['a'.repeat(33), 'auth.user.invalid_username'],
      ['has space', 'auth.user.invalid_username'],
      ['dot.ted', 'auth.user.invalid_username'],
    ])('rejects username %j with %s', async (username, code) => {
      await expect(auth.users.register({ username, email: 'x@example.com', password: PASSWORD })).rejects.toMatchObject({ code, kind: 'invalid' });
    });

    it('accepts kaiju usernames: letters of any script, digits, _ and -', async () => {
      await expect(register('Юзер_1-x', { email: 'yuzer@example.com' })).resolves.toMatchObject({ username: 'Юзер_1-x' });
      await expect(register('a'.repeat(32))).resolves.toBeDefined();
    });

    it.each(['plain', 'a@b', 'a b@example.com', '@example.com', 'ü@example.com'])('rejects email %j', async (email) => {
      await expect(auth.users.register({ username: 'alice', email, password: PASSWORD })).rejects.toMatchObject({
        code: 'auth.user.invalid_email',
      });
    });

    it.each([
      ['short1', 'too short'],
      ['no digits at all here', 'no digit'],
      [`${'a'.repeat(128)}1`, 'over 128 characters'],
      [`${'ж'.repeat(36)}1`, 'over 72 UTF-8 bytes (73)'],
    ])('rejects password %#: %s', async (password) => {
      await expect(auth.users.register({ username: 'alice', email: 'a@example.com', password })).rejects.toMatchObject({
        code: 'auth.user.invalid_password',
        kind: 'invalid',
      });
    });

    it('accepts a 72-byte password and strips surrounding whitespace as kaiju', async () => {
      const p72 = `${'ж'.repeat(35)}1a`; // 70 + 2 bytes
      expect(Buffer.byteLength(p72)).toBe(72);
      await register('alice', { password: p72 });
      await expect(auth.users.authenticate('alice', p72)).resolves.toMatchObject({ username: 'alice' });
      await register('bobby', { password: `  ${PASSWORD}\t` });
      await expect(auth.users.authenticate('bobby', PASSWORD)).resolves.toMatchObject({ username: 'bobby' });
    });

    it('duplicate username or email is a conflict', async () => {
      await register('alice');
      await expect(register('alice')).rejects.toMatchObject({ code: 'auth.user.exists', kind: 'conflict' });
      await expect(auth.users.register({ username: 'alice2', email: 'alice@example.com', password: PASSWORD })).rejects.toMatchObject({
        code: 'auth.user.exists',
      });
    });

    it('unknown group at registration is not found and creates nothing', async () => {
      await expect(register('alice', { groups: ['readers', 'ghosts'] })).rejects.toMatchObject({
        code: 'auth.group.not_found',
        details: { groups: ['ghosts'] },
      });
      expect(await t.knex('users').count({ n: '*' }).first()).toEqual({ n: 0 });
    });

    it('20 concurrent registrations of one username: exactly one success, 19 conflicts', async () => {
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, (_, i) => auth.users.register({ username: 'racer', email: `racer${i}@example.com`, password: PASSWORD })),
      );
      const ok = results.filter((r) => r.status === 'fulfilled');
      const codes = results.filter((r): r is PromiseRejectedResult => r.status === 'rejected').map((r) => r.reason.code);
      expect(ok).toHaveLength(1);
      expect(codes).toEqual(Array(19).fill('auth.user.exists'));
      expect(await t.knex('users').count({ n: '*' }).first()).toEqual({ n: 1 });
    });
  });

  describe('groups and effective permissions', () => {
    // kaiju_auth tests/test_auth.py: user permission management through groups.
    it('resolves permissions through groups, enabled ones only', async () => {
      await register('alice');
      expect(await auth.users.permissions('alice')).toEqual([]);
      await auth.users.setGroups('alice', ['readers', 'writers']);
      expect(await auth.users.permissions('alice')).toEqual(['docs.read', 'docs.write']);
      await auth.users.modifyGroups('alice', [], ['writers']);
      expect(await auth.users.permissions('alice')).toEqual(['docs.read']);
      await auth.permissions.setEnabled('old.off', true);
      expect(await auth.users.permissions('alice')).toEqual(['docs.read', 'old.off']);
    });

    it('uses the default group for a user without groups', async () => {
      const withDefault = testAuth(t, { defaultGroup: 'guests' });
      await register('alice');
      expect(await withDefault.users.permissions('alice')).toEqual(['docs.read']);
      await withDefault.users.setGroups('alice', ['writers']);
      expect(await withDefault.users.permissions('alice')).toEqual(['docs.read', 'docs.write']);
      expect(await withDefault.users.groups('alice')).toEqual(['writers']);
    });

    it('resolves effective permissions in one SQL round trip', async () => {
      const u = await register('alice', { groups: ['readers', 'writers'] });
      const seen: string[] = [];
      const listener = (q: { sql: string }) => seen.push(q.sql);
      t.knex.on('query', listener);
      try {
        expect(await auth.users.permissions(u.id)).toEqual(['docs.read', 'docs.write']);
        await expect(auth.users.permissions('nobody')).rejects.toMatchObject({ code: 'auth.user.not_found' });
      } finally {
        t.knex.off('query', listener);
      }
      expect(seen).toHaveLength(2);
    });

    it('set / add / remove groups: unknown group is not found, nothing changes', async () => {
      await register('alice', { groups: ['readers'] });
      await expect(auth.users.setGroups('alice', ['writers', 'ghosts'])).rejects.toMatchObject({ code: 'auth.group.not_found' });
      await expect(auth.users.addGroups('alice', ['ghosts'])).rejects.toMatchObject({ code: 'auth.group.not_found' });
      await expect(auth.users.removeGroups('alice', ['ghosts'])).rejects.toMatchObject({ code: 'auth.group.not_found' });
      await expect(auth.users.setGroups('nobody', ['readers'])).rejects.toMatchObject({ code: 'auth.user.not_found' });
      expect(await auth.users.groups('alice')).toEqual(['readers']);
      expect(await auth.users.addGroups('alice', ['writers', 'readers'])).toEqual({ groups: ['readers', 'writers'], added: ['writers'], removed: [] });
      expect(await auth.users.setGroups('alice', ['guests'])).toEqual({ groups: ['guests'], added: ['guests'], removed: ['readers', 'writers'] });
    });

    it('concurrent set-groups on one user end in exactly one of the requested sets', async () => {
      await register('alice');
      const sets = [['readers'], ['writers', 'guests'], ['guests'], ['readers', 'writers', 'guests'], []];
      await Promise.all(sets.map((s) => auth.users.setGroups('alice', s)));
      const final = await auth.users.groups('alice');
      expect(sets.map((s) => [...s].sort().join())).toContain(final.join());
    });
  });

  describe('authentication and passwords', () => {
    // kaiju_auth tests/test_auth.py: auth, change password, auth with the new one.
    it('authenticates, changes the password, authenticates with the new one only', async () => {
      await register('alice', { groups: ['writers'] });
      const u = await auth.users.authenticate('alice', PASSWORD);
      expect(u).toMatchObject({ username: 'alice', permissions: ['docs.read', 'docs.write'] });
      expect(Object.keys(u)).not.toContain('password');
      await auth.users.changePassword('alice', PASSWORD, PASSWORD_2);
      await expect(auth.users.authenticate('alice', PASSWORD)).rejects.toMatchObject({ code: 'auth.user.authentication_failed' });
      await expect(auth.users.authenticate('alice', PASSWORD_2)).resolves.toMatchObject({ username: 'alice' });
    });

    // kaiju_auth tests/test_auth.py: wrong username and wrong password are both rejected.
    it('rejects a wrong username and a wrong password with the same error', async () => {
      await register('alice');
      const a = await auth.users.authenticate('nobody', PASSWORD).catch((e) => e);
      const b = await auth.users.authenticate('alice', 'wrong password 1').catch((e) => e);
      expect(a.code).toBe('auth.user.authentication_failed');
      expect(a.kind).toBe('auth');
      expect([b.code, b.message]).toEqual([a.code, a.message]);
    });

    it('blocked and inactive users fail exactly like a wrong password', async () => {
      await register('alice');
      await register('bobby');
      await auth.users.setFlag('alice', 'block');
      await auth.users.setFlag('bobby', 'deactivate');
      for (const name of ['alice', 'bobby']) {
        await expect(auth.users.authenticate(name, PASSWORD)).rejects.toMatchObject({ code: 'auth.user.authentication_failed' });
      }
      await auth.users.setFlag('alice', 'unblock');
      await auth.users.setFlag('bobby', 'activate');
      await expect(auth.users.authenticate('alice', PASSWORD)).resolves.toBeDefined();
      await expect(auth.users.authenticate('bobby', PASSWORD)).resolves.toBeDefined();
    });

    it('does the same bcrypt work and the same delay for every kind of failure', async () => {
      const calls: string[] = [];
      const sleeps: number[] = [];
      const spy: PasswordHasher = {
        hash: async (p, r) => {
          calls.push(`hash:${r}`);
          return bcryptHasher.hash(p, r);
        },
        verify: async (p, stored) => {
          calls.push(`verify:${stored.toString().slice(0, 7)}`);
          return bcryptHasher.verify(p, stored);
        },
      };
      const settings = resolveSettings({
        ...TEST_SETTINGS,
        failedLoginDelayMs: { base: 500, jitter: 500 },
        sleep: async (ms) => void sleeps.push(ms),
        random: () => 0.25,
      });
      const users = new UserService({ db: t.knex, settings }, { hasher: spy });
      await register('alice');
      await register('bobby');
      await auth.users.setFlag('bobby', 'block');
      await users.authenticate('nobody', PASSWORD).catch(() => undefined); // makes the dummy hash: the same work
      calls.length = 0;
      sleeps.length = 0;
      for (const [name, pw] of [
        ['nobody', PASSWORD],
        ['alice', 'wrong password 1'],
        ['bobby', PASSWORD],
      ]) {
        await expect(users.authenticate(name as string, pw as string)).rejects.toMatchObject({ code: 'auth.user.authentication_failed' });
      }
      // One bcrypt comparison at cost 4 each time (a dummy hash for the unknown user), then 500 + 0.25 * 500 ms.
      expect(calls).toEqual(['verify:$2b$04$', 'verify:$2b$04$', 'verify:$2b$04$']);
      expect(sleeps).toEqual([625, 625, 625]);
      await users.authenticate('alice', PASSWORD);
      expect(sleeps).toHaveLength(3);
    });

    // Issue 11 item 6: bcrypt reads 72 bytes, so a longer password matched a stored 72-byte one.
    it('a password over 72 UTF-8 bytes never authenticates, even when its first 72 are the stored password', async () => {
      const p72 = `${'ж'.repeat(35)}1a`;
      await register('alice', { password: p72 });
      const sleeps: number[] = [];
      const slow = new UserService(
        { db: t.knex, settings: resolveSettings({ ...TEST_SETTINGS, failedLoginDelayMs: { base: 500, jitter: 0 }, sleep: async (ms) => void sleeps.push(ms) }) },
      );
      for (const extra of ['EXTRA', 'x', ' ', 'é']) {
        await expect(slow.authenticate('alice', `${p72}${extra}`)).rejects.toMatchObject({ code: 'auth.user.authentication_failed', kind: 'auth' });
      }
      // Answered as any failure: after the failed-login delay.
      expect(sleeps).toEqual([500, 500, 500, 500]);
      await expect(auth.users.changePassword('alice', `${p72}EXTRA`, PASSWORD_2)).rejects.toMatchObject({
        code: 'auth.user.authentication_failed',
      });
      await expect(auth.users.authenticate('alice', p72)).resolves.toMatchObject({ username: 'alice' });
      // A kaiju-made hash of a longer password (kaiju allowed 128 characters; bcrypt kept 72 bytes).
      const long = `${'a'.repeat(72)}${'1'.repeat(20)}`;
      await t.knex('users').where({ username: 'alice' }).update({ password: (await bcryptHasher.hash(long, 4)).hash });
      await expect(auth.users.authenticate('alice', long)).rejects.toMatchObject({ code: 'auth.user.authentication_failed' });
      await expect(auth.users.authenticate('alice', long.slice(0, 72))).resolves.toMatchObject({ username: 'alice' });
    });

    // Issue 11 item 5 (the timing itself: auth-timing.test.ts): a cheaper stored hash answered sooner.
    it('a failure always includes a comparison at the configured cost, whatever the stored hash costs', async () => {
      const calls: string[] = [];
      const spy: PasswordHasher = {
        hash: async (p, r) => {
          calls.push(`hash:${r}`);
          return bcryptHasher.hash(p, r);
        },
        verify: async (p, stored) => {
          calls.push(`verify:${stored.toString().slice(0, 7)}`);
          return bcryptHasher.verify(p, stored);
        },
      };
      const users = new UserService({ db: t.knex, settings: resolveSettings({ ...TEST_SETTINGS, bcryptRounds: 5 }) }, { hasher: spy });
      await register('alice'); // cost 4
      await register('bobby');
      await t.knex('users').where({ username: 'bobby' }).update({ password: Buffer.from('not bcrypt') });
      await users.authenticate('nobody', PASSWORD).catch(() => undefined); // makes the dummy hash
      expect(calls).toEqual(['hash:5']);
      for (const [name, pw] of [['nobody', PASSWORD], ['alice', 'wrong password 1'], ['bobby', PASSWORD]] as const) {
        calls.length = 0;
        await expect(users.authenticate(name, pw)).rejects.toMatchObject({ code: 'auth.user.authentication_failed' });
        expect(calls.filter((c) => c === 'verify:$2b$05$'), name).toHaveLength(1);
      }
    });

    it('passwd with a wrong old password is an authentication failure; same-as-old is refused', async () => {
      await register('alice');
      await expect(auth.users.changePassword('alice', 'wrong password 1', PASSWORD_2)).rejects.toMatchObject({
        code: 'auth.user.authentication_failed',
        kind: 'auth',
      });
      await expect(auth.users.changePassword('alice', PASSWORD, PASSWORD)).rejects.toMatchObject({
        code: 'auth.user.identical_passwords_supplied',
      });
      await expect(auth.users.changePassword('alice', PASSWORD, 'weak')).rejects.toMatchObject({ code: 'auth.user.invalid_password' });
      await expect(auth.users.authenticate('alice', PASSWORD)).resolves.toBeDefined();
    });

    it('set-password resets without the old one; unknown user is not found', async () => {
      await register('alice');
      await auth.users.setPassword('alice', PASSWORD_2);
      await expect(auth.users.authenticate('alice', PASSWORD_2)).resolves.toBeDefined();
      await expect(auth.users.setPassword('nobody', PASSWORD_2)).rejects.toMatchObject({ code: 'auth.user.not_found' });
    });

    it('verifies a hash made by Python bcrypt as kaiju stores it, and upgrades its cost on login', async () => {
      await t.knex('users').insert({
        id: '5b9c5a57-2b8e-4f3c-9d51-8f0c6f9e2a10',
        username: 'pyuser',
        email: 'py@example.com',
        password: Buffer.from(KAIJU_HASH),
        salt: Buffer.from(KAIJU_SALT),
        is_active: true,
        is_blocked: false,
        settings: '{}',
        created: '2023-06-27 19:26:00',
      });
      // Configured cost 4 < 13: kept as is.
      await expect(auth.users.authenticate('pyuser', KAIJU_PASSWORD)).resolves.toMatchObject({ username: 'pyuser' });
      expect((await t.knex('users').where({ username: 'pyuser' }).first()).password.toString()).toBe(KAIJU_HASH);
      await expect(auth.users.authenticate('pyuser', 'kaiju password 2')).rejects.toMatchObject({ code: 'auth.user.authentication_failed' });
    });

    it('accepts $2a$ and $2y$ hashes and rehashes a cheaper one at the configured cost', async () => {
      const made = await bcryptHasher.hash(PASSWORD, 4);
      const base = made.hash.toString();
      for (const [i, variant] of ['$2a$', '$2y$'].entries()) {
        const hash = `${variant}${base.slice(4)}`;
        await t.knex('users').insert({
          id: `00000000-0000-4000-8000-00000000000${i}`,
          username: `legacy${i}`,
          email: `legacy${i}@example.com`,
          password: Buffer.from(hash),
          salt: Buffer.from(hash.slice(0, 29)),
          is_active: true,
          is_blocked: false,
          settings: '{}',
          created: '2020-01-01 00:00:00',
        });
        await expect(auth.users.authenticate(`legacy${i}`, PASSWORD)).resolves.toBeDefined();
      }
      const stronger = testAuth(t, { bcryptRounds: 5 });
      await stronger.users.authenticate('legacy0', PASSWORD);
      const row = await t.knex('users').where({ username: 'legacy0' }).first();
      expect(row.password.toString()).toMatch(/^\$2b\$05\$/);
      expect(row.salt.toString()).toBe(row.password.toString().slice(0, 29));
      await expect(auth.users.authenticate('legacy0', PASSWORD)).resolves.toBeDefined();
      const audit = await t.knex('audit_log').where({ command: 'user.rehash' }).first();
      expect(audit.summary).toEqual({ cost: { from: 4, to: 5 } });
    });

    it.runIf(PYTHON_BCRYPT)('our hashes pass Python bcrypt.checkpw (as kaiju checks them)', async () => {
      await register('alice');
      const row = await t.knex('users').where({ username: 'alice' }).first();
      const script = 'import bcrypt,sys; print(bcrypt.checkpw(sys.argv[1].encode(), sys.argv[2].encode()), bcrypt.hashpw(sys.argv[1].encode(), sys.argv[3].encode()) == sys.argv[2].encode())';
      const out = execFileSync(PYTHON_BCRYPT as string, ['-c', script, PASSWORD, row.password.toString(), row.salt.toString()]).toString().trim();
      expect(out).toBe('True True');
    });

    it.runIf(PYTHON_BCRYPT)('a hash Python bcrypt makes now, stored as kaiju stores it, authenticates', async () => {
      const script = 'import bcrypt,sys; s = bcrypt.gensalt(5); print(bcrypt.hashpw(sys.argv[1].encode(), s).decode(), s.decode())';
      const [hash, salt] = execFileSync(PYTHON_BCRYPT as string, ['-c', script, PASSWORD]).toString().trim().split(' ');
      await register('pyuser');
      await t.knex('users').where({ username: 'pyuser' }).update({ password: Buffer.from(hash as string), salt: Buffer.from(salt as string) });
      await expect(auth.users.authenticate('pyuser', PASSWORD)).resolves.toMatchObject({ username: 'pyuser' });
      await expect(auth.users.authenticate('pyuser', `${PASSWORD}x`)).rejects.toMatchObject({ code: 'auth.user.authentication_failed' });
    });
  });

  describe('profile, flags, listing, deletion', () => {
    it('updates email, full name and settings keys; email stays unique', async () => {
      await register('alice', { settings: { a: 1, b: 2 } });
      await register('bobby');
      const u = await auth.users.update('alice', { email: 'new@example.com', fullName: 'Al', set: { c: { x: true }, a: 'one' }, unset: ['b'] });
      expect(u).toMatchObject({ email: 'new@example.com', fullName: 'Al', settings: { a: 'one', c: { x: true } } });
      expect((await auth.users.update('alice', { fullName: null })).fullName).toBeNull();
      await expect(auth.users.update('alice', { email: 'bobby@example.com' })).rejects.toMatchObject({ code: 'auth.user.exists' });
      await expect(auth.users.update('alice', { email: 'bad' })).rejects.toMatchObject({ code: 'auth.user.invalid_email' });
      await expect(auth.users.update('nobody', { fullName: 'x' })).rejects.toMatchObject({ code: 'auth.user.not_found' });
    });

    it('concurrent settings updates of different keys both survive', async () => {
      await register('alice');
      await Promise.all(Array.from({ length: 8 }, (_, i) => auth.users.update('alice', { set: { [`k${i}`]: i } })));
      expect((await auth.users.get('alice')).settings).toEqual(Object.fromEntries(Array.from({ length: 8 }, (_, i) => [`k${i}`, i])));
    });

    it('flags report whether they changed something', async () => {
      await register('alice');
      expect((await auth.users.setFlag('alice', 'block')).changed).toBe(true);
      expect((await auth.users.setFlag('alice', 'block')).changed).toBe(false);
      expect((await auth.users.get('alice')).isBlocked).toBe(true);
      await expect(auth.users.setFlag('nobody', 'block')).rejects.toMatchObject({ code: 'auth.user.not_found' });
    });

    it('lists with filters, pagination and a total; finds by id or username', async () => {
      for (const n of ['carol', 'alice', 'bobby', 'dave_', 'erin_']) await register(n, { fullName: n === 'dave_' ? 'Dave 100%' : null });
      await auth.users.setGroups('alice', ['readers']);
      await auth.users.setGroups('carol', ['readers']);
      await auth.users.setFlag('bobby', 'block');
      await auth.users.setFlag('erin_', 'deactivate');
      const all = await auth.users.list();
      expect(all.total).toBe(5);
      expect(all.users.map((u) => u.username)).toEqual(['alice', 'bobby', 'carol', 'dave_', 'erin_']);
      const page = await auth.users.list({ limit: 2, offset: 2 });
      expect([page.total, page.users.map((u) => u.username)]).toEqual([5, ['carol', 'dave_']]);
      expect((await auth.users.list({ group: 'readers' })).users.map((u) => u.username)).toEqual(['alice', 'carol']);
      expect((await auth.users.list({ blocked: true })).users.map((u) => u.username)).toEqual(['bobby']);
      expect((await auth.users.list({ inactive: true })).users.map((u) => u.username)).toEqual(['erin_']);
      expect((await auth.users.list({ search: '0%' })).users.map((u) => u.username)).toEqual(['dave_']);
      expect((await auth.users.list({ search: 'ALI' })).users.map((u) => u.username)).toEqual(['alice']);
      const alice = await auth.users.get('alice');
      expect((await auth.users.get(alice.id)).username).toBe('alice');
      expect((await auth.users.get(alice.id.toUpperCase())).username).toBe('alice');
    });

    it('delete removes memberships and sessions; unknown is not found', async () => {
      const u = await register('alice', { groups: ['readers'] });
      await t.knex('sessions').insert({ id: 's1', user_id: u.id, expires: 2_000_000_000, permissions: '[]', data: '{}', created: '2024-01-01 00:00:00' });
      const r = await auth.users.delete('alice');
      expect(r.sessionsRemoved).toBe(1);
      expect(await t.knex('user_groups').count({ n: '*' }).first()).toEqual({ n: 0 });
      await expect(auth.users.delete('alice')).rejects.toMatchObject({ code: 'auth.user.not_found' });
    });

    it('audit rows for user writes carry no password, hash or salt', async () => {
      await register('alice', { groups: ['readers'] });
      await auth.users.setPassword('alice', PASSWORD_2);
      await auth.users.changePassword('alice', PASSWORD_2, PASSWORD);
      await auth.users.update('alice', { set: { theme: 'dark' } });
      await auth.users.setFlag('alice', 'block');
      await auth.users.delete('alice');
      const rows = await t.knex('audit_log').whereLike('command', 'user.%').orderBy('id');
      expect(rows.map((r) => r.command)).toEqual(['user.register', 'user.set_password', 'user.passwd', 'user.update', 'user.block', 'user.delete']);
      const text = JSON.stringify(rows);
      for (const secret of [PASSWORD, PASSWORD_2, '$2b$']) expect(text).not.toContain(secret);
      expect(rows.every((r) => r.actor === 'tester')).toBe(true);
    });
  });
});
