import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/rng.js';
import { negElbo, splitLatent, reparameterize } from '../../src/models/losses.js';
import { createParts, modelSpec } from '../../src/models/registry.js';
import { sampleImages } from '../../src/models/sample.js';
import { evaluateVae, ganGradients, planGanStep, planVaeStep, vaeGradients, type GanParts, type VaeParts } from '../../src/models/steps.js';
import { ganStep, vaeStep } from '../reference/steps.js';
import { fusedGanGradients, fusedVaeGradients } from './fused.js';
import { TINY_LATENT, TINY_NOISE, disposeParts, patterns, relativeError, tinyGan, tinyVae } from './tiny.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const live: object[] = [];
afterEach(() => {
  live.splice(0).forEach(disposeParts);
});
const keep = <T extends object>(parts: T): T => {
  live.push(parts);
  return parts;
};

const scalar = (t: tf.Tensor) => t.dataSync()[0]!;
/** Eight 8×8 images in [-1, 1]: the GAN's real data. */
/** `n` steps one after another (each awaits its losses). */
async function steps<T>(n: number, step: () => Promise<T>): Promise<T[]> {
  const out: T[] = [];
  for (let i = 0; i < n; i++) out.push(await step());
  return out;
}
const realGan = () => tf.tensor4d(patterns(8, 8, -1, 1), [8, 8, 8, 1]);
/** Sixteen 28×28 binary images: the VAE's data. */
const realVae = (n = 16) => tf.tensor4d(patterns(n, 28), [n, 28, 28, 1]);

