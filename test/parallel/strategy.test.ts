/**
 * Choosing a strategy, its workers and placement, and what `createEngine`
 * refuses before starting any worker.
 */
import { describe, expect, it } from 'vitest';
import { UINT8_RANGE, type Dataset, type Split } from '../../src/data/index.js';
import { ParagenError } from '../../src/errors.js';
import { createEngine, planStrategy } from '../../src/parallel/index.js';
import { parseConfig } from '../../src/run/config.js';
import type { RunConfigInput } from '../../src/run/config-schema.js';

describe('planStrategy', () => {
  it('puts every actor on worker 0 for single', () => {
    expect(planStrategy({ model: 'dcgan-small', strategy: 'single', host: 'thread' })).toEqual({
      strategy: 'single',
      workers: 1,
      host: 'thread',
      placement: { dataLoader: 0, generator: 0, discriminator: 0 },
      reason: 'single: chosen explicitly; every actor on worker 0',
    });
  });

  it('splits the networks for model, the data loader with the network that first reads the batch', () => {
    expect(planStrategy({ model: 'dcgan', strategy: 'model', host: 'process' })).toMatchObject({
      strategy: 'model',
      workers: 2,
      host: 'process',
      placement: { dataLoader: 1, generator: 0, discriminator: 1 },
    });
    expect(planStrategy({ model: 'vae-conv', strategy: 'model', workers: 2, host: 'thread' })).toMatchObject({
      placement: { dataLoader: 0, encoder: 0, decoder: 1 },
      reason: 'model: chosen explicitly; encoder and data loader on worker 0, decoder on worker 1',
    });
  });

  it('picks model from 2 workers under auto, and says why', () => {
    expect(planStrategy({ model: 'vae-mlp', strategy: 'auto', host: 'thread' })).toMatchObject({
      strategy: 'single',
      reason: 'single: auto picks it below 2 workers (--workers not set)',
    });
    expect(planStrategy({ model: 'vae-mlp', strategy: 'auto', workers: 1, host: 'thread' }).reason).toBe(
      'single: auto picks it below 2 workers (--workers 1)',
    );
    expect(planStrategy({ model: 'dcgan', strategy: 'auto', workers: 3, host: 'thread' })).toMatchObject({
      strategy: 'model',
      workers: 2,
      reason:
        'model: auto picks it from 2 workers (--workers 3); 1 of the 3 workers stays idle (model uses one per network); generator on worker 0, discriminator and data loader on worker 1',
    });
  });

  it('refuses worker counts the strategy cannot use', () => {
    expect(() => planStrategy({ model: 'vae-mlp', strategy: 'single', workers: 2, host: 'thread' })).toThrow(
      "workers must be 1 for strategy 'single' (every actor on one worker), got 2",
    );
    expect(() => planStrategy({ model: 'vae-mlp', strategy: 'model', workers: 3, host: 'thread' })).toThrow(
      "workers must be 2 for strategy 'model' (one worker per network), got 3",
    );
  });

  it.each(['data', 'pipeline'] as const)('refuses %s until it is built', (strategy) => {
    const call = () => planStrategy({ model: 'vae-mlp', strategy, workers: 2, host: 'thread' });
    expect(call).toThrow(ParagenError);
    expect(call).toThrow(`strategy '${strategy}' is not built yet: use --strategy single or model`);
  });
});

/** Four blank MNIST-sized images: enough to reach the checks that come before any worker starts. */
function tinyDataset(): Dataset {
  const split: Split = { images: new Uint8Array(4 * 784), count: 4, height: 28, width: 28, channels: 1, valueRange: UINT8_RANGE };
  return { name: 'tiny', train: split, test: split, testSource: 'files' };
}

async function refusal(input: RunConfigInput): Promise<unknown> {
  return createEngine(parseConfig(input, 'api'), tinyDataset()).then(
    async (engine) => {
      await engine.close();
      throw new Error('expected createEngine to refuse');
    },
    (error: unknown) => error,
  );
}

describe('createEngine', () => {
  it('refuses data and pipeline with a usage error', async () => {
    expect(await refusal({ model: 'vae-mlp', strategy: 'data', workers: 2, batchSize: 2 })).toMatchObject({
      code: 'NOT_BUILT',
      exitCode: 2,
      message: "strategy 'data' is not built yet: use --strategy single or model",
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
