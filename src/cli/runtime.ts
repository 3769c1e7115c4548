/**
 * What a command handler gets: the resolved configuration, the output, and lazily the database
 * and the core. Opening happens at most once per run and is announced once on stderr; closing
 * (which releases the embedded data directory) always happens, even on errors and Ctrl-C.
 */
import type { TokenSettings } from '../core/tokens/settings.js';
import type { Command } from 'commander';
import { cliError } from './cli-errors.js';
import type { KaijuAuth } from '../core/auth.js';
import type * as CoreAuthModule from '../core/auth.js';
import type * as CoreContextModule from '../core/context.js';
import type * as KeySecretModule from './key-secret.js';
import type { Database } from '../db/open.js';
import { resolveConfig, type CliConfig, type GlobalFlags } from './config.js';
import { Output } from './output.js';

export interface Io {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: unknown };
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean };
  env: Record<string, string | undefined>;
  /**
   * The file-creation mask the command was started with, for the files a user names (`--out`):
   * the CLI runs under a stricter one of its own (default 0o022).
   */
  umask?: number;
  /**
   * Run `fn` (synchronous) when the process exits, however it exits: what the database layer
   * must let go of even then (the embedded data directory's lock file). The entry point gives it.
   */
  onExit?: (fn: () => void) => void;
}

export class Runtime {
  readonly config: CliConfig;
  readonly out: Output;
  readonly io: Io;
  readonly commandName: string;
  /**
   * `--dry-run` of a write command (see `dryRunnable`): the core works in one transaction that is
   * rolled back when the command ends, so the output says exactly what the change would have been
   * (audit rows included) and nothing stays. Nothing is asked: nothing will change.
   */
  dryRun = false;
  private db: Promise<Database> | null = null;
  private opened: Database | null = null;
  private modules: Promise<[typeof CoreAuthModule, typeof CoreContextModule, typeof KeySecretModule]> | null = null;
  private closers: (() => Promise<void>)[] = [];
  private closing: Promise<void> = Promise.resolve();
  private markNamed!: () => void;
  /** Settles when the open has named the database (or failed): see `named()`. */
  private readonly namedDatabase = new Promise<void>((resolve) => {
    this.markNamed = resolve;
  });

  constructor(io: Io, flags: GlobalFlags, commandName: string) {
    this.io = io;
    this.commandName = commandName;
    this.config = resolveConfig(flags, io.env, !!io.stdout.isTTY, commandName);
    this.out = new Output(io, this.config);
  }

  /** True when a person can be asked: stdin and stderr are terminals. */
  get interactive(): boolean {
    return !!this.io.stdin.isTTY && !!this.io.stderr.isTTY;
  }

  /**
   * Open the database once. With `schema: true` (the default), fail with exit 7 unless migrated.
   * Only commands that build a schema (`create: true`) may create an embedded database; a dry
   * run (`create: 'scratch'`) on a directory with none works on a throwaway in-memory one.
   */
  async database(options: { schema?: boolean; create?: boolean | 'scratch' } = {}): Promise<Database> {
    if (!this.db) {
      this.db = (async () => {
        const [{ openDatabase, releaseLocksSync }, { homeOf }] = await Promise.all([import('../db/open.js'), import('../db/target.js')]);
        this.io.onExit?.(releaseLocksSync);
        // Which database, said as soon as the backend knows (before PGlite's seconds of start-up),
        // else once it is open.
        let announced = false;
        const announce = (what: { description: string; scratchFor: string | null }) => {
          if (announced) return;
          announced = true;
          if (what.scratchFor !== null) this.out.notice(`kaiju-auth: no database at ${what.scratchFor} yet; working on a scratch copy in memory`);
          this.out.notice(`kaiju-auth: using ${what.description}`);
          this.markNamed();
          // The core's modules load while the database opens (PGlite's start leaves the main
          // thread idle while its WASM compiles and its files are read), not after it: nearly every
          // command that opens a database asks the core next. Not before the notice: loading them
          // first kept it off the screen ~25 ms longer.
          this.coreModules();
        };
        const db = await openDatabase(this.config.target, {
          command: `kaiju-auth ${this.commandName}`,
          create: options.create ?? false,
          logger: (level, message) => this.io.stderr.write(`knex ${level}: ${message}\n`),
          onLockWait: ({ holder, held, timeoutMs }) => {
            this.out.notice(`kaiju-auth: waiting for ${holder} to release ${held} (up to ${waitLimit(timeoutMs)}) ...`);
          },
          onOpening: announce,
          // A command is a short run: see BackendOpenOptions.shortRun.
          shortRun: true,
        });
        this.opened = db;
        this.closers.push(() => db.close());
        announce(db);
        if (db.madePrivate > 0) {
          this.out.warn(
            `${homeOf(db.target)} was open to other users: made ${db.madePrivate} of its files and directories private (0600/0700)`,
          );
        }
        return db;
      })();
      // An open that fails before it names the database ends the wait for that too.
      this.db.catch(() => this.markNamed());
    }
    const db = await this.db;
    if (options.schema ?? true) {
      const { assertSchemaCurrent } = await import('../core/migrate.js');
      await assertSchemaCurrent(db.knex);
    }
    return db;
  }

