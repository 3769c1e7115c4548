/**
 * Files the command line names with `--out`: written whole or not at all. The output goes to a
 * temporary file beside the target (same directory, so the final rename stays on one file
 * system), created private (0600) and exclusively; at the end it gets its final mode, is fsynced,
 * renamed over the target, and the directory is fsynced. Until that rename the target is the
 * previous file, byte for byte: an export cut short by a signal, a lost database connection or a
 * full disk leaves it as it was, and the temporary file is removed (on every exit path, and by the
 * next run for one left by a process killed outright).
 *
 * A target that cannot be written (no such directory, a directory, no permission, a full disk) is
 * `cli.output_failed` (exit 2) naming the file and the system's reason, never an internal error.
 */
import { randomBytes } from 'node:crypto';
import { rmSync, type PathLike } from 'node:fs';
import { lstat, open, readdir, realpath, rename, rm, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { cliError } from './cli-errors.js';
import { fileWriteReason } from '../errors.js';
import type { Runtime } from './runtime.js';

export interface OutputFile {
  /** The file the user named. */
  readonly target: string;
  write(data: string): Promise<void>;
  /** Make the written data the target's content (fsync, rename, fsync the directory). */
  commit(): Promise<void>;
  /** Drop the temporary file; the target stays as it was. Safe to call at any time, again too. */
  discard(): Promise<void>;
}

function outputError(flag: string, target: string, err: unknown, unchanged: boolean) {
  const { code, reason } = fileWriteReason(err);
  return cliError('cli.output_failed', `${flag} ${target}: cannot write it (${reason})${unchanged ? `; ${target} is unchanged` : ''}`, {
    file: target,
    reason: code,
  });
}

function tempPrefix(base: string): string {
  return `.${base}.kaiju-auth-`;
}

/** True unless `pid` is certainly gone (EPERM: it exists, as someone else's). */
function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Temporary files of earlier runs on the same target whose process is gone (SIGKILL, a crash):
 * nobody will finish them. A live pid, even a reused one, keeps its file: never a wrong delete.
 */
async function removeDeadTemps(dir: string, base: string): Promise<void> {
  const prefix = tempPrefix(base);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix) || !name.endsWith('.tmp')) continue;
    const pid = Number(/^(\d+)-[0-9a-f]+\.tmp$/.exec(name.slice(prefix.length))?.[1]);
    if (Number.isSafeInteger(pid) && pid > 0 && pid !== process.pid && !pidAlive(pid)) {
      await rm(path.join(dir, name), { force: true }).catch(() => undefined);
    }
  }
}

/** Where the data really goes: through a symlink that exists, to the file it names. */
async function resolveTarget(target: string): Promise<string> {
  const s = await lstat(target).catch(() => null);
  if (s?.isSymbolicLink()) return realpath(target).catch(() => target);
  return target;
}

/** Temporary files still open in this process; removed synchronously if the process exits first. */
const pending = new Set<string>();
let exitHook = false;
function trackPending(file: string): void {
  pending.add(file);
  if (!exitHook) {
    exitHook = true;
    process.on('exit', () => {
      for (const f of pending) rmSync(f, { force: true });
    });
  }
}

/** Straight into a device or pipe: nothing to replace, nothing to roll back. */
async function openSpecial(rt: Runtime, target: string, flag: string): Promise<OutputFile> {
  let handle: FileHandle | null;
  try {
    handle = await open(target, 'w');
  } catch (err) {
    throw outputError(flag, target, err, false);
  }
  const close = async () => {
    await handle?.close().catch(() => undefined);
    handle = null;
  };
  rt.onClose(close);
  return {
    target,
    async write(data) {
      try {
        await handle?.write(data);
      } catch (err) {
        await close();
        throw outputError(flag, target, err, false);
      }
    },
    commit: close,
    discard: close,
  };
}

async function fsyncDir(dir: PathLike): Promise<void> {
  let handle: FileHandle | null = null;
  try {
    handle = await open(dir, 'r');
    await handle.sync();
  } catch {
    // Some file systems cannot fsync a directory (EINVAL); the rename itself is still atomic.
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/**
 * Open `target` for writing all-or-nothing. `mode` is the final mode before the user's umask
 * (0o600 for secrets is kept as is). `flag` names the option in messages (`--out`).
 */
export async function openOutputFile(rt: Runtime, target: string, options: { mode: number; flag?: string }): Promise<OutputFile> {
  const flag = options.flag ?? '--out';
  const real = await resolveTarget(target);
  const dir = path.dirname(real);
  const base = path.basename(real);
  const existing = await stat(real).catch(() => null);
  if (existing?.isDirectory()) throw outputError(flag, target, Object.assign(new Error(), { code: 'EISDIR' }), false);
  // A device or a pipe (`/dev/null`, `/dev/stdout`, a FIFO) cannot be replaced: write to it as it is.
  if (existing && !existing.isFile()) return openSpecial(rt, target, flag);
  await removeDeadTemps(dir, base);

  const tmp = path.join(dir, `${tempPrefix(base)}${process.pid}-${randomBytes(6).toString('hex')}.tmp`);
  let handle: FileHandle | null;
  try {
    handle = await open(tmp, 'wx', 0o600);
  } catch (err) {
    throw outputError(flag, target, err, false);
  }
  trackPending(tmp);
  const mode = options.mode & ~(rt.io.umask ?? 0o022) & 0o777;
  let done = false;

  const discard = async () => {
    if (done) return;
    done = true;
    await handle?.close().catch(() => undefined);
    handle = null;
    await rm(tmp, { force: true }).catch(() => undefined);
    pending.delete(tmp);
  };
  rt.onClose(discard);

  return {
    target,
    async write(data) {
      if (!handle) throw new Error(`${target}: written after it was closed`);
      try {
        await handle.write(data);
      } catch (err) {
        await discard();
        throw outputError(flag, target, err, existing !== null);
      }
    },
    async commit() {
      if (!handle) throw new Error(`${target}: committed after it was closed`);
      try {
        await handle.chmod(mode);
        await handle.sync();
        await handle.close();
        handle = null;
        await rename(tmp, real);
      } catch (err) {
        await discard();
        throw outputError(flag, target, err, existing !== null);
      }
      done = true;
      pending.delete(tmp);
      await fsyncDir(dir);
    },
    discard,
  };
}
