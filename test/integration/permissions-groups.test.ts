import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { KaijuAuth } from '../../src/core/auth.js';
import { describeOnBackends } from '../support/db.js';
import { testAuth } from '../support/auth.js';

describeOnBackends('permissions and groups', { fresh: true }, (t) => {
  let auth: KaijuAuth;
  beforeAll(async () => {
    auth = testAuth(t);
  });

  describe('permissions', () => {
    beforeEach(async () => {
      await auth.permissions.create('users.read', { tag: 'users', description: 'Read users' });
      await auth.permissions.create('users.write', { tag: 'users', description: 'Change users' });
      await auth.permissions.create('billing.view', { tag: 'billing', description: 'See invoices (100%_off)' });
      await auth.permissions.create('system', {});
      await auth.permissions.create('legacy.thing', { tag: 'users', enabled: false });
    });

    it('lists enabled ones sorted by tag then id, untagged last; --all adds disabled', async () => {
      expect((await auth.permissions.list()).map((p) => p.id)).toEqual(['billing.view', 'users.read', 'users.write', 'system']);
      expect((await auth.permissions.list({ all: true })).map((p) => p.id)).toEqual([
        'billing.view',
        'legacy.thing',
        'users.read',
        'users.write',
        'system',
      ]);
    });

    it('groups by tag as kaiju get_all_permissions', async () => {
      const tagged = await auth.permissions.listByTag();
      expect(tagged.map((g) => [g.tag, g.permissions.map((p) => p.id)])).toEqual([
        ['billing', ['billing.view']],
        ['users', ['users.read', 'users.write']],
        [null, ['system']],
      ]);
    });

    it('searches id, tag and description literally and case-insensitively', async () => {
      expect((await auth.permissions.list({ search: 'USERS.' })).map((p) => p.id)).toEqual(['users.read', 'users.write']);
      expect((await auth.permissions.list({ search: 'invoices' })).map((p) => p.id)).toEqual(['billing.view']);
      // Regex and LIKE metacharacters are plain text.
      expect((await auth.permissions.list({ search: '.*' })).map((p) => p.id)).toEqual([]);
      expect((await auth.permissions.list({ search: '100%_' })).map((p) => p.id)).toEqual(['billing.view']);
      expect((await auth.permissions.list({ search: '%' })).map((p) => p.id)).toEqual(['billing.view']);
      expect((await auth.permissions.list({ search: 'billing' })).map((p) => p.id)).toEqual(['billing.view']);
    });

    it('create twice is a conflict; bad ids are invalid', async () => {
      await expect(auth.permissions.create('users.read')).rejects.toMatchObject({ code: 'auth.permission.exists', kind: 'conflict' });
      await expect(auth.permissions.create('has space')).rejects.toMatchObject({ code: 'auth.permission.invalid_id', kind: 'invalid' });
      await expect(auth.permissions.create('')).rejects.toMatchObject({ code: 'auth.permission.invalid_id' });
      await expect(auth.permissions.create('a,b')).rejects.toMatchObject({ code: 'auth.permission.invalid_id' });
    });

    it('enable/disable report whether they changed anything; unknown is not found', async () => {
      expect((await auth.permissions.setEnabled('users.read', false)).changed).toBe(true);
      expect((await auth.permissions.setEnabled('users.read', false)).changed).toBe(false);
      expect((await auth.permissions.get('users.read')).enabled).toBe(false);
      await expect(auth.permissions.setEnabled('nope', true)).rejects.toMatchObject({ code: 'auth.permission.not_found', kind: 'not_found' });
    });

    it('delete removes its grants; unknown is not found', async () => {
      await auth.groups.create('admins');
      await auth.groups.grant('admins', ['users.read', 'users.write']);
      expect(await auth.permissions.delete('users.read')).toEqual({ grantsRemoved: 1 });
      expect((await auth.groups.show('admins')).permissions).toEqual(['users.write']);
      await expect(auth.permissions.delete('users.read')).rejects.toMatchObject({ code: 'auth.permission.not_found' });
    });
  });

  describe('groups', () => {
    beforeEach(async () => {
      for (const p of ['a.read', 'a.write', 'b.read', 'c.off']) await auth.permissions.create(p, { tag: p.split('.')[0] });
      await auth.permissions.setEnabled('c.off', false);
      await auth.groups.create('admins', { tag: 'sys', description: 'Administrators' });
      await auth.groups.create('users');
    });

    // kaiju_auth tests/test_auth.py: group permission management.
    it('manages group permissions (set, get, modify) as kaiju, with its bugs fixed', async () => {
      await auth.groups.setPermissions('users', ['a.read', 'b.read']);
      expect((await auth.groups.show('users')).permissions).toEqual(['a.read', 'b.read']);
      await auth.groups.modifyPermissions('users', { 'a.write': true, 'b.read': false });
      expect((await auth.groups.show('users')).permissions).toEqual(['a.read', 'a.write']);
      // kaiju 2.1.0 bug: {perm: true} for a permission the group already has REMOVED it.
      const again = await auth.groups.modifyPermissions('users', { 'a.read': true });
      expect(again.permissions).toEqual(['a.read', 'a.write']);
      expect(again.added).toEqual([]);
      expect(again.removed).toEqual([]);
    });

    it('grant keeps existing grants and reports what it added', async () => {
      await auth.groups.grant('admins', ['a.read']);
      const r = await auth.groups.grant('admins', ['a.read', 'a.write']);
      expect(r).toEqual({ permissions: ['a.read', 'a.write'], added: ['a.write'], removed: [] });
    });

    it('revoke removes only the named grants', async () => {
      await auth.groups.grant('admins', ['a.read', 'a.write', 'b.read']);
      const r = await auth.groups.revoke('admins', ['a.write', 'b.read']);
      expect(r).toEqual({ permissions: ['a.read'], added: [], removed: ['a.write', 'b.read'] });
    });

    it('set-permissions replaces the whole set', async () => {
      await auth.groups.grant('admins', ['a.read', 'a.write']);
      const r = await auth.groups.setPermissions('admins', ['b.read', 'a.read']);
      expect(r).toEqual({ permissions: ['a.read', 'b.read'], added: ['b.read'], removed: ['a.write'] });
      expect((await auth.groups.setPermissions('admins', [])).permissions).toEqual([]);
    });

    it('unknown group or permission is not found and nothing changes', async () => {
      await auth.groups.grant('admins', ['a.read']);
      await expect(auth.groups.grant('admins', ['a.write', 'nope', 'zap'])).rejects.toMatchObject({
        code: 'auth.permission.not_found',
        details: { permissions: ['nope', 'zap'] },
      });
      await expect(auth.groups.setPermissions('admins', ['nope'])).rejects.toMatchObject({ code: 'auth.permission.not_found' });
      await expect(auth.groups.revoke('admins', ['nope'])).rejects.toMatchObject({ code: 'auth.permission.not_found' });
      await expect(auth.groups.grant('ghosts', ['a.read'])).rejects.toMatchObject({ code: 'auth.group.not_found', kind: 'not_found' });
      expect((await auth.groups.show('admins')).permissions).toEqual(['a.read']);
    });

    it('create twice is a conflict; show/delete of unknown is not found', async () => {
      await expect(auth.groups.create('admins')).rejects.toMatchObject({ code: 'auth.group.exists', kind: 'conflict' });
      await expect(auth.groups.create('bad id')).rejects.toMatchObject({ code: 'auth.group.invalid_id', kind: 'invalid' });
      await expect(auth.groups.show('ghosts')).rejects.toMatchObject({ code: 'auth.group.not_found' });
      await expect(auth.groups.delete('ghosts')).rejects.toMatchObject({ code: 'auth.group.not_found' });
    });

    it('lists groups with counts and deletes with cascades', async () => {
      await auth.groups.grant('admins', ['a.read', 'b.read']);
      const list = await auth.groups.list();
      expect(list).toEqual([
        { id: 'admins', tag: 'sys', description: 'Administrators', permissionCount: 2, userCount: 0 },
        { id: 'users', tag: null, description: null, permissionCount: 0, userCount: 0 },
      ]);
      expect(await auth.groups.delete('admins')).toEqual({ permissionsRemoved: 2, usersRemoved: 0 });
      expect((await auth.groups.list()).map((g) => g.id)).toEqual(['users']);
    });

    it('group permissions include disabled grants, marked', async () => {
      await auth.groups.grant('admins', ['a.read', 'c.off']);
      const perms = await auth.groups.permissions('admins');
      expect(perms.map((p) => [p.id, p.enabled])).toEqual([
        ['a.read', true],
        ['c.off', false],
      ]);
    });

    it('matrix: every group against every permission (filtered by tag)', async () => {
      await auth.groups.grant('admins', ['a.read', 'a.write', 'b.read']);
      await auth.groups.grant('users', ['a.read']);
      const m = await auth.groups.matrix();
      expect(m.groups.map((g) => g.id)).toEqual(['admins', 'users']);
      expect(m.permissions.map((p) => p.id)).toEqual(['a.read', 'a.write', 'b.read', 'c.off']);
      expect(m.grants).toEqual({ admins: ['a.read', 'a.write', 'b.read'], users: ['a.read'] });
      const onlyA = await auth.groups.matrix({ tag: 'a' });
      expect(onlyA.grants).toEqual({ admins: ['a.read', 'a.write'], users: ['a.read'] });
    });

    it('concurrent set-permissions on one group end in exactly one of the requested sets', async () => {
      const sets = [['a.read'], ['a.write', 'b.read'], ['b.read'], ['a.read', 'a.write', 'b.read']];
      await Promise.all(sets.map((s) => auth.groups.setPermissions('admins', s)));
      const final = (await auth.groups.show('admins')).permissions;
      expect(sets.map((s) => [...s].sort().join())).toContain(final.join());
    });

    it('each write appends an audit row in the same transaction, and a failed one none', async () => {
      await auth.groups.grant('admins', ['a.read']);
      await auth.groups.grant('admins', ['a.read']); // nothing changed: no row
      await expect(auth.groups.grant('admins', ['nope'])).rejects.toThrow();
      const rows = await t.knex('audit_log').select('actor', 'command', 'target', 'summary').orderBy('id');
      expect(rows.map((r) => r.command)).toEqual(['permission.create', 'permission.create', 'permission.create', 'permission.create', 'permission.disable', 'group.create', 'group.create', 'group.grant']);
      expect(rows.at(-1)).toEqual({ actor: 'tester', command: 'group.grant', target: 'admins', summary: { added: ['a.read'], removed: [] } });
    });
  });
});
