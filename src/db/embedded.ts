/**
 * The embedded database: PGlite (PostgreSQL compiled to WASM, in-process) in a data directory,
 * behind the `knex-pglite` dialect. Loaded only when no URL is given. The directory is held under
 * an exclusive lock (see dir-lock.ts) for as long as it is open.
 */
import { access } from 'node:fs/promises';
import path from 'node:path';
import { authError } from '../core/errors.js';
import type { Knex } from 'knex';
import type { EmbeddedTarget } from './target.js';
import { acquireDirLock, type DirLock } from './dir-lock.js';
import { KNEX_LOG } from './knex-log.js';
import { OID, parseBytea, parseInt8, parseUtcTimestamp } from './values.js';

/** Extra PGlite options, for tests and library callers (extensions, a preloaded data dump). */
export interface EmbeddedOptions {
  extensions?: Record<string, unknown>;
  loadDataDir?: Blob;
}

export interface OpenedEmbedded {
  knex: Knex;
  lock: DirLock | null;
  /** The PGlite instance itself: closing it ends the backend, rolling back an open transaction. */
  pglite: { close(): Promise<void>; readonly closed: boolean };
}

export const PGDATA_SUBDIR = 'pgdata';

/** True when the data directory already holds a database (so opening it will not create one). */
export async function embeddedDatabaseExists(dataDir: string): Promise<boolean> {
  try {
    await access(path.join(dataDir, PGDATA_SUBDIR, 'PG_VERSION'));
    return true;
  } catch {
    return false;
  }
}

export async function openEmbeddedKnex(
  target: EmbeddedTarget,
  options: EmbeddedOptions & { command: string; create: boolean },
): Promise<OpenedEmbedded> {
  if (target.dataDir !== null && !options.create && !(await embeddedDatabaseExists(target.dataDir))) {
    throw authError(
      'db.schema_missing',
      `there is no embedded database at ${target.dataDir}: run \`kaiju-auth init\` (or pass --database-url / --data-dir)`,
      { dataDir: target.dataDir },
    );
  }
  const lock =
    target.dataDir === null
      ? null
      : await acquireDirLock(target.dataDir, { timeoutMs: target.lockTimeoutMs ?? 10_000, command: options.command });
  try {
    // Start PGlite (WASM compile, data dir load) while knex loads: they overlap.
    const pglitePromise = (async () => {
      const { PGlite } = await import('@electric-sql/pglite');
      const pglite = new PGlite({
        ...(target.dataDir === null ? {} : { dataDir: path.join(target.dataDir, PGDATA_SUBDIR) }),
        ...(options.extensions ? { extensions: options.extensions as never } : {}),
        ...(options.loadDataDir ? { loadDataDir: options.loadDataDir } : {}),
        parsers: {
          [OID.bytea]: parseBytea,
          [OID.int8]: parseInt8,
          [OID.timestamp]: parseUtcTimestamp,
        },
      });
      await pglite.waitReady;
      return pglite;
    })();
    const [{ default: knexFactory }, { default: ClientPgLite }, pglite] = await Promise.all([
      import('knex'),
      import('knex-pglite'),
      pglitePromise,
    ]);
    const knex = knexFactory({
      client: ClientPgLite as unknown as Knex.Config['client'],
      connection: (() => ({ pglite })) as unknown as Knex.Config['connection'],
      log: KNEX_LOG,
    });
    return { knex, lock, pglite };
  } catch (err) {
    await lock?.release();
    throw err;
  }
}
