/** `init` (migrate, then seed ./fixtures/users when present), `status`, `migrate`, `migrate status`, `migrate down`. */
import { describeDrops, tablesWithData, type DroppedTable, type MigrationRun } from '../../core/migrate.js';
import type { DatabaseStatus } from '../../core/status.js';
import { authError } from '../../errors.js';
import type { Runtime } from '../runtime.js';
import type { Cell } from '../output.js';
import { keyStatusLine, secretStateOf } from './key-status.js';
import { countsJson, healthInfoJson, keyStatusJson } from './status-json.js';
import type { KeyStatus } from '../../core/keys/key-queries.js';
import type { KeySecretState } from '../../core/keys/secret-verifier.js';
import { DEFAULT_MAX_EXPIRED_SESSIONS } from '../../core/settings.js';
import type { OptionsOf } from '../command-table.js';
import type * as def from './schema.def.js';

function printRun(rt: Runtime, run: MigrationRun, verb: string): void {
  const { out } = rt;
  if (run.dryRun && run.sql) {
    out.line(`-- dry run: ${run.migrations.length === 0 ? 'nothing to do' : `would ${verb} ${run.migrations.join(', ')}`}`);
    for (const line of dropLines(run.dropped)) out.line(`-- ${line}`);
    for (const stmt of run.sql) out.line(`${stmt.trim().replace(/;$/, '')};`);
    return;
  }
  if (run.migrations.length === 0) {
    out.line(verb === 'apply' ? 'schema is up to date' : 'nothing to roll back');
  } else {
    out.line(`${verb === 'apply' ? 'applied' : 'rolled back'} ${run.migrations.length} migration(s) (batch ${run.batch}):`);
    for (const name of run.migrations) out.line(`  ${name}`);
    for (const line of dropLines(run.dropped, 'dropped')) out.line(line);
  }
  if (run.repaired > 0) out.line(grantsRebuiltLine(run.repaired));
}

function grantsRebuiltLine(n: number): string {
  return `rebuilt the derived grants of ${n} group(s): they differed from kaiju's tables`;
}

/**
 * What a rollback drops, one line per table with the rows it holds (data tables first), so the
 * question, the dry run and the result all say what is lost.
 */
function dropLines(dropped: readonly DroppedTable[], verb = 'would drop'): string[] {
  if (dropped.length === 0) return [];
  const width = Math.max(...dropped.map((t) => t.table.length));
  return [
    `${verb} ${dropped.length} table(s):`,
    ...dropped.map(
      (t) =>
        `  ${t.table.padEnd(width)}  ${String(t.rows).padStart(7)} ${t.rows === 1 ? 'row ' : 'rows'}${t.derived ? '  (derived/bookkeeping)' : ''}`.trimEnd(),
    ),
  ];
}

// JSON documents use snake_case keys, as every other shape of the CLI (CLI.md, JSON shapes).
function runJson(run: MigrationRun, down = false) {
  return {
    migrations: run.migrations,
    batch: run.batch,
    dry_run: run.dryRun,
    grants_rebuilt: run.repaired,
    ...(down ? { dropped: run.dropped.map((t) => ({ table: t.table, rows: t.rows, derived: t.derived })) } : {}),
    ...(run.sql ? { sql: run.sql } : {}),
  };
}

/**
 * `7 migrations: 20260101000001_kaiju_auth_tables..20260101000007_key_lifecycle` (one: its name),
 * oldest first: the seven names in full wrapped the question even at 120 columns.
 */
function summariseNames(names: readonly string[]): string {
  if (names.length === 1) return `1 migration: ${names[0]}`;
  return `${names.length} migrations: ${names[names.length - 1]}..${names[0]}`;
}

export async function runMigrate(rt: Runtime, opts: OptionsOf<typeof def.migrate>): Promise<void> {
  const auth = await rt.auth({ schema: false, create: opts.dryRun ? 'scratch' : true });
  const run = await auth.migrate({ dryRun: !!opts.dryRun });
  await rt.out.result(runJson(run), () => printRun(rt, run, 'apply'));
}

