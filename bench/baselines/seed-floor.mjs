/**
 * Baseline for `kaiju-auth seed` against kaiju's own algorithm (seed.bench.mjs): the floor of the
 * work any seed of a kaiju fixture directory must do, with nothing else. No validation (not even of
 * the JSON's shape), no look-alike checks, no advisory lock, no plan, no audit row, no knex, no
 * CLI: `pg` and `bcrypt` straight from node_modules. What it writes is what a first seed writes
 * (the schema's own triggers included); it is not a tool anyone should use.
 *
 *   seed-floor.mjs first URL DIR COST   hash every user's password at COST on libuv's pool (as
 *                                       the tool does; run it with UV_THREADPOOL_SIZE set, as the
 *                                       tool's launcher sets it) while it connects, then ONE
 *                                       transaction that inserts every row, one statement a table
 *   seed-floor.mjs rerun URL DIR        read what the database holds for the files (four
 *                                       statements in one read-only snapshot) and compare
 *
 * Hashing is never overlapped with the writing transaction: a seed may not hash while a
 * transaction that writes is open (the transaction must not last as long as bcrypt takes, issue 12
 * item 3), so that floor is the sum of the two. It prints one JSON line: what it found or wrote.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const { Client } = require('pg');

const [mode, url, dir, cost = '4'] = process.argv.slice(2);
if ((mode !== 'first' && mode !== 'rerun') || !url || !dir) {
  console.error('usage: seed-floor.mjs first URL DIR COST | rerun URL DIR');
  process.exit(2);
}
const read = (kind) => JSON.parse(readFileSync(`${dir}/${kind}.json`, 'utf8'));
const permissions = read('permissions');
const groups = read('groups');
const users = read('users');
const client = new Client({ connectionString: url });
const connected = client.connect();
const json = (rows) => [JSON.stringify(rows)];

if (mode === 'first') {
  const bcrypt = require('bcrypt');
  const hashes = await Promise.all(users.map((u) => bcrypt.hash(u.data.password, Number(cost))));
  await connected;
  await client.query('BEGIN');
  await client.query(
    `insert into permissions (id, enabled, tag, description)
     select x.id, coalesce(x.enabled, true), x.tag, x.description from jsonb_to_recordset($1::jsonb) as x(id text, enabled boolean, tag text, description text)`,
    json(permissions),
  );
  await client.query(
    'insert into groups (id, tag, description) select x.id, x.tag, x.description from jsonb_to_recordset($1::jsonb) as x(id text, tag text, description text)',
    json(groups.map((g) => g.data)),
  );
  await client.query(
    'insert into group_permissions (group_id, permission_id) select x.g, x.p from jsonb_to_recordset($1::jsonb) as x(g text, p text)',
    json(groups.flatMap((g) => g.permissions.map((p) => ({ g: g.data.id, p })))),
  );
  const made = await client.query(
    `insert into users (id, username, email, full_name, password, salt, is_active, is_blocked, settings, created)
     select gen_random_uuid(), x.username, x.email, x.full_name, convert_to(x.hash, 'UTF8'), ''::bytea, true, false, '{}', timezone('UTC', now())
       from jsonb_to_recordset($1::jsonb) as x(username text, email text, full_name text, hash text)
     returning id, username`,
    json(users.map((u, i) => ({ username: u.data.username, email: u.data.email, full_name: u.data.full_name ?? null, hash: hashes[i] }))),
  );
  const idOf = new Map(made.rows.map((r) => [r.username, r.id]));
  await client.query(
    'insert into user_groups (user_id, group_id) select x.u::uuid, x.g from jsonb_to_recordset($1::jsonb) as x(u text, g text)',
    json(users.flatMap((u) => u.groups.map((g) => ({ u: idOf.get(u.data.username), g })))),
  );
  await client.query('COMMIT');
  await client.end();
  console.log(JSON.stringify({ created: { permissions: permissions.length, groups: groups.length, users: made.rows.length } }));
} else {
  await connected;
  await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  const groupIds = groups.map((g) => g.data.id);
  const perms = await client.query('select id, enabled, tag, description from permissions where id = any($1::text[])', [permissions.map((p) => p.id)]);
  const groupRows = await client.query('select id, tag, description from groups where id = any($1::text[])', [groupIds]);
  const grants = await client.query(
    `select coalesce(json_object_agg(k, m), '{}')::text as s
       from (select group_id as k, json_agg(permission_id) as m from group_permissions where group_id = any($1::text[]) group by 1) x`,
    [groupIds],
  );
  const members = await client.query(
    `select coalesce(json_object_agg(k, m), '{}')::text as s
       from (select u.username as k, json_agg(ug.group_id) as m from user_groups ug join users u on u.id = ug.user_id
              where u.username = any($1::text[]) group by 1) x`,
    [users.map((u) => u.data.username)],
  );
  await client.query('COMMIT');
  await client.end();
  const sameSet = (list, have) => {
    const set = new Set(have ?? []);
    return set.size === list.length && list.every((x) => set.has(x));
  };
  const permById = new Map(perms.rows.map((r) => [r.id, r]));
  const groupById = new Map(groupRows.rows.map((r) => [r.id, r]));
  const grantSets = JSON.parse(grants.rows[0].s);
  const memberSets = JSON.parse(members.rows[0].s);
  let differ = 0;
  for (const p of permissions) {
    const r = permById.get(p.id);
    if (!r || r.enabled !== (p.enabled ?? true) || r.tag !== (p.tag ?? null) || r.description !== (p.description ?? null)) differ += 1;
  }
  for (const g of groups) {
    const r = groupById.get(g.data.id);
    if (!r || r.tag !== (g.data.tag ?? null) || r.description !== (g.data.description ?? null) || !sameSet(g.permissions, grantSets[g.data.id])) differ += 1;
  }
  for (const u of users) if (!sameSet(u.groups, memberSets[u.data.username])) differ += 1;
  console.log(JSON.stringify({ differ }));
}
