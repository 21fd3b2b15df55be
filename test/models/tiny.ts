/**
 * Small networks and data for the model tests: the same layer types as the
 * real models (dense, batch norm, leaky ReLU, transposed and plain
 * convolutions, dropout) on 8×8 images, so whole training runs take a blink
 * on the cpu backend.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../src/rng.js';
import { initializeWeights } from '../../src/models/init.js';
import { NetworkPart } from '../../src/models/part.js';
import { mlpDecoder, mlpEncoder } from '../../src/models/vae.js';
import type { GanParts, VaeParts } from '../../src/models/steps.js';
import type { AdamConfig } from '../../src/models/adam.js';

export const TINY_NOISE = 8;
export const TINY_LATENT = 4;

export function tinyGenerator(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: 4 * 4 * 4, useBias: false, inputShape: [TINY_NOISE], kernelInitializer: 'glorotUniform' }),
      tf.layers.batchNormalization(),
      tf.layers.leakyReLU(),
      tf.layers.reshape({ targetShape: [4, 4, 4] }),
      tf.layers.conv2dTranspose({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', useBias: false, kernelInitializer: 'glorotUniform' }),
      tf.layers.batchNormalization(),
      tf.layers.leakyReLU(),
      tf.layers.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 1, padding: 'same', useBias: false, activation: 'tanh', kernelInitializer: 'glorotUniform' }),
    ],
  });
}

export function tinyDiscriminator(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.conv2d({ filters: 4, kernelSize: 3, strides: 2, padding: 'same', inputShape: [8, 8, 1], kernelInitializer: 'glorotUniform' }),
      tf.layers.leakyReLU(),
      tf.layers.dropout({ rate: 0.3 }),
      tf.layers.flatten(),
      tf.layers.dense({ units: 1, kernelInitializer: 'glorotUniform' }),
    ],
  });
}

const GAN_ADAM: AdamConfig = { lr: 2e-3, beta1: 0.5 };

/** A tiny GAN whose weights come from `seed`. */
export function tinyGan(seed: number, adam: AdamConfig = GAN_ADAM): GanParts {
  const rng = new Rng(seed);
  const g = tinyGenerator();
  initializeWeights(g, rng.fork());
  const d = tinyDiscriminator();
  initializeWeights(d, rng.fork());
  return { generator: new NetworkPart('generator', g, adam), discriminator: new NetworkPart('discriminator', d, adam) };
}

/** A small MLP VAE on 28×28 images (hidden 32, latent 4). */
export function tinyVae(seed: number, adam: AdamConfig = { lr: 1e-3, beta1: 0.9 }): VaeParts {
  const rng = new Rng(seed);
  const e = mlpEncoder(TINY_LATENT, 32);
  initializeWeights(e, rng.fork());
  const d = mlpDecoder(TINY_LATENT, 32);
  initializeWeights(d, rng.fork());
  return { encoder: new NetworkPart('encoder', e, adam), decoder: new NetworkPart('decoder', d, adam) };
}

/**
 * `count` binary images of `side`×`side`, cycling through four fixed
 * patterns (left half, top half, diagonal band, checkerboard of 4×4 blocks),
 * with values `lo`/`hi`.
 */
export function patterns(count: number, side: number, lo = 0, hi = 1): Float32Array {
  const out = new Float32Array(count * side * side);
  const on = (k: number, r: number, c: number): boolean => {
    switch (k % 4) {
      case 0:
        return c < side / 2;
      case 1:
        return r < side / 2;
      case 2:
        return Math.abs(r - c) < side / 4;
      default:
        return (Math.floor(r / (side / 4)) + Math.floor(c / (side / 4))) % 2 === 0;
    }
  };
  for (let k = 0; k < count; k++) {
    for (let r = 0; r < side; r++) for (let c = 0; c < side; c++) out[k * side * side + r * side + c] = on(k, r, c) ? hi : lo;
  }
  return out;
}

/** A tensor of uniforms in [lo, hi) from a seeded Rng. */
export function uniformTensor(shape: number[], seed: number, lo = 0, hi = 1): tf.Tensor {
  const values = new Rng(seed).uniforms(new Float32Array(shape.reduce((a, b) => a * b, 1)));
  return tf.tensor(values.map((v) => lo + (hi - lo) * v), shape);
}

export function disposeParts(parts: object): void {
  for (const p of Object.values(parts)) (p as NetworkPart).dispose();
}

/** ‖a - b‖ / ‖b‖ over a list of tensors taken as one vector. */
export function relativeError(a: readonly tf.Tensor[], b: readonly tf.Tensor[]): number {
  let num = 0;
  let den = 0;
  a.forEach((t, i) => {
    const x = t.dataSync();
    const y = b[i]!.dataSync();
    for (let j = 0; j < x.length; j++) {
      num += (x[j]! - y[j]!) ** 2;
      den += y[j]! ** 2;
    }
  });
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}
