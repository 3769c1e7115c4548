/**
 * Crash-then-rerun: the built CLI imports a large file and is killed with SIGKILL mid-way; the
 * batches committed before the kill are whole (every user has its groups), and rerunning the same
 * file with --on-conflict skip or update converges to the full import with no duplicates.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BACKENDS } from '../support/db.js';
import { cliTarget, removeTempDirs, runCli, spawnCli, tempDir, type CliTarget } from '../support/cli.js';

const USERS = 400;
const BATCH = 25;
/** Slow enough hashing that the kill lands between batches (a few hundred ms a batch on two cores). */
const ROUNDS = '8';

describe.each(BACKENDS)('import killed mid-way on %s', (backend) => {
  let dir: string;
  let file: string;

  beforeAll(async () => {
    dir = await tempDir('kaiju-crash-');
    file = path.join(dir, 'users.jsonl');
    const lines = Array.from({ length: USERS }, (_, i) =>
      JSON.stringify({ username: `crash${i}`, email: `crash${i}@example.com`, password: `crash password ${i}`, groups: i % 2 ? ['a', 'b'] : ['b'] }),
    );
    await writeFile(file, `${lines.join('\n')}\n`);
  });
  afterAll(removeTempDirs);

  /** Users, and users without their groups (a half-made user), after the process is gone. */
  const state = (t: CliTarget) =>
    t.withKnex(async (k) => ({
      users: Number((await k('users').count({ n: '*' }).first())?.n),
      withoutGroups: Number((await k('users as u').whereNotExists(k('user_groups as ug').whereRaw('ug.user_id = u.id')).count({ n: '*' }).first())?.n),
      wrongGroups: Number(
        (await k.raw(`select count(*) as n from users u where (select count(*) from user_groups ug where ug.user_id = u.id) <> case when substring(u.username from 6)::int % 2 = 1 then 2 else 1 end`)).rows[0].n,
      ),
    }));

  /** Start an import and SIGKILL it once some batches are in (PG: seen by polling; PGlite: by time). */
  async function killMidway(t: CliTarget, delayMs: number): Promise<void> {
    const run = await spawnCli([...t.args, '-q', 'user', 'import', file, '--batch-size', String(BATCH), '--rounds', ROUNDS], { timeoutMs: 170_000 });
    if (t.url !== null) {
      const { default: knex } = await import('knex');
      const k = knex({ client: 'pg', connection: t.url, pool: { min: 0, max: 1 } });
      try {
        for (let i = 0; i < 600; i++) {
          const n = Number((await k('users').count({ n: '*' }).first())?.n);
          if (n >= 2 * BATCH) break;
          await new Promise((r) => setTimeout(r, 50));
        }
      } finally {
        await k.destroy();
      }
    } else {
      await new Promise((r) => setTimeout(r, delayMs));
    }
    run.child.kill('SIGKILL');
    expect((await run.result).signal).toBe('SIGKILL');
  }

  for (const policy of ['skip', 'update'] as const) {
    it(`rerun with --on-conflict ${policy} converges to the full import`, { timeout: 180_000 }, async () => {
      // PGlite cannot be watched from outside while the process holds it: kill after a delay,
      // longer each attempt, until the kill lands mid-import.
      let t: CliTarget | null = null;
      let partial = { users: 0, withoutGroups: 0, wrongGroups: 0 };
      for (const delay of [3000, 4500, 2000, 6500]) {
        await t?.cleanup();
        t = await cliTarget(backend);
        expect((await runCli([...t.args, 'migrate', '-q'])).code).toBe(0);
        expect((await runCli([...t.args, 'group', 'create', 'a', '-q'])).code).toBe(0);
        expect((await runCli([...t.args, 'group', 'create', 'b', '-q'])).code).toBe(0);
        await killMidway(t, delay);
        partial = await state(t);
        if (partial.users > 0 && partial.users < USERS) break;
      }
      const target = t as CliTarget;
      try {
        expect(partial.users).toBeGreaterThan(0);
        expect(partial.users).toBeLessThan(USERS);
        expect(partial.users % BATCH).toBe(0);
        expect(partial).toMatchObject({ withoutGroups: 0, wrongGroups: 0 });

        const rerun = await runCli([...target.args, '-q', '--json', 'user', 'import', file, '--on-conflict', policy, '--batch-size', String(BATCH), '--rounds', ROUNDS], { timeoutMs: 170_000 });
        expect(rerun.code).toBe(0);
        const report = rerun.json<{ created: { users: number }; updated: { users: number }; unchanged: { users: number } }>();
        expect(report.created.users).toBe(USERS - partial.users);
        expect(report.unchanged.users).toBe(partial.users);
        expect(report.updated.users).toBe(0);
        expect(await state(target)).toEqual({ users: USERS, withoutGroups: 0, wrongGroups: 0 });
      } finally {
        await target.cleanup();
      }
    });
  }
});
