/**
 * The runtime's pool of stateless tasks: a fixed set of worker threads, each
 * with its own module graph (its own TensorFlow.js and wasm instance), that
 * run the named exports of one task module. Sample grids, `paragen sample
 * --workers`, the bench's matMul peak and its plain-tfjs baselines run on
 * it; actors live on their own hosts (thread-host.ts), built on the same piscina.
 */
import type { Transferable } from 'node:worker_threads';
import { Piscina } from 'piscina';
import { errors } from '../errors.js';
import { workerEntry } from './entry.js';

export interface TaskPoolOptions<D> {
  /** Threads, fixed for the pool's life. */
  readonly threads: number;
  /** Handed to every thread as `workerData`. */
  readonly workerData?: D;
  /** Tasks one thread runs at once (default 1: a wasm instance computes one thing after another anyway). */
  readonly concurrentTasksPerThread?: number;
}

export class TaskPool<D = unknown> {
  readonly threads: number;
  readonly #pool: Piscina;

  /** A pool over the task module `relative` (with a `.js` extension) beside the module `base` (an `import.meta.url`). */
  constructor(base: string, relative: string, options: TaskPoolOptions<D>) {
    const { threads } = options;
    if (!Number.isSafeInteger(threads) || threads < 1) throw errors.invalidValue('workers', 'a positive integer', threads);
    this.threads = threads;
    this.#pool = new Piscina({
      filename: workerEntry(base, relative),
      workerData: options.workerData,
      minThreads: threads,
      maxThreads: threads,
      concurrentTasksPerWorker: options.concurrentTasksPerThread ?? 1,
      idleTimeout: 60_000,
    });
  }

  /**
   * Runs the task module's export `name` on `task` in a free thread; rejects
   * with its error, or when its thread dies. `transferList` moves buffers or
   * ports to the thread; aborting `signal` ends the thread, task and all.
   */
  run<T, R>(name: string, task: T, options: { readonly transferList?: readonly Transferable[]; readonly signal?: AbortSignal } = {}): Promise<R> {
    return this.#pool.run(task, {
      name,
      ...(options.transferList ? { transferList: [...options.transferList] as never } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    }) as Promise<R>;
  }

  /**
   * Runs export `name` of another task module (`base` and `relative` as for
   * the constructor) on one of these threads: work that shares a pool without
   * sharing its module.
   */
  runIn<T, R>(base: string, relative: string, name: string, task: T): Promise<R> {
    return this.#pool.run(task, { filename: workerEntry(base, relative), name }) as Promise<R>;
  }

  /** Waits for the tasks in flight, then ends the threads. */
  close(): Promise<void> {
    return this.#pool.close();
  }
}
