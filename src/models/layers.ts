/**
 * The layers a `NetworkPart` runs itself in training (dropout with seeded
 * masks, batch norm with held statistics, see part.ts), and those it may hand
 * to tfjs because training changes nothing in them.
 */
import * as tf from '@tensorflow/tfjs';
import { errors } from '../errors.js';
import type { Rng } from '../rng.js';

export type LayerVariable = tf.layers.Layer['weights'][number];

const TWO_32 = 4294967296;

/** Layers whose training-mode behaviour is the same as their inference behaviour. */
export const STATELESS = new Set([
  'Dense',
  'Conv2D',
  'Conv2DTranspose',
  'Flatten',
  'Reshape',
  'LeakyReLU',
  'ReLU',
  'Activation',
  'ZeroPadding2D',
  'Cropping2D',
  'UpSampling2D',
  'MaxPooling2D',
  'AveragePooling2D',
]);

export interface BatchNormLayer {
  gamma: LayerVariable | null;
  beta: LayerVariable | null;
  movingMean: LayerVariable;
  movingVariance: LayerVariable;
  epsilon: number;
  momentum: number;
  axis: number;
}

/** Inverted dropout with a mask from `rng`: keep with probability 1 - rate, scale kept units by 1/(1 - rate). */
export function dropout(x: tf.Tensor, rate: number, rng: Rng): tf.Tensor {
  if (rate === 0) return x;
  const threshold = rate * TWO_32;
  const scale = 1 / (1 - rate);
  const mask = new Float32Array(x.size);
  for (let i = 0; i < mask.length; i++) mask[i] = rng.nextUint32() < threshold ? 0 : scale;
  return tf.mul(x, tf.tensor(mask, x.shape));
}

export function dropoutRate(layer: tf.layers.Layer): number {
  const config = layer.getConfig();
  const rate = config['rate'];
  if (typeof rate !== 'number' || !(rate >= 0 && rate < 1) || config['noiseShape'] != null) {
    throw errors.internal(`layer ${layer.name}: only Dropout with a rate in [0, 1) and no noiseShape is supported`);
  }
  return rate;
}

export function batchNormOf(layer: tf.layers.Layer): BatchNormLayer {
  const config = layer.getConfig();
  const find = (suffix: string) => layer.weights.find((w) => w.originalName.endsWith(`/${suffix}`)) ?? null;
  const movingMean = find('moving_mean');
  const movingVariance = find('moving_variance');
  if (!movingMean || !movingVariance) throw errors.internal(`layer ${layer.name}: batch norm without moving statistics`);
  return {
    gamma: find('gamma'),
    beta: find('beta'),
    movingMean,
    movingVariance,
    epsilon: config['epsilon'] as number,
    momentum: config['momentum'] as number,
    axis: config['axis'] as number,
  };
}

