import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/rng.js';
import { computeFans, drawInitial, initializeWeights } from '../../src/models/init.js';
import { MODEL_NAMES, adamConfig, createPart, createParts, modelSpec } from '../../src/models/registry.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const trainableCount = (m: tf.LayersModel) => m.trainableWeights.reduce((n, w) => n + w.shape.reduce((a: number, b) => a * (b ?? 1), 1), 0);

describe('modelSpec', () => {
  it('knows the four models and rejects others with the usage message', () => {
    expect(MODEL_NAMES).toEqual(['dcgan', 'dcgan-small', 'vae-mlp', 'vae-conv']);
    expect(() => modelSpec('gan')).toThrow("model must be one of 'dcgan', 'dcgan-small', 'vae-mlp', 'vae-conv', got 'gan'");
    try {
      modelSpec('gan');
    } catch (e) {
      expect((e as { exitCode: number }).exitCode).toBe(2);
    }
  });

  it('carries the references’ defaults', () => {
    const gan = modelSpec('dcgan-small');
    expect(gan).toMatchObject({ kind: 'gan', noiseDim: 100, range: 'tanh', realLabel: 0.9, networks: ['generator', 'discriminator'] });
    expect(gan.defaults).toMatchObject({ lr: 1.6e-3, beta1: 0, beta2: 0.99 });
    // dcgan stays the TensorFlow tutorial's (dropout 0.3 in D); dcgan-small's D has none.
    expect(modelSpec('dcgan')).toMatchObject({ realLabel: 1, defaults: { lr: 2e-4, beta1: 0.5 } });
    const rates = (name: 'dcgan' | 'dcgan-small') =>
      modelSpec(name).build(1).discriminator.layers.filter((l) => l.getClassName() === 'Dropout').map((l) => l.getConfig()['rate']);
    expect(rates('dcgan')).toEqual([0.3, 0.3]);
    expect(rates('dcgan-small')).toEqual([0, 0]);
    const vae = modelSpec('vae-mlp');
    expect(vae).toMatchObject({ kind: 'vae', latentDim: 20, range: 'unit', networks: ['encoder', 'decoder'] });
    expect(vae.defaults).toMatchObject({ lr: 1e-3, beta1: 0.9 });
    expect(adamConfig(vae, { lr: 5e-4, beta1: undefined })).toEqual({ lr: 5e-4, beta1: 0.9, beta2: 0.999, epsilon: 1e-8 });
  });

  it('builds dcgan with the TensorFlow tutorial’s parameter counts', () => {
    const { generator, discriminator } = modelSpec('dcgan').build(1);
    // model.summary() in the tutorial: 2,330,944 (2,305,472 trainable) and 212,865.
    expect(generator.countParams()).toBe(2_330_944);
    expect(trainableCount(generator)).toBe(2_305_472);
    expect(discriminator.countParams()).toBe(212_865);
    expect(generator.outputs[0]!.shape).toEqual([null, 28, 28, 1]);
    expect(discriminator.outputs[0]!.shape).toEqual([null, 1]);
    expect(generator.layers.map((l) => l.getClassName())).toEqual([
      'Dense', 'BatchNormalization', 'LeakyReLU', 'Reshape',
      'Conv2DTranspose', 'BatchNormalization', 'LeakyReLU',
      'Conv2DTranspose', 'BatchNormalization', 'LeakyReLU',
      'Conv2DTranspose',
    ]);
    expect(discriminator.layers.map((l) => l.getClassName())).toEqual([
      'Conv2D', 'LeakyReLU', 'Dropout', 'Conv2D', 'LeakyReLU', 'Dropout', 'Flatten', 'Dense',
    ]);
    generator.dispose();
    discriminator.dispose();
  });

  it('builds vae-mlp as the PyTorch example’s 784-400-20 (652,824 parameters)', () => {
    const { encoder, decoder } = modelSpec('vae-mlp').build(1);
    expect(encoder.countParams() + decoder.countParams()).toBe(652_824);
    expect(encoder.outputs[0]!.shape).toEqual([null, 40]);
    expect(decoder.inputs[0]!.shape).toEqual([null, 20]);
    expect(decoder.outputs[0]!.shape).toEqual([null, 28, 28, 1]);
    encoder.dispose();
    decoder.dispose();
  });

  it.each(MODEL_NAMES)('%s: every network runs on a batch with the documented shapes', (name) => {
    const spec = modelSpec(name);
    const parts = createParts(spec, 3);
    const x = tf.zeros([2, 28, 28, 1]);
    if (spec.kind === 'gan') {
      const fake = parts.generator!.forward(tf.zeros([2, spec.noiseDim]), { training: false });
      expect(fake.shape).toEqual([2, 28, 28, 1]);
      const range = fake.dataSync();
      expect(Math.max(...range)).toBeLessThanOrEqual(1);
      expect(parts.discriminator!.forward(x, { training: false }).shape).toEqual([2, 1]);
    } else {
      expect(parts.encoder!.forward(x, { training: false }).shape).toEqual([2, 2 * spec.latentDim]);
      expect(parts.decoder!.forward(tf.zeros([2, spec.latentDim]), { training: false }).shape).toEqual([2, 28, 28, 1]);
    }
    Object.values(parts).forEach((p) => p.dispose());
  });
});

