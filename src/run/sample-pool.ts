/**
 * Sampling as pool tasks (task parallelism and parallel prediction): the
 * runtime's task pool, whose threads each rebuild the image network from its
 * weights and draw images (sample-worker.ts).
 *
 * - `paragen sample --workers N`: the images are cut into N slices of whole
 *   256-image batches, one task per thread, and come back in order — the
 *   same images as one thread draws.
 * - Training with `--sample-every`: each grid is a task on a one-thread pool,
 *   so the training actors never stop for it.
 */
import { TaskPool } from '../actor/index.js';
import type { BackendChoice } from '../domain.js';
import { errors } from '../errors.js';
import { SAMPLE_BATCH, type GenerateTask, type GridTask, type SampleWorkerData } from './sample-worker.js';

/** What both kinds of task are given. */
export interface SampleSource {
  readonly model: string;
  /** The image network's weights (`NetworkPart.getWeights()` order). */
  readonly weights: readonly Float32Array[];
  readonly backend: BackendChoice;
}

/**
 * `n` images as `workers` slices of whole batches, as even as the batches allow:
 * `[start, count]` pairs, in order, none empty.
 */
export function slices(n: number, workers: number, batch = SAMPLE_BATCH): [number, number][] {
  if (!Number.isSafeInteger(n) || n < 1) throw errors.invalidValue('n', 'a positive integer', n);
  if (!Number.isSafeInteger(workers) || workers < 1) throw errors.invalidValue('workers', 'a positive integer', workers);
  const batches = Math.ceil(n / batch);
  const parts = Math.min(workers, batches);
  const out: [number, number][] = [];
  let first = 0;
  for (let i = 0; i < parts; i++) {
    const take = Math.floor(batches / parts) + (i < batches % parts ? 1 : 0);
    const start = first * batch;
    out.push([start, Math.min(n, (first + take) * batch) - start]);
    first += take;
  }
  return out;
}

export class SamplePool {
  readonly threads: number;
  readonly #pool: TaskPool<SampleWorkerData>;

  /**
   * `background`: the threads run at the lowest priority (Linux), taking only
   * the CPU that training leaves — for grids during a run, not for
   * `paragen sample`, where generating is the job.
   */
  constructor(threads: number, options: { readonly background?: boolean } = {}) {
    this.#pool = new TaskPool(import.meta.url, './sample-worker.js', { threads, workerData: { background: options.background ?? false } });
    this.threads = threads;
  }

  /** `n` images from `seed` split across the pool's threads, in order: `sampleImages`' images exactly. */
  async generate(source: SampleSource, n: number, seed: number): Promise<Float32Array> {
    const parts = slices(n, this.threads);
    const results = await Promise.all(
      parts.map(([start, count]) => {
        const task: GenerateTask = { ...source, seed, start, count };
        return this.#pool.run<GenerateTask, Float32Array>('generate', task);
      }),
    );
    if (results.length === 1) return results[0]!;
    const out = new Float32Array(results.reduce((a, r) => a + r.length, 0));
    let offset = 0;
    for (const r of results) {
      out.set(r, offset);
      offset += r.length;
    }
    return out;
  }

  /** Writes a grid of the first `n` images of `seed` to `path` on a pool thread; resolves with the path. */
  grid(source: SampleSource, n: number, seed: number, path: string): Promise<string> {
    const task: GridTask = { ...source, seed, count: n, path };
    return this.#pool.run<GridTask, string>('grid', task);
  }

  /**
   * Runs export `name` of another worker module (`base` and `relative` as for
   * `workerEntry`) on one of these threads: the server's batched tasks
   * (src/serve/serve-worker.ts) share this pool rather than start their own.
   */
  runTask<R>(base: string, relative: string, name: string, task: unknown): Promise<R> {
    return this.#pool.runIn<unknown, R>(base, relative, name, task);
  }

  /** Waits for the tasks in flight, then ends the threads. */
  close(): Promise<void> {
    return this.#pool.close();
  }
}
