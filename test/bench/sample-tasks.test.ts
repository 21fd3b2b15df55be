/**
 * Sampling as pool tasks, on real worker threads: `sample({ workers })` draws
 * the same images whatever the number of workers, and training's sample
 * grids — tasks off the training path — are the grids the actor would have
 * drawn inline.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { lastValueFrom, toArray } from 'rxjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backend/index.js';
import { encodePng, imageGrid } from '../../src/data/index.js';
import { SamplePool, slices } from '../../src/run/sample-pool.js';
import { sample } from '../../src/eval/sample.js';
import { createPart, modelSpec, sampleImages } from '../../src/models/index.js';
import { createEngine, type Engine } from '../../src/parallel/index.js';
import { Rng } from '../../src/rng.js';
import type { RunEvent } from '../../src/run/events.js';
import { train } from '../../src/run/trainer.js';
import { writeRun } from '../eval/fixtures.js';

let root: string;
let gan: string;
beforeAll(async () => {
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'paragen-sample-tasks-'));
  gan = await writeRun(join(root, 'gan'), { model: 'dcgan-small', seeds: [4] });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('slices', () => {
  it('cuts n images into whole 256-image batches, as even as they allow, in order', () => {
    expect(slices(600, 2)).toEqual([[0, 512], [512, 88]]);
    expect(slices(10_000, 2)).toEqual([[0, 5120], [5120, 4880]]);
    expect(slices(100, 4)).toEqual([[0, 100]]);
    expect(slices(1024, 3)).toEqual([[0, 512], [512, 256], [768, 256]]);
  });

  it('refuses a count or a worker number that is not a positive integer', () => {
    expect(() => slices(0, 2)).toThrow('n must be a positive integer, got 0');
    expect(() => slices(10, 1.5)).toThrow('workers must be a positive integer, got 1.5');
  });
});

describe('sample({ workers })', () => {
  it('draws the same images on 2 and 3 worker threads as in one thread', async () => {
    const one = await sample({ run: gan, n: 520, seed: 9, backend: 'wasm' });
    const two = await sample({ run: gan, n: 520, seed: 9, backend: 'wasm', workers: 2 });
    const three = await sample({ run: gan, n: 520, seed: 9, backend: 'wasm', workers: 3 });
    expect(two.images.length).toBe(520 * 784);
    expect(two.images).toEqual(one.images);
    expect(three.images).toEqual(one.images);
    expect(two).toMatchObject({ n: 520, seed: 9, model: 'dcgan-small', step: 1 });
  });
});

describe('sample grids as tasks', () => {
  it('writes on a pool thread the grid the network draws in this thread', async () => {
    const spec = modelSpec('dcgan-small');
    const part = createPart(spec, 'generator', 11);
    const path = join(root, 'grid', 'task.png');
    const pool = new SamplePool(1);
    try {
      expect(await pool.grid({ model: 'dcgan-small', weights: await part.getWeights(), backend: 'wasm' }, 64, 5, path)).toBe(path);
    } finally {
      await pool.close();
    }
    const inline = encodePng(imageGrid(await sampleImages(spec, part, 64, new Rng(5)), 64, 28, 28, 1));
    part.dispose();
    expect(readFileSync(path).equals(Buffer.from(inline))).toBe(true);
  });

  it('emits each grid once written, before the run ends, with the bytes an inline grid has', async () => {
    const settings = { model: 'vae-mlp', batchSize: 32, backend: 'wasm', strategy: 'single', steps: 4, sampleEvery: 2 } as const;
    const tasks = train({ ...settings, out: join(root, 'tasks') });
    const events = lastValueFrom(tasks.events$.pipe(toArray()));
    await tasks.done;
    const seen = (await events).filter((e: RunEvent) => e.type === 'sample' || e.type === 'end');
    expect(seen.map((e) => (e.type === 'sample' ? `sample ${e.step}` : e.type))).toEqual(['sample 2', 'sample 4', 'end']);
    // The same run with an engine that cannot hand over weights samples inline, through the actor.
    const withoutWeights = (engine: Engine): Engine =>
      new Proxy(engine, {
        get: (target, key) => {
          if (key === 'networkWeights') return undefined;
          const value: unknown = Reflect.get(target, key, target);
          return typeof value === 'function' ? value.bind(target) : value;
        },
      });
    const inline = train({ ...settings, out: join(root, 'inline') }, { engine: async (c, d) => withoutWeights(await createEngine(c, d)) });
    await inline.done;
    for (const step of [2, 4]) {
      const a = readFileSync(join(root, 'tasks', 'samples', `${step}.png`));
      expect(a.equals(readFileSync(join(root, 'inline', 'samples', `${step}.png`)))).toBe(true);
    }
  });
});
