/**
 * The plain-TensorFlow.js baselines alone: each model as a tfjs user writes
 * it, in a child process with none of paragen's kernels, on wasm and on cpu.
 *
 *   npm run bench:baselines [-- --models vae-mlp,dcgan --seconds 40 --json]
 *
 * The DCGAN fails on wasm (tfjs registers no Conv2DBackpropFilter there); on
 * cpu it trains at batch 8 for at most --slow-seconds.
 */
import { parseArgs } from 'node:util';
import { runBaseline } from '../src/bench/baseline.js';
import { FULL_BUDGET } from '../src/bench/budget.js';
import { loadDataset } from '../src/data/index.js';
import { modelFamily, type ModelName } from '../src/domain.js';

const { values } = parseArgs({
  options: {
    models: { type: 'string', default: 'vae-mlp,dcgan' },
    seconds: { type: 'string', default: String(FULL_BUDGET.baseline.maxSeconds) },
    'slow-seconds': { type: 'string', default: String(FULL_BUDGET.slowBaseline.maxSeconds) },
    json: { type: 'boolean', default: false },
  },
});
const train = loadDataset('mnist').train;
const images = (train.images as Uint8Array).slice(0, 8192 * 784);
const rows = [];
for (const model of values.models.split(',') as ModelName[]) {
  for (const backend of ['wasm', 'cpu'] as const) {
    const slow = backend === 'cpu' && modelFamily(model) === 'gan';
    const budget = slow
      ? { ...FULL_BUDGET.slowBaseline, maxSeconds: Number(values['slow-seconds']) }
      : { ...FULL_BUDGET.baseline, maxSeconds: Number(values.seconds) };
    const batchSize = slow ? FULL_BUDGET.slowBatchSize : modelFamily(model) === 'gan' ? 64 : 128;
    const r = await runBaseline({ model, backend, batchSize, budget, images, seed: 0 });
    const t = r.throughput;
    const rate = t.windows.length > 0 ? t.samplesPerSec : t.overallSamplesPerSec;
    rows.push({ model, backend, batchSize, status: r.status, samplesPerSec: t.steps > 0 ? rate : null, steps: t.steps, message: r.message });
    if (!values.json) {
      const figure = r.status === 'failed' ? `failed: ${r.message}` : t.steps === 0 ? `no step in ${budget.maxSeconds} s` : `${rate.toFixed(2)} samples/s (${t.steps} steps)`;
      console.log(`${model.padEnd(12)} ${backend.padEnd(5)} batch ${String(batchSize).padStart(3)}  ${figure}`);
    }
  }
}
if (values.json) console.log(JSON.stringify(rows, null, 2));
