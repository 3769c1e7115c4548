/**
 * The embedded database: PGlite (PostgreSQL compiled to WASM, in-process) in a data directory,
 * behind the `knex-pglite` dialect. Loaded only when no URL is given. The directory is held under
 * an exclusive lock (see dir-lock.ts) for as long as it is open, and is private to its owner
 * (private-files.ts): made so when opened, and every file PGlite creates in it is created so.
 * The `Backend` of backend.ts: COPY goes in as a Blob through PGlite's `/dev/blob`, and the lock
 * is the data directory's.
 */
import { access } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { PGlite as PGliteClass, PGliteOptions } from '@electric-sql/pglite';
import { isKaijuAuthError, authError, remediableError } from '../errors.js';
import type { Knex } from 'knex';
import type { Backend, BackendOpenOptions, EmbeddedOptions, ReadOnceOptions } from './backend.js';
import { describeTarget, type EmbeddedTarget } from './target.js';
import { acquireDirLock, describeHolder, type DirLock } from './dir-lock.js';
import { makeDataDirPrivate, PrivateNodeFs, tightenDataDirContents } from './private-files.js';
import { baselineCompilerOnly, pgliteArtifacts } from './pglite-artifacts.js';
import { knexLog } from './knex-log.js';
import { OID, parseBytea, TYPE_PARSERS } from './values.js';

export type { EmbeddedOptions };

export interface OpenedEmbedded {
  knex: Knex;
  lock: DirLock | null;
  /** The PGlite instance itself: closing it ends the backend, rolling back an open transaction. */
  pglite: { close(): Promise<void>; readonly closed: boolean };
  /** Entries of an existing data directory that other users could reach, now owner-only (0 if none). */
  madePrivate: number;
}

export const PGDATA_SUBDIR = 'pgdata';

type ProcessResponse = (obj: { method?: string; response: Record<string, unknown> }, runner: unknown) => unknown;

/**
 * knex-pglite labels a response with the knex method (`DEL`) where knex's PostgreSQL client
 * expects the SQL command (`DELETE`), so `delete()` and `update()` returned the raw response
 * instead of the affected row count. Label it as `pg` does.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
function withPgResponses<T extends new (...args: any[]) => object>(Base: T): T {
  const pgProcess = (Object.getPrototypeOf(Base.prototype) as { processResponse: ProcessResponse }).processResponse;
  const commands: Record<string, string> = { first: 'SELECT', pluck: 'SELECT', select: 'SELECT', del: 'DELETE', update: 'UPDATE', counter: 'UPDATE', insert: 'INSERT' };
  class PgLiteClient extends Base {
    processResponse(obj: { method?: string; response: Record<string, unknown> }, runner: unknown): unknown {
      const command = commands[obj.method ?? ''] ?? (obj.method ?? '').toUpperCase();
      return pgProcess.call(this, { ...obj, response: { ...obj.response, rowCount: obj.response.affectedRows, command } }, runner);
    }
  }
  return PgLiteClient;
}

const require = createRequire(import.meta.url);

/**
 * PGlite, knex and the knex-pglite dialect load through `require`: knex-pglite is CommonJS and
 * requires PGlite's CommonJS build, so importing PGlite's ES build as well would load a second
 * copy (~20 ms of startup). knex and its dialect are in embedded-knex.ts, imported once PGlite
 * is starting.
 */
function loadPGlite(): typeof PGliteClass {
  return (require('@electric-sql/pglite') as { PGlite: typeof PGliteClass }).PGlite;
}

/** True when the data directory already holds a database (so opening it will not create one). */
export async function embeddedDatabaseExists(dataDir: string): Promise<boolean> {
  try {
    await access(path.join(dataDir, PGDATA_SUBDIR, 'PG_VERSION'));
    return true;
  } catch {
    return false;
  }
}

