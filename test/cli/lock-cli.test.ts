/**
 * The embedded data-directory lock between real processes (PRODUCT.md: PGlite is single-process,
 * two writers on one directory lose writes), concurrent `migrate` on both backends, and what
 * signals leave behind. The second process is either the CLI or test/support/scripts/
 * embedded-worker.mjs, which opens the directory through the built library as the CLI does.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { MIGRATIONS } from '../../migrations/index.js';
import { openDatabase } from '../../src/db/open.js';
import { ADMIN_URL, createPgDatabase, dropPgDatabase } from '../support/db.js';
import { emptyDataDir, exists, makeDataDir, removeTempDirs, ROOT, runCli, spawnCli } from '../support/cli.js';

const WORKER = path.join(ROOT, 'test', 'support', 'scripts', 'embedded-worker.mjs');
const NAMES = MIGRATIONS.map((m) => m.name);

interface WorkerEvent {
  event: string;
  pid: number;
  at: number;
  [key: string]: unknown;
}

interface Worker {
  child: ChildProcessWithoutNullStreams;
  events: WorkerEvent[];
  /** Resolves with the first event of that name. */
  waitFor(event: string): Promise<WorkerEvent>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>;
}

const workers: Worker[] = [];

function startWorker(args: string[], env: Record<string, string> = {}): Worker {
  const child = spawn(process.execPath, [WORKER, ...args], { env: { ...process.env, ...env }, stdio: 'pipe' });
  const events: WorkerEvent[] = [];
  const waiters: { event: string; resolve: (e: WorkerEvent) => void }[] = [];
  let buffer = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    buffer += chunk;
    let nl;
    while ((nl = buffer.indexOf('\n')) >= 0) {
      const e = JSON.parse(buffer.slice(0, nl)) as WorkerEvent;
      buffer = buffer.slice(nl + 1);
      events.push(e);
      for (const w of waiters.filter((x) => x.event === e.event)) w.resolve(e);
    }
  });
  child.stderr.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stderr: string }>((resolve) =>
    child.on('close', (code, signal) => resolve({ code, signal, stderr })),
  );
  const worker: Worker = {
    child,
    events,
    exited,
    waitFor(event) {
      const seen = events.find((e) => e.event === event);
      if (seen) return Promise.resolve(seen);
      return Promise.race([
        new Promise<WorkerEvent>((resolve) => waiters.push({ event, resolve })),
        exited.then((r) => {
          throw new Error(`worker exited (${r.code ?? r.signal}) before "${event}": ${r.stderr}`);
        }),
      ]);
    },
  };
  workers.push(worker);
  return worker;
}

afterEach(() => {
  for (const w of workers.splice(0)) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
});
afterAll(removeTempDirs);

async function readLock(dir: string): Promise<{ pid: number; host: string; command: string } | null> {
  try {
    return JSON.parse(await readFile(path.join(dir, 'lock'), 'utf8'));
  } catch {
    return null;
  }
}

/** A pid that is certainly not running: a process that has already exited. */
async function deadPid(): Promise<number> {
  const child = spawn(process.execPath, ['-e', '0']);
  await new Promise((resolve) => child.on('close', resolve));
  return child.pid as number;
}

async function countPermissions(dir: string): Promise<number> {
  const r = await runCli(['status', '--json', '-q', '--data-dir', dir]);
  expect(r.code, r.stderr).toBe(0);
  return r.json().counts.permissions;
}

