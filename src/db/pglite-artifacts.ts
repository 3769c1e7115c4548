/**
 * PGlite's two WebAssembly modules (pglite.wasm, 9 MB, and initdb.wasm), read and compiled once
 * per process, as early as the caller likes. V8 compiles them on background threads: started when
 * the CLI knows its command will open an embedded database, the compile runs while the CLI's own
 * modules load, instead of on the open's critical path, where PGlite would start it. Nothing here
 * touches a data directory. A failure is left to PGlite: it then loads them itself, as it always does.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { PGliteOptions } from '@electric-sql/pglite';

/** The PGlite options that take what PGlite would otherwise load itself. */
export type PGliteArtifacts = Pick<PGliteOptions, 'pgliteWasmModule' | 'initdbWasmModule'>;

type WasmModule = NonNullable<PGliteOptions['pgliteWasmModule']>;

const require = createRequire(import.meta.url);

let loading: Promise<PGliteArtifacts> | null = null;

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
