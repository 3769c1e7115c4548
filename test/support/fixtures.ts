/** Writing fixture directories and snapshotting the auth tables, for the seed tests. */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';

export interface FixtureFiles {
  permissions?: unknown;
  groups?: unknown;
  users?: unknown;
}

const tempDirs: string[] = [];

/** A new directory with the given files; a string is written as is (for syntax errors). */
export async function fixtureDir(files: FixtureFiles): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'kaiju-fixtures-'));
  tempDirs.push(dir);
  await writeFixtures(dir, files);
  return dir;
}

export async function writeFixtures(dir: string, files: FixtureFiles): Promise<void> {
  for (const [kind, content] of Object.entries(files)) {
    if (content === undefined) continue;
    await writeFile(path.join(dir, `${kind}.json`), typeof content === 'string' ? content : JSON.stringify(content, null, 2));
  }
}

export async function removeFixtureDirs(): Promise<void> {
  for (const dir of tempDirs.splice(0)) await rm(dir, { recursive: true, force: true });
}

/** Everything the seed may touch, sorted, for "nothing was written" assertions. */
export async function snapshotAuthTables(knex: Knex) {
  const [permissions, groups, grants, users, members, audit] = await Promise.all([
    knex('permissions').orderBy('id'),
    knex('groups').orderBy('id'),
    knex('group_permissions').orderBy(['group_id', 'permission_id']),
    knex('users').orderBy('username'),
    knex('user_groups as ug').join('users as u', 'u.id', 'ug.user_id').select('u.username', 'ug.group_id').orderBy(['u.username', 'ug.group_id']),
    knex('audit_log').count({ n: '*' }).first(),
  ]);
  return { permissions, groups, grants, users, members, audit: Number(audit?.n ?? 0) };
}

/** Count the SQL statements knex sends while `work` runs. */
export async function countQueries<T>(knex: Knex, work: () => Promise<T>): Promise<{ result: T; statements: string[] }> {
  const statements: string[] = [];
  const listener = (q: { sql: string }) => statements.push(q.sql);
  knex.on('query', listener);
  try {
    return { result: await work(), statements };
  } finally {
    knex.removeListener('query', listener);
  }
}
