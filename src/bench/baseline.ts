/**
 * Runs a plain-tfjs baseline as a task on a one-thread task pool of its own
 * (plain/baseline-child.ts) and times its steps with the same windows as
 * paragen's rows. The thread has its own module graph: it loads nothing of
 * paragen, so paragen's wasm kernels are not registered there; a step that
 * runs past the time bound is ended by ending the thread.
 */
import { MessageChannel } from 'node:worker_threads';
import { TaskPool } from '../actor/index.js';
import { WindowMeter, type Throughput, type WindowBudget } from './measure.js';
import type { BaselineJob, BaselineTask, ChildMessage, ParentMessage } from './plain/protocol.js';

export interface BaselineRequest {
  readonly model: string;
  readonly backend: 'wasm' | 'cpu';
  readonly batchSize: number;
  readonly budget: WindowBudget;
  /** uint8 MNIST training images, [count, 28, 28]. */
  readonly images: Uint8Array;
  readonly seed: number;
}

export interface BaselineOutcome {
  /** `failed`: the child reported an error or died; `message` has it. */
  readonly status: 'ok' | 'partial' | 'failed';
  readonly throughput: Throughput;
  readonly message: string;
  /** Kernels registered for the backend in the child. */
  readonly kernels: readonly string[];
  /** The tfjs backend the child ran on. */
  readonly backend: string;
  /** CPU seconds the baseline's thread used, as of its last step. */
  readonly cpuSeconds: number;
}

/** Seconds a task may take past its bound to stop on its own before its thread is ended. */
const GRACE_SECONDS = 1;
/** Seconds the task has to start (import tfjs, initialise wasm) before it counts as failed. */
const START_SECONDS = 60;

/**
 * Trains `request.model` with plain tfjs on a pool thread until the budget's
 * windows close or its `maxSeconds` pass (then the thread is ended mid-step,
 * and the windows closed so far are the result).
 *
 * @example
 * const r = await runBaseline({ model: 'dcgan', backend: 'wasm', batchSize: 64, budget, images, seed: 0 });
 * r.status; // 'failed'
 * r.message; // "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'"
 */
export async function runBaseline(request: BaselineRequest): Promise<BaselineOutcome> {
  const pool = new TaskPool(import.meta.url, './plain/baseline-child.js', { threads: 1 });
  const { port1: port, port2 } = new MessageChannel();
  const abort = new AbortController();
  const { model, backend, batchSize, images, seed, budget } = request;
  const job: BaselineJob = { model, backend, batchSize, images, count: images.length / 784, seed };
  let meter: WindowMeter | undefined;
  let error: string | undefined;
  let ready: { kernels: readonly string[]; backend: string } = { kernels: [], backend };
  let cpuSeconds = 0;
  const fail = (message: string) => {
    error ??= message;
    abort.abort();
  };
  let timer = setTimeout(() => fail(`did not start within ${START_SECONDS} s`), START_SECONDS * 1000);
  port.on('message', (message: ChildMessage) => {
    switch (message.type) {
      case 'ready':
        ready = { kernels: message.kernels, backend: message.backend };
        meter = new WindowMeter(budget, message.at);
        clearTimeout(timer);
        // The bound holds even for a step that never ends.
        timer = setTimeout(() => {
          meter!.stop();
          abort.abort();
        }, (budget.maxSeconds + GRACE_SECONDS) * 1000);
        break;
      case 'step':
        cpuSeconds = message.cpu;
        meter?.record(message.at, batchSize);
        if (meter?.done) port.postMessage({ type: 'stop' } satisfies ParentMessage);
        break;
      case 'error':
        error ??= message.message;
        break;
    }
  });
  const task: BaselineTask = { job, port: port2 };
  try {
    await pool.run<BaselineTask, void>('baseline', task, { transferList: [port2], signal: abort.signal });
  } catch (cause) {
    // Ended by the bound (or the start timeout): the windows closed so far are the result.
    if (!abort.signal.aborted) error ??= `baseline thread died: ${cause instanceof Error ? cause.message : String(cause)}`;
  } finally {
    clearTimeout(timer);
    await pool.close().catch(() => undefined);
  }
  // Messages the task posted before it resolved arrive before the port is closed.
  await new Promise<void>((resolve) => setImmediate(resolve));
  port.close();
  meter?.stop();
  const throughput = (meter ?? new WindowMeter(budget, 0)).result();
  if (error === undefined && meter === undefined) error = 'baseline thread ended before it was ready';
  const status = error !== undefined ? 'failed' : throughput.truncated ? 'partial' : 'ok';
  return { status, throughput, message: error ?? '', kernels: ready.kernels, backend: ready.backend, cpuSeconds };
}
