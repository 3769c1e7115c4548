/**
 * A worker thread of `token verify --batch` (token-verify-pool.ts): verifies the batches of lines
 * it is sent with its own verifier over the keys it was handed, and sends back each batch's
 * JSON lines as UTF-8 bytes (transferred, not copied), ready to be written. It loads no jose
 * unless a token needs the reference path (any token not found valid at once).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { importedJwksResolver } from '../core/keys/jwks.js';
import { verifyingKeysResolver } from '../core/keys/key-queries.js';
import { TokenVerifier } from '../core/tokens/token-verifier.js';
import { verifyBatch, type LineBatch } from './token-batch.js';
import type { VerifyWorkerData, WorkerReply } from './token-verify-pool.js';

const data = workerData as VerifyWorkerData;
const keys = data.keys;
const resolver = 'jwks' in keys ? importedJwksResolver(keys.jwks) : verifyingKeysResolver(keys.keystore, () => new Date());
const verifier = new TokenVerifier(resolver, data.options);
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
