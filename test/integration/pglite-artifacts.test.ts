/**
 * PGlite's WebAssembly, compiled once per process (src/db/pglite-artifacts.ts): compiling touches
 * no data directory, every open reuses it, and an open marked `shortRun` (the CLI's) works on
 * either backend (PostgreSQL has nothing to compile and ignores it).
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase } from '../../src/db/open.js';
import { pgliteArtifacts } from '../../src/db/pglite-artifacts.js';
import { ADMIN_URL } from '../support/db.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('PGlite artifacts', () => {
  it('compiles once, creates nothing, and the opens after it work', async () => {
    const parent = await mkdtemp(path.join(os.tmpdir(), 'kaiju-artifacts-'));
    dirs.push(parent);
    const dataDir = path.join(parent, 'data');
    const artifacts = await pgliteArtifacts();
    expect(Object.keys(artifacts).sort()).toEqual(['initdbWasmModule', 'pgliteWasmModule']);
    const wasm = (globalThis as unknown as { WebAssembly: { Module: { exports(m: unknown): unknown[] } } }).WebAssembly;
    expect(wasm.Module.exports(artifacts.pgliteWasmModule).length).toBeGreaterThan(0);
    // Only compiled: no directory anywhere is touched.
    expect(existsSync(dataDir)).toBe(false);
    expect(await pgliteArtifacts()).toBe(artifacts);
    for (const target of [{ kind: 'embedded' as const, dataDir }, { kind: 'embedded' as const, dataDir: null }]) {
      const db = await openDatabase(target, { create: true, shortRun: true });
      try {
        expect((await db.knex.raw('select 1 as one')).rows[0].one).toBe(1);
      } finally {
        await db.close();
      }
    }
    expect(await pgliteArtifacts()).toBe(artifacts);
  });

  it('no database there: the error as before, and nothing made', async () => {
    const parent = await mkdtemp(path.join(os.tmpdir(), 'kaiju-artifacts-'));
    dirs.push(parent);
    const dataDir = path.join(parent, 'none');
    await expect(openDatabase({ kind: 'embedded', dataDir }, { shortRun: true })).rejects.toMatchObject({ code: 'db.schema_missing' });
    expect(existsSync(dataDir)).toBe(false);
  });

  it.runIf(ADMIN_URL)('postgres: an open marked shortRun works as any other', async () => {
    const db = await openDatabase({ kind: 'postgres', url: ADMIN_URL as string }, { shortRun: true });
    try {
      expect((await db.knex.raw('select 1 as one')).rows[0].one).toBe(1);
    } finally {
      await db.close();
    }
  });
});