async function openEmbeddedKnex(target: EmbeddedTarget, options: BackendOpenOptions & { create: boolean }): Promise<OpenedEmbedded> {
  if (target.dataDir !== null && !options.create && !(await embeddedDatabaseExists(target.dataDir))) {
    throw remediableError('db.schema_missing', `there is no embedded database at ${target.dataDir}`, 'create_database', { dataDir: target.dataDir });
  }
  // PGlite's WebAssembly compiles (V8's background threads) while the directory is made private and locked.
  if (options.shortRun) baselineCompilerOnly();
  const artifacts = pgliteArtifacts();
  const dirMadePrivate = target.dataDir === null ? 0 : await makeDataDirPrivate(target.dataDir);
  const lock =
    target.dataDir === null
      ? null
      : await acquireDirLock(target.dataDir, {
          timeoutMs: target.lockTimeoutMs ?? 10_000,
          command: options.command,
          onWait: (holder, timeoutMs) => options.onLockWait?.({ holder: describeHolder(holder), held: target.dataDir as string, timeoutMs }),
        });
  try {
    // Before PGlite loads and starts (seconds; more with initdb on a new directory).
    options.onOpening?.({ description: describeTarget(target), scratchFor: null });
    const PGlite = loadPGlite();
    const pglite = new PGlite({
      ...(await artifacts),
      ...(target.dataDir === null ? {} : { fs: new PrivateNodeFs(path.join(target.dataDir, PGDATA_SUBDIR)) as unknown as PGliteOptions['fs'] }),
      ...(options.embedded?.extensions ? { extensions: options.embedded.extensions as never } : {}),
      ...(options.embedded?.loadDataDir ? { loadDataDir: options.embedded.loadDataDir } : {}),
      // PGlite hands BYTEA over as a Uint8Array; pg, as a Buffer. Buffers both.
      parsers: { ...TYPE_PARSERS, [OID.bytea]: parseBytea },
    });
    // PGlite is starting (its WASM compiles on background threads); meanwhile, make what an
    // existing directory holds private and load knex.
    const madePrivate = dirMadePrivate + (target.dataDir === null ? 0 : tightenDataDirContents(target.dataDir));
    const { knexFactory, ClientPgLite } = (await import('./embedded-knex.js')).loadKnex();
    await pglite.waitReady;
    const knex = knexFactory({
      client: withPgResponses(ClientPgLite as unknown as new (...args: unknown[]) => object) as unknown as Knex.Config['client'],
      connection: (() => ({ pglite })) as unknown as Knex.Config['connection'],
      // knex asks the server's version (`select version()`, one more round trip on every open)
      // only to choose json over text for json columns before 9.2; PGlite is PostgreSQL 17 or newer.
      version: '17',
      log: knexLog(options.logger),
    });
    return { knex, lock, pglite, madePrivate };
  } catch (err) {
    await lock?.release();
    throw err;
  }
}

/** COPY as PGlite takes it: `FROM '/dev/blob'`, with the rows as a Blob. */
async function copyIn(db: Knex, target: string, lines: string | Buffer): Promise<void> {
  await db.raw(`COPY ${target} FROM '/dev/blob'`).options({ blob: new Blob([lines]) });
}

/**
 * `Backend.readOnce` on PGlite itself (no knex): the data directory must hold a database already
 * and be free within `lockMs` (0: at once, or `db.locked`); the statement runs in a READ ONLY
 * transaction; then PGlite closes and the lock goes. Nothing is made private here (only read):
 * files PGlite creates are owner-only as always.
 */
async function readOnce(target: EmbeddedTarget, sql: string, params: unknown[], options: ReadOnceOptions): Promise<Record<string, unknown>[]> {
  const dataDir = target.dataDir;
  if (dataDir === null || !(await embeddedDatabaseExists(dataDir))) {
    throw remediableError('db.schema_missing', `there is no embedded database at ${dataDir ?? '(memory)'}`, 'create_database', { dataDir });
  }
  const lock = await acquireDirLock(dataDir, { timeoutMs: options.lockMs, command: options.command });
  try {
    const PGlite = loadPGlite();
    const pglite = new PGlite({
      ...(await pgliteArtifacts()),
      fs: new PrivateNodeFs(path.join(dataDir, PGDATA_SUBDIR)) as unknown as PGliteOptions['fs'],
      parsers: { ...TYPE_PARSERS, [OID.bytea]: parseBytea },
    });
    try {
      await pglite.waitReady;
      return await pglite.transaction(async (tx) => {
        await tx.exec('SET TRANSACTION READ ONLY');
        return (await tx.query<Record<string, unknown>>(sql, params)).rows;
      });
    } finally {
      await pglite.close();
    }
  } finally {
    await lock.release();
  }
}

export const embeddedBackend: Backend<EmbeddedTarget> = {
  name: 'embedded',
  readOnce,
  async open(target, options) {
    // A dry run where there is no database yet works on a throwaway one in memory.
    if (options.create === 'scratch' && target.dataDir !== null && !(await embeddedDatabaseExists(target.dataDir))) {
      const scratchFor = target.dataDir;
      const onOpening = options.onOpening;
      const scratch = await embeddedBackend.open(
        { ...target, dataDir: null },
        { ...options, create: true, ...(onOpening ? { onOpening: (what) => onOpening({ ...what, scratchFor }) } : {}) },
      );
      return { ...scratch, scratchFor };
    }
    const description = describeTarget(target);
    let opened: OpenedEmbedded;
    try {
      opened = await openEmbeddedKnex(target, { ...options, create: options.create === true });
    } catch (err) {
      if (isKaijuAuthError(err)) throw err;
      const reason = err instanceof Error ? err.message.split('\n')[0] : String(err);
      throw authError('db.unavailable', `cannot open ${description}: ${reason}`, { target: description }, err);
    }
    const { knex, lock, pglite, madePrivate } = opened;
    let closed = false;
    return {
      knex,
      description,
      scratchFor: null,
      madePrivate,
      async close() {
        if (closed) return;
        closed = true;
        try {
          await knex.destroy();
        } finally {
          await lock?.release();
        }
      },
      async abort() {
        if (closed) return;
        closed = true;
        try {
          // knex.destroy() would wait for the transaction in flight to finish (and commit).
          if (!pglite.closed) await pglite.close();
        } finally {
          await lock?.release();
        }
      },
      copyIn,
    };
  },
};