describe('GAN step', () => {
  it('gives the same gradients as one tape over the DCGAN tutorial’s losses (tiny GAN)', () => {
    const parts = keep(tinyGan(1));
    const real = realGan();
    const plan = planGanStep(new Rng(2), 8, TINY_NOISE);
    const fused = fusedGanGradients(parts, real, plan);
    const ours = ganGradients(parts, real, plan);
    expect(scalar(ours.dLoss)).toBeCloseTo(scalar(fused.dLoss), 6);
    expect(scalar(ours.gLoss)).toBeCloseTo(scalar(fused.gLoss), 6);
    expect(relativeError(ours.discriminatorGrads, fused.discriminatorGrads)).toBeLessThan(1e-5);
    expect(relativeError(ours.generatorGrads, fused.generatorGrads)).toBeLessThan(1e-5);
  });

  it('with one-sided label smoothing, matches one tape over the smoothed loss, and differs from the unsmoothed step', () => {
    const parts = keep(tinyGan(1));
    const real = realGan();
    const plan = planGanStep(new Rng(2), 8, TINY_NOISE);
    const fused = fusedGanGradients(parts, real, plan, 0.9);
    const ours = ganGradients(parts, real, plan, 1, 0.9);
    expect(scalar(ours.dLoss)).toBeCloseTo(scalar(fused.dLoss), 6);
    expect(relativeError(ours.discriminatorGrads, fused.discriminatorGrads)).toBeLessThan(1e-5);
    expect(relativeError(ours.generatorGrads, fused.generatorGrads)).toBeLessThan(1e-5);
    const plain = ganGradients(parts, real, plan);
    expect(Math.abs(scalar(plain.dLoss) - scalar(ours.dLoss))).toBeGreaterThan(1e-3);
    // The generator's target stays 1: its loss does not change.
    expect(scalar(ours.gLoss)).toBeCloseTo(scalar(plain.gLoss), 6);
  });

  it('with the hinge loss, matches one tape over the hinge losses and ignores the real label', () => {
    const parts = keep(tinyGan(1));
    const real = realGan();
    const plan = planGanStep(new Rng(2), 8, TINY_NOISE);
    const fused = fusedGanGradients(parts, real, plan, 1, 'hinge');
    const ours = ganGradients(parts, real, plan, 1, 0.9, 'hinge');
    expect(scalar(ours.dLoss)).toBeCloseTo(scalar(fused.dLoss), 6);
    expect(scalar(ours.gLoss)).toBeCloseTo(scalar(fused.gLoss), 6);
    expect(relativeError(ours.discriminatorGrads, fused.discriminatorGrads)).toBeLessThan(1e-5);
    expect(relativeError(ours.generatorGrads, fused.generatorGrads)).toBeLessThan(1e-5);
    const bce = ganGradients(parts, real, plan);
    expect(Math.abs(scalar(bce.dLoss) - scalar(ours.dLoss))).toBeGreaterThan(1e-3);
  });

  it('gives the same gradients as one tape for dcgan-small (batch 2)', () => {
    const spec = modelSpec('dcgan-small');
    const parts = keep(createParts(spec, 3));
    const real = tf.tensor4d(patterns(2, 28, -1, 1), [2, 28, 28, 1]);
    const plan = planGanStep(new Rng(4), 2, spec.noiseDim);
    const fused = fusedGanGradients(parts, real, plan);
    const ours = ganGradients(parts, real, plan);
    expect(relativeError(ours.discriminatorGrads, fused.discriminatorGrads)).toBeLessThan(1e-5);
    expect(relativeError(ours.generatorGrads, fused.generatorGrads)).toBeLessThan(1e-5);
  });

  it('is deterministic for a seed and differs between seeds', async () => {
    const run = async (seed: number) => {
      const parts = keep(tinyGan(seed));
      const rng = new Rng(seed);
      const real = realGan();
      return await steps(4, () => ganStep(parts, real, planGanStep(rng, 8, TINY_NOISE)));
    };
    const a = await run(11);
    expect(await run(11)).toEqual(a);
    expect(await run(12)).not.toEqual(a);
    for (const { dLoss, gLoss } of a) expect(Number.isFinite(dLoss) && Number.isFinite(gLoss)).toBe(true);
  });

  it('resumes exactly from a snapshot of weights, optimizer state and Rng', async () => {
    const real = realGan();
    const straight = keep(tinyGan(5));
    const rngA = new Rng(6);
    const lossesA = await steps(6, () => ganStep(straight, real, planGanStep(rngA, 8, TINY_NOISE)));

    const first = keep(tinyGan(5));
    const rngB = new Rng(6);
    for (let i = 0; i < 3; i++) await ganStep(first, real, planGanStep(rngB, 8, TINY_NOISE));
    const resumed = keep(tinyGan(99)); // different initial weights, all overwritten
    for (const name of ['generator', 'discriminator'] as const) {
      resumed[name].setWeights(await first[name].getWeights());
      resumed[name].setOptimizerState(await first[name].getOptimizerState());
    }
    const rngC = new Rng(rngB.state());
    const lossesB = await steps(3, () => ganStep(resumed, real, planGanStep(rngC, 8, TINY_NOISE)));
    expect(lossesB).toEqual(lossesA.slice(3));
    expect(await resumed.generator.getWeights()).toEqual(await straight.generator.getWeights());
  });

  it('lowers the discriminator loss while the generator is frozen', async () => {
    const parts: GanParts = keep(tinyGan(7, { lr: 1e-2, beta1: 0.5 }));
    const real = realGan();
    const rng = new Rng(8);
    const losses: number[] = [];
    for (let i = 0; i < 40; i++) {
      const r = ganGradients(parts, real, planGanStep(rng, 8, TINY_NOISE));
      losses.push(scalar(r.dLoss));
      parts.discriminator.apply(r.discriminatorGrads);
      parts.generator.discardStepState();
      tf.dispose([r.dLoss, r.gLoss, ...r.generatorGrads, ...r.discriminatorGrads]);
    }
    const tail = losses.slice(-5).reduce((a, b) => a + b, 0) / 5;
    expect(losses[0]).toBeGreaterThan(1);
    expect(tail).toBeLessThan(0.5 * losses[0]!);
  });

  it('keeps the tensor count flat across steps', async () => {
    const parts = keep(tinyGan(9));
    const real = realGan();
    const rng = new Rng(10);
    let afterThird = -1;
    for (let step = 1; step <= 20; step++) {
      await ganStep(parts, real, planGanStep(rng, 8, TINY_NOISE));
      if (step === 3) afterThird = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(afterThird);
  });

  it('rejects a plan for another batch size', async () => {
    const parts = keep(tinyGan(1));
    await expect(ganStep(parts, realGan(), planGanStep(new Rng(1), 4, TINY_NOISE))).rejects.toThrow(
      "real batch size must be the plan's 4, got 8",
    );
  });
});

describe('VAE step', () => {
  it('gives the same gradients as one tape over the negative ELBO', () => {
    const parts = keep(tinyVae(1));
    const x = realVae(8);
    const plan = planVaeStep(new Rng(2), 8, TINY_LATENT);
    const fused = fusedVaeGradients(parts, x, plan);
    const ours = vaeGradients(parts, x, plan);
    expect(scalar(ours.loss)).toBeCloseTo(scalar(fused.loss), 3);
    expect(scalar(ours.kl)).toBeCloseTo(scalar(fused.kl), 5);
    expect(relativeError(ours.encoderGrads, fused.encoderGrads)).toBeLessThan(1e-5);
    expect(relativeError(ours.decoderGrads, fused.decoderGrads)).toBeLessThan(1e-5);
  });

  it('gives the same gradients as one tape for vae-conv (batch 2)', () => {
    const spec = modelSpec('vae-conv');
    const parts = keep(createParts(spec, 3));
    const x = realVae(2);
    const plan = planVaeStep(new Rng(4), 2, spec.latentDim);
    const fused = fusedVaeGradients(parts, x, plan);
    const ours = vaeGradients(parts, x, plan);
    expect(relativeError(ours.encoderGrads, fused.encoderGrads)).toBeLessThan(1e-5);
    expect(relativeError(ours.decoderGrads, fused.decoderGrads)).toBeLessThan(1e-5);
  });

  it('is deterministic for a seed and differs between seeds', async () => {
    const run = async (seed: number) => {
      const parts = keep(tinyVae(seed));
      const rng = new Rng(seed);
      const x = realVae(8);
      return await steps(3, () => vaeStep(parts, x, planVaeStep(rng, 8, TINY_LATENT)));
    };
    const a = await run(3);
    expect(await run(3)).toEqual(a);
    expect(await run(4)).not.toEqual(a);
  });

  it('lowers the loss of vae-mlp on a few fixed patterns', async () => {
    const spec = modelSpec('vae-mlp');
    const parts: VaeParts = keep(createParts(spec, 5));
    const x = realVae(8);
    const rng = new Rng(6);
    const losses = (await steps(20, () => vaeStep(parts, x, planVaeStep(rng, 8, spec.latentDim)))).map((l) => l.loss);
    expect(losses[0]).toBeGreaterThan(400); // ≈ 784·ln 2 at the start
    expect(losses.slice(-5).reduce((a, b) => a + b, 0) / 5).toBeLessThan(0.5 * losses[0]!);
  });

  it('keeps the tensor count flat across steps', async () => {
    const parts = keep(tinyVae(9));
    const x = realVae(8);
    const rng = new Rng(10);
    let afterThird = -1;
    for (let step = 1; step <= 20; step++) {
      await vaeStep(parts, x, planVaeStep(rng, 8, TINY_LATENT));
      if (step === 3) afterThird = tf.memory().numTensors;
    }
    expect(tf.memory().numTensors).toBe(afterThird);
  });
});

describe('evaluateVae', () => {
  it('is the mean negative ELBO per image over all batches', async () => {
    const parts = keep(tinyVae(2));
    const data = patterns(6, 28);
    const result = await evaluateVae(parts, [data.subarray(0, 4 * 784), data.subarray(4 * 784)], new Rng(3));
    expect(result.images).toBe(6);
    // By hand: one batch of six, eps drawn from the same stream in the same order.
    const rng = new Rng(3);
    const eps = tf.concat([
      tf.tensor2d(rng.normals(new Float32Array(4 * TINY_LATENT)), [4, TINY_LATENT]),
      tf.tensor2d(rng.normals(new Float32Array(2 * TINY_LATENT)), [2, TINY_LATENT]),
    ]);
    const x = tf.tensor4d(data, [6, 28, 28, 1]);
    const { mu, logvar } = splitLatent(parts.encoder.forward(x, { training: false }));
    const logits = parts.decoder.forward(reparameterize(mu, logvar, eps), { training: false });
    const want = negElbo(logits, x, mu, logvar);
    expect(result.loss).toBeCloseTo(scalar(want.loss), 3);
    expect(result.kl).toBeCloseTo(scalar(want.kl), 4);
    await expect(evaluateVae(parts, [], new Rng(1))).rejects.toThrow('evaluation data must be at least one image, got 0');
    await expect(vaeStep(parts, realVae(4), planVaeStep(new Rng(1), 8, TINY_LATENT))).rejects.toThrow(
      "image batch size must be the plan's 8, got 4",
    );
    await expect(evaluateVae(parts, [new Float32Array(100)], new Rng(1))).rejects.toThrow(
      'evaluation batch length must be a positive multiple of 784, got 100',
    );
  });
});

describe('sampleImages', () => {
  it('maps generator and decoder outputs to [0, 1], independent of the batch size', async () => {
    const gan = modelSpec('dcgan-small');
    const parts = keep(createParts(gan, 1));
    const a = await sampleImages(gan, parts.generator!, 5, new Rng(2), 2);
    const b = await sampleImages(gan, parts.generator!, 5, new Rng(2), 256);
    expect(a.length).toBe(5 * 784);
    a.forEach((v, i) => expect(v).toBeCloseTo(b[i]!, 5));
    expect(a.every((v) => v >= 0 && v <= 1)).toBe(true);
    const vae = modelSpec('vae-mlp');
    const vParts = keep(createParts(vae, 1));
    const images = await sampleImages(vae, vParts.decoder!, 3, new Rng(2));
    expect(images.every((v) => v > 0 && v < 1)).toBe(true);
    await expect(sampleImages(vae, vParts.decoder!, 0, new Rng(2))).rejects.toThrow('n must be a positive integer, got 0');
  });
});
