/**
 * The data-loader actor in a real worker: its batches are the seeded
 * sampler's, its prefetch is bounded while the consumer is held back (the
 * consumer is gated by the test: it takes only once the loader has settled),
 * and seek, shards and faults behave.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { DataLoaderInit } from '../../actors/data-loader.js';
import { paragenSystem, type ParagenSystem } from '../../actors/catalog.js';
import { ActorDied, type HostKind } from '../../src/actor/index.js';
import { BatchSampler, gatherBatch, shard, UINT8_RANGE, type Split } from '../../src/data/index.js';

const systems: ParagenSystem[] = [];
afterEach(async () => {
  await Promise.all(systems.splice(0).map((s) => s.close()));
});

/** 30 images of 2×2, pixel values from their index. */
function tinySplit(): Split {
  const images = Uint8Array.from({ length: 30 * 4 }, (_, i) => (i * 37) % 256);
  return { images, count: 30, height: 2, width: 2, channels: 1, valueRange: UINT8_RANGE };
}

const INIT: DataLoaderInit = { split: tinySplit(), batchSize: 4, seed: 11, prefetch: 3, range: 'tanh' };

async function loader(host: HostKind = 'thread', init: Partial<DataLoaderInit> = {}, fault?: { step: number }) {
  const system = paragenSystem({ host, workers: 1 });
  systems.push(system);
  const events: unknown[] = [];
  system.events$.subscribe((e) => events.push(e.event));
  const ref = await system.spawn('dataLoader', 'dataLoader', { ...INIT, ...init }, {
    worker: 0,
    ...(fault ? { fault: { kind: 'crash', step: fault.step } } : {}),
  });
  return { ref, events };
}

/** What the loader must deliver for batch (epoch, index), computed here. */
function expected(epoch: number, index: number, indices?: (all: Uint32Array) => Uint32Array): Float32Array {
  const sampler = new BatchSampler(30, 4, 11, { dropLast: true });
  const all = sampler.batch(epoch, index);
  return gatherBatch(INIT.split, indices ? indices(all) : all, 'tanh');
}

describe.each(['thread', 'process'] as const)('the data loader on a %s host', (host) => {
  it("delivers the seeded sampler's batches, across epochs, and says when an epoch starts", async () => {
    const { ref, events } = await loader(host);
    // 30 images in batches of 4, last one dropped: 7 per epoch.
    for (let step = 1; step <= 9; step++) {
      const batch = await ref.call('take', { step });
      const epoch = Math.floor((step - 1) / 7);
      const index = (step - 1) % 7;
      expect({ epoch: batch.epoch, index: batch.index, size: batch.size }).toEqual({ epoch, index, size: 4 });
      expect(batch.x).toEqual(expected(epoch, index));
    }
    expect(events).toEqual([
      { type: 'epoch', epoch: 0 },
      { type: 'epoch', epoch: 1 },
    ]);
  });
});

describe('the data loader', () => {
  it('keeps exactly `prefetch` batches outstanding while its consumer is slow', async () => {
    const { ref } = await loader();
    const seen: { outstanding: number; started: number; taken: number }[] = [];
    for (let step = 1; step <= 6; step++) {
      const { outstanding, started, taken, producing } = await ref.call('settled');
      expect(producing).toBe(0);
      seen.push({ outstanding, started, taken });
      await ref.call('take', { step });
    }
    // The producer never ran further ahead than the three batches the consumer had not asked for yet.
    expect(seen).toEqual(Array.from({ length: 6 }, (_, taken) => ({ outstanding: 3, started: taken + 3, taken })));
  });

  it('drops what it prefetched on seek and continues from the cursor', async () => {
    const { ref } = await loader();
    await ref.call('take', { step: 1 });
    await ref.call('seek', { epoch: 3, index: 5 });
    expect(await ref.call('stats')).toMatchObject({ outstanding: 3, started: 3, taken: 0 });
    const batch = await ref.call('take', { step: 2 });
    expect({ epoch: batch.epoch, index: batch.index }).toEqual({ epoch: 3, index: 5 });
    expect(batch.x).toEqual(expected(3, 5));
    await expect(ref.call('seek', { epoch: 0, index: 7 })).rejects.toThrow('cursor.index must be an integer in [0, 7), got 7');
  });

  it("serves a replica its shard of each global batch", async () => {
    const { ref } = await loader('thread', { shard: { replica: 1, replicas: 3 } });
    const batch = await ref.call('take', { step: 1 });
    // 4 = 2 + 1 + 1: replica 1 holds the third image.
    expect(batch.size).toBe(1);
    expect(batch.x).toEqual(expected(0, 0, (all) => shard(all, 1, 3)));
  });

  it('dies at its planned step, named as the culprit', async () => {
    const { ref } = await loader('thread', {}, { step: 2 });
    await ref.call('take', { step: 1 });
    const died = await ref.call('take', { step: 2 }).catch((e: unknown) => e);
    expect(died).toBeInstanceOf(ActorDied);
    expect((died as ActorDied).death).toEqual({ worker: 0, actor: 'dataLoader', cause: 'worker 0 exited with code 1' });
  });
});
