/**
 * Exclusive lock on an embedded data directory. PGlite is single-process: two processes on one
 * directory each work on their own copy and the last to close wins, losing the other's writes.
 * So whoever opens the directory first holds `DIR/lock` (created atomically, holding the owner's
 * pid and command) until it closes; others wait a bounded time, then fail naming the holder.
 * A lock left by a process that no longer exists (on this host) is taken over.
 *
 * Whatever way the process ends through `process.exit` (a signal handler, an error path that did
 * not get to close), an 'exit' hook removes the locks it still holds, synchronously: a lock
 * outlives its process only when the process is killed outright (SIGKILL, a crash), and then
 * the next opener sees a dead pid and takes it over.
 */
import { promises as fs, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { authError } from '../core/errors.js';

export interface LockOwner {
  pid: number;
  host: string;
  command: string;
  since: string;
}

export interface DirLock {
  readonly path: string;
  release(): Promise<void>;
}

const POLL_MS = 100;

/** Lock files this process holds, with the owner record written into each. */
const held = new Map<string, LockOwner>();
let exitHookInstalled = false;

function isOurs(content: string, me: LockOwner): boolean {
  try {
    const owner = JSON.parse(content) as Partial<LockOwner>;
    return owner.pid === me.pid && owner.since === me.since;
  } catch {
    return false;
  }
}

/** Remove `file` if it still holds our record (never someone else's lock). */
function releaseSync(file: string, me: LockOwner): void {
  held.delete(file);
  try {
    if (isOurs(readFileSync(file, 'utf8'), me)) rmSync(file, { force: true });
  } catch {
    /* already gone */
  }
}

/** On exit no more async work runs: remove what we still hold, synchronously. */
function releaseAllSync(): void {
  for (const [file, me] of [...held]) releaseSync(file, me);
}

function trackHeld(file: string, me: LockOwner): void {
  held.set(file, me);
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.on('exit', releaseAllSync);
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    // EPERM: exists but belongs to someone else.
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readOwner(file: string): Promise<LockOwner | null> {
  try {
    const parsed = JSON.parse(await fs.readFile(file, 'utf8')) as Partial<LockOwner>;
    if (typeof parsed.pid !== 'number') return null;
    return {
      pid: parsed.pid,
      host: String(parsed.host ?? ''),
      command: String(parsed.command ?? ''),
      since: String(parsed.since ?? ''),
    };
  } catch {
    return null;
  }
}

function isStale(file: string, owner: LockOwner): boolean {
  // A lock from another host cannot be checked: held. One with our own pid that we do not hold
  // was left by an earlier process that had our pid (a restarted container's pid 1).
  if (owner.host !== os.hostname()) return false;
  return owner.pid === process.pid ? !held.has(file) : !isAlive(owner.pid);
}

/**
 * Take a stale lock out of the way without ever removing a live one: move it aside under a name
 * only we use, then check that what we moved is the stale lock we saw. If a live lock got there
 * in between, put it back.
 */
async function removeStale(file: string, stale: LockOwner): Promise<void> {
  const aside = `${file}.stale-${process.pid}-${Date.now()}`;
  try {
    await fs.rename(file, aside);
  } catch {
    return;
  }
  const moved = await readOwner(aside);
  if (moved && moved.pid === stale.pid && moved.since === stale.since) {
    await fs.rm(aside, { force: true });
    return;
  }
  await fs.link(aside, file).catch(() => undefined);
  await fs.rm(aside, { force: true });
}

export async function acquireDirLock(
  dir: string,
  options: { timeoutMs: number; command: string },
): Promise<DirLock> {
  await fs.mkdir(dir, { recursive: true });
  const file = path.resolve(dir, 'lock');
  const me: LockOwner = {
    pid: process.pid,
    host: os.hostname(),
    command: options.command,
    since: new Date().toISOString(),
  };
  const deadline = Date.now() + options.timeoutMs;
  // The owner record goes to a private draft that is hard-linked into place: link fails with
  // EEXIST while the lock exists, and a lock file is never seen empty or half-written.
  const draft = `${file}.${process.pid}.draft`;
  await fs.writeFile(draft, JSON.stringify(me), { mode: 0o600 });
  try {
    for (;;) {
      try {
        await fs.link(draft, file);
        trackHeld(file, me);
        return makeLock(file, me);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      const owner = await readOwner(file);
      if (owner && isStale(file, owner)) {
        await removeStale(file, owner);
        continue;
      }
      if (Date.now() >= deadline) throw lockedError(dir, owner, options.timeoutMs);
      await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(1, deadline - Date.now()))));
    }
  } finally {
    await fs.rm(draft, { force: true });
  }
}

function makeLock(file: string, me: LockOwner): DirLock {
  return {
    path: file,
    // Synchronous, like the exit hook: two tiny file operations, and an async one would wait in
    // line behind whatever PGlite left queued when it closed (measured: 100-400 ms).
    async release() {
      if (!held.has(file)) return;
      releaseSync(file, me);
    },
  };
}

function lockedError(dir: string, owner: LockOwner | null, timeoutMs: number) {
  const who = owner
    ? `process ${owner.pid}${owner.host !== os.hostname() ? ` on ${owner.host}` : ''} (${owner.command || 'kaiju-auth'}, since ${owner.since})`
    : 'another process';
  const waited = timeoutMs < 1000 ? `${timeoutMs}ms` : `${Math.round(timeoutMs / 100) / 10}s`;
  return authError('db.locked', `the embedded database at ${dir} is in use by ${who}; waited ${waited}`, {
    dataDir: dir,
    holder: owner ?? undefined,
  });
}
