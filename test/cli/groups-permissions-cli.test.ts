import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, type CliTarget } from '../support/cli.js';

describe.each(BACKENDS)('permission and group commands through the binary on %s', (backend) => {
  let target: CliTarget;
  const cli = (args: string[], options: Parameters<typeof runCli>[1] = {}) => runCli([...target.args, ...args], options);
  beforeAll(async () => {
    target = await cliTarget(backend);
  });
  afterAll(async () => {
    await target.cleanup();
    await removeTempDirs();
  });

  it('permission create / list / show / enable / disable with JSON shapes', async () => {
    const created = await cli(['permission', 'create', 'users.read', '--tag', 'users', '--description', 'Read users', '--json']);
    expect([created.code, created.json()]).toEqual([0, { id: 'users.read', enabled: true, tag: 'users', description: 'Read users' }]);
    expect((await cli(['permission', 'create', 'users.write', '--tag', 'users', '-q'])).code).toBe(0);
    expect((await cli(['permission', 'create', 'system', '-q'])).code).toBe(0);
    expect((await cli(['permission', 'create', 'legacy', '--tag', 'old', '--disabled', '-q'])).code).toBe(0);

    const dup = await cli(['permission', 'create', 'users.read', '--json']);
    expect([dup.code, dup.errorJson().error]).toEqual([5, expect.objectContaining({ code: 'auth.permission.exists', exit: 5 })]);
    expect((await cli(['permission', 'create', 'has space'])).code).toBe(6);

    const list = await cli(['permission', 'list', '--json']);
    expect(list.json().map((p: { id: string }) => p.id)).toEqual(['users.read', 'users.write', 'system']);
    expect((await cli(['permission', 'list', '--all', '--json'])).json()).toHaveLength(4);
    expect((await cli(['permission', 'list', '--by-tag', '--json'])).json()).toEqual([
      {
        tag: 'users',
        permissions: [
          { id: 'users.read', enabled: true, tag: 'users', description: 'Read users' },
          { id: 'users.write', enabled: true, tag: 'users', description: null },
        ],
      },
      { tag: null, permissions: [{ id: 'system', enabled: true, tag: null, description: null }] },
    ]);
    expect((await cli(['permission', 'list', '--search', 'READ USERS', '--json'])).json().map((p: { id: string }) => p.id)).toEqual(['users.read']);
    expect((await cli(['permission', 'list', '--search', 'users read', '--json'])).json()).toEqual([]);
    expect((await cli(['permission', 'list', '--search', 'read us', '--json'])).json().map((p: { id: string }) => p.id)).toEqual(['users.read']);
    expect((await cli(['permission', 'list', '--search', '.*', '--json'])).json()).toEqual([]);

    expect((await cli(['permission', 'disable', 'system', '--json'])).json()).toMatchObject({ id: 'system', enabled: false });
    expect((await cli(['permission', 'enable', 'system', '--json'])).json()).toMatchObject({ enabled: true });
    expect((await cli(['permission', 'enable', 'ghost'])).code).toBe(4);
    expect((await cli(['permission', 'show', 'users.read', '--json'])).json()).toEqual({
      id: 'users.read',
      enabled: true,
      tag: 'users',
      description: 'Read users',
      groups: [],
    });
    const plain = await cli(['permission', 'list']);
    expect(plain.stdout.split('\n')[0]).toMatch(/^PERMISSION\s+ENABLED\s+TAG\s+DESCRIPTION$/);
  });

  it('group create / grant / revoke / set-permissions / show / list / matrix', async () => {
    const g = await cli(['group', 'create', 'editors', '--tag', 'staff', '--description', 'Editors', '--json']);
    expect(g.json()).toEqual({ id: 'editors', tag: 'staff', description: 'Editors' });
    expect((await cli(['group', 'create', 'editors'])).code).toBe(5);
    expect((await cli(['group', 'create', 'viewers', '-q'])).code).toBe(0);

    const grant = await cli(['group', 'grant', 'editors', 'users.read', 'users.write', '--json']);
    expect(grant.json()).toEqual({ group: 'editors', permissions: ['users.read', 'users.write'], added: ['users.read', 'users.write'], removed: [] });
    // Granting what is already granted keeps it (kaiju 2.1.0 removed it).
    expect((await cli(['group', 'grant', 'editors', 'users.read', '--json'])).json()).toEqual({
      group: 'editors',
      permissions: ['users.read', 'users.write'],
      added: [],
      removed: [],
    });
    const unknown = await cli(['group', 'grant', 'editors', 'users.read', 'nope', '--json']);
    expect([unknown.code, unknown.errorJson().error.code]).toEqual([4, 'auth.permission.not_found']);
    expect((await cli(['group', 'grant', 'ghosts', 'users.read'])).code).toBe(4);
    expect((await cli(['group', 'revoke', 'editors', 'users.write', '--json'])).json()).toMatchObject({ permissions: ['users.read'], removed: ['users.write'] });
    expect((await cli(['group', 'set-permissions', 'viewers', 'system', 'users.read', '--json'])).json()).toMatchObject({
      permissions: ['system', 'users.read'],
    });
    expect((await cli(['group', 'show', 'viewers', '--json'])).json()).toEqual({ id: 'viewers', tag: null, description: null, permissions: ['system', 'users.read'] });
    // Emptying a group is destructive: it needs -y without a terminal.
    expect((await cli(['group', 'set-permissions', 'viewers'])).code).toBe(8);
    expect((await cli(['group', 'set-permissions', 'viewers', '-y', '--json'])).json()).toMatchObject({ permissions: [] });
    expect((await cli(['group', 'set-permissions', 'viewers', 'legacy', '--json'])).json()).toMatchObject({ permissions: ['legacy'] });

    const list = await cli(['group', 'list', '--json']);
    expect(list.json()).toEqual([
      { id: 'editors', tag: 'staff', description: 'Editors', permission_count: 1, user_count: 0 },
      { id: 'viewers', tag: null, description: null, permission_count: 1, user_count: 0 },
    ]);
    const perms = await cli(['group', 'permissions', 'viewers', '--json']);
    expect(perms.json()).toEqual([{ id: 'legacy', enabled: false, tag: 'old', description: null }]);

    const matrix = await cli(['group', 'matrix', '--json']);
    expect(matrix.json()).toEqual({
      groups: ['editors', 'viewers'],
      permissions: [
        { id: 'legacy', enabled: false, tag: 'old' },
        { id: 'users.read', enabled: true, tag: 'users' },
        { id: 'users.write', enabled: true, tag: 'users' },
        { id: 'system', enabled: true, tag: null },
      ],
      grants: { editors: ['users.read'], viewers: ['legacy'] },
    });
    const table = await cli(['group', 'matrix']);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^PERMISSION\s+EDITORS\s+VIEWERS$/);
    expect(lines.find((l) => l.startsWith('legacy (disabled)'))).toMatch(/x\s*$/);
    expect(lines.find((l) => l.startsWith('users.read'))).toMatch(/^users\.read\s+x\s*$/);
    expect((await cli(['group', 'matrix', '--tag', 'users', '--json'])).json().permissions).toHaveLength(2);
  });

  it('deletes need -y without a terminal; unknown names exit 4', async () => {
    expect((await cli(['permission', 'delete', 'legacy'])).code).toBe(8);
    expect((await cli(['permission', 'delete', 'legacy', '-y', '--json'])).json()).toEqual({ id: 'legacy', deleted: true, grants_removed: 1 });
    expect((await cli(['permission', 'delete', 'legacy', '-y'])).code).toBe(4);
    expect((await cli(['group', 'delete', 'viewers'])).code).toBe(8);
    expect((await cli(['group', 'delete', 'viewers', '-y', '--json'])).json()).toMatchObject({ id: 'viewers', deleted: true });
    expect((await cli(['group', 'show', 'viewers'])).code).toBe(4);
    expect((await cli(['group', 'delete', 'viewers', '-y'])).code).toBe(4);
  });
});
