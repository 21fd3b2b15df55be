/**
 * Choosing a strategy, its workers and placement, and what `createEngine`
 * refuses before starting any worker.
 */
import { describe, expect, it } from 'vitest';
import { UINT8_RANGE, type Dataset, type Split } from '../../src/data/index.js';
import { ParagenError } from '../../src/errors.js';
import * as tf from '@tensorflow/tfjs';
import { MODEL_NAMES, modelSpec } from '../../src/models/index.js';
import { createEngine, planStrategy, replicaPlacement, type StrategyInput } from '../../src/parallel/index.js';
import { PARAMETERS } from '../../src/parallel/strategy.js';
import { parseConfig } from '../../src/run/config.js';
import type { RunConfigInput } from '../../src/run/config-schema.js';

describe('planStrategy', () => {
  it('puts every actor on worker 0 for single', () => {
    expect(planStrategy({ model: 'dcgan-small', strategy: 'single', host: 'thread' })).toEqual({
      strategy: 'single',
      workers: 1,
      host: 'thread',
      replicas: 1,
      stages: 1,
      microbatches: 1,
      schedule: '1f1b',
      placement: { dataLoader: 0, generator: 0, discriminator: 0 },
      reason: 'single: chosen explicitly; every actor on worker 0',
    });
  });

  it('splits the networks for model, the data loader with the network that first reads the batch', () => {
    expect(planStrategy({ model: 'dcgan', strategy: 'model', host: 'process' })).toMatchObject({
      strategy: 'model',
      workers: 2,
      host: 'process',
      replicas: 1,
      stages: 2,
      microbatches: 1,
      placement: { dataLoader: 1, generator: 0, discriminator: 1 },
    });
    expect(planStrategy({ model: 'vae-conv', strategy: 'model', workers: 2, host: 'thread' })).toMatchObject({
      placement: { dataLoader: 0, encoder: 0, decoder: 1 },
      reason: 'model: chosen explicitly; encoder and data loader on worker 0, decoder on worker 1',
    });
  });

  it('gives data one full replica per worker, one per core by default', () => {
    const plan = planStrategy({ model: 'vae-mlp', strategy: 'data', workers: 3, host: 'thread' });
    expect(plan).toMatchObject({ strategy: 'data', workers: 3, replicas: 3, stages: 1, microbatches: 1 });
    expect(plan.placement).toEqual({ dataLoader: 0, encoder: 0, decoder: 0 });
    expect(replicaPlacement(plan, 2)).toEqual({ dataLoader: 2, encoder: 2, decoder: 2 });
    expect(plan.reason).toBe('data: chosen explicitly; 3 replicas (--workers 3), each a full model and its shard of the batch');
    expect(planStrategy({ model: 'vae-mlp', strategy: 'data', host: 'thread', cores: 4 })).toMatchObject({ replicas: 4 });
    expect(planStrategy({ model: 'vae-mlp', strategy: 'data', host: 'thread', cores: 1 })).toMatchObject({ replicas: 2 });
  });

  it('gives pipeline two stages and its microbatches; 2k workers run k pipelines as replicas (data × pipeline)', () => {
    const plan = planStrategy({ model: 'dcgan', strategy: 'pipeline', workers: 2, microbatches: 8, schedule: 'gpipe', host: 'thread' });
    expect(plan).toMatchObject({ strategy: 'pipeline', workers: 2, replicas: 1, stages: 2, microbatches: 8, schedule: 'gpipe' });
    expect(plan.placement).toEqual({ dataLoader: 1, generator: 0, discriminator: 1 });
    expect(plan.reason).toBe(
      'pipeline: chosen explicitly; 8 microbatches through 2 stages (gpipe); generator on worker 0, discriminator and data loader on worker 1',
    );
    const grid = planStrategy({ model: 'vae-mlp', strategy: 'pipeline', workers: 4, host: 'thread' });
    expect(grid).toMatchObject({ workers: 4, replicas: 2, stages: 2, microbatches: 4, schedule: '1f1b' });
    expect(replicaPlacement(grid, 1)).toEqual({ dataLoader: 2, encoder: 2, decoder: 3 });
    expect(grid.reason).toMatch(/^pipeline: chosen explicitly; data × pipeline: 2 replicas of 4 microbatches/);
  });

  describe('auto', () => {
    it('picks data parallelism on 2 cores, for a VAE and a DCGAN alike, and says why', () => {
      expect(planStrategy({ model: 'vae-mlp', strategy: 'auto', host: 'thread', cores: 2, batchSize: 128 })).toMatchObject({
        strategy: 'data',
        replicas: 2,
        reason: 'data: auto picks it for 2 cores: vae-mlp fits one worker (20 MB to train), so 2 replicas each train on a shard and all-reduce once per step',
      });
      expect(planStrategy({ model: 'dcgan', strategy: 'auto', host: 'thread', cores: 2, batchSize: 64 })).toMatchObject({
        strategy: 'data',
        replicas: 2,
      });
    });

    it('picks single on 1 core, with --workers 1, or for a batch too small to shard', () => {
      expect(planStrategy({ model: 'vae-mlp', strategy: 'auto', host: 'thread', cores: 1 })).toMatchObject({
        strategy: 'single',
        reason: 'single: auto picks it for 1 core (nothing runs in parallel)',
      });
      expect(planStrategy({ model: 'vae-mlp', strategy: 'auto', workers: 1, host: 'thread', cores: 8 }).reason).toBe(
        'single: auto picks it for --workers 1 (nothing runs in parallel)',
      );
      expect(planStrategy({ model: 'vae-mlp', strategy: 'auto', host: 'thread', cores: 2, batchSize: 16 })).toMatchObject({
        strategy: 'single',
        reason: 'single: auto picks it because batchSize 16 is too small to shard (under 32 rows)',
      });
    });

    it('keeps at least 16 rows per replica, leaving workers idle and saying so', () => {
      expect(planStrategy({ model: 'dcgan', strategy: 'auto', workers: 8, host: 'thread', batchSize: 64 })).toMatchObject({
        strategy: 'data',
        replicas: 4,
        workers: 4,
      });
      expect(planStrategy({ model: 'dcgan', strategy: 'auto', workers: 8, host: 'thread', batchSize: 64 }).reason).toMatch(
        /; 4 of 8 workers stay idle \(at least 16 rows per replica\)$/,
      );
    });

    it('splits a model that does not fit one worker into a pipeline, replicated over the other workers', () => {
      const plan = planStrategy({ model: 'dcgan', strategy: 'auto', workers: 4, host: 'thread', workerMemory: 75 * 2 ** 20 });
      expect(plan).toMatchObject({ strategy: 'pipeline', replicas: 2, stages: 2, microbatches: 4 });
      expect(plan.reason).toBe(
        'pipeline: auto picks it for --workers 4 because dcgan needs 77 MB to train, more than one worker holds (75 MB); generator on worker 0, discriminator and data loader on worker 1',
      );
      expect(() => planStrategy({ model: 'dcgan', strategy: 'auto', workers: 4, host: 'thread', workerMemory: 10 * 2 ** 20 })).toThrow(
        "model must be a model whose networks each fit one worker (10 MB), got 'dcgan'",
      );
    });
  });

  it('refuses worker counts the strategy cannot use, as usage errors', () => {
    const refusals: [StrategyInput, string][] = [
      [{ model: 'vae-mlp', strategy: 'single', workers: 2, host: 'thread' }, "workers must be 1 for strategy 'single' (every actor on one worker), got 2"],
      [{ model: 'vae-mlp', strategy: 'model', workers: 3, host: 'thread' }, "workers must be 2 for strategy 'model' (one worker per network), got 3"],
      [{ model: 'vae-mlp', strategy: 'data', workers: 1, host: 'thread' }, "workers must be at least 2 for strategy 'data' (one replica per worker), got 1"],
      [
        { model: 'vae-mlp', strategy: 'pipeline', workers: 1, host: 'thread' },
        "workers must be 2, or an even number for data × pipeline (2 stages per replica), with strategy 'pipeline', got 1",
      ],
      [
        { model: 'vae-mlp', strategy: 'pipeline', workers: 3, host: 'thread' },
        "workers must be 2, or an even number for data × pipeline (2 stages per replica), with strategy 'pipeline', got 3",
      ],
      [{ model: 'vae-mlp', strategy: 'data', workers: 4, host: 'thread', batchSize: 3 }, "workers must be at most batchSize (3) for strategy 'data' (a row per replica), got 4"],
      [{ model: 'vae-mlp', strategy: 'pipeline', microbatches: 8, host: 'thread', batchSize: 4 }, 'microbatches must be at most batchSize (4), got 8'],
      [
        { model: 'vae-mlp', strategy: 'pipeline', workers: 4, microbatches: 5, host: 'thread', batchSize: 8 },
        'microbatches must be at most the rows per replica (4: batchSize 8 over 2 replicas), got 5',
      ],
    ];
    for (const [input, message] of refusals) {
      let error: unknown;
      try {
        planStrategy(input);
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(ParagenError);
      expect(error).toMatchObject({ message, exitCode: 2 });
    }
  });

  it('knows how many parameters each network trains', () => {
    for (const name of MODEL_NAMES) {
      const spec = modelSpec(name);
      const counts = spec.networks.map((n) => {
        const model = (spec.buildNetwork as (n: string, seed: number) => tf.Sequential)(n, 0);
        const count = model.trainableWeights.reduce((sum, w) => sum + w.shape.reduce<number>((a, b) => a * (b ?? 1), 1), 0);
        model.dispose();
        return count;
      });
      expect(counts, name).toEqual([...PARAMETERS[name]]);
    }
  });
});

/** Four blank MNIST-sized images: enough to reach the checks that come before any worker starts. */
function tinyDataset(): Dataset {
  const split: Split = { images: new Uint8Array(4 * 784), count: 4, height: 28, width: 28, channels: 1, valueRange: UINT8_RANGE };
  return { name: 'tiny', train: split, test: split, testSource: 'files' };
}

/** What refuses `input`: since the planner runs inside config parsing, parseConfig refuses most, before createEngine is reached. */
async function refusal(input: RunConfigInput): Promise<unknown> {
  return (async () => createEngine(parseConfig(input, 'api'), tinyDataset()))().then(
    async (engine) => {
      await engine.close();
      throw new Error('expected createEngine to refuse');
    },
    (error: unknown) => error,
  );
}

describe('createEngine', () => {
  it('plans replicas on process hosts (they all-reduce in a TCP ring)', () => {
    expect(planStrategy({ model: 'vae-mlp', strategy: 'data', workers: 2, host: 'process', batchSize: 2 })).toMatchObject({
      host: 'process',
      replicas: 2,
      workers: 2,
    });
  });

  it('refuses microbatches the batch cannot fill before starting workers', async () => {
    expect(await refusal({ model: 'vae-mlp', strategy: 'pipeline', workers: 4, microbatches: 3, batchSize: 4 })).toMatchObject({
      exitCode: 2,
      message: 'microbatches must be at most the rows per replica (2: batchSize 4 over 2 replicas), got 3',
    });
  });

  it('refuses a native backend in worker threads, naming the fix', async () => {
    expect(await refusal({ model: 'vae-mlp', strategy: 'single', backend: 'native', batchSize: 2 })).toMatchObject({
      code: 'BACKEND_UNAVAILABLE',
      message: 'backend native cannot load in a worker thread (tensorflow/tfjs#8388): run it in a process host (--host process)',
    });
  });

  it('refuses a batch larger than the dataset before starting workers', async () => {
    expect(await refusal({ model: 'vae-mlp', strategy: 'single', batchSize: 8 })).toMatchObject({
      message: 'batchSize must be at most the dataset size (4) when dropLast is set, got 8',
    });
  });
});
