/**
 * Issue 11 item 8: look-alike usernames and emails. New names are NFKC-normalised and refused
 * (auth.user.exists, naming the existing user) when they look like an existing one: case, accents,
 * compatibility forms, Unicode confusables. Rows made by someone else (the kaiju app) are checked
 * too, and never changed; `collisions()` lists the look-alikes already there.
 */
import { randomUUID } from 'node:crypto';
import { beforeAll, expect, it } from 'vitest';
import type { KaijuAuth } from '../../src/core/auth.js';
import { openDatabase } from '../../src/db/open.js';
import { describeOnBackends } from '../support/db.js';
import { PASSWORD, testAuth } from '../support/auth.js';

/** A row as the kaiju app writes it (the tool's keys know nothing of it). */
function kaijuRow(username: string, email = `${randomUUID().slice(0, 8)}@example.com`) {
  return {
    id: randomUUID(),
    username,
    email,
    full_name: null,
    password: Buffer.from('$2b$04$abcdefghijklmnopqrstuu9oW7f2WAoNu3VdUzKaa8xNwvKqsYFu'),
    salt: Buffer.from('$2b$04$abcdefghijklmnopqrstuu'),
    is_active: true,
    is_blocked: false,
    settings: '{}',
    created: '2024-01-01 00:00:00',
  };
}

describeOnBackends('look-alike users', { fresh: true }, (t, backend) => {
  let auth: KaijuAuth;
  beforeAll(async () => {
    auth = testAuth(t);
  });

  const register = (username: string, email = `${randomUUID().slice(0, 8)}@example.com`) =>
    auth.users.register({ username, email, password: PASSWORD });

  it('refuses ADMIN, Cyrillic а, fullwidth, accented and decomposed forms of admin, naming it', async () => {
    await register('admin', 'admin@example.com');
    for (const name of ['ADMIN', 'Admin', '\u0430dmin', '\uff21dmin', 'adm\u00edn', 'admi\u0301n', 'a\u0501min', '\u0251dmin', 'adrnin']) {
      await expect(register(name), name).rejects.toMatchObject({
        code: 'auth.user.exists',
        kind: 'conflict',
        details: { field: 'username', existing: 'admin', lookalike: true },
      });
    }
    await expect(register('admin')).rejects.toMatchObject({ code: 'auth.user.exists', details: { field: 'username', lookalike: false } });
    expect(await t.knex('users').pluck('username')).toEqual(['admin']);
    // Distinct names still pass.
    for (const name of ['admins', 'adnin', 'badmin', 'Юзер_1']) await expect(register(name)).resolves.toMatchObject({ username: name });
  });

  it('stores new usernames and emails NFKC-normalised; emails collide ignoring case and look-alikes', async () => {
    await expect(register('\uff22obby', '\uff42obby@example.com')).resolves.toMatchObject({ username: 'Bobby', email: 'bobby@example.com' });
    expect(await t.knex('users').pluck('username')).toEqual(['Bobby']);
    for (const email of ['BOBBY@example.com', 'bobby@EXAMPLE.COM', 'b0bby@example.com', 'bobby@exarnple.com']) {
      await expect(register('robert', email), email).rejects.toMatchObject({ code: 'auth.user.exists', details: { field: 'email', existing: 'Bobby' } });
    }
    await expect(register('robert', 'robert@example.com')).resolves.toBeDefined();
  });

  it('checks rows the kaiju app wrote (inserted, email changed), never rewrites them, and lists existing collisions', async () => {
    const admin = kaijuRow('admin', 'admin@example.com');
    const cyrillic = kaijuRow('\u0430dmin', 'other@example.com');
    await t.knex('users').insert([admin, cyrillic, kaijuRow('carol', 'carol@example.com'), kaijuRow('dave', 'dave@example.com')]);
    const before = await t.knex('users').orderBy('username').select('*');
    await expect(register('ADMIN')).rejects.toMatchObject({ code: 'auth.user.exists', details: { field: 'username' } });
    // The app changes an email after the tool has seen its user.
    await t.knex('users').where({ username: 'carol' }).update({ email: 'carol.new@example.com' });
    await expect(register('caroline', 'CAROL.NEW@example.com')).rejects.toMatchObject({ details: { field: 'email', existing: 'carol' } });
    await expect(register('caroline', 'carol@example.com')).resolves.toBeDefined();
    // The app deletes a user: its name is free again.
    await t.knex('users').where({ username: 'dave' }).delete();
    await expect(register('Dave')).resolves.toBeDefined();
    const after = await t.knex('users').whereIn('id', [admin.id, cyrillic.id]).orderBy('username').select('*');
    expect(after).toEqual(before.filter((r) => [admin.id, cyrillic.id].includes(r.id)));
    const groups = await auth.users.collisions();
    expect(groups).toEqual([{ field: 'username', users: [expect.objectContaining({ username: 'admin' }), expect.objectContaining({ username: '\u0430dmin' })] }]);
  });

  it('update: a new email must not look like another user’s; its own in other case is fine; delete frees a name', async () => {
    await register('alice', 'alice@example.com');
    await register('bob-1', 'bob@example.com');
    await expect(auth.users.update('bob-1', { email: 'ALICE@example.com' })).rejects.toMatchObject({ code: 'auth.user.exists', details: { field: 'email', existing: 'alice' } });
    await expect(auth.users.update('alice', { email: 'Alice@Example.com' })).resolves.toMatchObject({ email: 'Alice@Example.com' });
    await expect(auth.users.update('bob-1', { email: '\uff42ob2@example.com' })).resolves.toMatchObject({ email: 'bob2@example.com' });
    await expect(register('bobby', 'BOB2@example.com')).rejects.toMatchObject({ details: { field: 'email', existing: 'bob-1' } });
    await expect(register('bobby', 'bob@example.com')).resolves.toBeDefined();
    await auth.users.delete('alice');
    await expect(register('ALICE', 'alice@example.com')).resolves.toBeDefined();
  });

  it.runIf(backend === 'postgres')('two registrations of look-alike names at once: exactly one succeeds', async () => {
    const other = await openDatabase(t.target);
    try {
      const auth2 = testAuth({ ...t, knex: other.knex });
      const pairs = Array.from({ length: 12 }, (_, i) => [`race${i}x`, `RACE${i}X`] as const);
      const results = await Promise.all(
        pairs.flatMap(([a, b]) => [
          auth.users.register({ username: a, email: `${a}@example.com`, password: PASSWORD }).then(() => 'ok', (e: { code?: string }) => e.code),
          auth2.users.register({ username: b, email: `${b}-b@example.com`, password: PASSWORD }).then(() => 'ok', (e: { code?: string }) => e.code),
        ]),
      );
      for (let i = 0; i < pairs.length; i++) expect([results[2 * i], results[2 * i + 1]].sort(), `pair ${i}`).toEqual(['auth.user.exists', 'ok']);
    } finally {
      await other.close();
    }
  });
});
