/**
 * `seed --prune` (issue 16 item 3) in the core, on both backends: the database becomes exactly the
 * fixtures for the kinds they cover (a kind whose file is absent is left alone); users only with
 * `users`; `keep` tags protect permissions and groups (and what a kept group grants or holds);
 * the plan lists every deletion with what goes with it; no grant, membership, session or
 * look-alike key is left dangling; a bad fixture or an unconfirmed deletion writes nothing; and
 * a pruned database plans nothing more.
 */
import { afterAll, beforeAll, beforeEach, expect, it } from 'vitest';
import type { KaijuAuth } from '../../src/core/auth.js';
import { describeOnBackends } from '../support/db.js';
import { testAuth } from '../support/auth.js';
import { fixtureDir, removeFixtureDirs, snapshotAuthTables } from '../support/fixtures.js';
import { epoch, insertKaijuSession } from '../support/kaiju-rows.js';

const PW = 'prune test password 1';
const u = (username: string, groups: string[]) => ({ data: { username, email: `${username}@example.com`, password: PW }, groups });

/** Everything: what the fixtures name, and what has grown beside them. */
const everything = () => ({
  permissions: [{ id: 'docs.read' }, { id: 'docs.write' }, { id: 'old.perm' }, { id: 'legacy.perm', tag: 'legacy' }, { id: 'kept.by.group' }],
  groups: [
    { data: { id: 'readers' }, permissions: ['docs.read'] },
    { data: { id: 'writers' }, permissions: ['docs.read', 'docs.write', 'old.perm'] },
    { data: { id: 'old-group' }, permissions: ['docs.read', 'old.perm'] },
    { data: { id: 'legacy-group', tag: 'legacy' }, permissions: ['kept.by.group'] },
  ],
  users: [u('alice', ['readers']), u('bobby', ['writers', 'old-group']), u('carol', ['old-group']), u('legacy_user', ['legacy-group'])],
});

/** The desired state: fewer of everything. */
const wanted = () => ({
  permissions: [{ id: 'docs.read' }],
  groups: [
    { data: { id: 'readers' }, permissions: ['docs.read'] },
    { data: { id: 'writers' }, permissions: ['docs.read', 'docs.write'] },
  ],
  users: [u('alice', ['readers']), u('bobby', ['writers'])],
});

