/**
 * Running the built CLI as a user would, for test/cli: `runCli(args, {env, input, cwd, nodeArgs})`
 * spawns `node bin/kaiju-auth.js` (build first: `npm run build`, which `npm test` does) and collects
 * exit code, stdout and stderr. Plus what such tests run it against:
 *
 * - `makeDataDir({migrate})`: a fresh embedded data directory, copied from a template made once
 *   per test worker from the PGlite snapshot (see global-setup.ts), so no test pays initdb.
 * - `cliTarget(backend, {migrate, create})`: the flags for a fresh database on either backend (an
 *   embedded data dir, or `CREATE DATABASE kaiju_test_<random>` on the server of
 *   KAIJU_AUTH_TEST_DATABASE_URL), `withKnex` to open it in-process for setup and inspection, a
 *   scratch directory `tmp`, and `cleanup()` that drops or removes all of it.
 *
 * Children get a clean environment: no database variables of the developer's shell leak in,
 * bcrypt cost 4 and no failed-login delay, and a scratch working directory, so a test that forgets
 * `--data-dir` never writes `./.kaiju-auth` into the repository (nor `init` seeds the repository's
 * ./fixtures/users). NO_COLOR is scrubbed rather than set: stdout is a pipe, which already turns
 * colour off, and the tmux tests want a terminal's colours.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { cp, mkdtemp, rm, stat } from 'node:fs/promises';
import { existsSync, readdirSync, statSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Knex } from 'knex';
import { openDatabase } from '../../src/db/open.js';
import type { DatabaseTarget } from '../../src/db/target.js';
import { migrateLatest } from '../../src/db/migrator.js';
import { MIGRATIONS } from '../../migrations/index.js';
import { createPgDatabase, dropPgDatabase, pgliteSnapshot, type Backend } from './db.js';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const BIN = path.join(ROOT, 'bin', 'kaiju-auth.js');

export interface CliOptions {
  /** Added to (or, with `undefined` values, removed from) the clean child environment. */
  env?: Record<string, string | undefined>;
  /** Written to stdin, then stdin is closed. Without it stdin is closed at once (not a TTY). */
  input?: string | Buffer;
  /** Working directory; default a scratch directory of this test worker. */
  cwd?: string;
  /** Kill the child (SIGKILL) after this long; default 60 s. */
  timeoutMs?: number;
  /** Extra `node` flags before the script (e.g. `--import` hooks). */
  nodeArgs?: string[];
  /** Read nothing of stdout for this long at first: a slow reader at the other end of the pipe. */
  stdoutDelayMs?: number;
  /** Write `input` but leave stdin open (`spawnCli`: the test ends it, or signals the child). */
  keepStdinOpen?: boolean;
}

export interface CliResult {
  /** Exit code, or null when killed by a signal. */
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** stdout parsed as the one JSON document of a `--json` run (fails the test otherwise). */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json<T = any>(): T;
  /** The `{"error": {...}}` document a failed `--json` run writes to stderr (after any notices). */
  errorJson(): { error: { code: string; message: string; exit: number; details?: Record<string, unknown> } };
}

/** Variables a developer's shell may have that would point the child somewhere else. */
const SCRUBBED = /^(KAIJU_AUTH_|DATABASE_URL$|PG[A-Z]+$|NO_COLOR$|FORCE_COLOR$)/;

export function cliEnv(extra: Record<string, string | undefined> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!SCRUBBED.test(k)) env[k] = v;
  Object.assign(env, {
    KAIJU_AUTH_BCRYPT_ROUNDS: '4',
    KAIJU_AUTH_FAILED_LOGIN_DELAY: '0',
    KAIJU_AUTH_FAILED_LOGIN_JITTER: '0',
  });
  for (const [k, v] of Object.entries(extra)) {
    if (v === undefined) delete env[k];
    else env[k] = v;
  }
  return env;
}