describe('the embedded data-directory lock', () => {
  it('a second process waits, then exits 7 naming the pid that holds the directory', async () => {
    const dir = await makeDataDir();
    const holder = startWorker(['hold', dir]);
    await holder.waitFor('ready');
    expect((await readLock(dir))?.pid).toBe(holder.child.pid);

    const started = Date.now();
    const r = await runCli(['status', '--lock-timeout', '1s', '--data-dir', dir]);
    const waited = Date.now() - started;
    expect(r.code).toBe(7);
    expect(r.stdout).toBe('');
    // One line saying it waits (at once), one saying it gave up.
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toBe(`kaiju-auth: waiting for pid ${holder.child.pid} (embedded-worker hold) to release ${dir} (up to 1s) ...`);
    expect(lines[1]).toContain(`in use by process ${holder.child.pid} (embedded-worker hold`);
    expect(waited).toBeGreaterThanOrEqual(1000);

    const json = await runCli(['--json', '--lock-timeout', '500ms', 'migrate', '--data-dir', dir]);
    expect(json.code).toBe(7);
    expect(json.stdout).toBe('');
    const error = json.errorJson().error;
    expect(error).toMatchObject({ code: 'db.locked', exit: 7, details: { holder: { pid: holder.child.pid } } });

    // The holder's lock is untouched by the processes that gave up.
    expect((await readLock(dir))?.pid).toBe(holder.child.pid);
    holder.child.stdin.end();
    expect((await holder.exited).code).toBe(0);
    expect(await exists(path.join(dir, 'lock'))).toBe(false);
    expect((await runCli(['status', '-q', '--data-dir', dir])).code).toBe(0);
  });

  it('KAIJU_AUTH_LOCK_TIMEOUT sets the wait when the flag is absent', async () => {
    const dir = await makeDataDir();
    const holder = startWorker(['hold', dir]);
    await holder.waitFor('ready');
    const r = await runCli(['status', '--json', '-q', '--data-dir', dir], { env: { KAIJU_AUTH_LOCK_TIMEOUT: '300ms' } });
    expect(r.code).toBe(7);
    expect(r.errorJson().error.message).toMatch(/waited 300ms/);
    holder.child.stdin.end();
    await holder.exited;
  });

  it('a process that gets the directory within the timeout just waits, then works', async () => {
    const dir = await makeDataDir();
    const holder = startWorker(['hold', dir]);
    await holder.waitFor('ready');
    const waiting = await spawnCli(['status', '--json', '-q', '--lock-timeout', '30s', '--data-dir', dir]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect(waiting.child.exitCode).toBeNull();
    holder.child.stdin.end();
    const r = await waiting.result;
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().schema.current).toBe(true);
  });

  it('a stale lock (its process is gone) is taken over, and released after', async () => {
    const dir = await makeDataDir();
    const stale = { pid: await deadPid(), host: os.hostname(), command: 'kaiju-auth seed', since: '2026-01-01T00:00:00.000Z' };
    await writeFile(path.join(dir, 'lock'), JSON.stringify(stale));
    const r = await runCli(['status', '--lock-timeout', '0s', '-q', '--data-dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(await exists(path.join(dir, 'lock'))).toBe(false);
  });

  // What a lock file says is only a label: whether the directory is in use is the OS lock on the
  // file, held by a live process and released by the kernel when it dies, whatever the file holds.
  const leftovers: [string, () => Promise<string>][] = [
    ['names a pid that now belongs to another live process (pid reuse)', async () => JSON.stringify({ pid: process.pid, host: os.hostname(), command: 'kaiju-auth seed', since: '2026-01-01T00:00:00.000Z' })],
    ['names pid 1 (a restarted container\'s first process)', async () => JSON.stringify({ pid: 1, host: os.hostname(), command: 'kaiju-auth seed', since: '2026-01-01T00:00:00.000Z' })],
    ['names another host (a new container on the same volume)', async () => JSON.stringify({ pid: await deadPid(), host: 'some-other-host', command: 'kaiju-auth seed', since: '2026-01-01T00:00:00.000Z' })],
    ['is empty', async () => ''],
    ['holds garbage', async () => '\u0000\u0001 not json {'],
  ];
  for (const [what, content] of leftovers) {
    it(`a lock file left by a dead process that ${what} is taken over at once`, async () => {
      const dir = await makeDataDir();
      await writeFile(path.join(dir, 'lock'), await content());
      const r = await runCli(['status', '--lock-timeout', '0s', '-q', '--data-dir', dir]);
      expect(r.code, r.stderr).toBe(0);
      expect(await exists(path.join(dir, 'lock'))).toBe(false);
    });
  }

  it('a live holder keeps the directory whatever its lock file says (emptied, overwritten)', async () => {
    const dir = await makeDataDir();
    const holder = startWorker(['hold', dir]);
    await holder.waitFor('ready');
    for (const content of ['', JSON.stringify({ pid: await deadPid(), host: 'some-other-host', command: 'x', since: 'y' })]) {
      await writeFile(path.join(dir, 'lock'), content);
      const r = await runCli(['status', '--json', '-q', '--lock-timeout', '300ms', '--data-dir', dir]);
      expect(r.code).toBe(7);
      expect(r.errorJson().error.code).toBe('db.locked');
    }
    holder.child.stdin.end();
    expect((await holder.exited).code).toBe(0);
    expect((await runCli(['status', '-q', '--lock-timeout', '0s', '--data-dir', dir])).code).toBe(0);
  });

  it('a lock file that cannot be opened (here: a directory) is exit 7 naming it, and is left alone', async () => {
    const dir = await makeDataDir();
    await mkdir(path.join(dir, 'lock'));
    const r = await runCli(['status', '--lock-timeout', '0s', '--data-dir', dir]);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain(`cannot use the lock file ${path.join(dir, 'lock')} (EISDIR)`);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect((await stat(path.join(dir, 'lock'))).isDirectory()).toBe(true);
  });

  it('a command that has to wait says so at once, naming the holder; -q keeps it quiet', async () => {
    const dir = await makeDataDir();
    const holder = startWorker(['hold', dir]);
    await holder.waitFor('ready');
    const waiting = await spawnCli(['status', '--json', '--lock-timeout', '60s', '--data-dir', dir]);
    for (let i = 0; i < 600 && !waiting.output().stderr.includes('waiting for'); i++) await new Promise((r) => setTimeout(r, 100));
    // Said while the holder still holds the directory, not when it gave up or got it.
    expect(waiting.child.exitCode).toBeNull();
    expect(waiting.output().stderr).toContain(`kaiju-auth: waiting for pid ${holder.child.pid} (embedded-worker hold) to release ${dir} (up to 1m) ...`);
    holder.child.stdin.end();
    const r = await waiting.result;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr.match(/waiting for/g)).toHaveLength(1);

    const again = startWorker(['hold', dir]);
    await again.waitFor('ready');
    const quiet = await runCli(['status', '-q', '--lock-timeout', '300ms', '--data-dir', dir]);
    expect(quiet.code).toBe(7);
    expect(quiet.stderr).not.toContain('waiting for');
    again.child.stdin.end();
    await again.exited;
  });

  it('two processes inserting 200 rows each into one directory at once end with 400 rows', async () => {
    const dir = await makeDataDir();
    const a = startWorker(['insert', dir, '200', 'a']);
    const b = startWorker(['insert', dir, '200', 'b']);
    const [ra, rb] = await Promise.all([a.exited, b.exited]);
    expect(ra.code, ra.stderr).toBe(0);
    expect(rb.code, rb.stderr).toBe(0);
    // One had the directory while the other waited: their open..closed spans do not overlap.
    const at = (w: Worker, event: string) => w.events.find((e) => e.event === event)?.at ?? NaN;
    const [a0, a1, b0, b1] = [at(a, 'opened'), at(a, 'closed'), at(b, 'opened'), at(b, 'closed')];
    expect(a1 <= b0 || b1 <= a0, `spans overlap: a ${a0}..${a1}, b ${b0}..${b1}`).toBe(true);
    expect(await countPermissions(dir)).toBe(400);
  });

  it('two concurrent migrates on one new directory both succeed and apply each migration once', async () => {
    const dir = await emptyDataDir();
    const [x, y] = await Promise.all([
      runCli(['migrate', '--json', '-q', '--lock-timeout', '60s', '--data-dir', dir]),
      runCli(['migrate', '--json', '-q', '--lock-timeout', '60s', '--data-dir', dir]),
    ]);
    expect(x.code, x.stderr).toBe(0);
    expect(y.code, y.stderr).toBe(0);
    expect([...x.json().migrations, ...y.json().migrations]).toEqual(NAMES);
    const status = await runCli(['migrate', 'status', '--json', '-q', '--data-dir', dir]);
    expect(status.json().map((m: { name: string; batch: number }) => [m.name, m.batch])).toEqual(NAMES.map((n) => [n, 1]));
  });
});

describe.runIf(ADMIN_URL)('two concurrent migrates on one PostgreSQL database', () => {
  let name: string | undefined;
  afterEach(async () => {
    if (name) await dropPgDatabase(name);
    name = undefined;
  });

  it('both exit 0 and each migration is applied once', async () => {
    const created = await createPgDatabase();
    name = created.name;
    const runs = await Promise.all([1, 2, 3].map(() => runCli(['migrate', '--json', '-q', '--database-url', created.url])));
    for (const r of runs) expect(r.code, r.stderr).toBe(0);
    expect(runs.flatMap((r) => r.json().migrations).sort()).toEqual([...NAMES].sort());
    const db = await openDatabase({ kind: 'postgres', url: created.url });
    try {
      const rows = await db.knex('kaiju_auth_migrations').select('name', 'batch').orderBy('id');
      expect(rows).toEqual(NAMES.map((n) => ({ name: n, batch: 1 })));
    } finally {
      await db.close();
    }
  });
});

describe('signals', () => {
  it('SIGTERM to a process waiting for the directory ends it (143) and leaves the holder its lock', async () => {
    const dir = await makeDataDir();
    const holder = startWorker(['hold', dir]);
    await holder.waitFor('ready');
    const waiting = await spawnCli(['status', '--lock-timeout', '60s', '--data-dir', dir]);
    // Once it says it waits, its signal handlers are in place (a fixed sleep raced a slow start).
    for (let i = 0; i < 600 && !waiting.output().stderr.includes('waiting for'); i++) await new Promise((r) => setTimeout(r, 100));
    expect(waiting.output().stderr).toContain('waiting for');
    waiting.child.kill('SIGTERM');
    const r = await waiting.result;
    expect(r.code).toBe(143);
    expect(r.stderr).toContain('interrupted');
    expect((await readLock(dir))?.pid).toBe(holder.child.pid);
    holder.child.stdin.end();
    expect((await holder.exited).code).toBe(0);
  });

  it('SIGKILL mid-write leaves a stale lock that the next run takes over; committed rows survive', async () => {
    const dir = await makeDataDir();
    const writer = startWorker(['insert-forever', dir, 'k']);
    const progress = await new Promise<WorkerEvent>((resolve) => {
      const poll = setInterval(() => {
        const e = writer.events.filter((x) => x.event === 'progress').at(-1);
        if (e && (e.i as number) >= 100) {
          clearInterval(poll);
          resolve(e);
        }
      }, 20);
    });
    writer.child.kill('SIGKILL');
    expect((await writer.exited).signal).toBe('SIGKILL');
    expect((await readLock(dir))?.pid).toBe(writer.child.pid);
    const r = await runCli(['status', '--json', '--lock-timeout', '0s', '-q', '--data-dir', dir]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.json().counts.permissions).toBeGreaterThanOrEqual((progress.i as number) + 1);
    expect(await exists(path.join(dir, 'lock'))).toBe(false);
  });

  it.runIf(ADMIN_URL)('SIGTERM during a PostgreSQL migration ends it at once (143) and rolls it back', async () => {
    const created = await createPgDatabase();
    // Hold the migration lock so the CLI's migrate blocks inside its transaction.
    const blocker = await openDatabase({ kind: 'postgres', url: created.url });
    try {
      let release: () => void = () => undefined;
      const held = new Promise<void>((resolve) => (release = resolve));
      const blocking = blocker.knex.transaction(async (trx) => {
        await trx.raw('select pg_advisory_xact_lock(?::bigint)', ['7737002446011574631']);
        await held;
      });
      const migrating = await spawnCli(['migrate', '--database-url', created.url]);
      const waitingFor = async () =>
        (
          await blocker.knex.raw(
            "select count(*)::int as n from pg_stat_activity where datname = current_database() and application_name like 'kaiju-auth %' and wait_event_type = 'Lock'",
          )
        ).rows[0].n as number;
      for (let i = 0; i < 100 && (await waitingFor()) === 0; i++) await new Promise((r) => setTimeout(r, 100));
      expect(await waitingFor()).toBe(1);
      // The blocker still holds the lock: had the CLI waited for its transaction, it would hang
      // here until the spawn timeout kills it (code null).
      migrating.child.kill('SIGTERM');
      const r = await migrating.result;
      expect(r.code).toBe(143);
      release();
      await blocking;
      const tables = await blocker.knex.raw("select count(*)::int as n from pg_tables where tablename = 'users'");
      expect(tables.rows[0].n).toBe(0);
    } finally {
      await blocker.close();
      await dropPgDatabase(created.name);
    }
  });
});
