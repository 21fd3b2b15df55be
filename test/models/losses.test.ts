import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  bceWithLogits,
  bernoulliNll,
  discriminatorLoss,
  gaussianKl,
  generatorLoss,
  hingeDiscriminatorLoss,
  hingeGeneratorLoss,
  negElbo,
  reparameterize,
  splitLatent,
} from '../../src/models/losses.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const read = (t: tf.Tensor) => Array.from(t.dataSync());

describe('bceWithLogits', () => {
  it('matches -z·log σ(x) - (1-z)·log(1-σ(x)) computed by hand', () => {
    // Expected values from the textbook formula in float64.
    const cases: [number, number, number][] = [
      [0, 0, 0.6931471805599453],
      [-1, 1, 1.3132616875182228],
      [0.5, 1, 0.47407698418010663],
      [3, 0, 3.048587351573745],
      [2, 0.25, 1.6269280110429716],
      [-20, 1, 20.000000002061153],
      [20, 1, 2.0611536942919273e-9],
      [-5, 0.5, 2.5067153484891183],
    ];
    const got = read(bceWithLogits(tf.tensor1d(cases.map((c) => c[0])), tf.tensor1d(cases.map((c) => c[1]))));
    cases.forEach(([, , want], i) => expect(got[i]).toBeCloseTo(want, 5));
  });

  it('stays exact at logits where the naive formula overflows', () => {
    const x = tf.tensor1d([1000, 1000, -1000, -1000, 88, -88]);
    const z = tf.tensor1d([0, 1, 1, 0, 0, 1]);
    expect(read(bceWithLogits(x, z))).toEqual([1000, 0, 1000, 0, 88, 88]);
    const s = tf.sigmoid(x);
    const naive = tf.neg(tf.add(tf.mul(z, tf.log(s)), tf.mul(tf.sub(1, z), tf.log(tf.sub(1, s)))));
    expect(read(naive).slice(0, 4).some((v) => !Number.isFinite(v))).toBe(true);
  });

  it('has the gradient σ(x) - z, finite at large |x|', () => {
    const z = tf.tensor1d([0, 1, 1, 0]);
    const grad = tf.grad((x: tf.Tensor) => tf.sum(bceWithLogits(x, z)))(tf.tensor1d([1000, -1000, 0, 2]));
    const g = read(grad);
    expect(g[0]).toBeCloseTo(1, 6);
    expect(g[1]).toBeCloseTo(-1, 6);
    expect(g[2]).toBeCloseTo(-0.5, 6);
    expect(g[3]).toBeCloseTo(1 / (1 + Math.exp(-2)), 6);
  });
});

describe('GAN losses', () => {
  it('discriminator loss is mean BCE(real, 1) + mean BCE(fake, 0)', () => {
    const d = discriminatorLoss(tf.tensor2d([[2], [-1]]), tf.tensor2d([[0], [3]]));
    expect(d.dataSync()[0]).toBeCloseTo(2.590962115347443, 5);
  });

  it('generator loss is the non-saturating mean BCE(fake, 1)', () => {
    expect(generatorLoss(tf.tensor2d([[0], [3]])).dataSync()[0]).toBeCloseTo(0.3708672660668436, 6);
    // Where σ(fake) underflows the saturating log(1 - σ) would give no signal; this stays finite and exact.
    expect(generatorLoss(tf.tensor2d([[-1000]])).dataSync()[0]).toBe(1000);
  });

  it('hinge losses: D is mean relu(1 - real) + mean relu(1 + fake), G is -mean fake', () => {
    // real [2, -1]: (0 + 2) / 2 = 1; fake [0, 3]: (1 + 4) / 2 = 2.5.
    expect(hingeDiscriminatorLoss(tf.tensor2d([[2], [-1]]), tf.tensor2d([[0], [3]])).dataSync()[0]).toBeCloseTo(3.5, 6);
    expect(hingeGeneratorLoss(tf.tensor2d([[0], [3]])).dataSync()[0]).toBeCloseTo(-1.5, 6);
  });
});

describe('VAE losses', () => {
  it('KL is -0.5·Σ(1 + logvar - mu² - exp(logvar)) per image, averaged over the batch', () => {
    const mu = tf.tensor2d([
      [0, 0],
      [1, -2],
    ]);
    const logvar = tf.tensor2d([
      [0, 0],
      [Math.log(4), 0],
    ]);
    // Row 1: 0. Row 2: -0.5·((1 + ln4 - 1 - 4) + (1 + 0 - 4 - 1)) = 4 - ln 2.
    expect(gaussianKl(mu, logvar).dataSync()[0]).toBeCloseTo((4 - Math.log(2)) / 2, 5);
  });

  it('Bernoulli NLL sums over pixels and averages over images', () => {
    const logits = tf.tensor4d([0, 0, 1000, -1000, 0, 3, -1, 0.5], [2, 2, 2, 1]);
    const x = tf.tensor4d([0, 1, 1, 0, 0, 0, 1, 1], [2, 2, 2, 1]);
    const image1 = 2 * Math.LN2; // the two saturated pixels cost 0
    const image2 = 0.6931471805599453 + 3.048587351573745 + 1.3132616875182228 + 0.47407698418010663;
    expect(bernoulliNll(logits, x).dataSync()[0]).toBeCloseTo((image1 + image2) / 2, 5);
  });

  it('negElbo adds the two terms; the reparameterisation is mu + eps·exp(logvar/2)', () => {
    const h = tf.tensor2d([[1, -2, Math.log(4), 0]]);
    const { mu, logvar } = splitLatent(h);
    expect(read(mu)).toEqual([1, -2]);
    expect(read(logvar)[0]).toBeCloseTo(Math.log(4), 6);
    expect(read(reparameterize(mu, logvar, tf.tensor2d([[0.5, -1]])))).toEqual([2, -3]);
    const logits = tf.zeros([1, 2, 2, 1]);
    const terms = negElbo(logits, tf.ones([1, 2, 2, 1]), mu, logvar);
    const kl = 4 - Math.log(2);
    expect(terms.bce.dataSync()[0]).toBeCloseTo(4 * Math.LN2, 5);
    expect(terms.kl.dataSync()[0]).toBeCloseTo(kl, 5);
    expect(terms.loss.dataSync()[0]).toBeCloseTo(4 * Math.LN2 + kl, 5);
  });

  it('rejects an encoder output of odd width', () => {
    expect(() => splitLatent(tf.zeros([2, 3]))).toThrow('an encoder output must be [B, 2L], got [2, 3]');
  });
});
