import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/rng.js';
import { initializeWeights } from '../../src/models/init.js';
import { NetworkPart, loadPart } from '../../src/models/part.js';
import { loadModel } from '../../src/models/artifacts.js';
import { tinyDiscriminator, tinyGenerator, TINY_NOISE, uniformTensor } from './tiny.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const ADAM = { lr: 1e-2, beta1: 0.5 };
const read = (t: tf.Tensor) => Array.from(t.dataSync());

function part(model: tf.Sequential, seed = 1, name = 'net'): NetworkPart {
  initializeWeights(model, new Rng(seed));
  return new NetworkPart(name, model, ADAM);
}

function bnNet(): tf.Sequential {
  return tf.sequential({
    layers: [
      tf.layers.dense({ units: 3, inputShape: [2], kernelInitializer: 'glorotUniform' }),
      tf.layers.batchNormalization({ momentum: 0.9 }),
    ],
  });
}

describe('NetworkPart training pass', () => {
  it('equals tfjs’s own training-mode output, and moves the BN statistics once per apply as tfjs would', async () => {
    const ours = part(bnNet());
    const theirs = bnNet();
    initializeWeights(theirs, new Rng(1));
    const x = tf.tensor2d([[1, 2], [3, -1], [0.5, 0.5], [-2, 1]]);
    const y = ours.forward(x, { training: true, seed: 9 });
    // Recomputations of the same pass (same seed) must not move the statistics again.
    ours.vjp(x, tf.onesLike(y), { seed: 9 });
    ours.lossGrad(x, (o) => tf.sum(o), { seed: 9 });
    const expected = theirs.apply(x, { training: true }) as tf.Tensor; // moves tfjs's statistics once
    expect(read(y)).toEqual(read(expected));
    const before = await ours.getWeights();
    ours.apply(ours.trainableShapes.map((s) => tf.zeros(s))); // zero gradients: Adam moves nothing
    const after = await ours.getWeights();
    expect(after.slice(0, 4)).toEqual(before.slice(0, 4));
    const moving = (m: tf.LayersModel) => m.layers[1]!.getWeights().slice(2).map(read);
    expect(moving(ours.model)).toEqual(moving(theirs));
    // Nothing held any more: a second apply leaves the statistics where they are.
    ours.apply(ours.trainableShapes.map((s) => tf.zeros(s)));
    expect(moving(ours.model)).toEqual(moving(theirs));
  });

  it('folds one update per distinct pass, in order', () => {
    const ours = part(bnNet());
    const theirs = bnNet();
    initializeWeights(theirs, new Rng(1));
    const a = tf.tensor2d([[1, 2], [3, -1]]);
    const b = tf.tensor2d([[0, 1], [-4, 2], [1, 1]]);
    ours.forward(a, { training: true, seed: 1 });
    ours.forward(b, { training: true, seed: 2 });
    ours.forward(a, { training: true, seed: 1 });
    ours.apply(ours.trainableShapes.map((s) => tf.zeros(s)));
    theirs.apply(a, { training: true });
    theirs.apply(b, { training: true });
    const moving = (m: tf.LayersModel) => m.layers[1]!.getWeights().slice(2).map(read);
    const [om, ov] = moving(ours.model);
    const [tm, tv] = moving(theirs);
    om!.forEach((v, i) => expect(v).toBeCloseTo(tm![i]!, 6));
    ov!.forEach((v, i) => expect(v).toBeCloseTo(tv![i]!, 6));
  });

  it('draws dropout masks from the seed: same seed same mask, inference has none', () => {
    const net = part(tf.sequential({ layers: [tf.layers.dropout({ rate: 0.3, inputShape: [1000] })] }));
    const x = tf.ones([4, 1000]);
    const a = read(net.forward(x, { training: true, seed: 5 }));
    expect(read(net.forward(x, { training: true, seed: 5 }))).toEqual(a);
    expect(read(net.forward(x, { training: true, seed: 6 }))).not.toEqual(a);
    const dropped = a.filter((v) => v === 0).length / a.length;
    expect(dropped).toBeGreaterThan(0.27);
    expect(dropped).toBeLessThan(0.33);
    expect(new Set(a.filter((v) => v !== 0)).size).toBe(1);
    expect(a.find((v) => v !== 0)).toBeCloseTo(1 / 0.7, 6);
    expect(read(net.forward(x, { training: false }))).toEqual(read(x));
    // The recompute inside vjp sees the forward's mask: the vjp of x ⊙ m is upstream ⊙ m.
    const up = uniformTensor([4, 1000], 3);
    const { inputGrad } = net.vjp(x, up, { seed: 5 });
    expect(read(inputGrad!)).toEqual(read(net.forward(up, { training: true, seed: 5 })));
  });
});

