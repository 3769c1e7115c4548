/**
 * What a database backend is to the seam (kysely's `Dialect`): PostgreSQL through `pg`
 * (postgres.ts) and PGlite in a data directory (embedded.ts) each implement it, and open.ts picks
 * one by the target. Above src/db nobody learns which one answered: a handle is a knex handle whose
 * rows look the same either way (values.ts installs one set of type parsers in both), bulk rows go
 * in through `copyRows` (copy.ts asks the backend that opened the handle), and what a caller shows
 * comes from the backend (`description`, `backend`).
 *
 * What a backend owns: opening (connecting, or starting PGlite on a data directory it locks),
 * closing (waiting for work in flight) and aborting (not waiting: an open transaction rolls back),
 * COPY in, its driver's type parsers (values.ts's, installed its own way), and its lock (the
 * embedded data directory's, held from open to close; PostgreSQL needs none of ours).
 */
import type { Knex } from 'knex';
import type { DbLogger } from './knex-log.js';

/** What an open asks of a backend. */
export interface BackendOpenOptions {
  /** Recorded with the lock (the embedded data directory's), so a waiting process can say who holds it. */
  command: string;
  /**
   * Create the database when there is none (migrate, init); `scratch`: when there is none, work on
   * a throwaway one in memory instead (a dry run). Default false: no database is an error.
   */
  create: boolean | 'scratch';
  /** Where knex's warnings go (none: dropped). */
  logger?: DbLogger;
  /**
   * Called once, at once, when another process holds the database and this open starts waiting
   * for it: who holds it (in words), what is held, and for how long this open will wait.
   */
  onLockWait?: (wait: { holder: string; held: string; timeoutMs: number }) => void;
  /**
   * Called once, as soon as the backend knows what it opens and before the slow part (PGlite's
   * start, which takes seconds, and initdb on a new directory): what `description` will be, and
   * `scratchFor` as the opened handle will have it. For the caller to say at once which database
   * it uses. A backend that is quick to open need not call it.
   */
  onOpening?: (what: { description: string; scratchFor: string | null }) => void;
  /** Extra PGlite options, used by the embedded backend alone. */
  embedded?: EmbeddedOptions;
  /**
   * The process is a short run (a CLI command, seconds): the embedded backend has V8 run PGlite's
   * WebAssembly on its baseline compiler only (see pglite-artifacts.ts). Process-wide: for a
   * process that only runs this.
   */
  shortRun?: boolean;
}

/** Extra PGlite options, for tests and library callers (extensions, a preloaded data dump). */
export interface EmbeddedOptions {
  extensions?: Record<string, unknown>;
  loadDataDir?: Blob;
}

/** An open database, as its backend holds it. */
export interface OpenedBackend {
  readonly knex: Knex;
  /** One line naming what was opened (password redacted): `PostgreSQL postgres://...`, `embedded database at DIR`. */
  readonly description: string;
  /**
   * Where there was no database, when `create: 'scratch'` made this open work on a throwaway one
   * in memory instead; null otherwise.
   */
  readonly scratchFor: string | null;
  /** Entries of the database's directory that other users could reach, now owner-only (0: none, or no directory). */
  readonly madePrivate: number;
  /** Close when the work is done: waits for queries in flight, then lets go of the lock. */
  close(): Promise<void>;
  /** Stop now: do not wait for work in progress (an open transaction rolls back), then let go. */
  abort(): Promise<void>;
  /**
   * `COPY target FROM` the rows (text COPY format), on `db`: this handle or a transaction on it.
   * `target` is `table (columns)` of trusted identifiers.
   */
  copyIn(db: Knex, target: string, lines: string | Buffer): Promise<void>;
}

/** How long a `readOnce` may wait for each thing (ms). */
export interface ReadOnceOptions {
  /** Recorded with the lock, as `BackendOpenOptions.command`. */
  command: string;
  /** To connect and log in (PostgreSQL). */
  connectMs: number;
  /** For the statement's answer. */
  statementMs: number;
  /** For a lock another process holds: the embedded data directory's, a row or table lock; 0: do not wait. */
  lockMs: number;
}

export interface Backend<T> {
  /** `postgres` or `embedded`: a word to show, never a thing to branch on. */
  readonly name: string;
  open(target: T, options: BackendOpenOptions): Promise<OpenedBackend>;
  /**
   * One statement in a read-only transaction on an existing database, straight through the driver
   * (no knex, no pool), then closed: for a caller that must start and fail fast (shell completion).
   * Never creates a database. Rows as the driver gives them.
   */
  readOnce(target: T, sql: string, params: unknown[], options: ReadOnceOptions): Promise<Record<string, unknown>[]>;
}
