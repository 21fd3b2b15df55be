/**
 * Tensor count across a long run: `npm run bench:leak [-- --model dcgan-small --steps 1000]`.
 *
 * Trains with the `single` strategy (every network on one worker thread, so
 * one `tf.memory()` there sees them all) and prints that thread's tensor
 * count and bytes at steps 10, 100, then every 250; the count must not move.
 */
import { parseArgs } from 'node:util';
import { loadDataset } from '../src/data/index.js';
import { ActorEngine } from '../src/parallel/index.js';
import { parseConfig } from '../src/run/config.js';

const { values } = parseArgs({
  options: { model: { type: 'string', default: 'vae-mlp' }, steps: { type: 'string', default: '1000' } },
});
const config = parseConfig({ model: values.model, steps: Number(values.steps), backend: 'wasm', strategy: 'single' });
const engine = await ActorEngine.create(config, loadDataset(config.dataset));
const counts: number[] = [];
for (let step = 1; step <= config.steps!; step++) {
  await engine.step();
  if (step === 10 || step === 100 || step % 250 === 0) {
    // Every actor of `single` shares worker 0's TensorFlow.js: any one of them reports the thread's count.
    const [{ tensors, bytes }] = Object.values(await engine.memory());
    counts.push(tensors);
    console.log(`step ${String(step).padStart(5)}: ${tensors} tensors, ${(bytes / 2 ** 20).toFixed(1)} MiB`);
  }
}
await engine.close();
console.log(new Set(counts).size === 1 ? `flat: ${counts[0]} tensors throughout` : `NOT FLAT: ${counts.join(', ')}`);
process.exitCode = new Set(counts).size === 1 ? 0 : 1;