  /**
   * Settles once the database this run opens has been named on stderr (the embedded database
   * before PGlite starts, PostgreSQL once connected), or its open has failed: for a command with
   * work of its own to do on this thread while the open goes on (seed checking its files), so that
   * work never stands between the command's start and that first line.
   */
  named(): Promise<void> {
    return this.namedDatabase;
  }

  /** The core bound to this run's database and settings (actor, bcrypt cost, delays...). */
  async auth(
    options: { schema?: boolean; create?: boolean | 'scratch'; rounds?: number; tokens?: Partial<TokenSettings> } = {},
  ): Promise<KaijuAuth> {
    // The open starts first: it loads the core's modules itself once it has said which database
    // (`database()`), so they never stand between the command's start and that notice.
    const db = await this.database(options);
    const [{ KaijuAuth }, { resolveSettings }, { keySecretSource, newKeySecretSource }] = await this.coreModules();
    const c = this.config;
    let knex = db.knex;
    if (this.dryRun) {
      const trx = await db.knex.transaction();
      // Runs before the database closes (closers run in reverse order of registration).
      this.onClose(async () => {
        if (!trx.isCompleted()) await trx.rollback();
      });
      knex = trx;
      this.out.dryRun = true;
    }
    return new KaijuAuth(
      knex,
      resolveSettings({
        actor: c.actor,
        bcryptRounds: options.rounds ?? c.bcryptRounds,
        defaultGroup: c.defaultGroup,
        failedLoginDelayMs: c.failedLoginDelayMs,
        keySecret: keySecretSource(this),
        newKeySecret: newKeySecretSource(this),
        tokens: { ...c.tokens, ...options.tokens },
      }),
    );
  }

  /** The modules `auth()` needs, loading once (started by `database()`, so they load during the open). */
  private coreModules() {
    if (!this.modules) {
      this.modules = Promise.all([import('../core/auth.js'), import('../core/context.js'), import('./key-secret.js')]);
      // Awaited by auth(); a command that never asks the core must not see an unhandled rejection.
      this.modules.catch(() => undefined);
    }
    return this.modules;
  }

  /** Register cleanup to run when the command ends (in reverse order). */
  onClose(fn: () => Promise<void>): void {
    this.closers.push(fn);
  }

  /**
   * Confirm a destructive action: `-y` confirms; on a terminal, ask; otherwise refuse (exit 8).
   */
  async confirm(question: string, short?: string): Promise<void> {
    if (this.config.yes || this.dryRun) return;
    if (!this.interactive) {
      // The refusal is one line: `short` says what was not done when the question is long.
      throw cliError('cli.not_confirmed', `${(short ?? question).replace(/\?$/, '')}: not confirmed; pass -y/--yes to confirm without a terminal`);
    }
    const { askConfirm } = await import('./prompts.js');
    const ok = await askConfirm(question, this.io);
    if (!ok) throw cliError('cli.not_confirmed', 'cancelled: not confirmed');
  }

  /**
   * Ask a person, whatever `-y` says (for what `-y` alone must not confirm, e.g. dropping data):
   * refuses (exit 8) unless the answer is yes. Callers check `interactive` first.
   */
  async ask(question: string): Promise<void> {
    if (!this.interactive) throw cliError('cli.not_confirmed', `${question.replace(/\?$/, '')}: not confirmed`);
    const { askConfirm } = await import('./prompts.js');
    const ok = await askConfirm(question, this.io);
    if (!ok) throw cliError('cli.not_confirmed', 'cancelled: not confirmed');
  }

  /**
   * Run the cleanups (in reverse order). Safe to call again, also while a close is running: each
   * call waits for the one before it, so whoever exits after it knows everything is closed.
   */
  close(): Promise<void> {
    this.closing = this.closing.then(async () => {
      const closers = this.closers.reverse();
      this.closers = [];
      for (const close of closers) {
        await close().catch(() => undefined);
      }
    });
    return this.closing;
  }

  /**
   * Stop now (Ctrl-C, SIGTERM): drop the database without waiting for the command's work, so an
   * open transaction rolls back instead of committing, then run the other cleanups.
   */
  async abort(): Promise<void> {
    await this.opened?.abort().catch(() => undefined);
    await this.close();
  }
}

/** A lock timeout as people write it: `500ms`, `10s`, `2m`. */
function waitLimit(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const s = Math.round(ms / 1000);
  return s >= 60 && s % 60 === 0 ? `${s / 60}m` : `${s}s`;
}

/** Global flags as commander parsed them, for a command at any depth. */
export function globalFlags(command: Command): GlobalFlags {
  return command.optsWithGlobals() as GlobalFlags;
}
