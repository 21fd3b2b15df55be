/**
 * Sample-quality metrics for generators: Inception Score and Fréchet distance,
 * computed with paragen's MNIST classifier (see classifier.ts) — the MNIST
 * convention, since the ImageNet Inception network does not know digits.
 */
import * as tf from '@tensorflow/tfjs';
import { gatherBatch, type Split } from '../data/index.js';
import type { Classifier } from './classifier.js';
import { FEATURE_DIMS } from './classifier.js';
import { covariance, frechetDistance, mean } from './linalg.js';

/** Classifier outputs over a set of images. */
export interface Predictions {
  count: number;
  /** Softmax probabilities [count, classes]. */
  probabilities: Float32Array;
  classes: number;
  /** Penultimate-layer features [count, FEATURE_DIMS]. */
  features: Float32Array;
}

/**
 * Runs the classifier over images produced batch by batch by `batchAt(start, n)`
 * (values in [0, 1], NHWC, `height × width × channels` each).
 */
export async function predict(
  classifier: Classifier,
  count: number,
  shape: readonly [number, number, number],
  batchAt: (start: number, n: number) => Float32Array,
  batchSize = 500,
): Promise<Predictions> {
  const features = new Float32Array(count * FEATURE_DIMS);
  let probabilities = new Float32Array(0);
  let classes = 0;
  for (let start = 0; start < count; start += batchSize) {
    const n = Math.min(batchSize, count - start);
    const images = batchAt(start, n);
    const [probs, feats] = tf.tidy(() => {
      const { logits, features: f } = classifier.predict(tf.tensor4d(images, [n, ...shape]));
      return [tf.softmax(logits), f];
    });
    if (classes === 0) {
      classes = probs.shape[1]!;
      probabilities = new Float32Array(count * classes);
    }
    try {
      const [p, f] = await Promise.all([probs.data(), feats.data()]);
      probabilities.set(p as Float32Array, start * classes);
      features.set(f as Float32Array, start * FEATURE_DIMS);
    } finally {
      tf.dispose([probs, feats]);
    }
  }
  return { count, probabilities, classes, features };
}

/** The classifier's predictions on a dataset split (the reference for FID). */
export function predictSplit(classifier: Classifier, split: Split, count = split.count): Promise<Predictions> {
  const indices = new Uint32Array(Math.min(count, split.count));
  for (let i = 0; i < indices.length; i++) indices[i] = i;
  return predict(classifier, indices.length, [split.height, split.width, split.channels], (start, n) =>
    gatherBatch(split, indices.subarray(start, start + n), 'unit'),
  );
}

/**
 * Inception Score exp(E_x KL(p(y|x) ‖ p(y))) over all images at once (one
 * split). It is 1 for a generator stuck on one class and at most `classes` for
 * confident, evenly spread samples.
 */
export function inceptionScore(p: Predictions): number {
  const { count, classes, probabilities } = p;
  const marginal = new Float64Array(classes);
  for (let i = 0; i < count; i++) for (let c = 0; c < classes; c++) marginal[c]! += probabilities[i * classes + c]!;
  for (let c = 0; c < classes; c++) marginal[c]! /= count;
  const eps = 1e-12;
  let kl = 0;
  for (let i = 0; i < count; i++) {
    for (let c = 0; c < classes; c++) {
      const pc = probabilities[i * classes + c]!;
      if (pc > 0) kl += pc * (Math.log(pc + eps) - Math.log(marginal[c]! + eps));
    }
  }
  return Math.exp(kl / count);
}

/**
 * The share of images the classifier assigns to each class (its most probable
 * one): a generator covering every digit has no share near 0.
 */
export function classShares(p: Predictions): number[] {
  const { count, classes, probabilities } = p;
  const counts = new Array<number>(classes).fill(0);
  for (let i = 0; i < count; i++) {
    let best = 0;
    for (let c = 1; c < classes; c++) if (probabilities[i * classes + c]! > probabilities[i * classes + best]!) best = c;
    counts[best]! += 1;
  }
  return counts.map((n) => n / count);
}

/** Gaussian statistics of a feature set. */
export interface FeatureStats {
  mu: Float64Array;
  sigma: Float64Array;
  dims: number;
}

export function featureStats(p: Predictions): FeatureStats {
  const mu = mean(p.features, p.count, FEATURE_DIMS);
  return { mu, sigma: covariance(p.features, p.count, FEATURE_DIMS, mu), dims: FEATURE_DIMS };
}

/** Fréchet distance between two feature distributions (lower is better; 0 for identical). */
export function fid(a: FeatureStats, b: FeatureStats): number {
  return frechetDistance(a.mu, a.sigma, b.mu, b.sigma, a.dims);
}
