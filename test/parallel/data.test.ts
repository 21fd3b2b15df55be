/**
 * Data parallelism on real worker threads: R replicas, each a full model and
 * its shard of the batch, all-reducing their gradients in shared memory.
 * Without batch norm it reproduces `single` (LocalEngine) — uneven shards
 * included — and with it (the DCGANs) it trains with replicas that stay
 * identical. A replica that diverges is an error naming it; a worker that
 * dies mid-step, while its peer waits in the all-reduce, is restarted and
 * the run reaches the same state as without the crash.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backend/index.js';
import { loadDataset, type Dataset } from '../../src/data/index.js';
import { ActorEngine } from '../../src/parallel/index.js';
import { LocalEngine } from '../reference/local-engine.js';
import type { NetworkRef } from '../../src/parallel/schedule.js';
import { computed, differingFiles, flat, lossDifference, options, runEngine, stateDifference, steps } from './helpers.js';

const STEPS = 30;
const TOLERANCE = 1e-4;

let dataset: Dataset;
beforeAll(async () => {
  await useBackend('wasm');
  dataset = loadDataset('mnist');
});

describe.each([
  // 15 rows over 2 replicas: shards of 8 and 7, weighted 8/15 and 7/15.
  { model: 'vae-mlp', batchSize: 15 },
  { model: 'vae-conv', batchSize: 8 },
] as const)('$model, batch $batchSize, on 2 replicas', ({ model, batchSize }) => {
  it(`reproduces single within ${TOLERANCE} relative after ${STEPS} steps, with a flat tensor count in every actor`, async () => {
    const local = new LocalEngine(options(model, { batchSize }), dataset);
    const reference = await steps(local, STEPS);
    const files = await local.save();
    await local.close();

    const engine = await ActorEngine.create(options(model, { batchSize, strategy: 'data', workers: 2 }), dataset);
    try {
      expect(engine.placement).toEqual({ dataLoader: 0, encoder: 0, decoder: 0 });
      const first = await steps(engine, 2);
      const tensors = await engine.memory();
      expect(Object.keys(tensors).sort()).toEqual(['decoder', 'decoder/1', 'encoder', 'encoder/1']);
      const results = [...first, ...(await steps(engine, STEPS - 2))];
      expect(flat(tensors, await engine.memory())).toBe(true);
      expect(results.map((r) => [r.samples, r.epoch])).toEqual(reference.map((r) => [r.samples, r.epoch]));
      expect(lossDifference(results, reference)).toBeLessThanOrEqual(TOLERANCE);
      expect(stateDifference(await engine.save(), files)).toBeLessThanOrEqual(TOLERANCE);
    } finally {
      await engine.close();
    }
  });
});

describe('dcgan-small on 2 replicas (batch norm: per-replica batch statistics)', () => {
  it('trains: finite losses, weights that move, replicas identical at every check, a flat tensor count', async () => {
    const engine = await ActorEngine.create(options('dcgan-small', { strategy: 'data', workers: 2 }), dataset, { checksumEvery: 2 });
    try {
      const before = await engine.save();
      const first = await steps(engine, 2);
      const tensors = await engine.memory();
      const results = [...first, ...(await steps(engine, 4))];
      expect(flat(tensors, await engine.memory())).toBe(true);
      for (const r of results) {
        expect(r.nonFinite).toBeUndefined();
        expect(Object.values(r.losses).every(Number.isFinite)).toBe(true);
      }
      // save() compares the replicas' checksums first; the weights have moved from their start.
      const after = await engine.save();
      expect(differingFiles(before, after)).toContain('generator/weights.bin');
      expect(differingFiles(before, after)).toContain('discriminator/weights.bin');
    } finally {
      await engine.close();
    }
  });
});

describe('replicas that diverge', () => {
  it('fail the run with an error naming the replica and what differs', async () => {
    let networks: ReadonlyMap<string, NetworkRef> = new Map();
    const engine = await ActorEngine.create(options('vae-mlp', { strategy: 'data', workers: 2, batchSize: 8 }), dataset, {
      checksumEvery: 2,
      onSpawn: (refs) => (networks = refs),
    });
    try {
      await engine.step();
      // Nudge one weight of replica 1's decoder: the same summed gradient keeps it apart.
      const decoder = networks.get('decoder/1')!;
      const state = await decoder.call('snapshot');
      state.weights[0]![0]! += 0.5;
      await decoder.call('restore', state);
      const error = await engine.step().catch((e: unknown) => e);
      expect(error).toMatchObject({ code: 'DIVERGED' });
      expect((error as Error).message).toMatch(
        /^replica 1 diverged from replica 0 at step 2: decoder weights differ \(checksum 0x[0-9a-f]{8}, replica 0 0x[0-9a-f]{8}\)$/,
      );
      await expect(engine.save()).rejects.toMatchObject({ code: 'DIVERGED' });
    } finally {
      await engine.close();
    }
  });
});

describe('a worker that dies mid-step while its peer waits in the all-reduce', () => {
  it('is restarted, every replica rolls back, and the run reaches the uncrashed state bit for bit', async () => {
    const config = options('vae-mlp', { strategy: 'data', workers: 2, batchSize: 8, snapshotEvery: 3 });
    const clean = await runEngine(dataset, config, 8);
    // Replica 0's decoder dies in its backward of step 5; replica 1's decoder is then waiting for it.
    const crashed = await runEngine(dataset, { ...config, fault: 'crash:decoder@5' }, 8);
    expect(computed(crashed.results)).toEqual(computed(clean.results));
    expect(differingFiles(crashed.files, clean.files)).toEqual([]);
    expect(crashed.events.filter((e) => e.type === 'restart')).toEqual([
      { type: 'restart', actor: 'decoder', cause: 'worker 0 exited with code 1', attempt: 1 },
    ]);
  });
});

describe('replicas in process hosts: a TCP ring all-reduce on 127.0.0.1', () => {
  it('gives the per-step losses and the state of thread replicas within 1e-4, and survives a crash at a new ring epoch', async () => {
    const config = options('vae-mlp', { strategy: 'data', workers: 2, batchSize: 8, snapshotEvery: 3 });
    const threads = await runEngine(dataset, config, 8);
    const processes = await runEngine(dataset, { ...config, host: 'process' }, 8);
    expect(lossDifference(processes.results, threads.results)).toBeLessThanOrEqual(TOLERANCE);
    expect(stateDifference(processes.files, threads.files)).toBeLessThanOrEqual(TOLERANCE);
    // Replica 0's decoder process exits in step 5 while replica 1's waits for it in the ring.
    const crashed = await runEngine(dataset, { ...config, host: 'process', fault: 'crash:decoder@5' }, 8);
    expect(computed(crashed.results)).toEqual(computed(processes.results));
    expect(differingFiles(crashed.files, processes.files)).toEqual([]);
    expect(crashed.events.filter((e) => e.type === 'restart')).toEqual([
      { type: 'restart', actor: 'decoder', cause: 'worker 0 (process) exited with code 1', attempt: 1 },
    ]);
  });
});
