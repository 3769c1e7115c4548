/**
 * The embedded data directory is private to its owner whatever the umask: the directory 0700,
 * everything the tool keeps in it 0600 (directories 0700). It holds every user's bcrypt hash (in
 * the relation files and the WAL), the key secret and the lock; PGlite itself would leave most of
 * its files 0666 (initdb runs in memory and its files are unpacked with the in-memory modes) and
 * create new ones under the process umask.
 *
 * Two parts, neither relying on the process umask (a library caller's is its own business):
 * - `makeDataDirPrivate` and `tightenDataDirContents` run when a directory is opened: the
 *   directory is created 0700, or the group and other bits are taken off an existing one and off
 *   what it holds of ours; they count what they changed (the caller says so; this layer never
 *   prints).
 * - `PrivateNodeFs` is PGlite's file system on a host directory (what its own NodeFS does) with
 *   every file and directory PGlite creates or chmods masked to the owner's bits, from initdb's
 *   unpacking to a WAL segment or relation file made hours into a run.
 */
import { chmodSync, lstatSync, promises as fs, readdirSync } from 'node:fs';
import path from 'node:path';

/** Bits the tool takes off everything in a data directory: all of group's and other's. */
const NOT_OWNER = 0o077;

/** What the tool keeps in a data directory (the PGlite cluster, the key secret, the lock). */
const OURS = /^(pgdata|secret|lock)$|^lock\./;

function tighten(file: string, mode: number): boolean {
  if ((mode & NOT_OWNER) === 0) return false;
  chmodSync(file, mode & 0o7777 & ~NOT_OWNER);
  return true;
}

/**
 * `tighten`, for what is inside the directory: a file that cannot be changed (another owner's) is
 * left as it is; the 0700 directory already keeps others from reaching it.
 */
function tightenInside(file: string, mode: number): boolean {
  try {
    return tighten(file, mode);
  } catch {
    return false;
  }
}

/** Tighten `file`, and everything below it if it is a directory (symlinks: left alone, never followed). */
function tightenEntry(file: string): number {
  let s;
  try {
    s = lstatSync(file);
  } catch {
    return 0; // gone meanwhile
  }
  if (s.isSymbolicLink()) return 0;
  let changed = tightenInside(file, s.mode) ? 1 : 0;
  if (s.isDirectory()) {
    let names: string[];
    try {
      names = readdirSync(file);
    } catch {
      return changed;
    }
    for (const name of names) changed += tightenEntry(path.join(file, name));
  }
  return changed;
}

/**
 * Create `dir` (parents under the process umask, `dir` itself 0700), or take the group and other
 * bits off an existing one. Returns 1 when an existing directory was open to others, else 0.
 */
export async function makeDataDirPrivate(dir: string): Promise<number> {
  await fs.mkdir(path.dirname(path.resolve(dir)), { recursive: true });
  try {
    await fs.mkdir(dir, { mode: 0o700 });
    // Its mode was 0700 less the umask: set it exactly (an odd umask could have taken owner bits).
    await fs.chmod(dir, 0o700);
    return 0;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  return tighten(dir, (await fs.stat(dir)).mode) ? 1 : 0;
}

/**
 * Take the group and other bits off what the tool keeps in `dir`: `pgdata/` throughout, `secret`,
 * the lock files (anything else a user put there is unreachable to others through the 0700
 * directory, and left as it is). Returns how many entries changed. Synchronous on purpose: about
 * a thousand lstat calls, 5-10 ms, run while PGlite compiles its WASM on other threads (the
 * asynchronous walk took 20-40 ms of round trips through the thread pool).
 */
export function tightenDataDirContents(dir: string): number {
  let changed = 0;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return 0;
  }
  for (const name of names) if (OURS.test(name)) changed += tightenEntry(path.join(dir, name));
  return changed;
}

/** The parts of Emscripten's NODEFS this file touches. */
interface NodeFsOps {
  mknod(parent: unknown, name: string, mode: number, dev: number): unknown;
  setattr(node: unknown, attr: { mode?: number }): unknown;
}
interface EmscriptenModule {
  NODEFS: { node_ops: NodeFsOps & { [PATCHED]?: true } };
  FS: { mkdirTree(path: string): void; mount(type: unknown, opts: { root: string }, mountpoint: string): void; quit(): void };
}

const PATCHED = Symbol('kaiju-auth private modes');

/**
 * Mask the mode of every node NODEFS creates (mknod: files and directories) or changes (chmod,
 * as PGlite's tar unpacking does) to the owner's bits. Emscripten passes the mode straight to
 * Node's fs, where only the umask would narrow it.
 */
function ownerOnlyModes(mod: EmscriptenModule): void {
  const ops = mod.NODEFS.node_ops;
  if (ops[PATCHED]) return;
  const { mknod, setattr } = ops;
  ops.mknod = function (parent, name, mode, dev) {
    return mknod.call(this, parent, name, mode & ~NOT_OWNER, dev);
  };
  ops.setattr = function (node, attr) {
    return setattr.call(this, node, attr.mode === undefined ? attr : { ...attr, mode: attr.mode & ~NOT_OWNER });
  };
  ops[PATCHED] = true;
}

/** Where PGlite expects its cluster inside its virtual file system (its own NodeFS mounts there). */
const PGDATA_MOUNT = '/pglite/data';

/**
 * PGlite's NodeFS, with owner-only modes: the cluster lives in the host directory `root`
 * (created 0700 if missing). Passed as PGlite's `fs` option.
 */
export class PrivateNodeFs {
  private readonly root: string;
  private module: { Module: EmscriptenModule } | null = null;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  async init(pg: unknown, emscriptenOpts: { preRun?: ((mod: EmscriptenModule) => void)[] }) {
    await fs.mkdir(this.root, { recursive: true, mode: 0o700 });
    this.module = pg as { Module: EmscriptenModule };
    return {
      emscriptenOpts: {
        ...emscriptenOpts,
        preRun: [
          ...(emscriptenOpts.preRun ?? []),
          (mod: EmscriptenModule) => {
            ownerOnlyModes(mod);
            mod.FS.mkdirTree(PGDATA_MOUNT);
            mod.FS.mount(mod.NODEFS, { root: this.root }, PGDATA_MOUNT);
          },
        ],
      },
    };
  }

  async syncToFs(): Promise<void> {}

  async initialSyncFs(): Promise<void> {}

  async closeFs(): Promise<void> {
    this.module?.Module.FS.quit();
  }

  async dumpTar(): Promise<Blob> {
    throw new Error('dumping the embedded database to a tarball is not supported: copy its data directory instead');
  }
}
