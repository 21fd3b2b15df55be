/**
 * A baseline's process: plain TensorFlow.js on wasm or cpu, nothing of
 * paragen loaded (so none of its kernels registered), training one model
 * step after step until the parent says stop or kills it. Each step reports
 * when it ended; the parent does the warm-up and windowing.
 *
 * Run by `../baseline.ts` with `child_process.fork` and the advanced
 * serialization (the images arrive as a Uint8Array).
 */
import * as tf from '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import { plainModel } from './models.js';
import type { BaselineJob, ChildMessage, ParentMessage } from './protocol.js';

let stopped = false;

function send(message: ChildMessage): Promise<void> {
  return new Promise((resolve) => process.send!(message, undefined, {}, () => resolve()));
}

function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0]!.trim();
}

async function run(job: BaselineJob): Promise<void> {
  // PROD silences tfjs's console advice (e.g. to install tfjs-node), which would mix into the bench's output.
  tf.env().set('PROD', true);
  if (!(await tf.setBackend(job.backend))) throw new Error(`backend ${job.backend} failed to initialise`);
  await tf.ready();
  const kernels = tf.getKernelsForBackend(job.backend).map((k) => k.kernelName);
  const model = plainModel(job.model);
  await send({ type: 'ready', at: performance.now(), backend: tf.getBackend(), kernels });
  const size = 28 * 28;
  const batch = new Uint8Array(job.batchSize * size);
  let cursor = (job.seed * job.batchSize) % job.count;
  try {
    while (!stopped) {
      for (let i = 0; i < job.batchSize; i++) {
        batch.set(job.images.subarray(cursor * size, (cursor + 1) * size), i * size);
        cursor = (cursor + 1) % job.count;
      }
      const losses = await model.step(batch, job.batchSize);
      const { user, system } = process.cpuUsage();
      await send({ type: 'step', at: performance.now(), cpu: (user + system) / 1e6, losses });
      // Let a 'stop' message in between steps.
      await new Promise<void>((resolve) => setImmediate(resolve));
    }
  } finally {
    model.dispose();
  }
}

process.on('message', (message: ParentMessage) => {
  if (message.type === 'stop') {
    stopped = true;
    return;
  }
  run(message).then(
    () => process.exit(0),
    async (error: unknown) => {
      await send({ type: 'error', message: firstLine(error) });
      process.exit(0);
    },
  );
});
