import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backend/index.js';
import { loadDataset, type Dataset } from '../../src/data/index.js';
import {
  CLASSIFIER_VERSION,
  classifierDir,
  defaultCacheDir,
  getClassifier,
  loadClassifier,
  type Classifier,
  type TrainingPlan,
} from '../../src/eval/classifier.js';
import { predictSplit } from '../../src/eval/metrics.js';
import { miniMnist } from './fixtures.js';

let root: string;
let dataset: Dataset;

beforeAll(async () => {
  await useBackend('wasm');
  root = await mkdtemp(join(tmpdir(), 'paragen-classifier-'));
  dataset = loadDataset(miniMnist(join(root, 'mini'), 320, 100));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/** getClassifier on the mini dataset with a 1-epoch recipe, recording what it reports. */
async function get(cacheDir: string) {
  const plans: TrainingPlan[] = [];
  const progress: number[] = [];
  const warnings: string[] = [];
  const classifier = await getClassifier(dataset, {
    cacheDir,
    epochs: 1,
    onTraining: (plan) => plans.push(plan),
    onProgress: (done, total) => progress.push(done / total),
    onWarning: (message) => warnings.push(message),
  });
  return { classifier, plans, progress, warnings };
}

async function features(c: Classifier): Promise<Float32Array> {
  return (await predictSplit(c, dataset.test, 20)).features;
}

describe('the cached classifier', () => {
  it('is trained once, saved as standard TensorFlow.js artifacts, then loaded from the cache', async () => {
    const cacheDir = join(root, 'cache');
    const dir = classifierDir(dataset, cacheDir);
    expect(dir).toMatch(new RegExp(`classifier-v${CLASSIFIER_VERSION}-[0-9a-f]{12}$`));
    const first = await get(cacheDir);
    expect(first.classifier).toMatchObject({ source: 'trained', path: dir });
    expect(first.plans).toEqual([{ dir, epochs: 1, images: 320, batches: 5 }]);
    expect(first.progress).toEqual([0.2, 0.4, 0.6, 0.8, 1]);
    expect(first.classifier.meta).toMatchObject({ version: CLASSIFIER_VERSION, dataset: 'mini', epochs: 1, trainImages: 320, batchSize: 64 });
    expect(first.classifier.meta.testAccuracy).toBeGreaterThan(0.1);
    // Any TensorFlow.js reads it: a layers model whose manifest names weights.bin.
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as tf.io.ModelJSON;
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0]!.paths).toEqual(['weights.bin']);
    expect(existsSync(join(dir, 'meta.json'))).toBe(true);

    const second = await get(cacheDir);
    expect(second.classifier).toMatchObject({ source: 'cache', path: dir, meta: first.classifier.meta });
    expect(second.plans).toEqual([]);
    expect(await features(second.classifier)).toEqual(await features(first.classifier));
    first.classifier.dispose();
    second.classifier.dispose();
  });

  it('trains again, with a warning, when the cache is damaged; silently when its recipe differs', async () => {
    const cacheDir = join(root, 'damaged');
    const dir = classifierDir(dataset, cacheDir);
    (await get(cacheDir)).classifier.dispose();
    const weights = readFileSync(join(dir, 'weights.bin'));
    writeFileSync(join(dir, 'weights.bin'), weights.subarray(0, 100));
    const again = await get(cacheDir);
    expect(again.warnings).toEqual([
      `the cached classifier is damaged and will be trained again: ${dir}: weights.bin: expected ${weights.length} bytes, found 100`,
    ]);
    expect(again.classifier.source).toBe('trained');
    again.classifier.dispose();
    expect(readFileSync(join(dir, 'weights.bin')).length).toBe(weights.length);

    writeFileSync(join(dir, 'meta.json'), '{ not json');
    await expect(loadClassifier(dir)).rejects.toThrow(`${join(dir, 'meta.json')}: not valid JSON`);

    // A 2-epoch request does not take the 1-epoch classifier.
    (await get(cacheDir)).classifier.dispose();
    const plans: TrainingPlan[] = [];
    const other = await getClassifier(dataset, { cacheDir, epochs: 2, onTraining: (p) => plans.push(p) });
    expect(plans).toHaveLength(1);
    expect(other.meta.epochs).toBe(2);
    other.dispose();
  });

  it('is not cached when trained on a subset', async () => {
    const cacheDir = join(root, 'subset');
    const c = await getClassifier(dataset, { cacheDir, epochs: 1, limit: 128 });
    expect(c.source).toBe('trained');
    expect(c.path).toBeUndefined();
    expect(c.meta.trainImages).toBe(128);
    expect(existsSync(cacheDir)).toBe(false);
    c.dispose();
  });

  it('lives in $PARAGEN_CACHE, else $XDG_CACHE_HOME/paragen, else ~/.cache/paragen', () => {
    expect(defaultCacheDir({ PARAGEN_CACHE: '/c', XDG_CACHE_HOME: '/x' })).toBe('/c');
    expect(defaultCacheDir({ XDG_CACHE_HOME: '/x' })).toBe(join('/x', 'paragen'));
    expect(defaultCacheDir({})).toMatch(/\.cache[/\\]paragen$/);
  });
});
