/**
 * Our migration runner. Migrations have knex's shape (`up(knex)`, `down(knex)`); bookkeeping lives
 * in `kaiju_auth_migrations`, never in knex's default tables, so an app's own knex migrations in
 * the same database are not confused with ours.
 *
 * Each run (latest, down, dry run) is ONE transaction that first takes a transaction-scoped
 * advisory lock: two concurrent `migrate` processes serialise, and the second finds nothing to do.
 * Transaction-scoped, so it works through PgBouncer in transaction mode. A failing migration rolls
 * the whole run back. A dry run does the real work and rolls back, so the SQL it prints is exactly
 * what would run.
 */
import type { Knex } from 'knex';
import { authError, isKaijuAuthError, KaijuAuthError, remediableError } from '../errors.js';
import { databaseRefusal } from './errors.js';

export interface Migration {
  name: string;
  up(knex: Knex): Promise<void>;
  down(knex: Knex): Promise<void>;
}

/**
 * For a migration that finds a table it must not touch (another app's table of the same name):
 * a `db.schema_conflict` error, which keeps its code (and exit code) through the run's wrapping.
 */
export function schemaConflict(message: string, details: Record<string, unknown>): KaijuAuthError {
  return authError('db.schema_conflict', message, details);
}

export const MIGRATIONS_TABLE = 'kaiju_auth_migrations';
/** Advisory lock key ("kaijumig" in ASCII); a constant so every process agrees. */
const MIGRATION_LOCK_KEY = '7737002446011574631';

export interface MigrationState {
  name: string;
  applied: boolean;
  batch: number | null;
  appliedAt: Date | null;
}

export interface MigrationRun {
  /** Names run, in order (for `down`, in the order they were rolled back). */
  migrations: string[];
  batch: number | null;
  /** The SQL statements issued, when a dry run asked for them. */
  sql?: string[];
  dryRun: boolean;
  /** Rows of derived data the `repair` step rewrote (0 without one). */
  repaired: number;
  /**
   * For `down`: the tables the rollback drops (or would drop), with the rows each held before,
   * in the order they are dropped. Empty for `latest`.
   */
  dropped: DroppedTable[];
}

export interface DroppedTable {
  table: string;
  rows: number;
  /**
   * True for the tool's own bookkeeping and derived tables (`kaiju_auth_*`): their rows are
   * rebuilt from the other tables or written by the migrations, so dropping them loses no data.
   */
  derived: boolean;
}

/** Tables whose rows are data someone entered (not `kaiju_auth_*` bookkeeping) and not empty. */
export function tablesWithData(dropped: readonly DroppedTable[]): DroppedTable[] {
  return dropped.filter((t) => !t.derived && t.rows > 0);
}

interface AppliedRow {
  name: string;
  batch: number;
  migration_time: Date;
}

class DryRunRollback extends Error {}

async function ensureBookkeeping(trx: Knex.Transaction): Promise<void> {
  await trx.raw(
    `CREATE TABLE IF NOT EXISTS ${MIGRATIONS_TABLE} (
      id SERIAL PRIMARY KEY,
      name TEXT NOT NULL UNIQUE,
      batch INTEGER NOT NULL,
      migration_time TIMESTAMPTZ NOT NULL DEFAULT now()
    )`,
  );
}

async function readApplied(knex: Knex): Promise<AppliedRow[]> {
  return knex(MIGRATIONS_TABLE).select('name', 'batch', 'migration_time').orderBy('id');
}

/** Applied rows, or null when the bookkeeping table does not exist (schema never migrated). */
export async function readAppliedMigrations(knex: Knex): Promise<AppliedRow[] | null> {
  const exists = await knex.raw('select to_regclass(?) as t', [MIGRATIONS_TABLE]);
  if (!exists.rows[0]?.t) return null;
  return readApplied(knex);
}

export async function migrationStatus(knex: Knex, migrations: readonly Migration[]): Promise<MigrationState[]> {
  const applied = new Map((await readAppliedMigrations(knex))?.map((r) => [r.name, r]) ?? []);
  return migrations.map((m) => {
    const row = applied.get(m.name);
    return { name: m.name, applied: !!row, batch: row?.batch ?? null, appliedAt: row?.migration_time ?? null };
  });
}

/**
 * Run `work` in one transaction under the migration lock. With `dryRun`, capture the SQL and roll
 * back. Errors from a migration keep their cause but get a message naming it.
 */
