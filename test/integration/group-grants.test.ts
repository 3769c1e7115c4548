import { beforeAll, beforeEach, expect, it } from 'vitest';
import type { Knex } from 'knex';
import type { KaijuAuth } from '../../src/core/auth.js';
import { resolveUserPermissions } from '../../src/core/user-permissions.js';
import { groupGrantsDrift, rebuildGroupGrants } from '../../src/core/group-grants.js';
import { migrateLatest } from '../../src/db/migrator.js';
import { openDatabase } from '../../src/db/open.js';
import { MIGRATIONS } from '../../migrations/index.js';
import { describeOnBackends, destroyTest, initTest, truncateAll } from '../support/db.js';
import { PASSWORD, testAuth } from '../support/auth.js';
import { codeOf } from '../support/keys.js';

/** Effective permissions computed the slow, obvious way, straight from kaiju's tables. */
async function reference(knex: Knex): Promise<Record<string, string[]>> {
  const rows = await knex.raw(
    `select u.username,
            array(select distinct gp.permission_id from user_groups ug
                    join group_permissions gp on gp.group_id = ug.group_id
                    join permissions p on p.id = gp.permission_id and p.enabled
                   where ug.user_id = u.id order by 1) as permissions
       from users u order by 1`,
  );
  return Object.fromEntries((rows.rows as { username: string; permissions: string[] }[]).map((r) => [r.username, [...r.permissions].sort()]));
}

async function resolved(knex: Knex): Promise<Record<string, string[]>> {
  const names = (await knex('users').orderBy('username').pluck('username')) as string[];
  const out: Record<string, string[]> = {};
  for (const n of names) out[n] = (await resolveUserPermissions(knex, n, null))?.permissions ?? [];
  return out;
}

