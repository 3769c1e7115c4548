/**
 * Exclusive lock on an embedded data directory. PGlite is single-process: two processes on one
 * directory each work on their own copy and the last to close wins, losing the other's writes.
 * So whoever opens the directory first holds `DIR/lock` (created with O_EXCL, holding the owner's
 * pid and command) until it closes; others wait a bounded time, then fail naming the holder.
 * A lock left by a process that no longer exists (on this host) is taken over.
 */
import { promises as fs, constants as fsc } from 'node:fs';
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

function isStale(owner: LockOwner | null): boolean {
  // An unreadable lock file is being written right now (or is garbage); treat it as held, the
  // timeout bounds the wait. A lock from another host cannot be checked: held.
  if (owner === null) return false;
  return owner.host === os.hostname() && owner.pid !== process.pid && !isAlive(owner.pid);
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
  const file = path.join(dir, 'lock');
  const me: LockOwner = {
    pid: process.pid,
    host: os.hostname(),
    command: options.command,
    since: new Date().toISOString(),
  };
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    try {
      const handle = await fs.open(file, fsc.O_CREAT | fsc.O_EXCL | fsc.O_WRONLY, 0o600);
      try {
        await handle.writeFile(JSON.stringify(me));
      } finally {
        await handle.close();
      }
      let released = false;
      return {
        path: file,
        async release() {
          if (released) return;
          released = true;
          const owner = await readOwner(file);
          if (owner && owner.pid === me.pid && owner.since === me.since) await fs.rm(file, { force: true });
        },
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const owner = await readOwner(file);
    if (owner && isStale(owner)) {
      await removeStale(file, owner);
      continue;
    }
    if (Date.now() >= deadline) {
      const who = owner
        ? `process ${owner.pid}${owner.host !== os.hostname() ? ` on ${owner.host}` : ''} (${owner.command || 'kaiju-auth'}, since ${owner.since})`
        : 'another process';
      throw authError(
        'db.locked',
        `the embedded database at ${dir} is in use by ${who}; waited ${Math.round(options.timeoutMs / 1000)}s`,
        { dataDir: dir, holder: owner ?? undefined },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(1, deadline - Date.now()))));
  }
}
