/**
 * A baseline's task (one thread of a task pool): plain TensorFlow.js on wasm
 * or cpu, nothing of paragen loaded — a worker thread has its own module
 * graph, so none of paragen's kernels are registered here — training one
 * model step after step until the caller says stop on the task's port, or
 * ends the thread. Each step reports when it ended; the caller does the
 * warm-up and windowing.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { MessagePort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { plainModel } from './models.js';
import type { BaselineTask, ChildMessage, ParentMessage } from './protocol.js';

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
}

/** CPU seconds this thread has used: its own line in /proc on Linux, else the process's. */
function threadCpu(): number {
  if (existsSync('/proc/thread-self/stat')) {
    const stat = readFileSync('/proc/thread-self/stat', 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  }
  const { user, system } = process.cpuUsage();
  return (user + system) / 1e6;
}

async function train(task: BaselineTask, port: MessagePort, stopped: () => boolean): Promise<void> {
  const { job } = task;
  // PROD silences tfjs's console advice (e.g. to install tfjs-node), which would mix into the bench's output.
  tf.env().set('PROD', true);
  if (!(await tf.setBackend(job.backend))) throw new Error(`backend ${job.backend} failed to initialise`);
  await tf.ready();
  const kernels = tf.getKernelsForBackend(job.backend).map((k) => k.kernelName);
  const model = plainModel(job.model);
  const send = (message: ChildMessage) => port.postMessage(message);
  send({ type: 'ready', at: performance.now(), backend: tf.getBackend(), kernels });
  const size = 28 * 28;
  const batch = new Uint8Array(job.batchSize * size);
  let cursor = (job.seed * job.batchSize) % job.count;
  try {
    while (!stopped()) {
      for (let i = 0; i < job.batchSize; i++) {
        batch.set(job.images.subarray(cursor * size, (cursor + 1) * size), i * size);
        cursor = (cursor + 1) % job.count;
      }
      const losses = await model.step(batch, job.batchSize);
      send({ type: 'step', at: performance.now(), cpu: threadCpu(), losses });
      // Let a 'stop' message in between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    model.dispose();
  }
}

/** Trains until stopped; a failure is reported on the port as `error`, and the task still resolves. */
export async function baseline(task: BaselineTask): Promise<void> {
  const { port } = task;
  let stopped = false;
  port.on('message', (message: ParentMessage) => {
    if (message.type === 'stop') stopped = true;
  });
  try {
    await train(task, port, () => stopped);
  } catch (error) {
    port.postMessage({ type: 'error', message: firstLine(error) } satisfies ChildMessage);
  } finally {
    port.close();
  }
}
