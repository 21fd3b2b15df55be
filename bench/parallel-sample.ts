/**
 * Parallel prediction: `paragen sample --workers N` — images/s for each N, and
 * a check that every N draws the same images.
 *
 *   npm run bench:sample-workers [-- --model dcgan --n 10000 --workers 1,2 --json]
 *
 * The run is a fresh one written to a temporary folder (seeded weights as a
 * checkpoint, as the trainer writes them): generation costs the same for
 * trained and untrained weights. Each figure is n ÷ the wall time of
 * `sample()`, loading the checkpoint and starting the threads included.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { cpuMark, otherLoad } from '../src/bench/load.js';
import { useBackend } from '../src/backend/index.js';
import { sample } from '../src/eval/sample.js';
import { writeUntrainedRun } from './untrained-run.js';
import type { ModelName } from '../src/domain.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'dcgan' },
    n: { type: 'string', default: '10000' },
    workers: { type: 'string', default: '1,2' },
    json: { type: 'boolean', default: false },
  },
});
const model = values.model as ModelName;
const n = Number(values.n);


const root = await mkdtemp(join(tmpdir(), 'paragen-sample-bench-'));
try {
  await useBackend('wasm');
  const run = join(root, 'run');
  await writeUntrainedRun(run, model);
  const rows: { workers: number; seconds: number; imagesPerSec: number; identical: boolean; otherCpu: number | null }[] = [];
  let reference: Float32Array | undefined;
  for (const workers of values.workers.split(',').map(Number)) {
    const t0 = performance.now();
    const from = cpuMark();
    const { images } = await sample({ run, n, seed: 7, workers, backend: 'wasm' });
    const seconds = (performance.now() - t0) / 1000;
    // Other processes' CPU meanwhile (Linux): on 2 cores, a busy neighbour halves what 2 workers can do.
    const otherCpu = otherLoad(from, cpuMark()) ?? null;
    reference ??= images;
    const identical = images.length === reference.length && images.every((v, i) => v === reference![i]);
    rows.push({ workers, seconds, imagesPerSec: n / seconds, identical, otherCpu });
  }
  if (values.json) {
    console.log(JSON.stringify({ model, n, rows }, null, 2));
  } else {
    console.log(`paragen sample: ${n} images from ${model}, wasm, Node ${process.version}`);
    for (const r of rows) {
      console.log(
        `${String(r.workers).padStart(2)} worker${r.workers === 1 ? ' ' : 's'}  ${r.seconds.toFixed(2).padStart(7)} s  ` +
          `${r.imagesPerSec.toFixed(0).padStart(6)} images/s  ${r.identical ? 'same images as the first row' : 'DIFFERENT images'}` +
          (r.otherCpu === null ? '' : `  (other processes: ${r.otherCpu.toFixed(2)} cores)`),
      );
    }
  }
  if (rows.some((r) => !r.identical)) process.exitCode = 1;
} finally {
  await rm(root, { recursive: true, force: true });
}
