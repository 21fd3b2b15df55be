/**
 * The actor engine against the in-process reference: for the same seed,
 * `single` and `model` (thread and process hosts) give LocalEngine's losses,
 * weights, optimizer state and samples (within 1e-5 relative; in practice bit
 * for bit), hold a flat tensor count in every actor, and their checkpoints
 * restore in LocalEngine and back.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backend/index.js';
import { loadDataset, type Dataset } from '../../src/data/index.js';
import { ActorEngine, type StateFiles, type StepResult } from '../../src/parallel/index.js';
import { LocalEngine } from '../reference/local-engine.js';
import { asMap, lossDifference, options, stateDifference, steps } from './helpers.js';

const STEPS = 4;
const TOLERANCE = 1e-5;

let dataset: Dataset;
beforeAll(async () => {
  await useBackend('wasm');
  dataset = loadDataset('mnist');
});

describe.each(['dcgan-small', 'vae-mlp'] as const)('%s', (model) => {
  let reference: { losses: StepResult[]; midway: StateFiles; files: StateFiles; images: Float32Array };
  beforeAll(async () => {
    const local = new LocalEngine(options(model), dataset);
    const first = await steps(local, STEPS / 2);
    const midway = await local.save();
    const losses = [...first, ...(await steps(local, STEPS / 2))];
    reference = { losses, midway, files: await local.save(), images: await local.sample(6, 9) };
    await local.close();
  });

  const cases =
    model === 'dcgan-small'
      ? ([
          { strategy: 'single', host: 'thread' },
          { strategy: 'model', host: 'thread' },
        ] as const)
      : ([
          { strategy: 'single', host: 'thread' },
          { strategy: 'model', host: 'thread' },
          { strategy: 'model', host: 'process' },
        ] as const);

  describe.each(cases)('with strategy $strategy on $host hosts', ({ strategy, host }) => {
    let engine: ActorEngine;
    beforeAll(async () => {
      engine = await ActorEngine.create(options(model, { strategy, host }), dataset);
    });
    afterAll(() => engine.close());

    it('places the actors as the strategy says', () => {
      const gan = model === 'dcgan-small';
      expect(engine.placement).toEqual(
        strategy === 'single'
          ? gan
            ? { dataLoader: 0, generator: 0, discriminator: 0 }
            : { dataLoader: 0, encoder: 0, decoder: 0 }
          : gan
            ? { dataLoader: 1, generator: 0, discriminator: 1 }
            : { dataLoader: 0, encoder: 0, decoder: 1 },
      );
    });

    it("gives LocalEngine's losses, weights and optimizer state, with a flat tensor count in every actor", async () => {
      const first = await steps(engine, STEPS / 2);
      const tensors = await engine.memory();
      const losses = [...first, ...(await steps(engine, STEPS / 2))];
      expect(await engine.memory()).toEqual(tensors);
      expect(losses.map((r) => [r.samples, r.epoch])).toEqual(reference.losses.map((r) => [r.samples, r.epoch]));
      expect(lossDifference(losses, reference.losses)).toBeLessThanOrEqual(TOLERANCE);
      expect(stateDifference(await engine.save(), reference.files)).toBeLessThanOrEqual(TOLERANCE);
    });

    it("samples LocalEngine's images", async () => {
      const images = await engine.sample(6, 9);
      expect(images.length).toBe(reference.images.length);
      expect(Math.max(...images.map((v, i) => Math.abs(v - reference.images[i]!)))).toBeLessThanOrEqual(TOLERANCE);
    });

    it("continues from LocalEngine's checkpoint, and LocalEngine from its", async () => {
      await engine.restore(asMap(reference.midway));
      expect(engine.stateStep).toBe(STEPS / 2);
      const resumed = await steps(engine, STEPS / 2);
      expect(lossDifference(resumed, reference.losses.slice(STEPS / 2))).toBeLessThanOrEqual(TOLERANCE);
      const files = await engine.save();
      expect(Object.keys(files).sort()).toEqual(Object.keys(reference.files).sort());
      const local = new LocalEngine(options(model), dataset);
      try {
        await local.restore(asMap(files));
        expect(stateDifference(await local.save(), reference.files)).toBeLessThanOrEqual(TOLERANCE);
      } finally {
        await local.close();
      }
    });

    // Bad checkpoints, once (on the cheapest engine).
    if (model === 'vae-mlp' && strategy === 'single') {
      it('refuses a checkpoint without the engine state', async () => {
        await expect(engine.restore(new Map())).rejects.toThrow('checkpoint has no engine.json');
      });

      it("leaves every network as it was when one network's files are bad", async () => {
        const before = await engine.save();
        const files = asMap(before);
        files.set('decoder/optimizer.json', new TextEncoder().encode('{"format":"nope"}'));
        await expect(engine.restore(files)).rejects.toThrow('decoder/optimizer.json is not a paragen Adam state');
        expect(stateDifference(await engine.save(), before)).toBe(0);
        await expect(engine.step()).resolves.toMatchObject({ samples: 16 });
      });
    }
  });
});
