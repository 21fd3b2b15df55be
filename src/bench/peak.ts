/**
 * The machine's wasm matMul peak: 512×512 products in N worker threads at
 * once, each its own wasm instance (tfjs disables wasm threads under Node, so
 * workers are how paragen uses cores). It is the ceiling each bench row's
 * FLOP utilisation is measured against, taken in the same run as the rows.
 */
import { Worker } from 'node:worker_threads';
import { errors } from '../errors.js';
import { benchEntry } from './entry.js';
import type { PeakReply, PeakRequest } from './plain/protocol.js';

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
 * workers multiplying at the same time for `seconds`, best of `repeats`
 * (a peak is what the cores can do; a neighbour's burst only lowers a try).
 *
 * @example
 * const [one, two] = await measurePeak([1, 2], 1); // e.g. 44 and 78 GFLOP/s on 2 cores
 */
export async function measurePeak(counts: readonly number[], seconds: number, repeats = 3): Promise<PeakPoint[]> {
  const max = Math.max(...counts);
  const file = benchEntry('plain/matmul-worker.js');
  const workers = Array.from({ length: max }, () => new Worker(file));
  try {
    await Promise.all(workers.map((w) => next(w)));
    const points: PeakPoint[] = [];
    for (const count of [...new Set(counts)].sort((a, b) => a - b)) {
      let best: PeakPoint | undefined;
      for (let r = 0; r < repeats; r++) {
        const point = await together(workers.slice(0, count), seconds);
        if (!best || point.gflops > best.gflops) best = point;
      }
      points.push(best!);
    }
    return points;
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

/** One try: every worker of `team` multiplies for `seconds`, all at once. */
async function together(team: readonly Worker[], seconds: number): Promise<PeakPoint> {
  const replies = await Promise.all(
    team.map((w) => {
      const reply = next(w);
      w.postMessage({ type: 'go', seconds } satisfies PeakRequest);
      return reply;
    }),
  );
  const perWorker = replies.map((r) => (r.type === 'done' ? (r.multiplies * FLOP_PER_MULTIPLY) / r.seconds / 1e9 : 0));
  return { workers: team.length, gflops: perWorker.reduce((a, b) => a + b, 0), perWorker };
}

/** The worker's next reply; its error or death rejects. */
function next(worker: Worker): Promise<PeakReply> {
  return new Promise((resolve, reject) => {
    const cleanup = () => {
      worker.off('message', onMessage);
      worker.off('error', onError);
    };
    const onMessage = (message: PeakReply) => {
      cleanup();
      if (message.type === 'error') reject(errors.internal(`matMul peak worker: ${message.message}`));
      else resolve(message);
    };
    const onError = (error: Error) => {
      cleanup();
      reject(errors.internal(`matMul peak worker died: ${error.message}`, error));
    };
    worker.on('message', onMessage);
    worker.on('error', onError);
  });
}
