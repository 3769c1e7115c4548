/**
 * The worker threads of `token verify --batch`: each builds its own verifier over the keys the main
 * thread read (token-verify-worker.ts) and turns batches of lines into
 * their JSON lines. A batch goes to the started worker with the fewest in flight, while one has
 * fewer than BATCHES_PER_THREAD; results come back by sequence number and the caller
 * (token-batch.ts) writes them in input order, verifying batches itself when no worker has room.
 * A worker that fails fails every batch in flight, and every later one, so the command ends with
 * an error rather than waiting forever; `close` terminates every worker (also on Ctrl-C / SIGTERM
 * / SIGHUP, through the runtime's cleanups).
 */
import { Worker } from 'node:worker_threads';
import type { ImportedJwks } from '../core/keys/jwks.js';
import type { VerifyingKeyRow } from '../core/keys/key-queries.js';
import type { VerifyOptions } from '../core/tokens/verify-checks.js';
import { BATCHES_PER_THREAD, type BatchResult, type BatchRunner, type LineBatch } from './token-batch.js';

/**
 * What each worker is started with: plain data (structured-cloned; CryptoKeys clone). The keys:
 * a JWKS's, imported (`--jwks`), or the keystore's public sides and states, as read once.
 */
export interface VerifyWorkerData {
  keys: { jwks: ImportedJwks } | { keystore: VerifyingKeyRow[] };
  options: Omit<VerifyOptions, 'now'>;
}

/** A worker's message: ready for work, or a batch's result. */
export type WorkerReply = { ready: true } | { seq: number; output: Uint8Array; failed: number } | { seq: number; error: string };

interface Pending {
  resolve: (r: BatchResult) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  ready: boolean;
  inFlight: Map<number, Pending>;
}

export class VerifyPool implements BatchRunner {
  readonly threads: number;
  private readonly slots: Slot[];
  private seq = 0;
  private closed = false;
  private broken: Error | null = null;

  constructor(threads: number, data: VerifyWorkerData) {
    this.threads = threads;
    const url = new URL('./token-verify-worker.js', import.meta.url);
    this.slots = Array.from({ length: threads }, () => this.startWorker(url, data));
  }

  /** True when a started worker has fewer than BATCHES_PER_THREAD in flight (or the pool has failed: `run` says so). */
  get hasRoom(): boolean {
    return this.broken !== null || this.slots.some((s) => s.ready && s.inFlight.size < BATCHES_PER_THREAD);
  }

  run(batch: LineBatch): Promise<BatchResult> {
    if (this.broken) return Promise.reject(this.broken);
    let slot: Slot | null = null;
    for (const s of this.slots) if (s.ready && (slot === null || s.inFlight.size < slot.inFlight.size)) slot = s;
    if (slot === null) return Promise.reject(new Error('token verify: no worker is ready'));
    const seq = (this.seq += 1);
    const target = slot;
    return new Promise((resolve, reject) => {
      target.inFlight.set(seq, { resolve, reject });
      target.worker.postMessage({ seq, batch }, [batch.data.buffer as ArrayBuffer, batch.ends.buffer as ArrayBuffer]);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all(this.slots.map((s) => s.worker.terminate()));
  }

  private startWorker(url: URL, data: VerifyWorkerData): Slot {
    const slot: Slot = { worker: new Worker(url, { workerData: data }), ready: false, inFlight: new Map() };
    const fail = (err: Error) => {
      if (this.closed) return;
      this.broken ??= err;
      for (const s of this.slots) {
        for (const pending of s.inFlight.values()) pending.reject(this.broken);
        s.inFlight.clear();
      }
    };
    slot.worker.on('message', (reply: WorkerReply) => {
      if ('ready' in reply) {
        slot.ready = true;
        return;
      }
      const pending = slot.inFlight.get(reply.seq);
      if (!pending) return;
      slot.inFlight.delete(reply.seq);
      if ('error' in reply) pending.reject(new Error(`token verify worker: ${reply.error}`));
      else pending.resolve({ output: reply.output, failed: reply.failed });
    });
    slot.worker.on('error', (err) => fail(err));
    slot.worker.on('exit', (code) => fail(new Error(`token verify worker stopped (exit ${code})`)));
    return slot;
  }
}