async function runLocked<T>(
  knex: Knex,
  dryRun: boolean,
  work: (trx: Knex.Transaction, unlogged: <U>(probe: () => Promise<U>) => Promise<U>) => Promise<T>,
): Promise<{ result: T; sql?: string[] }> {
  const sql: string[] = [];
  // Statements a probe issues (counting, a rolled-back trial) are not what the run would do:
  // they are left out of the dry run's SQL.
  const unlogged = async <U>(probe: () => Promise<U>): Promise<U> => {
    const mark = sql.length;
    try {
      return await probe();
    } finally {
      sql.length = mark;
    }
  };
  const listener = (q: { sql: string; bindings?: readonly unknown[] }) => {
    const bindings = q.bindings ?? [];
    // Events carry the driver's `$n` placeholders; print the values inline, quoted by knex.
    sql.push(q.sql.replace(/\$(\d+)/g, (_m, i: string) => knex.raw('?', [bindings[Number(i) - 1] as never]).toQuery()));
  };
  let result: T | undefined;
  if (dryRun) knex.on('query', listener);
  try {
    await knex.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(?::bigint)', [MIGRATION_LOCK_KEY]);
      await ensureBookkeeping(trx);
      result = await work(trx, unlogged);
      if (dryRun) throw new DryRunRollback();
    });
  } catch (err) {
    if (!(err instanceof DryRunRollback)) throw err;
  } finally {
    if (dryRun) knex.off('query', listener);
  }
  return dryRun ? { result: result as T, sql } : { result: result as T };
}

async function applyEach(
  list: readonly Migration[],
  step: (m: Migration) => Promise<void>,
): Promise<void> {
  for (const m of list) {
    try {
      await step(m);
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      const message = `migration ${m.name} failed, nothing was changed: ${reason}`;
      // A coded refusal (e.g. a table that is not kaiju's) keeps its code and so its exit code.
      if (isKaijuAuthError(err)) {
        throw new KaijuAuthError(err.code, message, { details: { ...err.details, migration: m.name }, cause: err, remedy: err.remedy });
      }
      // A database that refused or went away is its state, not a bug: keep the refusal's code.
      const refusal = databaseRefusal(err);
      if (refusal) {
        throw new KaijuAuthError(refusal.code, `migration ${m.name} failed, nothing was changed: ${refusal.message}`, {
          details: { ...refusal.details, migration: m.name },
          cause: err,
        });
      }
      throw authError('db.migration_failed', message, { migration: m.name }, err);
    }
  }
}

export interface MigrateOptions {
  dryRun?: boolean;
  /**
   * Run after the migrations, in their transaction (also when none was pending): checks derived
   * data against what it derives from and rewrites what differs; returns how many rows it rewrote.
   */
  repair?: (trx: Knex.Transaction) => Promise<number>;
}

export async function migrateLatest(knex: Knex, migrations: readonly Migration[], options: MigrateOptions = {}): Promise<MigrationRun> {
  const dryRun = options.dryRun ?? false;
  const { result, sql } = await runLocked(knex, dryRun, async (trx) => {
    const applied = await readApplied(trx);
    const done = new Set(applied.map((r) => r.name));
    const pending = migrations.filter((m) => !done.has(m.name));
    let batch: number | null = null;
    if (pending.length > 0) {
      batch = Math.max(0, ...applied.map((r) => r.batch)) + 1;
      const b = batch;
      await applyEach(pending, async (m) => {
        await m.up(trx);
        await trx(MIGRATIONS_TABLE).insert({ name: m.name, batch: b });
      });
    }
    const repaired = options.repair ? await options.repair(trx) : 0;
    return { names: pending.map((m) => m.name), batch, repaired };
  });
  return { migrations: result.names, batch: result.batch, dryRun, repaired: result.repaired, dropped: [], ...(sql ? { sql } : {}) };
}

/** Tables (plain and partitioned) of the current schema, but our bookkeeping. */
async function schemaTables(trx: Knex.Transaction): Promise<string[]> {
  const r = await trx.raw(
    `select c.relname as name from pg_class c
      where c.relnamespace = current_schema()::regnamespace and c.relkind in ('r', 'p') and c.relname <> ?`,
    [MIGRATIONS_TABLE],
  );
  return (r.rows as { name: string }[]).map((row) => row.name);
}

class ProbeRollback extends Error {}

