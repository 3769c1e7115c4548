/** `init`, `status`, `migrate`, `migrate status`, `migrate down`. */
import { MIGRATIONS } from '../../../migrations/index.js';
import { migrateDown, migrateLatest, migrationStatus, type MigrationRun } from '../../db/migrator.js';
import { readDatabaseStatus, type DatabaseStatus } from '../../core/status.js';
import { authError } from '../../core/errors.js';
import type { Runtime } from '../runtime.js';

function printRun(rt: Runtime, run: MigrationRun, verb: string): void {
  const { out } = rt;
  if (run.dryRun && run.sql) {
    out.line(`-- dry run: ${run.migrations.length === 0 ? 'nothing to do' : `would ${verb} ${run.migrations.join(', ')}`}`);
    for (const stmt of run.sql) out.line(`${stmt.trim().replace(/;$/, '')};`);
    return;
  }
  if (run.migrations.length === 0) {
    out.line(verb === 'apply' ? 'schema is up to date' : 'nothing to roll back');
    return;
  }
  out.line(`${verb === 'apply' ? 'applied' : 'rolled back'} ${run.migrations.length} migration(s) (batch ${run.batch}):`);
  for (const name of run.migrations) out.line(`  ${name}`);
}

// JSON documents use snake_case keys, as every other shape of the CLI (CLI.md, JSON shapes).
function runJson(run: MigrationRun) {
  return { migrations: run.migrations, batch: run.batch, dry_run: run.dryRun, ...(run.sql ? { sql: run.sql } : {}) };
}

function statusJson(status: DatabaseStatus) {
  const c = status.counts;
  return {
    schema: status.schema,
    counts: c && {
      users: c.users,
      blocked_users: c.blockedUsers,
      inactive_users: c.inactiveUsers,
      groups: c.groups,
      permissions: c.permissions,
      live_sessions: c.liveSessions,
      expired_sessions: c.expiredSessions,
    },
  };
}

export async function runMigrate(rt: Runtime, opts: { dryRun?: boolean }): Promise<void> {
  const db = await rt.database({ schema: false, create: opts.dryRun ? 'scratch' : true });
  const run = await migrateLatest(db.knex, MIGRATIONS, { dryRun: !!opts.dryRun });
  await rt.out.result(runJson(run), () => printRun(rt, run, 'apply'));
}

export async function runMigrateStatus(rt: Runtime): Promise<void> {
  const db = await rt.database({ schema: false });
  const states = await migrationStatus(db.knex, MIGRATIONS);
  await rt.out.result(
    states.map((s) => ({ name: s.name, applied: s.applied, batch: s.batch, applied_at: s.appliedAt })),
    () =>
      rt.out.table(
        ['migration', 'state', 'batch', 'applied at'],
        states.map((s) => [s.name, s.applied ? rt.out.c.green('applied') : rt.out.c.yellow('pending'), s.batch, s.appliedAt]),
      ),
  );
}

export async function runMigrateDown(rt: Runtime, opts: { dryRun?: boolean }): Promise<void> {
  const db = await rt.database({ schema: false });
  if (!opts.dryRun) {
    const states = await migrationStatus(db.knex, MIGRATIONS);
    const last = Math.max(0, ...states.map((s) => s.batch ?? 0));
    if (last > 0) {
      const names = states.filter((s) => s.batch === last).map((s) => s.name);
      await rt.confirm(`Roll back batch ${last} (${names.join(', ')}) on ${db.description}? Tables it created are dropped`);
    }
  }
  const run = await migrateDown(db.knex, MIGRATIONS, { dryRun: !!opts.dryRun });
  await rt.out.result(runJson(run), () => printRun(rt, run, 'roll back'));
}

export async function runStatus(rt: Runtime): Promise<void> {
  const db = await rt.database({ schema: false });
  const status = await readDatabaseStatus(db.knex);
  if (status.schema.applied === 0) {
    throw authError('db.schema_missing', `${db.description} has no kaiju-auth schema: run \`kaiju-auth migrate\``);
  }
  const doc = { database: db.description, ...statusJson(status) };
  await rt.out.result(doc, () => {
    const { out } = rt;
    const s = status.schema;
    const counts = status.counts;
    out.keyValues([
      ['database', db.description],
      ['schema', s.version ?? '(none)'],
      [
        'pending',
        s.pending.length === 0 ? out.c.green('none') : out.c.yellow(`${s.pending.length}: ${s.pending.join(', ')} (run kaiju-auth migrate)`),
      ],
      ...(counts
        ? ([
            ['users', `${counts.users} (${counts.blockedUsers} blocked, ${counts.inactiveUsers} inactive)`],
            ['groups', counts.groups],
            ['permissions', counts.permissions],
            ['sessions', `${counts.liveSessions} live, ${counts.expiredSessions} expired`],
          ] as [string, string | number][])
        : []),
    ]);
  });
}

export async function runInit(rt: Runtime): Promise<void> {
  const db = await rt.database({ schema: false, create: true });
  const run = await migrateLatest(db.knex, MIGRATIONS);
  const status = await readDatabaseStatus(db.knex);
  const doc = { database: db.description, migrations: runJson(run), ...statusJson(status) };
  await rt.out.result(doc, () => {
    const { out } = rt;
    out.line(
      run.migrations.length === 0
        ? `schema is up to date (${status.schema.version})`
        : `applied ${run.migrations.length} migration(s): ${run.migrations.join(', ')}`,
    );
    out.line(`ready: ${db.description}`);
  });
}
