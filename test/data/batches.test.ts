import { describe, expect, it } from 'vitest';
import { BatchSampler, epochSeed, gatherBatch, gatherLabels, shard, shardRange } from '../../src/data/batches.js';
import type { Split } from '../../src/data/dataset.js';
import { thrown } from './fixtures.js';

function drain(sampler: BatchSampler, n: number): number[][] {
  return Array.from({ length: n }, () => Array.from(sampler.next().indices));
}

describe('BatchSampler', () => {
  it('gives the same batches for the same seed and others for another seed', () => {
    const a = drain(new BatchSampler(100, 16, 7), 20);
    const b = drain(new BatchSampler(100, 16, 7), 20);
    const c = drain(new BatchSampler(100, 16, 8), 20);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
  });

  it('covers every index once per epoch, a smaller last batch unless dropLast', () => {
    const sampler = new BatchSampler(10, 4, 1);
    expect(sampler.batchesPerEpoch).toBe(3);
    const epoch = drain(sampler, 3);
    expect(epoch.map((b) => b.length)).toEqual([4, 4, 2]);
    expect(epoch.flat().sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(sampler.cursor).toEqual({ epoch: 1, index: 0 });
    const dropping = new BatchSampler(10, 4, 1, { dropLast: true });
    expect(dropping.batchesPerEpoch).toBe(2);
    expect(drain(dropping, 3).map((b) => b.length)).toEqual([4, 4, 4]);
    expect(dropping.cursor).toEqual({ epoch: 1, index: 1 });
  });

  it("shuffles each epoch differently, and an epoch's order does not depend on what was drawn before", () => {
    const s = new BatchSampler(50, 50, 3);
    const e0 = Array.from(s.permutation(0));
    const e1 = Array.from(s.permutation(1));
    expect(e0).not.toEqual(e1);
    expect(e0).not.toEqual(Array.from({ length: 50 }, (_, i) => i));
    // Epoch 5 straight away equals epoch 5 reached by drawing every batch before it.
    const direct = Array.from(new BatchSampler(50, 50, 3).permutation(5));
    const walked = new BatchSampler(50, 50, 3);
    const batches = drain(walked, 6);
    expect(batches[5]).toEqual(direct);
  });

  it('resumes exactly from a saved cursor', () => {
    const straight = new BatchSampler(37, 5, 11);
    const all = drain(straight, 25);
    const first = new BatchSampler(37, 5, 11);
    drain(first, 12);
    const saved = JSON.parse(JSON.stringify(first.cursor)) as { epoch: number; index: number };
    const resumed = new BatchSampler(37, 5, 11);
    resumed.seek(saved);
    expect(drain(resumed, 13)).toEqual(all.slice(12));
  });

  it('derives distinct epoch seeds from (seed, epoch)', () => {
    const seeds = new Set<number>();
    for (let seed = 0; seed < 20; seed++) for (let epoch = 0; epoch < 50; epoch++) seeds.add(epochSeed(seed, epoch));
    expect(seeds.size).toBe(1000);
    expect(epochSeed(2 ** 40, 0)).not.toBe(epochSeed(0, 0));
  });

  it('validates its arguments', () => {
    const cases: [() => unknown, string][] = [
      [() => new BatchSampler(0, 4, 1), 'count must be a positive integer, got 0'],
      [() => new BatchSampler(10, 2.5, 1), 'batchSize must be a positive integer, got 2.5'],
      [() => new BatchSampler(10, 4, 0.5), 'seed must be an integer, got 0.5'],
      [
        () => new BatchSampler(10, 11, 1, { dropLast: true }),
        'batchSize must be at most the dataset size (10) when dropLast is set, got 11',
      ],
      [() => new BatchSampler(10, 4, 1).seek({ epoch: -1, index: 0 }), 'cursor.epoch must be a non-negative integer, got -1'],
      [() => new BatchSampler(10, 4, 1).seek({ epoch: 0, index: 3 }), 'cursor.index must be an integer in [0, 3), got 3'],
      [() => new BatchSampler(10, 4, 1).batch(0, 3), 'index must be an integer in [0, 3), got 3'],
      [() => new BatchSampler(10, 4, 1).permutation(1.5), 'epoch must be a non-negative integer, got 1.5'],
    ];
    for (const [fn, message] of cases) expect(thrown(fn, 'INVALID_VALUE').message).toBe(message);
  });
});

describe('shard', () => {
  it('splits a global batch into contiguous near-equal shards whose union is the batch in order', () => {
    const global = Uint32Array.from({ length: 10 }, (_, i) => 100 + i);
    for (const replicas of [1, 2, 3, 4, 7, 10, 13]) {
      const shards = Array.from({ length: replicas }, (_, r) => Array.from(shard(global, r, replicas)));
      expect(shards.flat()).toEqual(Array.from(global));
      const sizes = shards.map((s) => s.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
      expect(sizes).toEqual([...sizes].sort((x, y) => y - x));
    }
    expect(shardRange(10, 0, 3)).toEqual([0, 4]);
    expect(shardRange(10, 2, 3)).toEqual([7, 10]);
  });

  it('validates replica and replicas', () => {
    expect(thrown(() => shardRange(8, 0, 0), 'INVALID_VALUE').message).toBe('replicas must be a positive integer, got 0');
    expect(thrown(() => shardRange(8, 2, 2), 'INVALID_VALUE').message).toBe('replica must be an integer in [0, 2), got 2');
  });
});

describe('gatherBatch / gatherLabels', () => {
  const split: Split = {
    images: Uint8Array.from({ length: 3 * 2 * 2 }, (_, i) => i * 20),
    labels: Uint8Array.of(4, 5, 6),
    count: 3,
    height: 2,
    width: 2,
    channels: 1,
    valueRange: [0, 255],
  };

  it('gathers images in batch order, normalised, NHWC', () => {
    const unit = gatherBatch(split, [2, 0], 'unit');
    expect(Array.from(unit)).toEqual(Array.from(Float32Array.of(160, 180, 200, 220, 0, 20, 40, 60).map((v) => v / 255)));
    const tanh = gatherBatch(split, Uint32Array.of(1), 'tanh');
    expect(tanh.length).toBe(4);
    expect(tanh[0]).toBeCloseTo(80 / 127.5 - 1, 6);
    expect(Array.from(gatherLabels(split, [2, 0]))).toEqual([6, 4]);
  });

  it('reuses a given buffer and validates indices and buffer size', () => {
    const out = new Float32Array(8);
    expect(gatherBatch(split, [0, 1], 'unit', out)).toBe(out);
    expect(thrown(() => gatherBatch(split, [0, 1], 'unit', new Float32Array(7)), 'INVALID_VALUE').message).toBe(
      'out must be a Float32Array of at least 8 elements, got 7',
    );
    expect(thrown(() => gatherBatch(split, [3], 'unit'), 'INVALID_VALUE').message).toBe(
      'index must be an integer in [0, 3), got 3',
    );
    expect(thrown(() => gatherLabels(split, [-1]), 'INVALID_VALUE').message).toBe(
      'index must be an integer in [0, 3), got -1',
    );
    const { labels: _, ...unlabelled } = split;
    expect(thrown(() => gatherLabels(unlabelled, [0]), 'INVALID_VALUE').message).toBe(
      'split.labels must be present (a .npy dataset has no labels), got undefined',
    );
  });
});