/**
 * Which tables rolling back `list` drops, and the rows each holds now: the rollback is tried in
 * a savepoint that is then rolled back (so what is found is what the migrations' `down` really
 * does, adopted kaiju_auth 2.1.0 tables included), then the dropped tables are counted.
 */
async function probeDrops(trx: Knex.Transaction, list: readonly Migration[]): Promise<DroppedTable[]> {
  const before = await schemaTables(trx);
  let after: Set<string> | null = null;
  try {
    await trx.transaction(async (sp) => {
      await applyEach(list, (m) => m.down(sp));
      after = new Set(await schemaTables(sp));
      throw new ProbeRollback();
    });
  } catch (err) {
    if (!(err instanceof ProbeRollback)) throw err;
  }
  const remaining = after ?? new Set<string>();
  const dropped: DroppedTable[] = [];
  for (const table of before.filter((t) => !remaining.has(t))) {
    const r = await trx.raw('select count(*)::bigint as n from ??', [table]);
    dropped.push({ table, rows: Number(r.rows[0].n), derived: table.startsWith('kaiju_auth_') });
  }
  return dropped.sort((a, b) => Number(a.derived) - Number(b.derived) || b.rows - a.rows || a.table.localeCompare(b.table));
}

export interface MigrateDownOptions {
  dryRun?: boolean;
  /**
   * Allow dropping tables that hold data (rows in a table that is not `kaiju_auth_*`
   * bookkeeping). Without it such a rollback is refused (`db.drop_refused`, nothing changed); a
   * dry run only reports what it would drop.
   */
  dropData?: boolean;
}

/** Roll back the last batch, newest first. Unknown names (from a newer tool) are refused. */
export async function migrateDown(
  knex: Knex,
  migrations: readonly Migration[],
  options: MigrateDownOptions = {},
): Promise<MigrationRun> {
  const dryRun = options.dryRun ?? false;
  const byName = new Map(migrations.map((m) => [m.name, m]));
  const { result, sql } = await runLocked(knex, dryRun, async (trx, unlogged) => {
    const applied = await readApplied(trx);
    if (applied.length === 0) return { names: [] as string[], batch: null, dropped: [] };
    const batch = Math.max(...applied.map((r) => r.batch));
    const last = applied.filter((r) => r.batch === batch).reverse();
    const unknown = last.filter((r) => !byName.has(r.name));
    if (unknown.length > 0) {
      throw authError(
        'db.migration_unknown',
        `cannot roll back ${unknown.map((r) => r.name).join(', ')}: applied by a newer kaiju-auth`,
      );
    }
    const list = last.map((r) => byName.get(r.name) as Migration);
    const dropped = await unlogged(() => probeDrops(trx, list));
    const data = tablesWithData(dropped);
    if (!dryRun && !options.dropData && data.length > 0) {
      throw remediableError('db.drop_refused', `rolling back batch ${batch} would drop ${describeDrops(data)}: nothing was changed`, 'allow_drop_data', {
        tables: data.map((t) => ({ table: t.table, rows: t.rows })),
      });
    }
    await applyEach(list, async (m) => {
      await m.down(trx);
      await trx(MIGRATIONS_TABLE).where({ name: m.name }).delete();
    });
    return { names: list.map((m) => m.name), batch, dropped };
  });
  return { migrations: result.names, batch: result.batch, dryRun, repaired: 0, dropped: result.dropped, ...(sql ? { sql } : {}) };
}

/** `users (2014 rows), groups (1 row)`. */
export function describeDrops(tables: readonly DroppedTable[]): string {
  return tables.map((t) => `${t.table} (${t.rows} row${t.rows === 1 ? '' : 's'})`).join(', ');
}

/**
 * Fail with exit-7 errors unless every known migration is applied. One query; run by every
 * command that needs the schema.
 */
export async function assertSchemaCurrent(knex: Knex, migrations: readonly Migration[]): Promise<void> {
  const applied = await readAppliedMigrations(knex);
  if (applied === null) {
    throw remediableError('db.schema_missing', 'the database has no kaiju-auth schema', 'migrate');
  }
  const done = new Set(applied.map((r) => r.name));
  const pending = migrations.filter((m) => !done.has(m.name));
  if (pending.length > 0) {
    throw remediableError(
      'db.schema_outdated',
      `the database schema is out of date (${pending.length} pending migration${pending.length > 1 ? 's' : ''})`,
      'migrate',
      { pending: pending.map((m) => m.name) },
    );
  }
}
