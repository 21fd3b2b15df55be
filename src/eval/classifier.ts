/**
 * The MNIST classifier behind paragen's GAN metrics (Inception Score and FID
 * computed with a domain classifier, as is usual for MNIST: the ImageNet
 * Inception network knows nothing about digits). It is trained once per
 * dataset, deterministically from a seed, and cached as standard
 * TensorFlow.js artifacts with its test accuracy.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs';
import { BatchSampler, gatherBatch, gatherLabels, type Dataset, type Split } from '../data/index.js';
import { errors } from '../errors.js';
import { Rng } from '../rng.js';

/** Bump when the architecture or training recipe changes: old caches are then ignored. */
export const CLASSIFIER_VERSION = 1;
/** The width of the feature layer FID is computed on. */
export const FEATURE_DIMS = 128;

export interface ClassifierMeta {
  version: number;
  dataset: string;
  datasetKey: string;
  testAccuracy: number;
  epochs: number;
  seed: number;
  trainSeconds: number;
}

export interface Classifier {
  readonly model: tf.LayersModel;
  readonly meta: ClassifierMeta;
  /** Logits [N, classes] and features [N, 128] of images in [0, 1], NHWC. */
  predict(images: tf.Tensor4D): { logits: tf.Tensor2D; features: tf.Tensor2D };
  dispose(): void;
}

export interface ClassifierOptions {
  /** Where trained classifiers are kept; default `$PARAGEN_CACHE`, else `$XDG_CACHE_HOME/paragen`, else `~/.cache/paragen`. */
  cacheDir?: string;
  epochs?: number;
  seed?: number;
  batchSize?: number;
  /** Train on the first `limit` training images only (tests). */
  limit?: number;
  /** Called after each training batch, for progress display. */
  onProgress?: (done: number, total: number) => void;
}

export function defaultCacheDir(): string {
  const env = process.env;
  if (env['PARAGEN_CACHE']) return env['PARAGEN_CACHE'];
  return join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'paragen');
}

/** A key that changes when the dataset's training labels change. */
export function datasetKey(dataset: Dataset): string {
  const labels = dataset.train.labels;
  if (!labels) {
    throw errors.invalidValue('dataset', 'a labelled dataset (IDX files) for inceptionScore and fid', dataset.name);
  }
  const h = createHash('sha256');
  h.update(`${dataset.train.count}x${dataset.train.height}x${dataset.train.width}x${dataset.train.channels}`);
  h.update(labels);
  return h.digest('hex').slice(0, 12);
}

function build(split: Split, classes: number): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({
        inputShape: [split.height, split.width, split.channels],
        filters: 32,
        kernelSize: 3,
        padding: 'same',
        activation: 'relu',
      }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.conv2d({ filters: 64, kernelSize: 3, padding: 'same', activation: 'relu' }),
      tf.layers.maxPooling2d({ poolSize: 2 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: FEATURE_DIMS, activation: 'relu' }),
      tf.layers.dense({ units: classes }),
    ],
  });
}

/** He-normal kernels and zero biases, drawn from `rng` so training is reproducible. */
function initialise(model: tf.LayersModel, rng: Rng): void {
  for (const w of model.weights) {
    const shape = w.shape as number[];
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    if (shape.length > 1) {
      const fanIn = shape.slice(0, -1).reduce((a, b) => a * b, 1);
      const std = Math.sqrt(2 / fanIn);
      for (let i = 0; i < values.length; i++) values[i] = rng.normal() * std;
    }
    w.write(tf.tensor(values, shape));
  }
}

/** Runs the model layer by layer: dropout (rate 0.25, seeded per step) before the last layer while training. */
function forward(model: tf.LayersModel, x: tf.Tensor, dropoutSeed?: number): { logits: tf.Tensor2D; features: tf.Tensor2D } {
  let h = x;
  const layers = model.layers;
  for (let i = 0; i < layers.length - 1; i++) h = layers[i]!.apply(h) as tf.Tensor;
  const features = h as tf.Tensor2D;
  const dropped = dropoutSeed === undefined ? features : tf.dropout(features, 0.25, undefined, dropoutSeed);
  return { logits: layers[layers.length - 1]!.apply(dropped) as tf.Tensor2D, features };
}

/** Test-set accuracy in [0, 1]. */
export function accuracy(model: tf.LayersModel, split: Split, batchSize = 500): number {
  if (!split.labels) throw errors.invalidValue('split.labels', 'present', undefined);
  let correct = 0;
  const indices = new Uint32Array(batchSize);
  for (let start = 0; start < split.count; start += batchSize) {
    const n = Math.min(batchSize, split.count - start);
    for (let i = 0; i < n; i++) indices[i] = start + i;
    const idx = indices.subarray(0, n);
    const x = gatherBatch(split, idx, 'unit');
    const predicted = tf.tidy(() =>
      forward(model, tf.tensor4d(x, [n, split.height, split.width, split.channels])).logits.argMax(1),
    );
    const labels = gatherLabels(split, idx);
    const p = predicted.dataSync();
    predicted.dispose();
    for (let i = 0; i < n; i++) if (p[i] === labels[i]) correct++;
  }
  return correct / split.count;
}

