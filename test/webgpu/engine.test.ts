/**
 * The actor engine on webgpu: process hosts by default, thread hosts when
 * asked, data-parallel replicas in threads, and supervision restarting a
 * crashed webgpu actor from its snapshot. Small batches and few steps: on
 * lavapipe every kernel runs on the CPU.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backend/index.js';
import { loadDataset, type Dataset } from '../../src/data/index.js';
import { ActorEngine, type EngineEvent } from '../../src/parallel/index.js';
import { LocalEngine } from '../reference/local-engine.js';
import { flat, lossDifference, options, steps } from '../parallel/helpers.js';
import { noWebgpu } from './adapter.js';

let dataset: Dataset;
beforeAll(async () => {
  await useBackend('wasm');
  dataset = loadDataset('mnist');
});

const vae = (overrides: Parameters<typeof options>[1] = {}) => options('vae-mlp', { backend: 'webgpu', batchSize: 16, ...overrides });

describe.skipIf(noWebgpu)('the actor engine on webgpu', () => {
  it('trains vae-mlp in a process host by default: wasm’s losses within 1e-3, loss down, tensor count flat', async () => {
    const local = new LocalEngine(options('vae-mlp', { batchSize: 16 }), dataset);
    const reference = await steps(local, 6);
    await local.close();
    const engine = await ActorEngine.create(vae(), dataset);
    try {
      expect(engine.plan.host).toBe('process');
      expect(engine.plan.reason).toContain('in process hosts (webgpu: ending a thread with a GPU read pending aborts the whole process)');
      const first = await steps(engine, 2);
      const tensors = await engine.memory();
      const results = [...first, ...(await steps(engine, 4))];
      expect(flat(tensors, await engine.memory())).toBe(true);
      expect(lossDifference(results, reference)).toBeLessThanOrEqual(1e-3);
      expect(results.at(-1)!.losses['loss']!).toBeLessThan(results[0]!.losses['loss']!);
    } finally {
      await engine.close();
    }
  });

  it('runs in thread hosts when asked, and stops them cooperatively', async () => {
    const engine = await ActorEngine.create(vae({ strategy: 'model' }), dataset, { webgpuThreads: true });
    try {
      expect(engine.plan.host).toBe('thread');
      const results = await steps(engine, 3);
      expect(results.every((r) => Number.isFinite(r.losses['loss']!))).toBe(true);
    } finally {
      await engine.close();
    }
  });

  it('keeps data-parallel replicas in threads (their all-reduce shares memory) and matches single', async () => {
    const single = await ActorEngine.create(vae(), dataset);
    const reference = await steps(single, 3).finally(() => single.close());
    const engine = await ActorEngine.create(vae({ strategy: 'data', workers: 2 }), dataset);
    try {
      expect(engine.plan.host).toBe('thread');
      expect(lossDifference(await steps(engine, 3), reference)).toBeLessThanOrEqual(1e-4);
    } finally {
      await engine.close();
    }
  });

  it('restarts a webgpu actor killed mid-run from its snapshot, to the same losses', async () => {
    const config = vae({ strategy: 'model', snapshotEvery: 2 });
    const clean = await ActorEngine.create(config, dataset);
    const reference = await steps(clean, 4).finally(() => clean.close());
    const crashed = await ActorEngine.create({ ...config, fault: 'crash:decoder@3' }, dataset);
    const events: EngineEvent[] = [];
    crashed.events$.subscribe((e) => events.push(e));
    try {
      expect(crashed.plan.host).toBe('process');
      const results = await steps(crashed, 4);
      expect(events).toEqual([{ type: 'restart', actor: 'decoder', cause: 'worker 1 (process) exited with code 1', attempt: 1 }]);
      expect(lossDifference(results, reference)).toBeLessThanOrEqual(1e-6);
    } finally {
      await crashed.close();
    }
  });
});
