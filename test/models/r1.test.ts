import * as tf from '@tensorflow/tfjs';
import { afterEach, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backend/index.js';
import { r1Gradients, r1Weight } from '../../src/models/r1.js';
import { createPart, modelSpec } from '../../src/models/registry.js';
import { discriminatorBackward, ganGradients, planGanStep } from '../../src/models/steps.js';
import type { NetworkPart } from '../../src/models/part.js';
import { Rng } from '../../src/rng.js';
import { TINY_NOISE, disposeParts, patterns, relativeError, tinyGan } from './tiny.js';

const live: { generator: NetworkPart; discriminator: NetworkPart }[] = [];
afterEach(() => {
  live.splice(0).forEach(disposeParts);
});
const tiny = (seed: number) => {
  const parts = tinyGan(seed);
  live.push(parts);
  return parts;
};
/** Eight 8×8 images in [-1, 1], not binary (so that the penalty's kinks are not at the pixels). */
const realImages = () => tf.tidy(() => tf.mul(tf.tensor4d(patterns(8, 8, -1, 1), [8, 8, 8, 1]), tf.randomUniform([8, 8, 8, 1], 0.5, 1, 'float32', 3)));

/** weight/2 · mean ‖∇ₓD(x)‖², computed directly (inference mode, as r1.ts). */
function penalty(d: NetworkPart, x: tf.Tensor, weight: number): number {
  return tf.tidy(() => {
    const dx = tf.grad((input: tf.Tensor) => tf.sum(d.model.apply(input, { training: false }) as tf.Tensor))(x);
    return tf.mul(tf.mean(tf.sum(tf.square(dx), [1, 2, 3])), weight / 2).dataSync()[0]!;
  });
}

describe('the R1 penalty', () => {
  it('falls on every `every`-th step from step 0, with γ·every; none without one or with γ 0', () => {
    const r1 = { gamma: 0.2, every: 4 };
    expect(Array.from({ length: 9 }, (_, s) => r1Weight(r1, s))).toEqual([0.8, 0, 0, 0, 0.8, 0, 0, 0, 0.8]);
    expect(r1Weight({ gamma: 0.5, every: 1 }, 7)).toBe(0.5);
    expect(r1Weight(undefined, 0)).toBe(0);
    expect(r1Weight({ gamma: 0, every: 4 }, 0)).toBe(0);
  });

  it('has the gradient of weight/2 · E‖∇ₓD‖² with respect to D’s weights (central differences)', async () => {
    await tf.setBackend('cpu');
    const { discriminator: d } = tiny(1);
    const x = realImages();
    const weight = 3;
    const grads = r1Gradients(d, x, weight);
    const variables = d.trainableVariables;
    expect(grads.map((g) => g.shape)).toEqual(variables.map((v) => v.shape));
    // D is piecewise linear in x (LeakyReLU), so ∇ₓD is a polynomial in the kernels between kinks and
    // does not depend on the biases at all (they only move the kinks): the kernels are checked
    // with steps small enough to cross none, and the biases' gradients are zero.
    const checked = [0, 2];
    for (const index of checked) {
      const v = variables[index]!;
      const values = v.dataSync().slice();
      const analytic = grads[index]!.dataSync();
      for (const entry of [0, Math.floor(values.length / 2), values.length - 1]) {
        const h = 1e-3;
        const at = (delta: number) => {
          const moved = values.slice();
          moved[entry] = values[entry]! + delta;
          v.assign(tf.tensor(moved, v.shape));
          return penalty(d, x, weight);
        };
        const numeric = (at(h) - at(-h)) / (2 * h);
        v.assign(tf.tensor(values, v.shape));
        expect(Math.abs(analytic[entry]! - numeric)).toBeLessThan(1e-3 * Math.max(0.1, Math.abs(numeric)));
      }
    }
    expect(Array.from(grads[1]!.dataSync()).every((g) => g === 0)).toBe(true);
    expect(Array.from(grads[3]!.dataSync())).toEqual([0]);
    expect(Math.abs(grads[0]!.sum().dataSync()[0]!)).toBeGreaterThan(0);
    tf.dispose([x, ...grads]);
  });

  it('adds to the discriminator’s gradients (times the chunk weight), leaves the losses, draws nothing, and leaks no tensor', async () => {
    await tf.setBackend('cpu');
    const parts = tiny(2);
    const x = realImages();
    const plan = planGanStep(new Rng(4), 8, TINY_NOISE);
    const fake = tf.tidy(() => parts.generator.forward(tf.tensor2d(plan.noise, [8, TINY_NOISE]), { training: true, seed: plan.seeds.generator }));
    const plain = discriminatorBackward(parts.discriminator, x, fake, plan.seeds, 0.5, 0.9);
    const before = tf.memory().numTensors;
    const regular = discriminatorBackward(parts.discriminator, x, fake, plan.seeds, 0.5, 0.9, 'bce', 0.8);
    const extra = r1Gradients(parts.discriminator, x, 0.8 * 0.5);
    expect(regular.dLoss.dataSync()[0]).toBe(plain.dLoss.dataSync()[0]);
    expect(regular.gLoss.dataSync()[0]).toBe(plain.gLoss.dataSync()[0]);
    expect(Array.from(regular.fakeGrad.dataSync())).toEqual(Array.from(plain.fakeGrad.dataSync()));
    const sums = plain.grads.map((g, i) => tf.add(g, extra[i]!));
    expect(relativeError(regular.grads, sums)).toBeLessThan(1e-6);
    expect(relativeError(regular.grads, plain.grads)).toBeGreaterThan(1e-3);
    // Inference mode: the tiny D's dropout does not make two evaluations differ.
    const again = r1Gradients(parts.discriminator, x, 0.4);
    expect(relativeError(again, extra)).toBe(0);
    tf.dispose([regular.dLoss, regular.gLoss, regular.fakeGrad, ...regular.grads, ...extra, ...sums, ...again]);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose([x, fake, plain.dLoss, plain.gLoss, plain.fakeGrad, ...plain.grads]);
    parts.generator.discardStepState();
  });

  it('gives dcgan-small’s discriminator the cpu backend’s gradients on wasm with paragen’s kernels', async () => {
    const spec = modelSpec('dcgan-small');
    const real = Float32Array.from(patterns(4, 28, -1, 1));
    const on = async (backend: 'cpu' | 'wasm') => {
      if (backend === 'wasm') await useBackend('wasm');
      else await tf.setBackend('cpu');
      const d = createPart(spec, 'discriminator', 5, { lr: 1e-3 });
      const x = tf.tensor4d(real, [4, 28, 28, 1]);
      const grads = r1Gradients(d, x, 0.8);
      const values = await Promise.all(grads.map((g) => g.data()));
      tf.dispose([x, ...grads]);
      d.dispose();
      return values.map((v) => tf.tensor(v));
    };
    const cpu = await on('cpu');
    const wasm = await on('wasm');
    await tf.setBackend('cpu');
    expect(relativeError(wasm, cpu)).toBeLessThan(1e-4);
    tf.dispose([...cpu, ...wasm]);
  });

  it('is dcgan-small’s (γ 0.2 every 4 steps) and no other model’s; a step on a penalised step differs from one without', async () => {
    expect(modelSpec('dcgan-small').r1).toEqual({ gamma: 0.2, every: 4 });
    expect(modelSpec('dcgan').r1).toBeUndefined();
    await tf.setBackend('cpu');
    const parts = tiny(3);
    const x = realImages();
    const plan = planGanStep(new Rng(5), 8, TINY_NOISE);
    const without = ganGradients(parts, x, plan, 1, 0.9);
    const withR1 = ganGradients(parts, x, plan, 1, 0.9, 'bce', 0.8);
    expect(relativeError(withR1.generatorGrads, without.generatorGrads)).toBe(0);
    expect(relativeError(withR1.discriminatorGrads, without.discriminatorGrads)).toBeGreaterThan(1e-3);
    tf.dispose([x, ...Object.values(without).flat(), ...Object.values(withR1).flat()] as tf.Tensor[]);
    parts.generator.discardStepState();
  });
});
