/**
 * Training on wasm end to end: a small conv autoencoder (conv2d, conv2dTranspose,
 * batch norm, leaky ReLU) and a dense network, with the loss going down and the
 * tensor count flat across steps.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backend/index.js';
import { Rng } from '../../src/rng.js';

beforeAll(async () => {
  await useBackend('wasm');
  expect(tf.getBackend()).toBe('wasm');
});

/** Images of bright bars at seeded positions: easy structure to learn. */
function bars(n: number, size: number, seed: number): Float32Array {
  const rng = new Rng(seed);
  const out = new Float32Array(n * size * size);
  for (let i = 0; i < n; i++) {
    const row = rng.int(size);
    const col = rng.int(size);
    for (let j = 0; j < size; j++) {
      out[i * size * size + row * size + j] = 1;
      out[i * size * size + j * size + col] = 1;
    }
  }
  return out;
}

function seededWeights(model: tf.LayersModel, seed: number): void {
  const rng = new Rng(seed);
  for (const w of model.weights) {
    const shape = w.shape as number[];
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    const fanIn = shape.length > 1 ? shape.slice(0, -1).reduce((a, b) => a * b, 1) : 0;
    if (w.name.includes('gamma')) values.fill(1);
    else if (fanIn > 0) for (let i = 0; i < values.length; i++) values[i] = rng.normal() * Math.sqrt(1 / fanIn);
    w.write(tf.tensor(values, shape));
  }
}

function train(model: tf.LayersModel, x: tf.Tensor, y: tf.Tensor, steps: number, loss: (p: tf.Tensor, t: tf.Tensor) => tf.Scalar) {
  const optimizer = tf.train.adam(1e-2);
  const losses: number[] = [];
  const counts: number[] = [];
  for (let i = 0; i < steps; i++) {
    const value = tf.tidy(() => {
      const { value, grads } = tf.variableGrads(() => loss(model.apply(x, { training: true }) as tf.Tensor, y));
      optimizer.applyGradients(grads as tf.NamedTensorMap as Parameters<typeof optimizer.applyGradients>[0]);
      return value;
    });
    losses.push(value.dataSync()[0]!);
    value.dispose();
    counts.push(tf.memory().numTensors);
  }
  optimizer.dispose();
  return { losses, counts };
}

describe('training on wasm', () => {
  it('a conv autoencoder learns, with a flat tensor count', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.conv2d({ inputShape: [12, 12, 1], filters: 8, kernelSize: 3, strides: 2, padding: 'same' }),
        tf.layers.batchNormalization(),
        tf.layers.leakyReLU({ alpha: 0.2 }),
        tf.layers.conv2d({ filters: 16, kernelSize: 3, strides: 2, padding: 'same' }),
        tf.layers.leakyReLU({ alpha: 0.2 }),
        tf.layers.conv2dTranspose({ filters: 8, kernelSize: 3, strides: 2, padding: 'same' }),
        tf.layers.batchNormalization(),
        tf.layers.leakyReLU({ alpha: 0.2 }),
        tf.layers.conv2dTranspose({ filters: 1, kernelSize: 3, strides: 2, padding: 'same', activation: 'sigmoid' }),
      ],
    });
    seededWeights(model, 1);
    const x = tf.tensor4d(bars(16, 12, 2), [16, 12, 12, 1]);
    const { losses, counts } = train(model, x, x, 40, (p, t) => tf.losses.meanSquaredError(t, p) as tf.Scalar);
    expect(losses.every(Number.isFinite)).toBe(true);
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.5);
    expect(new Set(counts.slice(2)).size).toBe(1);
    x.dispose();
    model.dispose();
  });

  it('a dense network learns, with a flat tensor count', () => {
    const model = tf.sequential({
      layers: [
        tf.layers.dense({ inputShape: [64], units: 32, activation: 'relu' }),
        tf.layers.dense({ units: 64 }),
      ],
    });
    seededWeights(model, 3);
    const x = tf.tensor2d(bars(32, 8, 4), [32, 64]);
    const { losses, counts } = train(model, x, x, 60, (p, t) =>
      tf.losses.sigmoidCrossEntropy(t, p) as tf.Scalar,
    );
    expect(losses.at(-1)!).toBeLessThan(losses[0]! * 0.5);
    expect(new Set(counts.slice(2)).size).toBe(1);
    x.dispose();
    model.dispose();
  });
});
