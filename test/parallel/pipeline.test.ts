/**
 * Pipeline parallelism on real worker threads: two stages (generator |
 * discriminator + losses, encoder | decoder + loss) working on different
 * microbatches at once, one update per batch. It equals LocalEngine with
 * gradient accumulation over the same microbatches — for a GAN too, batch
 * norm and dropout included — and for a VAE the unsplit step up to rounding.
 * Data × pipeline (4 workers: 2 replicas of 2 stages) equals the same
 * accumulation over every replica's microbatches. Each step reports its
 * bubble beside the ideal (p−1)/(m+p−1).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backend/index.js';
import { loadDataset, type Dataset } from '../../src/data/index.js';
import { ActorEngine, type StateFiles, type StepResult } from '../../src/parallel/index.js';
import { LocalEngine } from '../reference/local-engine.js';
import { computed, differingFiles, flat, lossDifference, options, stateDifference, steps } from './helpers.js';

const TOLERANCE = 1e-5;
const STEPS = 4;

let dataset: Dataset;
beforeAll(async () => {
  await useBackend('wasm');
  dataset = loadDataset('mnist');
});

async function reference(
  model: 'dcgan-small' | 'vae-mlp',
  accumulation: { microbatches?: number; replicas?: number },
  batchSize?: number,
): Promise<{ results: StepResult[]; files: StateFiles }> {
  const local = new LocalEngine(options(model, batchSize ? { batchSize } : {}), dataset, accumulation);
  try {
    return { results: await steps(local, STEPS), files: await local.save() };
  } finally {
    await local.close();
  }
}

describe.each([
  { model: 'vae-mlp', schedule: 'gpipe' },
  { model: 'vae-mlp', schedule: '1f1b' },
  { model: 'dcgan-small', schedule: '1f1b' },
] as const)('$model through 2 stages, 4 microbatches, $schedule', ({ model, schedule }) => {
  let engine: ActorEngine;
  let results: StepResult[];
  let flatCount: boolean;
  beforeAll(async () => {
    engine = await ActorEngine.create(options(model, { strategy: 'pipeline', workers: 2, microbatches: 4, schedule }), dataset);
    const first = await steps(engine, 2);
    const tensors = await engine.memory();
    results = [...first, ...(await steps(engine, STEPS - 2))];
    flatCount = flat(tensors, await engine.memory());
  });
  afterAll(() => engine.close());

  it(`equals single with gradient accumulation over the same microbatches (within ${TOLERANCE})`, async () => {
    const accumulated = await reference(model, { microbatches: 4 });
    expect(lossDifference(results, accumulated.results)).toBeLessThanOrEqual(TOLERANCE);
    expect(stateDifference(await engine.save(), accumulated.files)).toBeLessThanOrEqual(TOLERANCE);
  });

  if (model === 'vae-mlp') {
    it('equals the unsplit step too, up to rounding (no batch norm, no dropout)', async () => {
      const unsplit = await reference(model, {});
      expect(lossDifference(results, unsplit.results)).toBeLessThanOrEqual(1e-4);
      expect(stateDifference(await engine.save(), unsplit.files)).toBeLessThanOrEqual(1e-4);
    });
  }

  it('keeps a flat tensor count in every actor', () => {
    expect(flatCount).toBe(true);
  });

  it('reports each step’s bubble beside the ideal 1/5', () => {
    for (const r of results) {
      expect(r.bubble!.ideal).toBe(1 / 5);
      expect(r.bubble!.measured).toBeGreaterThanOrEqual(0);
      expect(r.bubble!.measured).toBeLessThan(1);
    }
    const stats = engine.stats();
    expect(stats).toMatchObject({ strategy: 'pipeline', workers: 2, replicas: 1, stages: 2, microbatches: 4, schedule, steps: STEPS });
    expect(stats.bubble!.ideal).toBe(1 / 5);
  });
});

describe('data × pipeline: vae-mlp on 4 workers (2 replicas of 2 stages, 2 microbatches each)', () => {
  it('equals single with accumulation over the same chunks, and the unsplit step up to rounding', async () => {
    const engine = await ActorEngine.create(options('vae-mlp', { strategy: 'pipeline', workers: 4, microbatches: 2 }), dataset);
    try {
      expect(engine.plan).toMatchObject({ replicas: 2, stages: 2, microbatches: 2, workers: 4 });
      const first = await steps(engine, 2);
      const tensors = await engine.memory();
      expect(Object.keys(tensors).sort()).toEqual(['decoder', 'decoder/1', 'encoder', 'encoder/1']);
      const results = [...first, ...(await steps(engine, STEPS - 2))];
      expect(flat(tensors, await engine.memory())).toBe(true);
      const files = await engine.save();
      const accumulated = await reference('vae-mlp', { replicas: 2, microbatches: 2 });
      expect(lossDifference(results, accumulated.results)).toBeLessThanOrEqual(TOLERANCE);
      expect(stateDifference(files, accumulated.files)).toBeLessThanOrEqual(TOLERANCE);
      const unsplit = await reference('vae-mlp', {});
      expect(lossDifference(results, unsplit.results)).toBeLessThanOrEqual(1e-4);
      expect(stateDifference(files, unsplit.files)).toBeLessThanOrEqual(1e-4);
      expect(results.every((r) => r.bubble!.ideal === 1 / 3)).toBe(true);
    } finally {
      await engine.close();
    }
  });
});

describe('a stage that dies with microbatches in flight', () => {
  it('is restarted, both stages roll back, and the run reaches the uncrashed state bit for bit', async () => {
    const config = options('vae-mlp', { strategy: 'pipeline', workers: 2, microbatches: 4, batchSize: 8, snapshotEvery: 2 });
    const run = async (fault?: string) => {
      const engine = await ActorEngine.create(fault ? { ...config, fault } : config, dataset);
      const restarts: string[] = [];
      engine.events$.subscribe((e) => e.type === 'restart' && restarts.push(e.actor));
      try {
        return { results: computed(await steps(engine, 5)), files: await engine.save(), restarts };
      } finally {
        await engine.close();
      }
    };
    const clean = await run();
    // The decoder (stage 1) dies in its first microbatch of step 3, while the encoder has later ones queued.
    const crashed = await run('crash:decoder@3');
    expect(crashed.restarts).toEqual(['decoder']);
    expect(crashed.results).toEqual(clean.results);
    expect(differingFiles(crashed.files, clean.files)).toEqual([]);
  });
});
