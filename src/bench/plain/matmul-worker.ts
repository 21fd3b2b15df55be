/**
 * A matMul peak worker: its own TensorFlow.js and wasm instance (a worker
 * thread has its own module graph), plain tfjs, no paragen kernels. It warms
 * up, says ready, and on `go` multiplies 512×512 matrices for the given time —
 * every worker at once, so that N workers measure what N cores do together.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { PeakReply, PeakRequest } from './protocol.js';

export const SIZE = 512;

const port = parentPort!;

function reply(message: PeakReply): void {
  port.postMessage(message);
}

/** `seconds` of back-to-back products; wasm kernels run synchronously, so each call is done when it returns. */
function multiply(a: tf.Tensor2D, b: tf.Tensor2D, seconds: number): { multiplies: number; seconds: number } {
  const start = performance.now();
  let multiplies = 0;
  let now = start;
  while (now - start < seconds * 1000) {
    tf.matMul(a, b).dispose();
    multiplies++;
    now = performance.now();
  }
  return { multiplies, seconds: (now - start) / 1000 };
}

async function main(): Promise<void> {
  tf.env().set('PROD', true);
  if (!(await tf.setBackend('wasm'))) throw new Error('backend wasm failed to initialise');
  const a = tf.randomNormal([SIZE, SIZE], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([SIZE, SIZE], 0, 1, 'float32', 2) as tf.Tensor2D;
  multiply(a, b, 0.2);
  port.on('message', (message: PeakRequest) => {
    reply({ type: 'done', ...multiply(a, b, message.seconds) });
  });
  reply({ type: 'ready' });
}

main().catch((error: unknown) => reply({ type: 'error', message: error instanceof Error ? error.message : String(error) }));
