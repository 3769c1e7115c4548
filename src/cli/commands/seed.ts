/**
 * `seed [DIR] [--dry-run]`: load kaiju fixtures (default ./fixtures/users). Prints the report (a
 * table on a terminal, aligned text when piped, `{dry_run, created, updated, unchanged, changes,
 * errors}` with --json); any problem in the fixtures: every problem listed, exit 6, nothing written.
 */
import { authError } from '../../errors.js';
import { cliError } from '../cli-errors.js';
import type { KaijuAuth } from '../../core/auth.js';
import type { FixtureProblem, SeedItem, SeedReport } from '../../core/fixtures/types.js';
import type { SeedOptions } from '../../core/fixtures/seed.js';
import type { LoadedFixtures } from '../../core/fixtures/load.js';
import { progressBar } from '../progress.js';
import type { Runtime } from '../runtime.js';
import type { OptionsOf } from '../command-table.js';
import type * as def from './seed.def.js';

export const DEFAULT_FIXTURES_DIR = './fixtures/users';

const KIND_LABEL = { permissions: 'permission', groups: 'group', users: 'user' } as const;
const KINDS = ['permissions', 'groups', 'users'] as const;

/**
 * The JSON document of a seed (items are left out: created/updated/unchanged list them). With
 * --prune, `deleted` lists what goes per kind and `removed` counts the rows that go with it.
 */
export function seedJson(report: SeedReport) {
  const { dryRun, created, updated, unchanged, changes, errors, deleted, removed } = report;
  return { dry_run: dryRun, created, updated, unchanged, changes, ...(deleted ? { deleted, removed } : {}), errors };
}

/** "3 grants, 2 members": what goes with a deleted item (none: empty). */
function withText(item: SeedItem): string {
  const parts = Object.entries(item.with ?? {})
    .filter(([, n]) => n > 0)
    .map(([what, n]) => `${n} ${n === 1 ? what.replace(/s$/, '') : what}`);
  return parts.length > 0 ? `with ${parts.join(', ')}` : '';
}

const deletions = (report: SeedReport) => KINDS.reduce((n, k) => n + (report.deleted?.[k].length ?? 0), 0);

/** `file:line:col: path: message (code)`, one problem a line. */
export function formatProblem(p: FixtureProblem): string {
  const where = p.line !== undefined ? `${p.file}:${p.line}:${p.column ?? 1}` : p.file;
  return `${where}: ${p.path}: ${p.message} (${p.code})`;
}

function changeText(item: SeedItem): string {
  if (item.action === 'delete') return withText(item);
  const parts = item.fields.filter((f) => f !== 'permissions' && f !== 'groups');
  const sets: string[] = [];
  if (item.added?.length) sets.push(...item.added.map((x) => `+${x}`));
  if (item.removed?.length) sets.push(...item.removed.map((x) => `-${x}`));
  if (sets.length > 0) parts.push(`${item.kind === 'users' ? 'groups' : 'permissions'} ${sets.join(' ')}`);
  return parts.join(', ');
}

async function printReport(rt: Runtime, report: SeedReport): Promise<void> {
  const { out } = rt;
  const { c } = out;
  const verb = { create: c.green('create'), update: c.yellow('update'), unchanged: c.dim('unchanged'), delete: c.red('delete') };
  const done = { create: c.green('created'), update: c.yellow('updated'), unchanged: '', delete: c.red('deleted') };
  const shown = report.dryRun ? report.items : report.items.filter((i) => i.action !== 'unchanged');
  if (shown.length > 0) {
    await out.table(
      ['kind', 'id', report.dryRun ? 'plan' : 'done', 'changes'],
      shown.map((i) => [KIND_LABEL[i.kind], i.id, report.dryRun ? verb[i.action] : done[i.action], changeText(i)]),
    );
  }
  const total = (k: (typeof KINDS)[number]) => report.created[k].length + report.updated[k].length + report.unchanged[k].length;
  if (KINDS.every((k) => report.created[k].length === 0 && report.updated[k].length === 0) && deletions(report) === 0) {
    out.line(`${report.dryRun ? 'nothing would change' : 'nothing to do'}: ${KINDS.map((k) => `${total(k)} ${k}`).join(', ')} unchanged`);
    return;
  }
  out.line('');
  const pruning = report.deleted !== undefined;
  await out.table(
    ['', report.dryRun ? 'would create' : 'created', report.dryRun ? 'would update' : 'updated', 'unchanged', ...(pruning ? [report.dryRun ? 'would delete' : 'deleted'] : [])],
    KINDS.map((k) => [k, report.created[k].length, report.updated[k].length, report.unchanged[k].length, ...(pruning ? [report.deleted?.[k].length ?? 0] : [])]),
    { align: ['left', 'right', 'right', 'right', 'right'] },
  );
  if (pruning && report.removed) {
    const r = report.removed;
    out.line(`${report.dryRun ? 'would remove' : 'removed'} with them: ${r.grants} grant(s), ${r.memberships} membership(s), ${r.sessions} session(s)`);
  }
  if (report.dryRun) out.notice('dry run: nothing was written');
}

