/**
 * Tensor count across a long run: `npm run bench:leak [-- --model dcgan-small --steps 1000]`.
 *
 * Trains in-process (LocalEngine, every network in this thread, so one
 * `tf.memory()` sees them all) and prints the tensor count and wasm-heap
 * bytes at steps 10, 100, then every 250; the count must not move.
 */
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs';
import { useBackend } from '../src/backend/index.js';
import { loadDataset } from '../src/data/index.js';
import { LocalEngine } from '../src/parallel/local.js';
import { parseConfig } from '../src/run/config.js';

const { values } = parseArgs({
  options: { model: { type: 'string', default: 'vae-mlp' }, steps: { type: 'string', default: '1000' } },
});
const config = parseConfig({ model: values.model, steps: Number(values.steps), backend: 'wasm' });
await useBackend('wasm');
const engine = new LocalEngine(config, loadDataset(config.dataset));
const counts: number[] = [];
for (let step = 1; step <= config.steps!; step++) {
  await engine.step();
  if (step === 10 || step === 100 || step % 250 === 0) {
    const { numTensors, numBytes } = tf.memory();
    counts.push(numTensors);
    console.log(`step ${String(step).padStart(5)}: ${numTensors} tensors, ${(numBytes / 2 ** 20).toFixed(1)} MiB`);
  }
}
await engine.close();
console.log(new Set(counts).size === 1 ? `flat: ${counts[0]} tensors throughout` : `NOT FLAT: ${counts.join(', ')}`);
process.exitCode = new Set(counts).size === 1 ? 0 : 1;
