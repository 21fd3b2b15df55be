import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backend/index.js';
import { gatherBatch, loadDataset } from '../../src/data/index.js';
import { ParagenError } from '../../src/errors.js';
import { getClassifier, type Classifier } from '../../src/eval/classifier.js';
import { evaluate, type GanEvaluationResult, type VaeEvaluationResult } from '../../src/eval/evaluate.js';
import { evaluateVae } from '../../src/models/index.js';
import { Rng } from '../../src/rng.js';
import { openTrainedRun } from '../../src/run/trained-run.js';
import { miniMnist, writeRun } from './fixtures.js';

let root: string;
let data: string;
let classifier: Classifier;

beforeAll(async () => {
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'paragen-eval-'));
  data = miniMnist(join(root, 'mini'), 640, 200);
  // A quick classifier on a subset (never cached): the metrics need one, not a good one.
  classifier = await getClassifier(loadDataset(data), { limit: 512, epochs: 2 });
});
afterAll(async () => {
  classifier.dispose();
  await rm(root, { recursive: true, force: true });
});

describe('evaluate() on a VAE', () => {
  it('gives the mean negative ELBO per test image as bce + kl, deterministic for a seed', async () => {
    const run = await writeRun(join(root, 'vae'), { model: 'vae-mlp', seeds: [4], dataset: data });
    const r = (await evaluate({ run, seed: 3, backend: 'wasm' })) as VaeEvaluationResult;
    expect(r).toMatchObject({ kind: 'vae', model: 'vae-mlp', step: 1, testImages: 200, dataset: 'mini', seed: 3, backend: 'wasm' });
    expect(r.negElbo).toBeCloseTo(r.bce + r.kl, 3);
    expect(r.kl).toBeGreaterThan(0);
    // An untrained decoder is near 0.5 everywhere: about 784·ln 2 ≈ 543 nats of cross-entropy.
    expect(r.bce).toBeGreaterThan(400);
    expect((await evaluate({ run, seed: 3, backend: 'wasm' })) as VaeEvaluationResult).toMatchObject({
      negElbo: r.negElbo,
      bce: r.bce,
      kl: r.kl,
    });
    // The same figure as the training code's evaluation of those networks on those images.
    const trained = await openTrainedRun(run);
    const test = loadDataset(data).test;
    const batches = [gatherBatch(test, Uint32Array.from({ length: 200 }, (_, i) => i), 'unit')];
    const reference = await evaluateVae({ encoder: trained.part('encoder'), decoder: trained.part('decoder') }, batches, new Rng(3));
    trained.dispose();
    expect(r.negElbo).toBeCloseTo(reference.loss, 2);
    const limited = await evaluate({ run, seed: 3, backend: 'wasm' }, { limit: 50 });
    expect(limited.testImages).toBe(50);
  });
});

describe('evaluate() on a GAN', () => {
  it('scores generated images against the test set, beside the real data’s own scores', async () => {
    const run = await writeRun(join(root, 'gan'), { model: 'dcgan-small', seeds: [7], dataset: data });
    const r = (await evaluate({ run, seed: 1, backend: 'wasm' }, { classifier, samples: 300 })) as GanEvaluationResult;
    expect(r).toMatchObject({
      kind: 'gan',
      model: 'dcgan-small',
      samples: 300,
      testImages: 200,
      real: { trainImages: 300 },
      classifier: { source: 'given', testAccuracy: classifier.meta.testAccuracy, epochs: 2 },
    });
    // An untrained generator draws noise: far from the data, and one "class" for everything.
    expect(r.fid).toBeGreaterThan(r.real.fid);
    expect(r.real.inceptionScore).toBeGreaterThan(r.inceptionScore);
    expect(r.inceptionScore).toBeGreaterThanOrEqual(1);
    expect(r.classShares).toHaveLength(10);
    expect(r.classShares.reduce((a, b) => a + b, 0)).toBeCloseTo(1, 10);
    expect(r.real.inceptionScore).toBeLessThanOrEqual(10);
    expect(Number.isFinite(r.real.fid) && r.real.fid > 0).toBe(true);
    const again = (await evaluate({ run, seed: 1, backend: 'wasm' }, { classifier, samples: 300 })) as GanEvaluationResult;
    expect([again.inceptionScore, again.fid, again.real]).toEqual([r.inceptionScore, r.fid, r.real]);
    const other = (await evaluate({ run, seed: 2, backend: 'wasm' }, { classifier, samples: 300 })) as GanEvaluationResult;
    expect(other.fid).not.toBe(r.fid);
    expect(other.real).toEqual(r.real);
  });

  it('needs a labelled dataset for its classifier', async () => {
    const { writeNpy } = await import('../../src/data/index.js');
    const npy = join(root, 'images.npy');
    writeNpy(npy, new Uint8Array(20 * 28 * 28), [20, 28, 28]);
    const run = await writeRun(join(root, 'gan-npy'), { model: 'dcgan-small', seeds: [1], dataset: npy });
    const error = await evaluate({ run, backend: 'wasm' }, { samples: 10, classifierOptions: { cacheDir: join(root, 'cache') } }).then(
      () => undefined,
      (e: unknown) => e as ParagenError,
    );
    expect(error).toBeInstanceOf(ParagenError);
    expect(error?.message).toBe("dataset must be a labelled dataset (IDX files) for inceptionScore and fid, got 'images'");
    expect(error?.exitCode).toBe(2);
  });

  it('validates its own options', async () => {
    const run = join(root, 'gan');
    for (const [hooks, message] of [
      [{ samples: 1 }, 'samples must be an integer of at least 2, got 1'],
      [{ limit: 0.5 }, 'limit must be an integer of at least 2, got 0.5'],
    ] as const) {
      await expect(evaluate({ run }, hooks)).rejects.toThrow(message);
    }
    await expect(evaluate({ run: '' })).rejects.toThrow("run must be a non-empty string, got ''");
  });
});
