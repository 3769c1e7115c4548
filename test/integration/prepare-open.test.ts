/**
 * `prepareOpen(target)`: what opening will need starts loading early (PGlite's WebAssembly,
 * compiled once per process), and nothing else happens: no directory is made, no server is
 * reached, nothing fails; the open that follows uses what was prepared.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openDatabase, prepareOpen } from '../../src/db/open.js';
import { pgliteArtifacts } from '../../src/db/pglite-artifacts.js';
import { ADMIN_URL } from '../support/db.js';

const dirs: string[] = [];
afterAll(async () => {
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
});

describe('prepareOpen', () => {
  it('embedded: compiles PGlite once, creates nothing, and the open after it works', async () => {
    const parent = await mkdtemp(path.join(os.tmpdir(), 'kaiju-prepare-'));
    dirs.push(parent);
    const dataDir = path.join(parent, 'data');
    prepareOpen({ kind: 'embedded', dataDir });
    const artifacts = await pgliteArtifacts();
    expect(Object.keys(artifacts).sort()).toEqual(['initdbWasmModule', 'pgliteWasmModule']);
    const wasm = (globalThis as unknown as { WebAssembly: { Module: { exports(m: unknown): unknown[] } } }).WebAssembly;
    expect(wasm.Module.exports(artifacts.pgliteWasmModule).length).toBeGreaterThan(0);
    // Only compiled: the data directory it names is untouched.
    expect(existsSync(dataDir)).toBe(false);
    expect(await pgliteArtifacts()).toBe(artifacts);
    const db = await openDatabase({ kind: 'embedded', dataDir }, { create: true });
    try {
      expect((await db.knex.raw('select 1 as one')).rows[0].one).toBe(1);
    } finally {
      await db.close();
    }
  });

  it('postgres: nothing to prepare; a server that is not there is neither reached nor an error', async () => {
    // Port 9 (discard) on this host: nothing listens; a connection attempt would fail.
    const rejections: unknown[] = [];
    const onRejection = (reason: unknown) => rejections.push(reason);
    process.on('unhandledRejection', onRejection);
    try {
      expect(() => prepareOpen({ kind: 'postgres', url: 'postgres://nobody@127.0.0.1:9/none' })).not.toThrow();
      expect(() => prepareOpen({ kind: 'embedded', dataDir: '/proc/no/such/place' })).not.toThrow();
      await new Promise((resolve) => setTimeout(resolve, 300));
    } finally {
      process.off('unhandledRejection', onRejection);
    }
    expect(rejections).toEqual([]);
    expect(existsSync('/proc/no/such/place')).toBe(false);
  });

  it.runIf(ADMIN_URL)('postgres: the open after it works', async () => {
    const url = ADMIN_URL as string;
    prepareOpen({ kind: 'postgres', url });
    const db = await openDatabase({ kind: 'postgres', url });
    try {
      expect((await db.knex.raw('select 1 as one')).rows[0].one).toBe(1);
    } finally {
      await db.close();
    }
  });
});