export async function runMigrateStatus(rt: Runtime): Promise<void> {
  const auth = await rt.auth({ schema: false });
  const states = await auth.migrations();
  await rt.out.result(
    states.map((s) => ({ name: s.name, applied: s.applied, batch: s.batch, applied_at: s.appliedAt })),
    () =>
      rt.out.table(
        ['migration', 'state', 'batch', 'applied at'],
        states.map((s) => [s.name, s.applied ? rt.out.c.green('applied') : rt.out.c.yellow('pending'), s.batch, s.appliedAt]),
      ),
  );
}

export async function runMigrateDown(rt: Runtime, opts: OptionsOf<typeof def.migrateDown>): Promise<void> {
  const db = await rt.database({ schema: false });
  const auth = await rt.auth({ schema: false });
  if (opts.dryRun) {
    const run = await auth.migrateDown({ dryRun: true });
    await rt.out.result(runJson(run, true), () => printRun(rt, run, 'roll back'));
    return;
  }
  // The plan (a rolled-back trial) says what would be dropped and the rows each table holds.
  const plan = await auth.migrateDown({ dryRun: true });
  let dropData = !!opts.dropData;
  if (plan.migrations.length > 0) {
    const data = tablesWithData(plan.dropped);
    const indent = (lines: string[]) => lines.map((l) => `  ${l}`).join('\n');
    const what = `Rolling back batch ${plan.batch} of ${db.description}\n${indent([summariseNames(plan.migrations), ...dropLines(plan.dropped)])}`;
    if (data.length > 0 && !dropData) {
      // -y alone never drops data: without a terminal the flag is the only way.
      if (!rt.interactive) {
        throw authError(
          'db.drop_refused',
          `migrate down would drop ${describeDrops(data)}: not confirmed; pass --drop-data to drop them (-y alone does not)`,
          { tables: data.map((t) => ({ table: t.table, rows: t.rows })) },
        );
      }
      await rt.ask(`${what}\n  This deletes the rows of ${data.length} table(s) for good. Drop them`);
      dropData = true;
    } else {
      await rt.confirm(
        `${what}\n  Roll back`,
        `roll back batch ${plan.batch} (${plan.migrations.length} migration(s); drops ${plan.dropped.length} table(s), none holding data)`,
      );
    }
  }
  const run = await auth.migrateDown({ dropData });
  await rt.out.result(runJson(run, true), () => printRun(rt, run, 'roll back'));
}

/** The `status` document: also the `--json` shape. */
interface StatusDoc {
  database: string;
  backend: string;
  schema: DatabaseStatus['schema'];
  counts: DatabaseStatus['counts'];
  /** Groups whose derived grants differ from kaiju's tables; null unless the schema is current. */
  grants: DatabaseStatus['grants'];
  /**
   * The signing key's age and whether rotation is due, and whether the configured key secret
   * opens it (`secret`); null before the keystore exists.
   */
  keys: (KeyStatus & { secret: KeySecretState }) | null;
}

type StatusLine = [string, Cell];

function schemaLines(rt: Runtime, doc: StatusDoc): StatusLine[] {
  const { c } = rt.out;
  const s = doc.schema;
  return [
    ['schema', s.version ?? '(none)'],
    [
      'pending',
      s.pending.length === 0 ? c.green('none') : c.yellow(`${s.pending.length}: ${s.pending.join(', ')} (run kaiju-auth migrate)`),
    ],
  ];
}

function countLines(doc: StatusDoc): StatusLine[] {
  const counts = doc.counts;
  if (!counts) return [];
  return [
    ['users', `${counts.users} (${counts.blockedUsers} blocked, ${counts.inactiveUsers} inactive)`],
    ['groups', counts.groups],
    ['permissions', counts.permissions],
    [
      'sessions',
      `${counts.liveSessions} live, ${counts.expiredSessions} expired${counts.expiredSessions > 0 ? ' (kaiju-auth session prune deletes them)' : ''}`,
    ],
  ];
}

