/**
 * The one seam between services and the database: `openDatabase(target)` picks the backend the
 * target names (postgres.ts, embedded.ts: each a `Backend`, see backend.ts) and gives a knex
 * handle that behaves the same on either. This is the only place that tells them apart; services
 * and the CLI never do.
 */
import type { Knex } from 'knex';
import type { Backend, BackendOpenOptions, EmbeddedOptions, OpenedBackend, ReadOnceOptions } from './backend.js';
import { registerCopyIn } from './copy.js';
import { releaseAllDirLocksSync } from './dir-lock.js';
import type { DbLogger } from './knex-log.js';
import type { DatabaseTarget } from './target.js';

/**
 * Let go, synchronously, of every lock this process holds on a database (an embedded data
 * directory's), for an exit hook: the process that owns the exit installs it (the CLI does). The
 * kernel frees the locks of a process that ends anyway; this removes their files (labels) too.
 */
export const releaseLocksSync: () => void = releaseAllDirLocksSync;

export interface Database extends Omit<OpenedBackend, 'copyIn'> {
  readonly knex: Knex;
  readonly target: DatabaseTarget;
  /** Which backend, as a word to show (`postgres`, `embedded`); for display, never for branching. */
  readonly backend: string;
}

export interface OpenOptions {
  /** Recorded with the embedded lock so a waiting process can say who holds it. */
  command?: string;
  /**
   * Create the database when there is none (migrate, init); `scratch`: work on a throwaway one in
   * memory instead (a dry run). Default false: no database is an error (`db.schema_missing`).
   */
  create?: boolean | 'scratch';
  /**
   * Called once, at once, when another process holds the database and this open starts waiting
   * for it (up to the target's lock timeout). For the caller to tell the user; this layer never prints.
   */
  onLockWait?: BackendOpenOptions['onLockWait'];
  /**
   * Called once when the open knows what it opens, before its slow part (the embedded database
   * starting PGlite, seconds): for the caller to tell the user at once. Not called when the open
   * fails before that (no such database, a lock that was not released).
   */
  onOpening?: BackendOpenOptions['onOpening'];
  /** Where knex's warnings go (none: dropped). The CLI gives stderr; this layer writes nowhere. */
  logger?: DbLogger;
  /** Extra PGlite options (extensions, a preloaded data dump), for tests and library callers. */
  embedded?: EmbeddedOptions;
  /** A short run (the CLI's commands): see `BackendOpenOptions.shortRun`. */
  shortRun?: boolean;
}

async function backendFor(target: DatabaseTarget): Promise<Backend<DatabaseTarget>> {
  // Each backend loads only when a target names it (pg or PGlite, never both).
  const backend = target.kind === 'postgres' ? (await import('./postgres.js')).postgresBackend : (await import('./embedded.js')).embeddedBackend;
  return backend as Backend<DatabaseTarget>;
}

export async function openDatabase(target: DatabaseTarget, options: OpenOptions = {}): Promise<Database> {
  const backend = await backendFor(target);
  const { copyIn, ...opened } = await backend.open(target, {
    command: options.command ?? 'kaiju-auth',
    create: options.create ?? false,
    ...(options.logger ? { logger: options.logger } : {}),
    ...(options.onLockWait ? { onLockWait: options.onLockWait } : {}),
    ...(options.onOpening ? { onOpening: options.onOpening } : {}),
    ...(options.embedded ? { embedded: options.embedded } : {}),
    ...(options.shortRun ? { shortRun: true } : {}),
  });
  registerCopyIn(opened.knex, copyIn);
  return { ...opened, target, backend: backend.name };
}

export type { ReadOnceOptions };

/**
 * One statement in a read-only transaction on the existing database `target` names, straight
 * through its driver (no knex: a fraction of `openDatabase`'s start-up), under short timeouts the
 * caller gives; then closed. For shell completion, which must answer at once or not at all.
 */
export async function readOnce(target: DatabaseTarget, sql: string, params: unknown[], options: ReadOnceOptions): Promise<Record<string, unknown>[]> {
  const backend = await backendFor(target);
  return backend.readOnce(target, sql, params, options);
}
