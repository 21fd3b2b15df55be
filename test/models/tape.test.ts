/**
 * Taped passes (src/models/tape.ts): a forward pass whose tape is kept gives,
 * later and as often as asked, the gradients `vjp` gives by running the pass
 * again — bit for bit, batch norm and dropout included — and frees every
 * tensor it kept.
 */
import * as tf from '@tensorflow/tfjs';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TapedPass } from '../../src/models/tape.js';
import { disposeParts, TINY_NOISE, tinyGan } from './tiny.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const live: object[] = [];
afterEach(() => live.splice(0).forEach(disposeParts));

function same(a: readonly tf.Tensor[], b: readonly tf.Tensor[]): boolean {
  return a.length === b.length && a.every((t, i) => tf.util.arraysEqual(t.dataSync(), b[i]!.dataSync()));
}

describe('TapedPass', () => {
  it("gives vjp's gradients without running the pass again, for two upstream gradients", () => {
    const { generator, discriminator } = tinyGan(3);
    live.push({ generator, discriminator });
    const noise = tf.randomNormal([6, TINY_NOISE], 0, 1, 'float32', 1);
    const images = tf.randomUniform([6, 8, 8, 1], -1, 1, 'float32', 2);
    const up1 = tf.randomNormal([6, 8, 8, 1], 0, 1, 'float32', 3);
    const up2 = tf.randomNormal([6, 1], 0, 1, 'float32', 4);

    // The generator has batch norm, the discriminator dropout (seeded masks).
    const g = generator.forwardTaped(noise, { seed: 11 });
    const viaTape = generator.vjpTaped(g, noise, up1, 'weights');
    const d = discriminator.forwardTaped(images, { seed: 12 });
    const dWeights = discriminator.vjpTaped(d, images, up2, 'weights');
    const dInput = discriminator.vjpTaped(d, images, tf.mul(up2, 2), 'input');
    const recomputed = generator.vjp(noise, up1, { seed: 11, wrt: 'weights' });
    expect(same(viaTape.grads, recomputed.grads)).toBe(true);
    // The pass's output is forward()'s (batch statistics of the same batch).
    expect(same([g.output], [generator.forward(noise, { training: true, seed: 11 })])).toBe(true);
    expect(same(dWeights.grads, discriminator.vjp(images, up2, { seed: 12, wrt: 'weights' }).grads)).toBe(true);
    expect(same([dInput.inputGrad!], [discriminator.vjp(images, tf.mul(up2, 2), { seed: 12, wrt: 'input' }).inputGrad!])).toBe(true);
    g.dispose();
    d.dispose();
  });

  it('matches tf.engine().gradients on a plain function, and frees what it kept', () => {
    const x = tf.tensor1d([0.5, -1, 2]);
    const w = tf.variable(tf.tensor1d([1.5, 0.25, -2]));
    const f = () => tf.sum(tf.mul(tf.exp(tf.mul(x, w)), x));
    const before = tf.memory().numTensors;
    const pass = TapedPass.record(f);
    const dy = tf.scalar(3);
    const [gx, gw] = pass.backward([x, w], dy);
    const reference = tf.engine().gradients(f, [x, w], dy);
    expect(same([gx!, gw!], reference.grads)).toBe(true);
    tf.dispose([gx!, gw!, reference.value, ...reference.grads]);
    pass.dispose();
    expect(tf.memory().numTensors).toBe(before + 1); // dy
    expect(() => pass.backward([x], dy)).toThrow('backward of a disposed taped pass');
    tf.dispose([x, w, dy]);
  });

  it('refuses an upstream gradient of the wrong shape', () => {
    const x = tf.tensor1d([1, 2]);
    const pass = TapedPass.record(() => tf.mul(x, 2));
    expect(() => pass.backward([x], tf.ones([3]))).toThrow('upstream gradient must be of shape [2], got [3]');
    pass.dispose();
    x.dispose();
  });
});
