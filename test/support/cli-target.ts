/**
 * A fresh database for CLI tests, on either backend: a temporary embedded data directory, or a
 * new PostgreSQL database. `args` select it on the command line; `withKnex` opens it in-process
 * for setup and inspection (holding the embedded directory's lock only meanwhile).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Knex } from 'knex';
import { openDatabase } from '../../src/db/open.js';
import type { DatabaseTarget } from '../../src/db/target.js';
import { createPgDatabase, dropPgDatabase, type Backend } from './db.js';

export interface CliTarget {
  backend: Backend;
  args: string[];
  target: DatabaseTarget;
  dataDir: string | null;
  /** A scratch directory for the test's files, removed by `cleanup`. */
  tmp: string;
  withKnex<T>(fn: (knex: Knex) => Promise<T>): Promise<T>;
  cleanup(): Promise<void>;
}

export async function cliTarget(backend: Backend): Promise<CliTarget> {
  let target: DatabaseTarget;
  let args: string[];
  let dataDir: string | null = null;
  let dropDb: () => Promise<void> = async () => undefined;
  const tmp = await mkdtemp(path.join(os.tmpdir(), 'kaiju-cli-'));
  if (backend === 'postgres') {
    const { name, url } = await createPgDatabase();
    target = { kind: 'postgres', url };
    args = ['--database-url', url];
    dropDb = () => dropPgDatabase(name);
  } else {
    dataDir = path.join(tmp, 'data');
    target = { kind: 'embedded', dataDir, lockTimeoutMs: 60_000 };
    args = ['--data-dir', dataDir];
  }
  const cleanup = async () => {
    await dropDb();
    await rm(tmp, { recursive: true, force: true });
  };
  return {
    backend,
    args,
    target,
    dataDir,
    tmp,
    async withKnex(fn) {
      const db = await openDatabase(target);
      try {
        return await fn(db.knex);
      } finally {
        await db.close();
      }
    },
    cleanup,
  };
}