describeOnBackends('the group grants kept by triggers', { fresh: true }, (t, backend) => {
  let auth: KaijuAuth;
  beforeAll(async () => {
    auth = testAuth(t);
  });
  beforeEach(async () => {
    for (const p of ['a', 'b', 'c', 'd']) await auth.permissions.create(p);
    for (const g of ['g1', 'g2', 'g3']) await auth.groups.create(g);
    await auth.users.register({ username: 'alice', email: 'alice@example.com', password: PASSWORD, groups: ['g1', 'g2'] });
    await auth.users.register({ username: 'bobby', email: 'bob@example.com', password: PASSWORD, groups: ['g3'] });
    await auth.users.register({ username: 'carol', email: 'carol@example.com', password: PASSWORD });
  });

  it('follow writes made through the services', async () => {
    await auth.groups.setPermissions('g1', ['a', 'b']);
    await auth.groups.grant('g2', ['b', 'c']);
    await auth.groups.grant('g3', ['d']);
    expect(await resolved(t.knex)).toEqual({ alice: ['a', 'b', 'c'], bobby: ['d'], carol: [] });
    await auth.groups.revoke('g1', ['a']);
    await auth.permissions.setEnabled('c', false);
    expect(await resolved(t.knex)).toEqual(await reference(t.knex));
    expect((await resolved(t.knex)).alice).toEqual(['b']);
  });

  it('follow raw SQL writes as the Python kaiju_auth app makes them', async () => {
    const k = t.knex;
    await k.raw(`insert into group_permissions values ('g1', 'a'), ('g1', 'b'), ('g2', 'c'), ('g3', 'a'), ('g3', 'd')`);
    expect(await resolved(k)).toEqual(await reference(k));
    await k.raw(`delete from group_permissions where group_id = 'g1' and permission_id = 'a'`);
    await k.raw(`update permissions set enabled = false where id in ('d', 'c')`);
    expect(await resolved(k)).toEqual(await reference(k));
    await k.raw(`update permissions set enabled = true where id = 'd'`);
    await k.raw(`update permissions set description = 'no effect' where id = 'b'`);
    expect(await resolved(k)).toEqual(await reference(k));
    await k.raw(`update group_permissions set permission_id = 'b' where group_id = 'g3' and permission_id = 'a'`);
    expect(await resolved(k)).toEqual(await reference(k));
    await k.raw(`delete from permissions where id = 'b'`); // cascades to group_permissions
    expect(await resolved(k)).toEqual(await reference(k));
    await k.raw(`delete from groups where id = 'g3'`); // cascades to grants, memberships and our row
    expect(await resolved(k)).toEqual(await reference(k));
    expect(await k('kaiju_auth_group_grants').where({ group_id: 'g3' }).first()).toBeUndefined();
    await k.raw('truncate group_permissions');
    expect(await resolved(k)).toEqual({ alice: [], bobby: [], carol: [] });
  });

  it('a user without groups gets the default group; unknown users resolve to null', async () => {
    await auth.groups.grant('g3', ['a', 'd']);
    expect(await resolveUserPermissions(t.knex, 'carol', 'g3')).toMatchObject({ permissions: ['a', 'd'] });
    expect(await resolveUserPermissions(t.knex, 'carol', 'nonexistent')).toMatchObject({ permissions: [] });
    expect(await resolveUserPermissions(t.knex, 'alice', 'g3')).toMatchObject({ permissions: [] });
    expect(await resolveUserPermissions(t.knex, 'nobody', 'g3')).toBeNull();
    expect(await resolveUserPermissions(t.knex, '00000000-0000-4000-8000-000000000000', null)).toBeNull();
  });

  it('resolve names with quotes, backslashes and question marks exactly (inlined or sent as parameters)', async () => {
    const k = t.knex;
    const odd = ["o'brien", 'back\\slash', 'what?', "it's?\\"];
    for (const [i, name] of odd.entries()) {
      await k('users').insert({ id: `abcdef00-0000-4000-8000-00000000000${i}`, username: name, email: `odd${i}@example.com`, password: Buffer.from([0]), salt: Buffer.from([0]), is_active: true, is_blocked: false, settings: {}, created: new Date() });
    }
    await k('user_groups').insert([{ user_id: 'abcdef00-0000-4000-8000-000000000000', group_id: 'g1' }, { user_id: 'abcdef00-0000-4000-8000-000000000001', group_id: 'g3' }]);
    await auth.groups.grant('g1', ['a']);
    await auth.groups.grant('g3', ['d']);
    for (const group of ["it's", 'why?', 'c:\\x']) await k('groups').insert({ id: group });
    await k('group_permissions').insert([{ group_id: "it's", permission_id: 'b' }, { group_id: 'why?', permission_id: 'c' }, { group_id: 'c:\\x', permission_id: 'd' }]);
    expect(await resolveUserPermissions(k, "o'brien", null)).toEqual({ userId: 'abcdef00-0000-4000-8000-000000000000', permissions: ['a'] });
    expect(await resolveUserPermissions(k, 'back\\slash', null)).toMatchObject({ permissions: ['d'] });
    expect(await resolveUserPermissions(k, 'what?', "it's")).toMatchObject({ permissions: ['b'] });
    expect(await resolveUserPermissions(k, "it's?\\", 'why?')).toMatchObject({ permissions: ['c'] });
    expect(await resolveUserPermissions(k, "it's", 'c:\\x')).toBeNull();
    expect(await resolveUserPermissions(k, 'ABCDEF00-0000-4000-8000-000000000003', 'c:\\x')).toMatchObject({ permissions: ['d'] });
    expect(await resolveUserPermissions(k, "x' or 'a'='a", null)).toBeNull();
  });

  it('are built for the grants a database already has when the migration runs', async () => {
    const fresh = await initTest(backend, { migrate: false });
    try {
      await migrateLatest(fresh.knex, MIGRATIONS.slice(0, 2));
      const k = fresh.knex;
      await k.raw(`insert into permissions values ('x', true, null, null), ('y', false, null, null), ('z', true, null, null)`);
      await k.raw(`insert into groups values ('admins', null, null)`);
      await k.raw(`insert into group_permissions values ('admins', 'x'), ('admins', 'y'), ('admins', 'z')`);
      await k.raw(
        `insert into users values ('00000000-0000-4000-8000-0000000000aa', 'olduser', 'o@example.com', null, '\\x00', '\\x00', true, false, '{}', now())`,
      );
      await k.raw(`insert into user_groups values ('admins', '00000000-0000-4000-8000-0000000000aa')`);
      await migrateLatest(k, MIGRATIONS);
      expect(await resolveUserPermissions(k, 'olduser', null)).toMatchObject({ permissions: ['x', 'z'] });
    } finally {
      await destroyTest(fresh);
    }
  });

  it.runIf(backend === 'postgres')('stay right when two transactions change one group at once', async () => {
    const a = await openDatabase(t.target);
    const b = await openDatabase(t.target);
    try {
      for (let round = 0; round < 10; round++) {
        await t.knex('group_permissions').where({ group_id: 'g1' }).delete();
        const trxA = await a.knex.transaction();
        const trxB = await b.knex.transaction();
        await trxA.raw(`insert into group_permissions values ('g1', 'a')`);
        // B's foreign-key check waits for A's lock on the group row; A commits; B's refresh sees A's grant.
        const pendingB = trxB.raw(`insert into group_permissions values ('g1', 'b')`).then(() => trxB.commit());
        await new Promise((r) => setTimeout(r, 20));
        await trxA.commit();
        await pendingB;
        expect((await resolveUserPermissions(t.knex, 'alice', null))?.permissions).toEqual(['a', 'b']);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it.runIf(backend === 'postgres')('a grant inserted while a disable of its permission is in flight: the permission is not granted (issue 12)', async () => {
    // Session A disables c and holds its transaction open; session B grants c meanwhile and
    // commits first, as a running kaiju app would. Both isolation levels of B, and of A.
    for (const [isoA, isoB] of [
      ['read committed', 'read committed'],
      ['repeatable read', 'read committed'],
      ['read committed', 'repeatable read'],
      ['repeatable read', 'repeatable read'],
    ] as const) {
      await truncateAll(t);
      await auth.permissions.create('c');
      await auth.groups.create('g1');
      await auth.users.register({ username: 'alice', email: 'alice@example.com', password: PASSWORD, groups: ['g1'] });
      const a = await openDatabase(t.target);
      const b = await openDatabase(t.target);
      try {
        const trxA = await a.knex.transaction({ isolationLevel: isoA });
        await trxA.raw('select 1'); // the snapshot of a repeatable read transaction starts here
        await trxA.raw(`update permissions set enabled = false where id = 'c'`);
        const trxB = await b.knex.transaction({ isolationLevel: isoB });
        const pendingB = trxB
          .raw(`insert into group_permissions values ('g1', 'c')`)
          .then(() => trxB.commit())
          .then(
            () => 'committed',
            async (err: unknown) => {
              await trxB.rollback().catch(() => undefined);
              return `failed ${(err as { code?: string }).code}`;
            },
          );
        await new Promise((r) => setTimeout(r, 300));
        const outcomeA = await trxA.commit().then(
          () => 'committed',
          (err: unknown) => `failed ${(err as { code?: string }).code}`,
        );
        const outcomeB = await pendingB;
        // Each either commits, or is refused as a serialization failure (40001) and changes nothing.
        expect([outcomeA, outcomeB].every((o) => o === 'committed' || o === 'failed 40001'), `${isoA}/${isoB}: ${outcomeA}, ${outcomeB}`).toBe(true);
        expect(await resolved(t.knex), `${isoA}/${isoB}: ${outcomeA}, ${outcomeB}`).toEqual(await reference(t.knex));
      } finally {
        await a.close();
        await b.close();
      }
    }
  });

  it.runIf(backend === 'postgres')('changes of two groups swapping permissions at once neither deadlock nor fail', async () => {
    await auth.groups.setPermissions('g1', ['a', 'b']);
    await auth.groups.setPermissions('g2', ['c', 'd']);
    const other = await openDatabase(t.target);
    try {
      const auth2 = testAuth({ ...t, db: other, knex: other.knex });
      for (let round = 0; round < 20; round++) {
        await Promise.all([
          auth.groups.setPermissions('g1', round % 2 ? ['a', 'b'] : ['c', 'd']),
          auth2.groups.setPermissions('g2', round % 2 ? ['c', 'd'] : ['a', 'b']),
          auth2.permissions.setEnabled('b', round % 2 === 0),
        ]);
        expect(await resolved(t.knex)).toEqual(await reference(t.knex));
      }
    } finally {
      await other.close();
    }
  });

  it.runIf(backend === 'postgres')('a permission or group deleted while a grant or membership naming it is made: not found, nothing changed', async () => {
    // Session A deletes c (and g2) and holds its transaction; the tool's change, which checked
    // them before, waits; A commits. It used to end in a foreign key violation (exit 1).
    const a = await openDatabase(t.target);
    try {
      const trxA = await a.knex.transaction();
      await trxA.raw(`delete from permissions where id = 'c'`);
      await trxA.raw(`delete from groups where id = 'g2'`);
      const grant = codeOf(auth.groups.grant('g1', ['a', 'c']));
      const join = codeOf(auth.users.addGroups('bobby', ['g1', 'g2']));
      await new Promise((r) => setTimeout(r, 300));
      await trxA.commit();
      expect(await grant).toBe('auth.permission.not_found');
      expect(await join).toBe('auth.group.not_found');
      expect(await t.knex('group_permissions').where({ group_id: 'g1' }).pluck('permission_id')).toEqual([]);
      expect(await t.knex('user_groups as ug').join('users as u', 'u.id', 'ug.user_id').where('u.username', 'bobby').pluck('group_id')).toEqual(['g3']);
    } finally {
      await a.close();
    }
  });

  it('drift from kaiju tables is listed, and rebuilt (by migrate too) in one transaction', async () => {
    await auth.groups.setPermissions('g1', ['a', 'b']);
    await auth.groups.grant('g3', ['d']);
    expect(await groupGrantsDrift(t.knex)).toEqual([]);
    await t.knex.raw(`update kaiju_auth_group_grants set permissions = '{a,c}' where group_id = 'g1'`);
    await t.knex.raw(`delete from kaiju_auth_group_grants where group_id = 'g3'`);
    expect(await groupGrantsDrift(t.knex)).toEqual([
      { group_id: 'g1', stored: ['a', 'c'], wanted: ['a', 'b'] },
      { group_id: 'g3', stored: [], wanted: ['d'] },
    ]);
    expect((await auth.status()).grants).toEqual({ drifted: ['g1', 'g3'] });
    expect(await resolved(t.knex)).not.toEqual(await reference(t.knex));
    const run = await auth.migrate();
    expect(run).toMatchObject({ migrations: [], repaired: 2 });
    expect(await groupGrantsDrift(t.knex)).toEqual([]);
    expect(await resolved(t.knex)).toEqual(await reference(t.knex));
    expect(await rebuildGroupGrants(t.knex)).toBe(0);
  });

  it('migration 5 repairs rows an older build left wrong', async () => {
    const fresh = await initTest(backend, { migrate: false });
    try {
      const k = fresh.knex;
      await migrateLatest(k, MIGRATIONS.slice(0, 4));
      await k.raw(`insert into permissions values ('x', false, null, null)`);
      await k.raw(`insert into groups values ('admins', null, null)`);
      await k.raw(`insert into group_permissions values ('admins', 'x')`);
      // The old race's result: x disabled, yet in the group's row.
      await k.raw(`update kaiju_auth_group_grants set permissions = '{x}' where group_id = 'admins'`);
      await migrateLatest(k, MIGRATIONS);
      expect(await k('kaiju_auth_group_grants').where({ group_id: 'admins' }).first()).toEqual({ group_id: 'admins', permissions: [] });
    } finally {
      await destroyTest(fresh);
    }
  });

  it.runIf(backend === 'postgres')('work for an app role that has no rights on our tables', async () => {
    const role = `kaiju_app_${Math.random().toString(36).slice(2, 8)}`;
    await t.knex.raw(`create role ${role}`);
    try {
      await t.knex.raw(`grant select, insert, update, delete on permissions, groups, group_permissions, users, user_groups to ${role}`);
      await t.knex.transaction(async (trx) => {
        await trx.raw(`set local role ${role}`);
        await trx.raw(`insert into group_permissions values ('g1', 'a'), ('g1', 'b')`);
        await trx.raw(`update permissions set enabled = false where id = 'b'`);
      });
      expect((await resolveUserPermissions(t.knex, 'alice', null))?.permissions).toEqual(['a']);
    } finally {
      await t.knex.raw(`drop owned by ${role}`);
      await t.knex.raw(`drop role ${role}`);
    }
  });
});
