/**
 * Exclusive lock on an embedded data directory. PGlite is single-process: two processes on one
 * directory each work on their own copy and the last to close wins, losing the other's writes.
 * So whoever opens the directory holds an OS advisory lock on `DIR/lock` for as long as it has it
 * open: an open-file-description lock (fcntl F_OFD_SETLK) on Linux, flock on macOS, LockFileEx on
 * Windows, through fs-native-extensions (prebuilt binaries inside its npm package). Others wait a
 * bounded time, then fail naming the holder.
 *
 * The kernel releases the lock when its holder dies, however it dies (SIGKILL, a crash, a
 * container that is gone), and it cannot be fooled by what the file says: a lock file left
 * behind is taken over at once whether it names a pid now reused by another process, another
 * host, or nothing at all (empty or garbage). The file's content (pid, host, command, since) is
 * only the label a waiting process shows ("waiting for pid N (kaiju-auth seed)").
 *
 * The holder removes the file when it lets go, while still holding the lock; a process that had
 * opened the file before and gets the lock after checks that what it locked is still the file at
 * that path, and starts over otherwise, so two processes never hold "the" lock on two inodes.
 */
import { closeSync, constants as fsc, fstatSync, ftruncateSync, openSync, readFileSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { authError } from '../errors.js';

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

export interface LockOptions {
  timeoutMs: number;
  /** Recorded in the lock file, so a waiting process can say who holds the directory. */
  command: string;
  /** Called once, as soon as the directory turns out to be held by someone else (null: unknown who). */
  onWait?: (holder: LockOwner | null, timeoutMs: number) => void;
}

/** fs-native-extensions: the part of its API used here (it ships no types). */
interface NativeLocks {
  /** True when the exclusive lock was taken; false when another open file holds it. */
  tryLock(fd: number): boolean;
}

const require = createRequire(import.meta.url);
let native: NativeLocks | null = null;
function nativeLocks(): NativeLocks {
  native ??= require('fs-native-extensions') as NativeLocks;
  return native;
}

const POLL_MS = 100;

/** Lock files this process holds, with the descriptor that holds each. */
const held = new Map<string, number>();

/** True when `fd` is the file now at `file` (not one a releaser has since unlinked). */
function isFileAt(fd: number, file: string): boolean {
  try {
    const a = fstatSync(fd);
    const b = statSync(file);
    return a.ino === b.ino && a.dev === b.dev;
  } catch {
    return false;
  }
}

/** Let go of `file`: remove it while still locked (see the module comment), then close. */
function releaseSync(file: string): void {
  const fd = held.get(file);
  if (fd === undefined) return;
  held.delete(file);
  try {
    if (isFileAt(fd, file)) unlinkSync(file);
  } catch {
    /* already gone */
  }
  try {
    closeSync(fd);
  } catch {
    /* closed */
  }
}

/**
 * Let go of every directory this process still holds, synchronously: for an exit hook, where no
 * more async work runs. The process installs it (the CLI does); a library does not hook a process
 * it does not own. Without it the kernel still frees the locks when the process ends; only the
 * lock files (their labels) stay behind, and the next opener takes them over at once.
 */
export function releaseAllDirLocksSync(): void {
  for (const file of [...held.keys()]) releaseSync(file);
}

function trackHeld(file: string, fd: number): void {
  held.set(file, fd);
}

/** The label in the lock file, if it holds one (empty, garbage or unreadable: null). */
function readOwner(file: string): LockOwner | null {
  try {
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LockOwner>;
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

function lockFileError(file: string, err: unknown) {
  const code = (err as NodeJS.ErrnoException).code ?? 'error';
  return authError('db.unavailable', `cannot use the lock file ${file} (${code}): the embedded database there cannot be opened safely`, {
    file,
    reason: code,
  }, err);
}

/**
 * One attempt: the descriptor holding the lock on the file now at `file`, or null when another
 * process holds it.
 */
function tryAcquire(file: string): number | null {
  let fd: number;
  try {
    fd = openSync(file, fsc.O_RDWR | fsc.O_CREAT | (fsc.O_NOFOLLOW ?? 0), 0o600);
  } catch (err) {
    throw lockFileError(file, err);
  }
  let locked: boolean;
  try {
    locked = nativeLocks().tryLock(fd);
  } catch (err) {
    closeSync(fd);
    throw lockFileError(file, err);
  }
  if (locked && isFileAt(fd, file)) return fd;
  // Not ours, or ours but on a file its last holder has just removed: closing drops the lock
  // (an open-file-description lock belongs to this descriptor alone).
  closeSync(fd);
  return locked ? tryAcquire(file) : null;
}

export async function acquireDirLock(dir: string, options: LockOptions): Promise<DirLock> {
  const file = path.resolve(dir, 'lock');
  const deadline = Date.now() + options.timeoutMs;
  let announced = false;
  for (;;) {
    const fd = tryAcquire(file);
    if (fd !== null) {
      const me: LockOwner = { pid: process.pid, host: os.hostname(), command: options.command, since: new Date().toISOString() };
      try {
        ftruncateSync(fd, 0);
        writeSync(fd, JSON.stringify(me), 0);
      } catch {
        // The label is for the humans waiting; the lock holds without it.
      }
      trackHeld(file, fd);
      return makeLock(file);
    }
    const owner = readOwner(file);
    if (Date.now() >= deadline) throw lockedError(dir, owner, options.timeoutMs);
    if (!announced) {
      announced = true;
      options.onWait?.(owner, options.timeoutMs);
    }
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(1, deadline - Date.now()))));
  }
}

function makeLock(file: string): DirLock {
  return {
    path: file,
    // Synchronous, like the exit hook: two tiny file operations, and an async one would wait in
    // line behind whatever PGlite left queued when it closed (measured: 100-400 ms).
    async release() {
      releaseSync(file);
    },
  };
}

/** `pid 123 (kaiju-auth seed)`, `pid 123 on host-b (...)`, or `another process`. */
export function describeHolder(owner: LockOwner | null): string {
  if (!owner) return 'another process';
  return `pid ${owner.pid}${owner.host !== os.hostname() ? ` on ${owner.host}` : ''} (${owner.command || 'kaiju-auth'})`;
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
