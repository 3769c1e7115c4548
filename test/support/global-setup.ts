/**
 * Once per test run: make a snapshot of a freshly initialised PGlite cluster, so each test gets a
 * fresh embedded database in ~0.4 s instead of re-running initdb (~2.5 s).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { TestProject } from 'vitest/node';

let dir: string | null = null;

export async function setup(project: TestProject): Promise<void> {
  const { PGlite } = await import('@electric-sql/pglite');
  const db = new PGlite();
  await db.waitReady;
  const dump = await db.dumpDataDir('none');
  await db.close();
  dir = await mkdtemp(path.join(os.tmpdir(), 'kaiju-auth-test-'));
  const file = path.join(dir, 'pglite-fresh.tar');
  await writeFile(file, Buffer.from(await dump.arrayBuffer()));
  project.provide('pgliteSnapshot', file);
}

export async function teardown(): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

declare module 'vitest' {
  export interface ProvidedContext {
    pgliteSnapshot: string;
  }
}
