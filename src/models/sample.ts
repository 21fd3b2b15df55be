/**
 * Images from a trained model: a GAN's generator on noise, or a VAE's decoder
 * on draws from the prior, mapped to [0, 1] for grids, `.npy` files and the
 * quality metrics.
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../errors.js';
import type { Rng } from '../rng.js';
import type { NetworkPart } from './part.js';
import type { ModelSpec } from './registry.js';

/**
 * `n` images, [n, 28, 28, 1] flattened, in [0, 1]: `network` is the spec's
 * generator (tanh output, mapped by (x + 1) / 2) or decoder (logits, mapped by
 * a sigmoid — the Bernoulli mean). The noise is drawn from `rng` image by image
 * in order, so the images do not depend on `batchSize`.
 */
export async function sampleImages(spec: ModelSpec, network: NetworkPart, n: number, rng: Rng, batchSize = 256): Promise<Float32Array> {
  if (!Number.isInteger(n) || n < 1) throw errors.invalidValue('n', 'a positive integer', n);
  const dim = spec.kind === 'gan' ? spec.noiseDim : spec.latentDim;
  const imageSize = (spec.imageShape as readonly number[]).reduce((a, b) => a * b, 1);
  const out = new Float32Array(n * imageSize);
  for (let start = 0; start < n; start += batchSize) {
    const count = Math.min(batchSize, n - start);
    const noise = rng.normals(new Float32Array(count * dim));
    const images = tf.tidy(() => {
      const y = network.forward(tf.tensor2d(noise, [count, dim]), { training: false });
      return spec.range === 'tanh' ? tf.div(tf.add(tf.clipByValue(y, -1, 1), 1), 2) : tf.sigmoid(y);
    });
    out.set(await images.data().finally(() => images.dispose()), start * imageSize);
  }
  return out;
}