describeOnBackends('seed --prune', { fresh: true }, (t) => {
  let auth: KaijuAuth;
  beforeAll(async () => {
    auth = testAuth(t);
  });
  afterAll(async () => {
    await removeFixtureDirs();
  });
  beforeEach(async () => {
    expect((await auth.fixtures.seed(await fixtureDir(everything()))).errors).toEqual([]);
  });

  const tables = async () => ({
    permissions: (await t.knex('permissions').orderBy('id').pluck('id')) as string[],
    groups: (await t.knex('groups').orderBy('id').pluck('id')) as string[],
    grants: (await t.knex('group_permissions').orderBy(['group_id', 'permission_id']).select('group_id', 'permission_id')).map((r) => `${r.group_id}:${r.permission_id}`),
    users: (await t.knex('users').orderBy('username').pluck('username')) as string[],
    members: (await t.knex('user_groups as ug').join('users as u', 'u.id', 'ug.user_id').orderBy(['u.username', 'ug.group_id']).select('u.username', 'ug.group_id')).map(
      (r) => `${r.username}:${r.group_id}`,
    ),
  });

  it('without users: permissions and groups the files do not name go, with their grants and memberships; users stay', async () => {
    const dir = await fixtureDir(wanted());
    const plan = await auth.fixtures.plan(dir, { prune: {} });
    expect(plan.deleted).toEqual({ permissions: ['kept.by.group', 'legacy.perm', 'old.perm'], groups: ['legacy-group', 'old-group'], users: [] });
    // Grants: old.perm in writers and old-group, docs.read in old-group, kept.by.group in legacy-group;
    // memberships: bobby, carol in old-group, legacy_user in legacy-group.
    expect(plan.removed).toEqual({ grants: 4, memberships: 3, sessions: 0 });
    expect(plan.items.filter((i) => i.action === 'delete').map((i) => [i.kind, i.id, i.with])).toEqual([
      ['permissions', 'kept.by.group', { grants: 1 }],
      ['permissions', 'legacy.perm', { grants: 0 }],
      ['permissions', 'old.perm', { grants: 2 }],
      ['groups', 'legacy-group', { grants: 1, members: 1 }],
      ['groups', 'old-group', { grants: 2, members: 2 }],
    ]);
    expect(await tables()).toMatchObject({ groups: ['legacy-group', 'old-group', 'readers', 'writers'] }); // a plan writes nothing
    const r = await auth.fixtures.seed(dir, { prune: {} });
    expect(r.errors).toEqual([]);
    expect(r.deleted).toEqual(plan.deleted);
    expect(await tables()).toEqual({
      permissions: ['docs.read', 'docs.write'],
      groups: ['readers', 'writers'],
      grants: ['readers:docs.read', 'writers:docs.read', 'writers:docs.write'],
      users: ['alice', 'bobby', 'carol', 'legacy_user'],
      members: ['alice:readers', 'bobby:writers'],
    });
    // Derived grants follow (no row for a deleted group).
    expect((await t.knex('kaiju_auth_group_grants').orderBy('group_id').pluck('group_id')) as string[]).toEqual(['readers', 'writers']);
    const again = await auth.fixtures.plan(dir, { prune: {} });
    expect(again.deleted).toEqual({ permissions: [], groups: [], users: [] });
    expect(again.items.every((i) => i.action === 'unchanged')).toBe(true);
    const audit = await auth.audit.list({ command: 'seed' });
    expect(audit[0]?.summary).toMatchObject({ deleted: plan.deleted, removed: plan.removed });
  });

  it('users too: the users the files do not name go, with their memberships, sessions and look-alike keys', async () => {
    const carol = await t.knex('users').where({ username: 'carol' }).first('id');
    await insertKaijuSession(t.knex, { userId: carol.id, expires: epoch(new Date()) + 3600 });
    const dir = await fixtureDir(wanted());
    const plan = await auth.fixtures.plan(dir, { prune: { users: true } });
    expect(plan.deleted?.users).toEqual(['carol', 'legacy_user']);
    expect(plan.removed).toEqual({ grants: 4, memberships: 3, sessions: 1 });
    expect(plan.items.find((i) => i.id === 'carol')?.with).toEqual({ memberships: 1, sessions: 1 });
    await auth.fixtures.seed(dir, { prune: { users: true } });
    expect((await tables()).users).toEqual(['alice', 'bobby']);
    expect(Number((await t.knex('sessions').count({ n: '*' }).first())?.n)).toBe(0);
    const keys = (await t.knex('kaiju_auth_user_keys').distinct('user_id').pluck('user_id')) as string[];
    const ids = (await t.knex('users').pluck('id')) as string[];
    expect(keys.every((k) => ids.includes(k))).toBe(true);
    // A user with carol's name can be registered again (its look-alike keys went with it).
    await auth.users.register({ username: 'carol', email: 'carol@example.com', password: PW });
  });

  it('--keep TAG: tagged permissions and groups stay, with what a kept group grants and (users) its members', async () => {
    const dir = await fixtureDir(wanted());
    const r = await auth.fixtures.seed(dir, { prune: { users: true, keep: ['legacy'] } });
    expect(r.deleted).toEqual({ permissions: ['old.perm'], groups: ['old-group'], users: ['carol'] });
    const after = await tables();
    expect(after.permissions).toEqual(['docs.read', 'docs.write', 'kept.by.group', 'legacy.perm']);
    expect(after.groups).toEqual(['legacy-group', 'readers', 'writers']);
    expect(after.grants).toContain('legacy-group:kept.by.group');
    expect(after.members).toContain('legacy_user:legacy-group');
  });

  it('covers only the kinds whose file is there: groups.json alone prunes groups, never permissions or users', async () => {
    const dir = await fixtureDir({ groups: wanted().groups });
    const r = await auth.fixtures.seed(dir, { prune: { users: true } });
    expect(r.deleted).toEqual({ permissions: [], groups: ['legacy-group', 'old-group'], users: [] });
    expect((await tables()).permissions).toHaveLength(5);
    expect((await tables()).users).toHaveLength(4);
  });

  it('a name in any file keeps it: a permission granted by a group of groups.json, a group a user is in', async () => {
    const dir = await fixtureDir({ permissions: [], groups: [{ data: { id: 'readers' }, permissions: ['docs.read'] }], users: [u('alice', ['old-group'])] });
    const r = await auth.fixtures.plan(dir, { prune: {} });
    expect(r.deleted?.permissions).not.toContain('docs.read');
    expect(r.deleted?.groups).toEqual(['legacy-group', 'writers']);
  });

  it('nothing is written when a fixture has a problem, or when the database holds more to delete than was confirmed', async () => {
    const before = await snapshotAuthTables(t.knex);
    const broken = await fixtureDir({ ...wanted(), groups: [{ data: { id: 'readers' }, permissions: ['no.such.perm'] }] });
    const bad = await auth.fixtures.seed(broken, { prune: { users: true } });
    expect(bad.errors.map((e) => e.code)).toEqual(['auth.permission.not_found']);
    expect(await snapshotAuthTables(t.knex)).toEqual(before);

    const dir = await fixtureDir(wanted());
    const plan = await auth.fixtures.plan(dir, { prune: {} });
    await auth.groups.create('appeared-meanwhile');
    await expect(auth.fixtures.seed(dir, { prune: { confirmed: plan.deleted } })).rejects.toMatchObject({ code: 'seed.plan_changed', kind: 'conflict' });
    expect((await tables()).groups).toContain('old-group');
    // What was confirmed is enough when nothing else appeared.
    await auth.groups.delete('appeared-meanwhile');
    const r = await auth.fixtures.seed(dir, { prune: { confirmed: plan.deleted } });
    expect(r.deleted).toEqual(plan.deleted);
  });
});
