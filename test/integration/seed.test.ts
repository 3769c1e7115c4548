import { afterAll, beforeAll, expect, it } from 'vitest';
import type { KaijuAuth } from '../../src/core/auth.js';
import type { FixtureProblem } from '../../src/core/fixtures/types.js';
import { describeOnBackends, truncateAll } from '../support/db.js';
import { testAuth } from '../support/auth.js';
import { countQueries, fixtureDir, removeFixtureDirs, snapshotAuthTables, writeFixtures } from '../support/fixtures.js';

const PW = 'fixture password 1';

const base = () => ({
  permissions: [
    { id: 'docs.read', tag: 'docs', description: 'Read documents' },
    { id: 'docs.write', tag: 'docs' },
    { id: 'admin.all', enabled: false },
  ] as { id: string; tag?: string; description?: string; enabled?: boolean }[],
  groups: [
    { data: { id: 'readers', description: 'Readers' }, permissions: ['docs.read'] },
    { data: { id: 'writers', tag: 'staff' }, permissions: ['docs.read', 'docs.write'] },
    { data: { id: 'admins' }, permissions: ['admin.all', 'docs.write'] },
  ],
  users: [
    { data: { username: 'alice', email: 'alice@example.com', password: PW, full_name: 'Alice', settings: { lang: 'en' } }, groups: ['readers'] },
    { data: { username: 'bobby', email: 'bobby@example.com', password: PW }, groups: ['writers', 'admins'] },
  ],
});

const codes = (errors: FixtureProblem[]) => errors.map((e) => `${e.file.split('/').pop()} ${e.path} ${e.code}`);

