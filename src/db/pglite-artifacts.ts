/**
 * PGlite's two WebAssembly modules (pglite.wasm, 9 MB, and initdb.wasm), read and compiled once
 * per process. V8 compiles them on background threads: the open starts the compile before it makes
 * the data directory private and takes its lock, and every later open (tests, a dry run's scratch
 * copy) reuses it. Nothing here touches a data directory. A failure is left to PGlite: it then
 * loads them itself, as it always does.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { setFlagsFromString } from 'node:v8';
import type { PGliteOptions } from '@electric-sql/pglite';

/** The PGlite options that take what PGlite would otherwise load itself. */
export type PGliteArtifacts = Pick<PGliteOptions, 'pgliteWasmModule' | 'initdbWasmModule'>;

type WasmModule = NonNullable<PGliteOptions['pgliteWasmModule']>;

const require = createRequire(import.meta.url);

let loading: Promise<PGliteArtifacts> | null = null;

/**
 * For a short run (a CLI command): V8 runs WebAssembly on its baseline compiler (Liftoff) only,
 * from the next compile on. By default it also optimizes PGlite's 9 MB with TurboFan on background
 * threads: about a CPU-second a run, spent while the command waits for PGlite (and the key
 * secret's scrypt waits for a core). Measured here, default vs Liftoff only: status 1.9 s /
 * 2.0 CPU-s vs 1.5 s / 1.2 CPU-s and ~80 MB less peak memory; a seed of 5,000 permissions, 500
 * groups and 2,000 users 5.1 s vs 4.9 s; an import of 30,000 users 3.7 s either way (0.9 CPU-s
 * less): a command is too short for the optimized code to pay back its compile. Process-wide, so
 * the CLI asks for it (`shortRun` when it opens), never the library on its own.
 */
export function baselineCompilerOnly(): void {
  if (loading === null) setFlagsFromString('--liftoff-only');
}

/** Starts the compile on the first call; every call gets the same answer ({} if it failed). */
export function pgliteArtifacts(): Promise<PGliteArtifacts> {
  loading ??= compileArtifacts().catch(() => ({}));
  return loading;
}

async function compileArtifacts(): Promise<PGliteArtifacts> {
  // Beside PGlite's own module, where it would read them itself.
  const dir = path.dirname(require.resolve('@electric-sql/pglite'));
  // Node's global, which this project's TypeScript settings do not declare.
  const wasm = (globalThis as unknown as { WebAssembly: { compile(bytes: Uint8Array): Promise<WasmModule> } }).WebAssembly;
  const compile = async (name: string) => wasm.compile(await readFile(path.join(dir, name)));
  const [pgliteWasmModule, initdbWasmModule] = await Promise.all([compile('pglite.wasm'), compile('initdb.wasm')]);
  return { pgliteWasmModule, initdbWasmModule };
}