describe('NetworkPart.vjp', () => {
  it('is the vector–Jacobian product of a dense layer: up·Wᵀ, xᵀ·up, Σ up', () => {
    const net = part(tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2], biasInitializer: 'ones' })] }));
    const [w] = net.model.getWeights();
    const x = tf.tensor2d([[1, 2], [3, -1]]);
    const up = tf.tensor2d([[0.5, -1, 2], [1, 0, -0.5]]);
    const { inputGrad, grads } = net.vjp(x, up, { seed: 0 });
    const close = (a: tf.Tensor, b: tf.Tensor) => read(a).forEach((v, i) => expect(v).toBeCloseTo(read(b)[i]!, 5));
    close(inputGrad!, tf.matMul(up, w!, false, true));
    close(grads[0]!, tf.matMul(x, up, true, false));
    close(grads[1]!, tf.sum(up, 0));
    expect(net.vjp(x, up, { seed: 0, wrt: 'input' }).grads).toEqual([]);
    expect(net.vjp(x, up, { seed: 0, wrt: 'weights' }).inputGrad).toBeNull();
  });

  it('lossGrad equals vjp with the loss’s gradient as upstream', () => {
    const d = part(tinyDiscriminator());
    const x = uniformTensor([3, 8, 8, 1], 1, -1, 1);
    const loss = (o: tf.Tensor) => tf.mean(tf.square(o)) as tf.Scalar;
    const a = d.lossGrad(x, loss, { seed: 4 });
    const out = d.forward(x, { training: true, seed: 4 });
    const b = d.vjp(x, tf.div(tf.mul(out, 2), out.size), { seed: 4 });
    expect(a.loss.dataSync()[0]).toBeCloseTo(loss(out).dataSync()[0]!, 6);
    read(a.inputGrad!).forEach((v, i) => expect(v).toBeCloseTo(read(b.inputGrad!)[i]!, 6));
    a.grads.forEach((g, k) => read(g).forEach((v, i) => expect(v).toBeCloseTo(read(b.grads[k]!)[i]!, 6)));
  });

  it('says what is wrong with its arguments', () => {
    const g = part(tinyGenerator(), 1, 'generator');
    const z = tf.zeros([2, TINY_NOISE]);
    expect(() => g.forward(z, { training: true })).toThrow(
      'seed must be an integer in [0, 2^32) for a training pass, got undefined',
    );
    expect(() => g.vjp(z, tf.zeros([2, 8, 8]), { seed: 1 })).toThrow(
      'upstream gradient of generator must be of shape [2, 8, 8, 1], got [2,8,8]',
    );
    expect(() => g.apply([tf.zeros([1])])).toThrow('grads of generator must be 7 tensors (one per trainable weight), got 1');
    expect(() => new NetworkPart('x', tf.sequential({ layers: [tf.layers.gaussianNoise({ stddev: 1, inputShape: [2] })] }), ADAM)).toThrow(
      'is not supported in training',
    );
    expect(() => new NetworkPart('x', bnNet(), { lr: -1, beta1: 0.9 })).toThrow('lr must be a positive number, got -1');
    expect(() => new NetworkPart('x', bnNet(), { lr: 1, beta1: 1 })).toThrow('beta1 must be a number in [0, 1), got 1');
    const shapes = g.trainableShapes;
    expect(() => g.apply(shapes.map((s, i) => (i === 2 ? new Float32Array(3) : tf.zeros(s))))).toThrow(
      `grads[2] size of generator must be ${shapes[2]!.reduce((a, b) => a * b, 1)}, got 3`,
    );
  });
});

