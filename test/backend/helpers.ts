import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/rng.js';

/** Deterministic test data: uniform in [-0.5, 0.5). */
export function data(shape: readonly number[], seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < out.length; i++) out[i] = rng.next() - 0.5;
  return out;
}

/**
 * Runs `f` on the cpu backend and on wasm, returning both results as arrays.
 * `f` builds its tensors from plain arrays, so each backend gets its own copy.
 */
export async function onBoth(f: () => tf.Tensor | tf.Tensor[]): Promise<{ cpu: Float32Array[]; wasm: Float32Array[] }> {
  const runOn = async (name: string) => {
    await tf.setBackend(name);
    const out = tf.tidy(f);
    const list = Array.isArray(out) ? out : [out];
    const arrays = list.map((t) => t.dataSync() as Float32Array);
    tf.dispose(list);
    return arrays;
  };
  const cpu = await runOn('cpu');
  const wasm = await runOn('wasm');
  return { cpu, wasm };
}

/** max |a − b| / max |a|: the error measure the kernel tests bound by 1e-4. */
export function relativeError(reference: Float32Array, actual: Float32Array): number {
  if (reference.length !== actual.length) return Infinity;
  let diff = 0;
  let scale = 0;
  for (let i = 0; i < reference.length; i++) {
    diff = Math.max(diff, Math.abs(reference[i]! - actual[i]!));
    scale = Math.max(scale, Math.abs(reference[i]!));
  }
  return scale === 0 ? diff : diff / scale;
}
