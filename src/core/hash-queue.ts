/**
 * Many bcrypt hashes (and verifications) on all cores at once. bcrypt's async API runs each job on
 * libuv's thread pool; this queue keeps exactly `concurrency` jobs there at a time instead of
 * submitting thousands at once, so other users of the pool (file reads of an import, DNS) wait for
 * one hash at most, never for a whole batch, and memory stays bounded.
 */
import { availableParallelism } from 'node:os';
import { bcryptHasher, type PasswordHash, type PasswordHasher } from './passwords.js';

export interface HashQueueOptions {
  hasher?: PasswordHasher;
  /** bcrypt cost of new hashes. */
  rounds: number;
  /** Jobs on the pool at once; default: the number of CPUs. */
  concurrency?: number;
}

export class HashQueue {
  readonly concurrency: number;
  private readonly hasher: PasswordHasher;
  private readonly rounds: number;
  private running = 0;
  private readonly waiting: { start: () => void; cancel: (err: Error) => void }[] = [];
  private cancelled: Error | null = null;

  constructor(options: HashQueueOptions) {
    this.hasher = options.hasher ?? bcryptHasher;
    this.rounds = options.rounds;
    this.concurrency = Math.max(1, options.concurrency ?? availableParallelism());
  }

  /** Hash a (validated) password at the queue's cost. */
  hash(password: string): Promise<PasswordHash> {
    return this.run(() => this.hasher.hash(password, this.rounds));
  }

  /** Check a password against a stored hash (false for a mismatch or an unusable hash). */
  verify(password: string, stored: Buffer | string): Promise<boolean> {
    return this.run(() => this.hasher.verify(password, stored));
  }

  /**
   * Start no more jobs: those waiting for a slot, and any asked for later, fail with `reason`.
   * Jobs already on the pool run to their end (bcrypt cannot be stopped half-way).
   */
  cancel(reason: Error = new Error('hashing cancelled')): void {
    this.cancelled ??= reason;
    for (const w of this.waiting.splice(0)) w.cancel(this.cancelled);
  }

  private async run<T>(job: () => Promise<T>): Promise<T> {
    if (this.cancelled) throw this.cancelled;
    if (this.running >= this.concurrency) await new Promise<void>((start, cancel) => this.waiting.push({ start, cancel }));
    else this.running += 1;
    try {
      return await job();
    } finally {
      // Hand the slot straight to the next job (running stays the same) or free it.
      const next = this.waiting.shift();
      if (next) next.start();
      else this.running -= 1;
    }
  }
}
