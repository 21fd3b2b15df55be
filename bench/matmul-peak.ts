/**
 * The machine's wasm matMul peak alone: 512×512 products in 1, 2, … worker
 * threads at once, each its own wasm instance — the ceiling `paragen bench`
 * measures each row's FLOP utilisation against.
 *
 *   npm run bench:peak [-- --workers 1,2,3,4 --seconds 2 --repeats 3 --json]
 */
import { parseArgs } from 'node:util';
import { measurePeak } from '../src/bench/peak.js';

const { values } = parseArgs({
  options: {
    workers: { type: 'string', default: '1,2' },
    seconds: { type: 'string', default: '2' },
    repeats: { type: 'string', default: '3' },
    json: { type: 'boolean', default: false },
  },
});
const counts = values.workers.split(',').map(Number);
const points = await measurePeak(counts, Number(values.seconds), Number(values.repeats));
if (values.json) {
  console.log(JSON.stringify(points, null, 2));
} else {
  console.log(`wasm matMul 512×512, best of ${values.repeats} × ${values.seconds} s`);
  for (const p of points) {
    console.log(`${String(p.workers).padStart(2)} worker${p.workers === 1 ? ' ' : 's'}  ${p.gflops.toFixed(1).padStart(6)} GFLOP/s  (${p.perWorker.map((g) => g.toFixed(1)).join(', ')})`);
  }
}
