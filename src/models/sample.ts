/**
 * Images from a trained model: a GAN's generator on noise, or a VAE's decoder
 * on draws from the prior, mapped to [0, 1] for grids, `.npy` files and the
 * quality metrics.
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../errors.js';
import { Rng } from '../rng.js';
import type { NetworkPart } from './part.js';
import type { ModelSpec } from './registry.js';

/**
 * `n` images, [n, 28, 28, 1] flattened, in [0, 1]: `network` is the spec's
 * generator (tanh output, mapped by (x + 1) / 2) or decoder (logits, mapped by
 * a sigmoid — the Bernoulli mean). The noise is drawn from `rng` image by image
 * in order, so the images do not depend on `batchSize`. `noiseScale` below 1
 * multiplies every draw (the truncation trick by scaling).
 */
export async function sampleImages(
  spec: ModelSpec,
  network: NetworkPart,
  n: number,
  rng: Rng,
  batchSize = 256,
  noiseScale = 1,
): Promise<Float32Array> {
  if (!Number.isInteger(n) || n < 1) throw errors.invalidValue('n', 'a positive integer', n);
  if (!(noiseScale > 0)) throw errors.invalidValue('noiseScale', 'a positive number', noiseScale);
  const dim = spec.kind === 'gan' ? spec.noiseDim : spec.latentDim;
  const imageSize = (spec.imageShape as readonly number[]).reduce((a, b) => a * b, 1);
  const out = new Float32Array(n * imageSize);
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const noise = rng.normals(new Float32Array(count * dim));
    if (noiseScale !== 1) for (let i = 0; i < noise.length; i++) noise[i] = noise[i]! * noiseScale;
    const images = tf.tidy(() => {
      const y = network.forward(tf.tensor2d(noise, [count, dim]), { training: false });
      return spec.range === 'tanh' ? tf.div(tf.add(tf.clipByValue(y, -1, 1), 1), 2) : tf.sigmoid(y);
    });
    out.set(await images.data().finally(() => images.dispose()), start * imageSize);
  }
  return out;
}

/** Batches of 64 prior draws whose pooled batch-norm statistics an averaged image network gets. */
export const STANDING_BATCHES = 16;

/** Where a network's averaged copy is kept in a checkpoint: `generator-ema/model.json`, …. */
export function averagedName(network: string): string {
  return `${network}-ema`;
}

/**
 * The moving average of an image network's weights (a generator's), with
 * batch norm's statistics recomputed on fixed standard-normal inputs (the
 * prior it samples from): a new part the caller disposes, or undefined when
 * its optimizer keeps no average.
 */
export async function averagedImageNetwork(network: NetworkPart): Promise<NetworkPart | undefined> {
  if (!network.averaged) return undefined;
  const dim = network.model.inputs[0]!.shape[1] as number;
  const rng = new Rng(0x5eed);
  return network.averagedCopy(() => tf.tensor2d(rng.normals(new Float32Array(64 * dim)), [64, dim]), STANDING_BATCHES);
}
