/**
 * A worker thread of `token verify --batch --jwks` (token-verify-pool.ts): verifies the batches of
 * lines it is sent with its own verifier over the keys it was handed, and sends back each batch's
 * JSON lines as UTF-8 bytes (transferred, not copied), ready to be written. It loads no jose
 * unless a token needs the reference path (any token not found valid at once).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { importedJwksResolver } from '../core/keys/jwks.js';
import { TokenVerifier } from '../core/tokens/token-verifier.js';
import { verifyBatch, type LineBatch } from './token-batch.js';
import type { VerifyWorkerData, WorkerReply } from './token-verify-pool.js';

const data = workerData as VerifyWorkerData;
const verifier = new TokenVerifier(importedJwksResolver(data.keys), data.options);
const encoder = new TextEncoder();
const port = parentPort;

function reply(message: WorkerReply, transfer: ArrayBuffer[] = []): void {
  port?.postMessage(message, transfer);
}

port?.on('message', (message: { seq: number; batch: LineBatch }) => {
  verifyBatch(message.batch, verifier).then(
    ({ output, failed }) => {
      const bytes = encoder.encode(output);
      reply({ seq: message.seq, output: bytes, failed }, [bytes.buffer as ArrayBuffer]);
    },
    (err: unknown) => reply({ seq: message.seq, error: err instanceof Error ? err.message : String(err) }),
  );
});
reply({ ready: true });
