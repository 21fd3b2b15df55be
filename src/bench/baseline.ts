/**
 * Runs a plain-tfjs baseline in a child process of its own (plain/baseline-child.ts)
 * and times its steps with the same windows as paragen's rows. A child
 * process, not a worker thread of this one: it loads nothing of paragen, so
 * paragen's wasm kernels cannot be registered there, and a step that runs
 * past the time bound is ended by killing the process.
 */
import { fork } from 'node:child_process';
import { benchEntry } from './entry.js';
import { processCpu } from './load.js';
import { WindowMeter, type Throughput, type WindowBudget } from './measure.js';
import type { BaselineJob, ChildMessage, ParentMessage } from './plain/protocol.js';

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
  /** CPU seconds the child used, as of its last step. */
  readonly cpuSeconds: number;
}

/** Seconds a child may take past its bound to stop on its own before it is killed. */
const GRACE_SECONDS = 1;
/** Seconds the child has to start (import tfjs, initialise wasm) before it counts as failed. */
const START_SECONDS = 60;

/**
 * Trains `request.model` with plain tfjs in a child process until the
 * budget's windows close or its `maxSeconds` pass (then the child is killed
 * mid-step, and the windows closed so far are the result).
 *
 * @example
 * const r = await runBaseline({ model: 'dcgan', backend: 'wasm', batchSize: 64, budget, images, seed: 0 });
 * r.status; // 'failed'
 * r.message; // "Kernel 'Conv2DBackpropFilter' not registered for backend 'wasm'"
 */
export function runBaseline(request: BaselineRequest): Promise<BaselineOutcome> {
  const child = fork(benchEntry('plain/baseline-child.js'), [], {
    serialization: 'advanced',
    // Not the parent's flags (a test runner's loaders): the child is plain Node.
    execArgv: [],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
  const { model, backend, batchSize, images, seed } = request;
  const job: BaselineJob = { type: 'run', model, backend, batchSize, images, count: images.length / 784, seed };
  const { budget } = request;
  let meter: WindowMeter | undefined;
  let error: string | undefined;
  let ready: { kernels: readonly string[]; backend: string } = { kernels: [], backend: request.backend };
  let cpuSeconds = 0;
  let timer = setTimeout(() => fail(`did not start within ${START_SECONDS} s`), START_SECONDS * 1000);
  const send = (message: ParentMessage) => {
    if (child.connected) child.send(message);
  };
  const fail = (message: string) => {
    error ??= message;
    child.kill('SIGKILL');
  };

  child.on('message', (message: ChildMessage) => {
    switch (message.type) {
      case 'ready':
        ready = { kernels: message.kernels, backend: message.backend };
        meter = new WindowMeter(budget, message.at);
        clearTimeout(timer);
        // The bound holds even for a step that never ends.
        timer = setTimeout(() => {
          meter!.stop();
          // Its CPU up to now, for the machine-load check: a step cut short reported none.
          cpuSeconds = processCpu(child.pid) ?? cpuSeconds;
          child.kill('SIGKILL');
        }, (budget.maxSeconds + GRACE_SECONDS) * 1000);
        break;
      case 'step':
        cpuSeconds = message.cpu;
        meter?.record(message.at, request.batchSize);
        if (meter?.done) send({ type: 'stop' });
        break;
      case 'error':
        error ??= message.message;
        break;
    }
  });
  send(job);
  return new Promise((resolve) => {
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      meter?.stop();
      const throughput = (meter ?? new WindowMeter(budget, 0)).result();
      if (error === undefined && meter === undefined) {
        const why = signal ? `signal ${signal}` : `code ${code}`;
        error = `baseline process exited with ${why}${stderr.trim() ? `: ${stderr.trim().split('\n').at(-1)}` : ''}`;
      }
      const status = error !== undefined ? 'failed' : throughput.truncated ? 'partial' : 'ok';
      resolve({ status, throughput, message: error ?? '', kernels: ready.kernels, backend: ready.backend, cpuSeconds });
    });
  });
}