function grantLines(rt: Runtime, doc: StatusDoc): StatusLine[] {
  const { c } = rt.out;
  const drifted = doc.grants?.drifted;
  if (!drifted) return [];
  return [
    [
      'grants',
      drifted.length === 0
        ? c.green("consistent with kaiju's tables")
        : c.yellow(`${drifted.length} group(s) differ from kaiju's tables: ${drifted.join(', ')} (run kaiju-auth migrate)`),
    ],
  ];
}

function keyLines(rt: Runtime, doc: StatusDoc): StatusLine[] {
  return doc.keys ? [['signing key', keyStatusLine(rt.out, doc.keys)]] : [];
}

export type StatusOptions = OptionsOf<typeof def.status>;

export async function runStatus(rt: Runtime, opts: StatusOptions = {}): Promise<void> {
  if (opts.check || opts.format === 'prometheus' || opts.jwksFile !== undefined) return runHealth(rt, opts);
  const db = await rt.database({ schema: false });
  const auth = await rt.auth({ schema: false });
  // The secret check (one query, then scrypt on libuv's threads: ~0.1 s) starts first, so the
  // scrypt overlaps every other query; its answer (or failure) counts only on a current schema.
  const early = settled(auth.keys.secretState());
  const status = await auth.status();
  if (status.schema.applied === 0) {
    throw authError('db.schema_missing', `${db.description} has no kaiju-auth schema: run \`kaiju-auth migrate\``);
  }
  const [keys, secret] = await Promise.all([
    auth.keys.statusIfMigrated(),
    status.schema.current ? early.then((r) => r()) : secretStateOf(auth, false),
  ]);
  const doc: StatusDoc = {
    database: db.description,
    backend: db.backend,
    schema: status.schema,
    counts: status.counts,
    grants: status.grants,
    keys: keys && { ...keys, secret },
  };
  if (!status.schema.current) rt.out.warn(`the schema is outdated: run \`kaiju-auth migrate\``);
  if (status.grants && status.grants.drifted.length > 0) {
    rt.out.warn(`the derived grants of ${status.grants.drifted.length} group(s) differ from kaiju's tables: run \`kaiju-auth migrate\` to rebuild them`);
  }
  if (secret === 'wrong') {
    rt.out.warn('the configured key secret does not open the signing key: token issue, token refresh and keys rotate will exit 3');
  }
  const human = () =>
    rt.out.keyValues([['database', doc.database], ...schemaLines(rt, doc), ...countLines(doc), ...grantLines(rt, doc), ...keyLines(rt, doc)]);
  const json = { ...doc, counts: countsJson(doc.counts), keys: keyStatusJson(doc.keys) };
  if (opts.format === 'json') rt.out.writeJson(json);
  else if (opts.format === 'text') human();
  else await rt.out.result(json, human);
}

/**
 * A promise's outcome, kept for later: never an unhandled rejection meanwhile; the function it
 * settles to returns the value or throws the error.
 */
function settled<T>(p: Promise<T>): Promise<() => T> {
  return p.then(
    (value) => () => value,
    (err: unknown) => () => {
      throw err;
    },
  );
}