describeOnBackends('seed', { fresh: true }, (t) => {
  let auth: KaijuAuth;
  beforeAll(async () => {
    auth = testAuth(t);
  });
  afterAll(async () => {
    await removeFixtureDirs();
  });

  it('creates everything, then a rerun writes nothing and reports everything unchanged', async () => {
    const dir = await fixtureDir(base());
    const first = await auth.fixtures.seed(dir);
    expect(first.errors).toEqual([]);
    expect(first.created).toEqual({ permissions: ['docs.read', 'docs.write', 'admin.all'], groups: ['readers', 'writers', 'admins'], users: ['alice', 'bobby'] });
    expect((await auth.users.show('alice')).groups).toEqual(['readers']);
    expect(await auth.users.show('alice')).toMatchObject({ fullName: 'Alice', settings: { lang: 'en' }, isActive: true, isBlocked: false });
    expect((await auth.users.authenticate('bobby', PW)).permissions).toEqual(['docs.read', 'docs.write']);
    expect((await auth.permissions.get('admin.all')).enabled).toBe(false);
    expect(await auth.groups.show('writers')).toMatchObject({ tag: 'staff', description: null, permissions: ['docs.read', 'docs.write'] });
    const audit = await t.knex('audit_log').where({ command: 'seed' });
    expect(audit).toHaveLength(1);
    expect(JSON.stringify(audit)).not.toContain(PW);
    expect(JSON.stringify(audit)).not.toMatch(/\$2[aby]\$/);

    const before = await snapshotAuthTables(t.knex);
    const { result: again, statements } = await countQueries(t.knex, () => auth.fixtures.seed(dir));
    expect(again.created).toEqual({ permissions: [], groups: [], users: [] });
    expect(again.updated).toEqual({ permissions: [], groups: [], users: [] });
    expect(again.unchanged).toEqual({ permissions: ['docs.read', 'docs.write', 'admin.all'], groups: ['readers', 'writers', 'admins'], users: ['alice', 'bobby'] });
    expect(statements.filter((s) => /^\s*(insert|update|delete)/i.test(s))).toEqual([]);
    expect(await snapshotAuthTables(t.knex)).toEqual(before);
  });

  it('converges exactly after the fixtures change, and never resets an existing password', async () => {
    const dir = await fixtureDir(base());
    await auth.fixtures.seed(dir);
    const f = base();
    f.permissions[1] = { id: 'docs.edit', tag: 'docs' }; // docs.write renamed
    f.permissions[0] = { id: 'docs.read', tag: 'documents', description: 'Read documents' };
    f.permissions[2] = { id: 'admin.all' }; // enabled again (absent: the default)
    f.groups[1] = { data: { id: 'writers', tag: 'staff' }, permissions: ['docs.read', 'docs.edit'] };
    f.groups[2] = { data: { id: 'admins' }, permissions: [] };
    f.users[0]!.data.password = 'another password 2';
    f.users[1]!.groups = ['writers'];
    await writeFixtures(dir, f);

    const report = await auth.fixtures.seed(dir);
    expect(report.created).toEqual({ permissions: ['docs.edit'], groups: [], users: [] });
    expect(report.updated).toEqual({ permissions: ['docs.read', 'admin.all'], groups: ['writers', 'admins'], users: ['bobby'] });
    expect(report.changes).toEqual({
      permissions: { 'docs.read': ['tag'], 'admin.all': ['enabled'] },
      groups: { writers: ['permissions'], admins: ['permissions'] },
      users: { bobby: ['groups'] },
    });
    // The seed manages the listed items only: docs.write is no longer granted by the groups that
    // list their whole set, but the permission itself is not deleted.
    expect(await auth.groups.show('writers')).toMatchObject({ permissions: ['docs.edit', 'docs.read'] });
    expect((await auth.groups.show('admins')).permissions).toEqual([]);
    expect((await auth.users.show('bobby')).groups).toEqual(['writers']);
    expect((await auth.permissions.get('admin.all')).enabled).toBe(true);
    await expect(auth.users.authenticate('alice', PW)).resolves.toMatchObject({ username: 'alice' });
    await expect(auth.users.authenticate('alice', 'another password 2')).rejects.toMatchObject({ code: 'auth.user.authentication_failed' });

    const rerun = await auth.fixtures.seed(dir);
    expect([...rerun.created.permissions, ...rerun.updated.groups, ...rerun.updated.users]).toEqual([]);
  });

  it('accepts references to items that are only in the database', async () => {
    await auth.permissions.create('legacy.read');
    await auth.groups.create('legacy');
    const dir = await fixtureDir({
      groups: [{ data: { id: 'mixed' }, permissions: ['legacy.read'] }],
      users: [{ data: { username: 'carol', email: 'carol@example.com', password: PW }, groups: ['legacy', 'mixed'] }],
    });
    const report = await auth.fixtures.seed(dir);
    expect(report.errors).toEqual([]);
    expect((await auth.users.show('carol')).groups).toEqual(['legacy', 'mixed']);
  });

  it('an existing user keeps its profile; only its groups follow the fixtures', async () => {
    await auth.groups.create('readers');
    await auth.users.register({ username: 'alice', email: 'alice@old.example.com', password: 'registered pw 1', fullName: 'Old' });
    const dir = await fixtureDir({ users: [{ data: { username: 'alice', email: 'alice@example.com', password: PW }, groups: ['readers'] }] });
    const report = await auth.fixtures.seed(dir);
    expect(report.updated.users).toEqual(['alice']);
    expect(await auth.users.show('alice')).toMatchObject({ email: 'alice@old.example.com', fullName: 'Old', groups: ['readers'] });
    await auth.users.authenticate('alice', 'registered pw 1');
  });

  it('--dry-run reports the plan per item and writes nothing', async () => {
    const dir = await fixtureDir(base());
    await auth.fixtures.seed(dir);
    const f = base();
    f.groups[0] = { data: { id: 'readers', description: 'People who read' }, permissions: ['docs.read', 'docs.write'] };
    f.users.push({ data: { username: 'dave', email: 'dave@example.com', password: PW }, groups: ['readers'] });
    await writeFixtures(dir, f);
    const before = await snapshotAuthTables(t.knex);
    const plan = await auth.fixtures.plan(dir);
    expect(plan.dryRun).toBe(true);
    expect(plan.items.filter((i) => i.action !== 'unchanged')).toEqual([
      { kind: 'groups', id: 'readers', action: 'update', fields: ['description', 'permissions'], added: ['docs.write'], removed: [] },
      { kind: 'users', id: 'dave', action: 'create', fields: [], added: ['readers'], removed: [] },
    ]);
    expect(plan.items.filter((i) => i.action === 'unchanged').map((i) => i.id)).toEqual(['docs.read', 'docs.write', 'admin.all', 'writers', 'admins', 'alice', 'bobby']);
    expect(await snapshotAuthTables(t.knex)).toEqual(before);
  });

  it('reports every problem with its file and JSON path (line and column for syntax) and writes nothing', async () => {
    await auth.users.register({ username: 'taken', email: 'taken@example.com', password: PW });
    const dir = await fixtureDir({
      permissions: [
        { id: 'ok.perm' },
        { id: 'has space' },
        { id: 'ok.perm' },
        { id: 'p.enabled', enabled: 'yes' },
        { id: 'p.tag', tag: 3 },
        { id: 'p.extra', colour: 'red' },
        'just a string',
        { tag: 'no id' },
      ],
      groups: [
        { data: { id: 'g1' }, permissions: ['ok.perm', 'missing.perm', 'p.tag'] },
        { data: { id: 'g1' }, permissions: [] },
        { data: { id: 'g2' } },
        { data: { id: 'g3' }, permissions: 'ok.perm' },
        { permissions: [] },
      ],
      users: [
        { data: { username: 'ab', email: 'x@example.com', password: PW }, groups: [] },
        { data: { username: 'u_email', email: 'not-an-email', password: PW }, groups: [] },
        { data: { username: 'u_short', email: 's@example.com', password: 'short1' }, groups: [] },
        { data: { username: 'u_long', email: 'l@example.com', password: `${'é'.repeat(36)}1` }, groups: [] },
        { data: { username: 'u_dup', email: 'd1@example.com', password: PW }, groups: ['g1', 'ghost'] },
        { data: { username: 'u_dup', email: 'd2@example.com', password: PW }, groups: [] },
        { data: { username: 'u_dupmail', email: 'd1@example.com', password: PW }, groups: [] },
        { data: { username: 'u_taken', email: 'taken@example.com', password: PW }, groups: [] },
        { data: { username: 'u_settings', email: 'st@example.com', password: PW, settings: [1] }, groups: [] },
        { data: { username: 'u_nogroups', email: 'ng@example.com', password: PW } },
      ],
    });
    const before = await snapshotAuthTables(t.knex);
    const report = await auth.fixtures.seed(dir);
    expect(codes(report.errors)).toEqual([
      'permissions.json $[1].id auth.permission.invalid_id',
      'permissions.json $[2].id data.duplicate',
      'permissions.json $[3].enabled data.invalid',
      'permissions.json $[4].tag data.invalid',
      'permissions.json $[5].colour data.invalid',
      'permissions.json $[6] data.invalid',
      'permissions.json $[7] data.invalid',
      'groups.json $[1].data.id data.duplicate',
      'groups.json $[2] data.invalid',
      'groups.json $[3].permissions data.invalid',
      'groups.json $[4] data.invalid',
      'users.json $[0].data.username auth.user.invalid_username',
      'users.json $[1].data.email auth.user.invalid_email',
      'users.json $[2].data.password auth.user.invalid_password',
      'users.json $[3].data.password auth.user.invalid_password',
      'users.json $[5].data.username data.duplicate',
      'users.json $[6].data.email data.duplicate',
      'users.json $[8].data.settings auth.user.invalid_settings',
      'users.json $[9] data.invalid',
      // References and conflicts need the database: reported after the file checks.
      'groups.json $[0].permissions[1] auth.permission.not_found',
      'users.json $[4].groups[1] auth.group.not_found',
      'users.json $[7].data.email auth.user.exists',
    ]);
    const byPath = Object.fromEntries(report.errors.map((e) => [`${e.file.split('/').pop()} ${e.path}`, e]));
    expect(byPath['groups.json $[0].permissions[1]']?.value).toBe('missing.perm');
    expect(byPath['permissions.json $[1].id']?.value).toBe('has space');
    // Passwords are never echoed back.
    expect(JSON.stringify(report.errors)).not.toContain('short1');
    expect(byPath['users.json $[2].data.password']).not.toHaveProperty('value');
    expect(report.created).toEqual({ permissions: [], groups: [], users: [] });
    expect(await snapshotAuthTables(t.knex)).toEqual(before);
  });

  it('JSON syntax errors give line and column; a good file beside a broken one is not applied either', async () => {
    const dir = await fixtureDir({
      permissions: [{ id: 'fine' }],
      groups: '[\n  {"data": {"id": "g"}, "permissions": []}\n  {"data": {"id": "h"}, "permissions": []}\n]',
      users: '\uFEFF[{"data": {"username": "alice", "email": "a@example.com", "password": "x"}, "groups": ["g"],}]',
    });
    const report = await auth.fixtures.seed(dir);
    expect(report.errors.map(({ file, ...e }) => ({ file: file.split('/').pop(), path: e.path, code: e.code, line: e.line, column: e.column }))).toEqual([
      { file: 'groups.json', path: '$', code: 'data.file_invalid', line: 3, column: 3 },
      { file: 'users.json', path: '$', code: 'data.file_invalid', line: 1, column: 93 },
    ]);
    expect(await t.knex('permissions').count({ n: '*' }).first()).toMatchObject({ n: 0 });
  });

  it('a file that is not an array, and a missing directory', async () => {
    const dir = await fixtureDir({ permissions: { id: 'x' } });
    const report = await auth.fixtures.seed(dir);
    expect(codes(report.errors)).toEqual(['permissions.json $ data.invalid']);
    await expect(auth.fixtures.seed(`${dir}/nope`)).rejects.toMatchObject({ code: 'data.file_unreadable' });
  });

  it('the number of statements does not grow with the number of items', async () => {
    const make = (n: number) => ({
      permissions: Array.from({ length: n * 5 }, (_, i) => ({ id: `p${i}`, tag: `t${i % 7}` })),
      groups: Array.from({ length: n }, (_, i) => ({ data: { id: `g${i}` }, permissions: Array.from({ length: 5 }, (_, j) => `p${(i * 5 + j * 3) % (n * 5)}`) })),
      users: Array.from({ length: n }, (_, i) => ({ data: { username: `user${i}`, email: `user${i}@example.com`, password: PW }, groups: [`g${i % n}`, `g${(i + 1) % n}`] })),
    });
    const counts: number[][] = [];
    for (const n of [4, 60]) {
      await truncateAll(t, { sessions: false });
      const dir = await fixtureDir(make(n));
      const first = await countQueries(t.knex, () => auth.fixtures.seed(dir));
      expect(first.result.created.users).toHaveLength(n);
      // Edit every item so the update paths run too.
      const edited = make(n);
      edited.permissions.forEach((p) => (p.tag = 'edited'));
      edited.groups.forEach((g) => g.permissions.reverse().pop());
      edited.users.forEach((u) => u.groups.pop());
      await writeFixtures(dir, edited);
      const second = await countQueries(t.knex, () => auth.fixtures.seed(dir));
      expect(second.result.updated.permissions).toHaveLength(n * 5);
      const third = await countQueries(t.knex, () => auth.fixtures.seed(dir));
      counts.push([first.statements.length, second.statements.length, third.statements.length]);
    }
    expect(counts[0]).toEqual(counts[1]);
    expect(counts[0]![2]).toBeLessThanOrEqual(8);
  });

  it('two seeds of the same fixtures at once both succeed and converge', async () => {
    const dir = await fixtureDir(base());
    const [a, b] = await Promise.all([testAuth(t).fixtures.seed(dir), testAuth(t).fixtures.seed(dir)]);
    expect([...a.created.users, ...b.created.users].sort()).toEqual(['alice', 'bobby']);
    expect(await t.knex('users').count({ n: '*' }).first()).toMatchObject({ n: 2 });
    expect((await auth.users.show('bobby')).groups).toEqual(['admins', 'writers']);
  });
});
