/**
 * The machine's wasm matMul peak: 512×512 products in N worker threads at
 * once, each its own wasm instance (tfjs disables wasm threads under Node, so
 * workers are how paragen uses cores). It is the ceiling each bench row's
 * FLOP utilisation is measured against, taken in the same run as the rows.
 */
import { TaskPool } from '../actor/index.js';
import { errors } from '../errors.js';
import type { PeakDone, PeakTask } from './plain/protocol.js';

/** One worker count's figure. */
export interface PeakPoint {
  readonly workers: number;
  /** All workers together. */
  readonly gflops: number;
  /** Each worker's own figure. */
  readonly perWorker: readonly number[];
}

const SIZE = 512;
const FLOP_PER_MULTIPLY = 2 * SIZE * SIZE * SIZE;

/**
 * GFLOP/s of wasm `matMul` 512×512 for each count in `counts`: that many
 * threads of a task pool multiplying at the same time for `seconds`, best of
 * `repeats` (a peak is what the cores can do; a neighbour's burst only lowers a try).
 *
 * @example
 * const [one, two] = await measurePeak([1, 2], 1); // e.g. 44 and 78 GFLOP/s on 2 cores
 */
export async function measurePeak(counts: readonly number[], seconds: number, repeats = 3): Promise<PeakPoint[]> {
  const max = Math.max(...counts);
  const pool = new TaskPool(import.meta.url, './plain/matmul-worker.js', { threads: max });
  try {
    // One task per thread at a time and one thread per task: `max` tasks at once warm every thread.
    await Promise.all(Array.from({ length: max }, () => pool.run('warm', undefined).catch(fail)));
    const points: PeakPoint[] = [];
    for (const count of [...new Set(counts)].sort((a, b) => a - b)) {
      let best: PeakPoint | undefined;
      for (let r = 0; r < repeats; r++) {
        const point = await together(pool, count, seconds);
        if (!best || point.gflops > best.gflops) best = point;
      }
      points.push(best!);
    }
    return points;
  } finally {
    await pool.close();
  }
}

/** One try: `count` threads multiply for `seconds`, all at once. */
async function together(pool: TaskPool, count: number, seconds: number): Promise<PeakPoint> {
  const replies = await Promise.all(
    Array.from({ length: count }, () => pool.run<PeakTask, PeakDone>('multiply', { seconds }).catch(fail)),
  );
  const perWorker = replies.map((r) => (r.multiplies * FLOP_PER_MULTIPLY) / r.seconds / 1e9);
  return { workers: count, gflops: perWorker.reduce((a, b) => a + b, 0), perWorker };
}

function fail(error: unknown): never {
  throw errors.internal(`matMul peak worker: ${error instanceof Error ? error.message : String(error)}`, error);
}
