/**
 * The matMul peak's task module (a task pool's thread): its own TensorFlow.js
 * and wasm instance (a worker thread has its own module graph), plain tfjs,
 * no paragen kernels. `warm` sets the thread up once; `multiply` multiplies
 * 512×512 matrices for the given time — every thread at once, so that N
 * threads measure what N cores do together.
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import type { PeakDone, PeakTask } from './protocol.js';

export const SIZE = 512;

let operands: Promise<readonly [tf.Tensor2D, tf.Tensor2D]> | undefined;

async function setUp(): Promise<readonly [tf.Tensor2D, tf.Tensor2D]> {
  tf.env().set('PROD', true);
  if (!(await tf.setBackend('wasm'))) throw new Error('backend wasm failed to initialise');
  const a = tf.randomNormal([SIZE, SIZE], 0, 1, 'float32', 1) as tf.Tensor2D;
  const b = tf.randomNormal([SIZE, SIZE], 0, 1, 'float32', 2) as tf.Tensor2D;
  run(a, b, 0.2);
  return [a, b];
}

/** `seconds` of back-to-back products; wasm kernels run synchronously, so each call is done when it returns. */
function run(a: tf.Tensor2D, b: tf.Tensor2D, seconds: number): PeakDone {
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

/** Loads the backend and warms the kernel up (once per thread). */
export async function warm(): Promise<void> {
  await (operands ??= setUp());
}

export async function multiply(task: PeakTask): Promise<PeakDone> {
  const [a, b] = await (operands ??= setUp());
  return run(a, b, task.seconds);
}