describe('NetworkPart state', () => {
  it('updates as tfjs’s Adam does', async () => {
    const net = part(tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2] })] }));
    const ref = tf.sequential({ layers: [tf.layers.dense({ units: 3, inputShape: [2] })] });
    initializeWeights(ref, new Rng(1));
    const adam = tf.train.adam(ADAM.lr, ADAM.beta1, 0.999, 1e-7);
    const vars = ref.trainableWeights.map((w) => w.read() as tf.Variable);
    for (let step = 0; step < 3; step++) {
      const grads = [tf.fill([2, 3], step + 1), tf.tensor1d([0.5, -1, step])];
      net.apply(grads);
      adam.applyGradients(vars.map((v, i) => ({ name: v.name, tensor: grads[i]! })));
    }
    const ours = await net.getWeights();
    ref.getWeights().forEach((t, k) => read(t).forEach((v, i) => expect(ours[k]![i]).toBeCloseTo(v, 6)));
  });

  it('resumes exactly from weights and optimizer state', async () => {
    const a = part(tinyDiscriminator(), 1);
    const b = part(tinyDiscriminator(), 2);
    const grads = (k: number) => a.trainableShapes.map((s, i) => tf.fill(s, Math.sin(k + i)));
    a.apply(grads(0));
    a.apply(grads(1));
    b.setWeights(await a.getWeights());
    b.setOptimizerState(await a.getOptimizerState());
    expect(b.step).toBe(2);
    a.apply(grads(2));
    b.apply(grads(2).map((g) => g.dataSync() as Float32Array)); // flat arrays, as after an all-reduce
    expect(await b.getWeights()).toEqual(await a.getWeights());
    expect(await b.getOptimizerState()).toEqual(await a.getOptimizerState());
    expect(() => b.setWeights([])).toThrow('weights of net must be 4 arrays, got 0');
    const state = await a.getOptimizerState();
    expect(() => b.setOptimizerState({ ...state, step: -1 })).toThrow(
      'optimizer state step must be a non-negative integer, got -1',
    );
    expect(() => b.setOptimizerState({ ...state, m: state.m.slice(1) })).toThrow('optimizer state m must be 4 arrays, got 3');
  });

  it('saves standard artifacts that load back to the same outputs', async () => {
    const g = part(tinyGenerator(), 3, 'generator');
    g.forward(tf.ones([4, TINY_NOISE]), { training: true, seed: 1 });
    g.apply(g.trainableShapes.map((s) => tf.fill(s, 0.1))); // moving statistics away from their init
    const files = await g.save();
    const json = JSON.parse(files['model.json']) as { format: string; weightsManifest: { paths: string[] }[] };
    expect(json.format).toBe('layers-model');
    expect(json.weightsManifest[0]!.paths).toEqual(['weights.bin']);
    expect(files['weights.bin'].byteLength).toBe(4 * g.paramCount);
    const loaded = await loadPart('generator', files, ADAM);
    const z = uniformTensor([3, TINY_NOISE], 2, -2, 2);
    expect(read(loaded.forward(z, { training: false }))).toEqual(read(g.forward(z, { training: false })));
    expect(await loaded.getWeights()).toEqual(await g.getWeights());
    expect(read(loaded.forward(z, { training: true, seed: 3 }))).toEqual(read(g.forward(z, { training: true, seed: 3 })));
    // The discriminator's Dropout layers are kept as standard layers.
    const d = part(tinyDiscriminator());
    const dModel = await loadModel(await d.save());
    expect(dModel.layers.map((l) => l.getClassName())).toContain('Dropout');
  });

  it('names the broken file when loading', async () => {
    const g = part(tinyGenerator());
    const files = await g.save();
    await expect(loadModel({ ...files, 'model.json': '{' })).rejects.toThrow(/^model\.json: not valid JSON/);
    await expect(loadModel({ ...files, 'weights.bin': files['weights.bin'].slice(0, 10) })).rejects.toThrow(
      `weights.bin: expected ${4 * g.paramCount} bytes, found 10`,
    );
    await expect(loadModel({ 'model.json': files['model.json'] })).rejects.toThrow('weights.bin: missing (named in model.json)');
  });
});