/** Print a seed's problems (its JSON document with --json) and fail with exit 6. */
function failOnProblems(rt: Runtime, dir: string, report: SeedReport): void {
  if (report.errors.length === 0) return;
  if (rt.out.json) rt.out.writeJson(seedJson(report));
  else for (const p of report.errors) rt.out.errorLine(formatProblem(p));
  throw authError('data.invalid', `${report.errors.length} problem(s) in the fixtures in ${dir}; nothing was written`, {
    dir,
    problems: report.errors.length,
  });
}

/**
 * Seed `dir` (or fixtures already read from it by `fixtures.load`) with an open core, print the
 * report, throw (exit 6) on problems. Used by `seed` and `init`.
 */
export async function seedAndReport(
  rt: Runtime,
  auth: KaijuAuth,
  source: string | LoadedFixtures,
  opts: { dryRun?: boolean; print?: boolean; prune?: SeedOptions['prune']; hashed?: SeedOptions['hashed'] },
): Promise<SeedReport> {
  const bar = await progressBar(rt, 'hashing passwords', 'users');
  const options: SeedOptions = {
    dryRun: !!opts.dryRun,
    ...(opts.prune ? { prune: opts.prune } : {}),
    ...(opts.hashed ? { hashed: opts.hashed } : {}),
    // password_env names are looked up in the command's environment (the core never reads it).
    env: rt.io.env,
    onHashProgress: (done, total) => bar.update(done, total),
  };
  const report = typeof source === 'string' ? await auth.fixtures.seed(source, options) : await auth.fixtures.seedLoaded(source, options);
  bar.stop();
  failOnProblems(rt, typeof source === 'string' ? source : source.set.dir, report);
  if (opts.print !== false) await rt.out.result(seedJson(report), () => printReport(rt, report));
  return report;
}

export type SeedFlags = OptionsOf<typeof def.seed>;

export async function runSeed(rt: Runtime, opts: SeedFlags, dir?: string): Promise<void> {
  if (!opts.prune && (opts.pruneUsers || (opts.keep?.length ?? 0) > 0)) {
    throw cliError('cli.usage', `${opts.pruneUsers ? '--prune-users' : '--keep'} only applies with --prune`);
  }
  const where = dir ?? DEFAULT_FIXTURES_DIR;
  // The files are read and checked while the database opens (PGlite's start, the schema check
  // and the core's modules leave this thread waiting), but only once the database has been named:
  // checking a large set holds this thread (~0.1 s a MB), and the command's first line must not
  // wait for it. A database that cannot be used is still the error reported first.
  const opening = rt.auth();
  opening.catch(() => undefined);
  const loader = import('../../core/fixtures/load.js');
  loader.catch(() => undefined);
  await rt.named();
  const loading = loader.then(({ loadFixtures }) => loadFixtures(where, { env: rt.io.env }));
  loading.catch(() => undefined);
  const auth = await opening;
  const loaded = await loading;
  const prune = opts.prune ? { users: !!opts.pruneUsers, keep: opts.keep ?? [] } : undefined;
  const planOnly = !!opts.dryRun || !!opts.check;
  let confirmed: SeedReport['deleted'];
  if (prune && !planOnly && !rt.config.yes) {
    // Deleting asks first, as every destructive command: plan, show the deletions, ask (on a
    // terminal; -y otherwise), then seed deleting only what was agreed to.
    const plan = await seedAndReport(rt, auth, loaded, { dryRun: true, print: false, prune });
    const n = deletions(plan);
    if (n > 0) {
      if (rt.interactive) {
        for (const item of plan.items.filter((i) => i.action === 'delete')) rt.out.errorLine(`  delete ${KIND_LABEL[item.kind]} ${item.id} ${withText(item)}`.trimEnd());
      }
      await rt.confirm(`${pruneQuestion(plan)} that the fixtures in ${where} do not name?`);
    }
    confirmed = plan.deleted;
  }
  const report = await seedAndReport(rt, auth, loaded, { dryRun: planOnly, ...(prune ? { prune: confirmed ? { ...prune, confirmed } : prune } : {}) });
  if (!opts.check) return;
  // As `terraform plan -detailed-exitcode`: the plan is the output; exit 9 says it is not empty.
  const drift = KINDS.reduce((n, k) => n + report.created[k].length + report.updated[k].length, 0) + deletions(report);
  if (drift > 0) {
    throw authError('seed.drift', `the database differs from the fixtures in ${where}: ${drift} item(s) would change (kaiju-auth seed ${where}${prune ? ' --prune' : ''} applies them)`, {
      dir: where,
      created: Object.fromEntries(KINDS.map((k) => [k, report.created[k].length])),
      updated: Object.fromEntries(KINDS.map((k) => [k, report.updated[k].length])),
      ...(report.deleted ? { deleted: Object.fromEntries(KINDS.map((k) => [k, report.deleted?.[k].length ?? 0])) } : {}),
    });
  }
}