let builtChecked = false;
/** The CLI tests run dist/: refuse to run them against a missing or stale build. */
function assertBuilt(): void {
  if (builtChecked) return;
  // tsc's modules (imported by some tests) and the bundle made from them (what bin/ runs).
  const mains = [path.join(ROOT, 'dist', 'src', 'cli', 'main.js'), path.join(ROOT, 'dist', 'cli', 'main.js')];
  if (!mains.every((m) => existsSync(m))) throw new Error('dist/ is missing: run `npm run build` before the CLI tests');
  const built = Math.min(...mains.map((m) => statSync(m).mtimeMs));
  const newest = (dir: string): number => {
    let max = 0;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, entry.name);
      if (entry.isDirectory()) max = Math.max(max, newest(p));
      else if (entry.name.endsWith('.ts')) max = Math.max(max, statSync(p).mtimeMs);
    }
    return max;
  };
  const source = Math.max(newest(path.join(ROOT, 'src')), newest(path.join(ROOT, 'migrations')));
  if (source > built) throw new Error('dist/ is older than src/: run `npm run build` before the CLI tests');
  builtChecked = true;
}

const tempDirs: string[] = [];

/** A new temporary directory, removed by `removeTempDirs()` (call it in afterAll). */
export async function tempDir(prefix = 'kaiju-cli-'): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  tempDirs.push(dir);
  return dir;
}

/** Remove every directory made here (data dirs, templates, the scratch cwd). */
export async function removeTempDirs(): Promise<void> {
  scratchCwd = null;
  templates.clear();
  const dirs = tempDirs.splice(0);
  await Promise.all(dirs.map((d) => rm(d, { recursive: true, force: true })));
}

let scratchCwd: Promise<string> | null = null;
function defaultCwd(): Promise<string> {
  scratchCwd ??= tempDir('kaiju-cli-cwd-');
  return scratchCwd;
}

export interface SpawnedCli {
  child: ChildProcess;
  /** Settles when the child has exited and its output is drained. */
  result: Promise<CliResult>;
  /** Output so far (for waiting on a line while the child runs). */
  output(): { stdout: string; stderr: string };
}

/** Start the CLI and return at once; for concurrency and signal tests. */
export async function spawnCli(args: string[], options: CliOptions = {}): Promise<SpawnedCli> {
  assertBuilt();
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, ...args], {
    cwd: options.cwd ?? (await defaultCwd()),
    env: cliEnv(options.env),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (s: string) => (stdout += s));
  if (options.stdoutDelayMs) {
    child.stdout.pause();
    setTimeout(() => child.stdout.resume(), options.stdoutDelayMs);
  }
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  child.stdin.on('error', () => undefined);
  if (options.keepStdinOpen) {
    if (options.input !== undefined) child.stdin.write(options.input);
  } else {
    child.stdin.end(options.input ?? undefined);
  }
  const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
  const result = new Promise<CliResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve(makeResult(args, code, signal, stdout, stderr));
    });
  });
  return { child, result, output: () => ({ stdout, stderr }) };
}

/** Run the CLI to completion. */
export async function runCli(args: string[], options: CliOptions = {}): Promise<CliResult> {
  return (await spawnCli(args, options)).result;
}

function makeResult(
  args: string[],
  code: number | null,
  signal: NodeJS.Signals | null,
  stdout: string,
  stderr: string,
): CliResult {
  return new CliRun(args, code, signal, stdout, stderr);
}

/**
 * A finished run. Only `code`, `stdout` and `stderr` are own enumerable fields, so a test can say
 * `expect(r).toEqual({ code: 0, stdout: '', stderr: '' })`; the signal and the parsers live on
 * the prototype.
 */
class CliRun implements CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly #signal: NodeJS.Signals | null;
  readonly #args: string[];

  constructor(args: string[], code: number | null, signal: NodeJS.Signals | null, stdout: string, stderr: string) {
    this.code = code;
    this.stdout = stdout;
    this.stderr = stderr;
    this.#signal = signal;
    this.#args = args;
  }

  get signal(): NodeJS.Signals | null {
    return this.#signal;
  }

  #describe(): string {
    return `kaiju-auth ${this.#args.join(' ')} (exit ${this.code ?? this.#signal})\nstdout: ${this.stdout}\nstderr: ${this.stderr}`;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  json<T = any>(): T {
    try {
      return JSON.parse(this.stdout) as T;
    } catch {
      throw new Error(`stdout is not one JSON document: ${this.#describe()}`);
    }
  }

  errorJson(): ReturnType<CliResult['errorJson']> {
    // Notices ("using ...") may come first unless -q: the document is the last `{"error"` line.
    const line = this.stderr.trim().split('\n').reverse().find((l) => l.startsWith('{"error"'));
    try {
      return JSON.parse(line ?? '');
    } catch {
      throw new Error(`stderr holds no JSON error document: ${this.#describe()}`);
    }
  }
}

