/**
 * The server's tasks on a real sample-pool thread: the images of
 * `sampleImages` for each request's seed whatever shares the batch, and no
 * tensor left behind per batch (the thread keeps only its networks).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backend/index.js';
import { SamplePool } from '../../src/run/sample-pool.js';
import { createPart, modelSpec, sampleImages } from '../../src/models/index.js';
import { Rng } from '../../src/rng.js';
import type { ImagesTask, NoiseSource, ReconstructTask } from '../../src/serve/serve-worker.js';

const WORKER = '../../src/serve/serve-worker.js';
const spec = modelSpec('vae-mlp');
let pool: SamplePool;
let decoder: Float32Array[];
let encoder: Float32Array[];
let expected: (seed: number, n: number) => Promise<Float32Array>;

beforeAll(async () => {
  await useBackend('wasm');
  const d = createPart(spec, 'decoder', 3);
  const e = createPart(spec, 'encoder', 4);
  decoder = await d.getWeights();
  encoder = await e.getWeights();
  expected = (seed, n) => sampleImages(spec, d, n, new Rng(seed));
  pool = new SamplePool(1);
});
afterAll(async () => {
  await pool.close();
});

const images = (sources: NoiseSource[], key = 'a') =>
  pool.runTask<Float32Array>(import.meta.url, WORKER, 'images', {
    model: 'vae-mlp',
    key,
    backend: 'wasm',
    weights: decoder,
    sources,
  } satisfies ImagesTask);

describe('serve-worker', () => {
  it("draws each request's images from its own seed, batched with others", async () => {
    const out = await images([{ seed: 7, count: 3 }, { seed: 2, count: 5 }]);
    const size = 28 * 28;
    expect(out.subarray(0, 3 * size)).toEqual(await expected(7, 3));
    expect(out.subarray(3 * size)).toEqual(await expected(2, 5));
  });

  it('keeps its tensor count flat across batches, and frees the old networks on a new checkpoint', async () => {
    const tensors = () => pool.runTask<number>(import.meta.url, WORKER, 'tensors', {});
    await images([{ seed: 1, count: 4 }]);
    const before = await tensors();
    for (let i = 0; i < 5; i++) await images([{ seed: i, count: 4 }, { count: 1, z: new Float32Array(20).fill(i) }]);
    await pool.runTask(import.meta.url, WORKER, 'reconstruct', {
      model: 'vae-mlp',
      key: 'a',
      backend: 'wasm',
      encoderWeights: encoder,
      decoderWeights: decoder,
      images: new Float32Array(2 * 784).fill(0.5),
      count: 2,
    } satisfies ReconstructTask);
    const withEncoder = await tensors();
    await images([{ seed: 1, count: 4 }]);
    expect(await tensors()).toBe(withEncoder);
    // Another checkpoint: the old decoder and encoder go, the new decoder comes.
    await images([{ seed: 1, count: 4 }], 'b');
    expect(await tensors()).toBe(before);
  });
});
