/**
 * A user's profile through the library (register, update: what `user update --set` reaches) with
 * values PostgreSQL cannot store: a coded error before anything is written, never the driver's
 * error from the middle of a write (which the CLI reported as exit 1).
 */
import { beforeAll, expect, it } from 'vitest';
import type { KaijuAuth } from '../../src/core/auth.js';
import { describeOnBackends } from '../support/db.js';
import { PASSWORD, testAuth } from '../support/auth.js';

const deep = (levels: number): unknown => {
  let v: unknown = 1;
  for (let i = 0; i < levels; i += 1) v = [v];
  return v;
};

describeOnBackends('unstorable profile values', (t) => {
  let auth: KaijuAuth;
  beforeAll(async () => {
    auth = testAuth(t);
  });

  it('register: NUL or a lone surrogate in full_name, NUL in settings, settings too deep: refused, no user', async () => {
    const base = { username: 'storable', email: 'storable@example.com', password: PASSWORD };
    await expect(auth.users.register({ ...base, fullName: 'a\u0000b' })).rejects.toMatchObject({ code: 'data.invalid', details: { field: 'full_name' } });
    await expect(auth.users.register({ ...base, fullName: '\udc00' })).rejects.toMatchObject({ code: 'data.invalid' });
    await expect(auth.users.register({ ...base, settings: { k: 'v\u0000' } })).rejects.toMatchObject({ code: 'auth.user.invalid_settings' });
    await expect(auth.users.register({ ...base, settings: { k: deep(100_000) } })).rejects.toMatchObject({ code: 'auth.user.invalid_settings' });
    expect(await t.knex('users').count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it('update: the same for full_name, settings set and unset; the user is unchanged; 100 levels are fine', async () => {
    await auth.users.register({ username: 'storable', email: 'storable@example.com', password: PASSWORD });
    await expect(auth.users.update('storable', { fullName: 'x\u0000' })).rejects.toMatchObject({ code: 'data.invalid' });
    await expect(auth.users.update('storable', { set: { ['k\u0000']: 1 } })).rejects.toMatchObject({ code: 'auth.user.invalid_settings' });
    await expect(auth.users.update('storable', { set: { k: deep(100) } })).rejects.toMatchObject({ code: 'auth.user.invalid_settings' });
    await expect(auth.users.update('storable', { unset: ['k\u0000'] })).rejects.toMatchObject({ code: 'auth.user.invalid_settings' });
    expect(await auth.users.get('storable')).toMatchObject({ fullName: null, settings: {} });
    expect((await auth.users.update('storable', { set: { k: deep(99) } })).settings).toEqual({ k: deep(99) });
  });
});