/** "Delete 2 permissions, 1 group and 3 users (with 4 grants, 5 memberships, 0 sessions)". */
function pruneQuestion(plan: SeedReport): string {
  const counted = KINDS.map((k) => [k, plan.deleted?.[k].length ?? 0] as const)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${n} ${n === 1 ? KIND_LABEL[k] : k}`);
  const list = counted.length > 1 ? `${counted.slice(0, -1).join(', ')} and ${counted[counted.length - 1]}` : (counted[0] ?? '');
  const r = plan.removed ?? { grants: 0, memberships: 0, sessions: 0 };
  return `Delete ${list} (with ${r.grants} grant(s), ${r.memberships} membership(s), ${r.sessions} session(s))`;
}

export { printReport as printSeedReport };

/**
 * `init`'s fixtures, read before its first write: ./fixtures/users when that directory exists (null
 * otherwise). Files that do not load (bad JSON, a `password_env` not set, a `password_file`
 * missing) exit 6 here, before anything is migrated.
 */
export async function loadInitFixtures(rt: Runtime): Promise<LoadedFixtures | null> {
  const { stat } = await import('node:fs/promises');
  const info = await stat(DEFAULT_FIXTURES_DIR).catch(() => null);
  if (!info?.isDirectory()) return null;
  const { loadFixtures } = await import('../../core/fixtures/load.js');
  const loaded = await loadFixtures(DEFAULT_FIXTURES_DIR, { env: rt.io.env });
  const { seedReport } = await import('../../core/fixtures/seed.js');
  failOnProblems(rt, DEFAULT_FIXTURES_DIR, seedReport([], loaded.problems, false));
  return loaded;
}

/**
 * `init`'s seed step: seed what `loadInitFixtures` read. The report is returned for init's
 * summary, not printed; problems the database shows (a look-alike of an existing user) still exit 6.
 */
export function seedForInit(rt: Runtime, auth: KaijuAuth, loaded: LoadedFixtures, hashed?: SeedOptions['hashed']): Promise<SeedReport> {
  return seedAndReport(rt, auth, loaded, { print: false, ...(hashed ? { hashed } : {}) });
}

/**
 * On a new embedded database (initdb: seconds of PGlite on the main thread), every user of init's
 * fixtures will be new: their passwords are hashed meanwhile, on libuv's threads, instead of after
 * it. Null when there is nothing to hash or the database already exists (its users may too);
 * a hashing that fails leaves the seed to hash as it always does.
 */
export async function hashWhileCreating(rt: Runtime, loaded: LoadedFixtures): Promise<Promise<SeedOptions['hashed'] | undefined> | null> {
  if (!loaded.set.users.some((u) => u.password !== null && u.passwordHash === null)) return null;
  const { homeOf } = await import('../../db/target.js');
  const dataDir = homeOf(rt.config.target);
  if (dataDir === null) return null;
  const { embeddedDatabaseExists } = await import('../../db/embedded.js');
  if (await embeddedDatabaseExists(dataDir)) return null;
  const { hashFixturePasswords } = await import('../../core/fixtures/seed.js');
  return hashFixturePasswords(loaded.set, { rounds: rt.config.bcryptRounds }).catch(() => undefined);
}

/** One line for init's summary. */
export function seedSummary(report: SeedReport): string {
  const n = (k: 'created' | 'updated' | 'unchanged') => KINDS.reduce((sum, kind) => sum + report[k][kind].length, 0);
  return `seeded ${DEFAULT_FIXTURES_DIR}: ${n('created')} created, ${n('updated')} updated, ${n('unchanged')} unchanged`;
}