/** `status --check` / `--format prometheus` / `--jwks-file`: the health report (core/health.ts). */
async function runHealth(rt: Runtime, opts: StatusOptions): Promise<void> {
  let jwksFile: { path: string; text: string | null } | undefined;
  if (opts.jwksFile !== undefined) {
    const { readFile } = await import('node:fs/promises');
    const file = opts.jwksFile;
    const text = await readFile(file, 'utf8').catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') return null;
      throw authError('data.file_unreadable', `--jwks-file ${file}: cannot read it (${err.code ?? 'error'})`, { file });
    });
    jwksFile = { path: file, text };
  }
  const db = await rt.database({ schema: false });
  const auth = await rt.auth({ schema: false });
  const { healthMetrics } = await import('../../core/health.js');
  const schema = await auth.status();
  const secret = schema.schema.applied === 0 ? 'unchecked' : await secretStateOf(auth, schema.schema.current);
  const now = new Date();
  const report = await auth.health({
    now,
    secret,
    bcryptCost: rt.config.bcryptRounds,
    maxExpiredSessions: opts.maxExpiredSessions ?? DEFAULT_MAX_EXPIRED_SESSIONS,
    lateAfter: 3600,
    ...(jwksFile ? { jwksFile } : {}),
  });
  const failed = report.checks.filter((c) => !c.ok);
  if (opts.format === 'prometheus') {
    rt.out.line(healthMetrics(report, now).trimEnd());
  } else {
    const doc = {
      database: db.description,
      backend: db.backend,
      ok: report.ok,
      checks: report.checks,
      info: healthInfoJson(report.info),
      schema: report.status.schema,
      counts: countsJson(report.status.counts),
      keys: keyStatusJson(report.keys),
    };
    const human = () => {
      const { c } = rt.out;
      rt.out.keyValues([
        ['database', doc.database],
        ...report.checks.map((k): StatusLine => [k.name.replace('_', ' '), k.ok ? `${c.green('ok')}    ${k.message}` : `${c.red('FAIL')}  ${k.message}`]),
        ['cheap hashes', `${report.info.usersWithCheapHashes} user(s) below bcrypt cost ${rt.config.bcryptRounds} (upgraded at their next login)`],
        ['no groups', `${report.info.usersWithoutGroups} user(s) in no group`],
      ]);
    };
    if (opts.format === 'json' || (opts.format !== 'text' && rt.out.json)) rt.out.writeJson(doc);
    else human();
  }
  if (opts.check && failed.length > 0) {
    throw authError('status.check_failed', `${failed.length} check(s) need a human: ${failed.map((f) => `${f.name} (${f.message})`).join('; ')}`, {
      checks: failed.map((f) => f.name),
    });
  }
}

export async function runInit(rt: Runtime): Promise<void> {
  // Preconditions before the first write: init makes a signing key, sealed by the key secret. With
  // none on PostgreSQL it migrated and seeded, then exited 2 with no summary; now it stops here.
  // (The embedded database's own secret file is made with its directory.)
  const { keySecretSource, usesDataDirSecret } = await import('../key-secret.js');
  if (usesDataDirSecret(rt) === null) {
    const source = keySecretSource(rt);
    if (typeof source === 'function') await source({ newKeystore: true });
  }
  // Then the fixtures' files (exit 6: bad JSON, a password variable not set), before even an
  // embedded database is created; then the key secret against a keystore already sealed (exit 3:
  // a wrong one), before the first migration.
  const { hashWhileCreating, loadInitFixtures, seedForInit, seedJson, seedSummary } = await import('./seed.js');
  const fixtures = await loadInitFixtures(rt);
  const hashing = fixtures && (await hashWhileCreating(rt, fixtures));
  const db = await rt.database({ schema: false, create: true });
  const early = await rt.auth({ schema: false });
  await early.keys.proveSecretReadOnly();
  const run = await early.migrate();
  // Proven again on the migrated schema (a keystore older than the verifier is proven only here):
  // a wrong secret still leaves the data as it was, seeds included.
  const auth = await rt.auth();
  await auth.keys.proveSecret();
  const seeded = fixtures && (await seedForInit(rt, auth, fixtures, (await hashing) ?? undefined));
  // A signing key when none can sign.
  const signing = await auth.keys.ensureSigningKey();
  const status = await auth.status();
  const keys = await auth.keys.statusIfMigrated();
  const doc = {
    database: db.description,
    migrations: runJson(run),
    seed: seeded && seedJson(seeded),
    schema: status.schema,
    counts: countsJson(status.counts),
    key: { created: signing.rotated, kid: signing.key.kid, alg: signing.key.alg },
    keys: keyStatusJson(keys),
  };
  await rt.out.result(doc, () => {
    const { out } = rt;
    out.line(
      run.migrations.length === 0
        ? `schema is up to date (${status.schema.version})`
        : `applied ${run.migrations.length} migration(s): ${run.migrations.join(', ')}`,
    );
    if (seeded) out.line(seedSummary(seeded));
    out.line(
      signing.rotated
        ? `made signing key ${signing.key.kid} (${signing.key.alg})`
        : `signing key ${signing.key.kid} (${signing.key.alg}) is in place`,
    );
    out.line(`ready: ${db.description}`);
  });
}