/** Trains a classifier on `dataset` (Adam 1e-3, cross-entropy, seeded). */
export function trainClassifier(dataset: Dataset, options: ClassifierOptions = {}): { model: tf.LayersModel; meta: ClassifierMeta } {
  const epochs = options.epochs ?? 3;
  const seed = options.seed ?? 1234;
  const batchSize = options.batchSize ?? 64;
  const split = dataset.train;
  const labels = split.labels;
  if (!labels) throw errors.invalidValue('dataset', 'a labelled dataset', dataset.name);
  const classes = Math.max(...labels) + 1;
  const model = build(split, classes);
  initialise(model, new Rng(seed));
  const optimizer = tf.train.adam(1e-3);
  const count = Math.min(options.limit ?? split.count, split.count);
  const sampler = new BatchSampler(count, batchSize, seed, { dropLast: true });
  const total = epochs * sampler.batchesPerEpoch;
  const started = performance.now();
  const x = new Float32Array(batchSize * split.height * split.width * split.channels);
  for (let step = 0; step < total; step++) {
    const batch = sampler.next();
    gatherBatch(split, batch.indices, 'unit', x);
    const y = gatherLabels(split, batch.indices);
    tf.tidy(() => {
      const input = tf.tensor4d(x, [batchSize, split.height, split.width, split.channels]);
      const target = tf.oneHot(tf.tensor1d(Int32Array.from(y), 'int32'), classes);
      const { grads } = tf.variableGrads(
        () => tf.losses.softmaxCrossEntropy(target, forward(model, input, seed + step).logits) as tf.Scalar,
      );
      optimizer.applyGradients(grads as Parameters<typeof optimizer.applyGradients>[0]);
    });
    options.onProgress?.(step + 1, total);
  }
  optimizer.dispose();
  const meta: ClassifierMeta = {
    version: CLASSIFIER_VERSION,
    dataset: dataset.name,
    datasetKey: datasetKey(dataset),
    testAccuracy: dataset.test.labels ? accuracy(model, dataset.test) : NaN,
    epochs,
    seed,
    trainSeconds: (performance.now() - started) / 1000,
  };
  return { model, meta };
}

function wrap(model: tf.LayersModel, meta: ClassifierMeta): Classifier {
  return {
    model,
    meta,
    predict: (images) => forward(model, images),
    dispose: () => model.dispose(),
  };
}

async function save(model: tf.LayersModel, meta: ClassifierMeta, dir: string): Promise<void> {
  const tmp = `${dir}.tmp-${process.pid}`;
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  await model.save(
    tf.io.withSaveHandler(async (artifacts) => {
      const weights = artifacts.weightData;
      const bytes = weights instanceof ArrayBuffer ? new Uint8Array(weights) : new Uint8Array(tf.io.concatenateArrayBuffers(weights ?? []));
      writeFileSync(join(tmp, 'weights.bin'), bytes);
      writeFileSync(
        join(tmp, 'model.json'),
        JSON.stringify({
          modelTopology: artifacts.modelTopology,
          weightsManifest: [{ paths: ['weights.bin'], weights: artifacts.weightSpecs }],
          format: 'layers-model',
          generatedBy: 'paragen',
        }),
      );
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON' } };
    }),
  );
  writeFileSync(join(tmp, 'meta.json'), `${JSON.stringify(meta, null, 2)}\n`);
  rmSync(dir, { recursive: true, force: true });
  renameSync(tmp, dir);
}

async function load(dir: string): Promise<{ model: tf.LayersModel; meta: ClassifierMeta } | null> {
  if (!existsSync(join(dir, 'meta.json'))) return null;
  try {
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')) as ClassifierMeta;
    if (meta.version !== CLASSIFIER_VERSION) return null;
    const json = JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as {
      modelTopology: object;
      weightsManifest: { weights: tf.io.WeightsManifestEntry[] }[];
    };
    const weights = readFileSync(join(dir, 'weights.bin'));
    const model = await tf.loadLayersModel(
      tf.io.fromMemory({
        modelTopology: json.modelTopology,
        weightSpecs: json.weightsManifest.flatMap((m) => m.weights),
        weightData: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength),
      }),
    );
    return { model, meta };
  } catch {
    // A damaged cache is not an error: the classifier is trained again.
    return null;
  }
}

/**
 * The cached classifier for `dataset`, training (and caching) it first when
 * there is none. Training takes a few minutes on one CPU core.
 */
export async function getClassifier(dataset: Dataset, options: ClassifierOptions = {}): Promise<Classifier> {
  const key = datasetKey(dataset);
  const dir = join(options.cacheDir ?? defaultCacheDir(), `classifier-v${CLASSIFIER_VERSION}-${key}`);
  const cached = options.limit === undefined ? await load(dir) : null;
  if (cached) return wrap(cached.model, cached.meta);
  const trained = trainClassifier(dataset, options);
  if (options.limit === undefined) await save(trained.model, trained.meta, dir);
  return wrap(trained.model, trained.meta);
}