describe('seeded initialisation', () => {
  it('gives identical weights for one seed, different for another, per network independently', async () => {
    const spec = modelSpec('dcgan-small');
    const a = createPart(spec, 'discriminator', 7);
    const b = spec.build(7);
    const c = createPart(spec, 'discriminator', 8);
    const wa = await a.getWeights();
    expect(b.discriminator.getWeights().map((t) => t.dataSync())).toEqual(wa);
    expect(await c.getWeights()).not.toEqual(wa);
    expect(b.generator.getWeights()[0]!.dataSync().slice(0, 8)).not.toEqual(wa[0]!.slice(0, 8));
    [a, c].forEach((p) => p.dispose());
    b.generator.dispose();
    b.discriminator.dispose();
  });

  it('follows each layer’s initializer: Glorot uniform kernels, zero biases, BN ones/zeros', () => {
    const g = modelSpec('dcgan-small').buildNetwork('generator', 1);
    const byName = Object.fromEntries(g.weights.map((w) => [w.originalName, w.read().dataSync() as Float32Array]));
    const kernel = byName['dense/kernel']!;
    const limit = Math.sqrt(6 / (100 + 7 * 7 * 64));
    const largest = kernel.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
    expect(largest).toBeLessThanOrEqual(limit);
    expect(largest).toBeGreaterThan(0.95 * limit);
    const variance = kernel.reduce((s, v) => s + v * v, 0) / kernel.length;
    expect(variance).toBeCloseTo((limit * limit) / 3, 4);
    expect(new Set(byName['dense_bn/gamma'])).toEqual(new Set([1]));
    expect(new Set(byName['dense_bn/beta'])).toEqual(new Set([0]));
    expect(new Set(byName['dense_bn/moving_variance'])).toEqual(new Set([1]));
    const d = modelSpec('dcgan-small').buildNetwork('discriminator', 1);
    expect(new Set(d.weights.find((w) => w.originalName === 'conv1/bias')!.read().dataSync())).toEqual(new Set([0]));
    g.dispose();
    d.dispose();
  });

  it('computes fans as tfjs does and reproduces draws from an Rng state', () => {
    expect(computeFans([100, 3136])).toEqual({ fanIn: 100, fanOut: 3136 });
    expect(computeFans([5, 5, 64, 128])).toEqual({ fanIn: 1600, fanOut: 3200 });
    const init = { className: 'VarianceScaling', config: { scale: 1, mode: 'fanAvg', distribution: 'normal' } };
    const a = drawInitial(init, [20, 30], new Rng(5));
    expect(drawInitial(init, [20, 30], new Rng(5))).toEqual(a);
    expect(Math.max(...a.map(Math.abs))).toBeLessThanOrEqual(2 * Math.sqrt(1 / 25) + 1e-6);
    expect(() => drawInitial({ className: 'Orthogonal', config: {} }, [2, 2], new Rng(1))).toThrow(
      'seeded initialisation does not support the Orthogonal initializer',
    );
  });

  it('overwrites the weights of any model in place', () => {
    const m = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2], biasInitializer: 'ones' })] });
    initializeWeights(m, new Rng(1));
    const first = m.getWeights().map((t) => Array.from(t.dataSync()));
    initializeWeights(m, new Rng(1));
    expect(m.getWeights().map((t) => Array.from(t.dataSync()))).toEqual(first);
    expect(first[1]).toEqual([1, 1, 1]);
    m.dispose();
  });

  it('names a network that the model does not have', () => {
    expect(() => createPart(modelSpec('vae-mlp'), 'generator', 1)).toThrow(
      "network must be one of 'encoder', 'decoder', got 'generator'",
    );
  });
});

describe('the config table and the registry', () => {
  it('name the same models', async () => {
    const { MODELS } = await import('../../src/domain.js');
    const { FIELDS } = await import('../../src/run/config-schema.js');
    expect([...FIELDS.model.values]).toEqual([...MODELS]);
    expect(MODELS.map((name) => modelSpec(name).name)).toEqual([...MODELS]);
  });
});