const templates = new Map<boolean, Promise<string>>();

/** A data dir made once per worker from the PGlite snapshot, migrated or not. */
function template(migrate: boolean): Promise<string> {
  let t = templates.get(migrate);
  if (!t) {
    t = (async () => {
      const dir = await tempDir('kaiju-cli-template-');
      const db = await openDatabase(
        { kind: 'embedded', dataDir: dir },
        { create: true, embedded: { loadDataDir: await pgliteSnapshot() } },
      );
      try {
        if (migrate) await migrateLatest(db.knex, MIGRATIONS);
      } finally {
        await db.close();
      }
      return dir;
    })();
    templates.set(migrate, t);
  }
  return t;
}

/**
 * A fresh embedded data directory (`DIR/pgdata` holds a PGlite cluster), migrated unless
 * `migrate: false`. Removed by `removeTempDirs()`.
 */
export async function makeDataDir(options: { migrate?: boolean } = {}): Promise<string> {
  const from = await template(options.migrate ?? true);
  const dir = await tempDir('kaiju-cli-data-');
  await cp(from, dir, { recursive: true });
  return dir;
}

/** A directory that holds no database yet (what `init` starts from). */
export async function emptyDataDir(): Promise<string> {
  return path.join(await tempDir('kaiju-cli-empty-'), 'data');
}

export interface CliTarget {
  backend: Backend;
  /** Flags selecting this database: `--data-dir DIR` or `--database-url URL`. */
  args: string[];
  /** The same database for `openDatabase` in the test process. */
  target: DatabaseTarget;
  dataDir: string | null;
  url: string | null;
  /** A scratch directory for the test's own files (key files, JWKS, exports); gone after `cleanup()`. */
  tmp: string;
  /**
   * Open the database in-process for setup or inspection, and close it again: the embedded data
   * directory is locked only meanwhile (waiting up to 60 s for a CLI child to let go of it).
   */
  withKnex<T>(fn: (knex: Knex) => Promise<T>): Promise<T>;
  cleanup(): Promise<void>;
}

export interface CliTargetOptions {
  /** Apply the migrations (default true). */
  migrate?: boolean;
  /**
   * `false`: no database at all yet, as before `init`. Embedded: the data directory does not
   * exist. PostgreSQL has no such state: there it is an empty database. Implies no migrations.
   */
  create?: boolean;
}

/** A fresh database for the CLI on `backend`, migrated unless `migrate: false` or `create: false`. */
export async function cliTarget(backend: Backend, options: CliTargetOptions = {}): Promise<CliTarget> {
  const create = options.create ?? true;
  const migrate = create && (options.migrate ?? true);
  const tmp = await tempDir('kaiju-cli-tmp-');
  let target: DatabaseTarget;
  let dataDir: string | null = null;
  let url: string | null = null;
  let drop: () => Promise<void>;
  if (backend === 'pglite') {
    dataDir = create ? await makeDataDir({ migrate }) : path.join(tmp, 'data');
    const dir = dataDir;
    target = { kind: 'embedded', dataDir, lockTimeoutMs: 60_000 };
    drop = () => rm(dir, { recursive: true, force: true });
  } else {
    const created = await createPgDatabase();
    url = created.url;
    target = { kind: 'postgres', url };
    if (migrate) await withDatabase(target, (knex) => migrateLatest(knex, MIGRATIONS));
    drop = () => dropPgDatabase(created.name);
  }
  return {
    backend,
    args: dataDir !== null ? ['--data-dir', dataDir] : ['--database-url', url as string],
    target,
    dataDir,
    url,
    tmp,
    withKnex: (fn) => withDatabase(target, fn),
    async cleanup() {
      await drop();
      await rm(tmp, { recursive: true, force: true });
    },
  };
}

async function withDatabase<T>(target: DatabaseTarget, fn: (knex: Knex) => Promise<T>): Promise<T> {
  const db = await openDatabase(target);
  try {
    return await fn(db.knex);
  } finally {
    await db.close();
  }
}

/** True when `file` exists. */
export async function exists(file: string): Promise<boolean> {
  return stat(file).then(
    () => true,
    () => false,
  );
}
