import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '../../src/rng.js';
import { initializeWeights } from '../../src/models/init.js';
import { NetworkPart } from '../../src/models/part.js';
import { averagedImageNetwork, averagedName, STANDING_BATCHES } from '../../src/models/sample.js';
import { decodePart, encodePart } from '../../src/models/state.js';
import { tinyGenerator, TINY_NOISE } from './tiny.js';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

const DECAY = 0.9;
const ADAM = { lr: 1e-2, beta1: 0.5, average: DECAY };

function generator(config: typeof ADAM | { lr: number; beta1: number } = ADAM): NetworkPart {
  const model = tinyGenerator();
  initializeWeights(model, new Rng(3));
  return new NetworkPart('generator', model, config);
}

/** Deterministic gradients of the right shapes for update `k`. */
function grads(part: NetworkPart, k: number): tf.Tensor[] {
  const rng = new Rng(100 + k);
  return part.trainableShapes.map((s) => tf.tensor(rng.normals(new Float32Array(s.reduce((a, b) => a * b, 1))), s));
}

async function trainable(part: NetworkPart): Promise<Float32Array[]> {
  return Promise.all(part.trainableVariables.map(async (v) => (await v.data()) as Float32Array));
}

describe('the moving average of weights (Adam average)', () => {
  it('starts at the weights after the first update, then moves by d = min(decay, (1+t)/(10+t))', async () => {
    const part = generator();
    expect(part.averaged).toBe(false);
    expect((await part.getOptimizerState()).average).toBeUndefined();
    const expected: Float32Array[] = [];
    for (let t = 1; t <= 40; t++) {
      const g = grads(part, t);
      part.apply(g);
      tf.dispose(g);
      const w = await trainable(part);
      if (t === 1) w.forEach((a) => expected.push(Float32Array.from(a)));
      else {
        const d = Math.min(DECAY, (1 + t) / (10 + t));
        expected.forEach((a, i) => a.forEach((x, j) => (a[j] = d * x + (1 - d) * w[i]![j]!)));
      }
    }
    expect(part.averaged).toBe(true);
    const average = (await part.getOptimizerState()).average!;
    expect(average).toHaveLength(expected.length);
    average.forEach((a, i) => a.forEach((x, j) => expect(x).toBeCloseTo(expected[i]![j]!, 5)));
    // Not the weights themselves: by step 40 they have moved on.
    const w = await trainable(part);
    expect(Math.max(...average[0]!.map((x, j) => Math.abs(x - w[0]![j]!)))).toBeGreaterThan(1e-3);
    part.dispose();
  });

  it('is part of the state: saved, restored and continued exactly; a state without it starts afresh', async () => {
    const a = generator();
    for (let t = 1; t <= 5; t++) tf.tidy(() => a.apply(grads(a, t)));
    const files = await encodePart(a);
    const b = await decodePart('generator', new Map(Object.entries(files).map(([k, v]) => [k, typeof v === 'string' ? new TextEncoder().encode(v) : v])), ADAM);
    expect((await b.getOptimizerState()).average).toEqual((await a.getOptimizerState()).average);
    for (let t = 6; t <= 8; t++) {
      tf.tidy(() => a.apply(grads(a, t)));
      tf.tidy(() => b.apply(grads(b, t)));
    }
    expect((await b.getOptimizerState()).average).toEqual((await a.getOptimizerState()).average);

    // Restored without an average (a checkpoint of a run without --ema): it restarts from the next update's weights.
    const { average: _dropped, ...plain } = await a.getOptimizerState();
    const c = generator();
    c.setWeights(await a.getWeights());
    c.setOptimizerState(plain);
    expect(c.averaged).toBe(false);
    tf.tidy(() => c.apply(grads(c, 9)));
    expect((await c.getOptimizerState()).average).toEqual(await trainable(c));
    // An optimizer without averaging ignores a saved average.
    const d = generator({ lr: 1e-2, beta1: 0.5 });
    d.setOptimizerState(await a.getOptimizerState());
    expect(d.averaged).toBe(false);
    for (const p of [a, b, c, d]) p.dispose();
  });

  it('checkpoints the averaged network with standing batch-norm statistics: the pooled statistics of prior draws', async () => {
    const part = generator();
    for (let t = 1; t <= 12; t++) tf.tidy(() => part.apply(grads(part, t)));
    const files = await encodePart(part);
    const name = averagedName('generator');
    expect(Object.keys(files)).toEqual(expect.arrayContaining([`${name}/model.json`, `${name}/weights.bin`]));
    const averaged = (await averagedImageNetwork(part))!;
    // Its trainable weights are the average; the trained part is left as it was.
    const average = (await part.getOptimizerState()).average!;
    (await trainable(averaged)).forEach((w, i) => expect(Array.from(w)).toEqual(Array.from(average[i]!)));
    // The first batch norm's statistics, recomputed here from the same fixed draws.
    const rng = new Rng(0x5eed);
    const sums = { mean: new Float64Array(64), square: new Float64Array(64) };
    for (let b = 0; b < STANDING_BATCHES; b++) {
      const noise = tf.tensor2d(rng.normals(new Float32Array(64 * TINY_NOISE)), [64, TINY_NOISE]);
      const dense = averaged.model.layers[0]!.apply(noise) as tf.Tensor;
      const { mean, variance } = tf.moments(dense, [0]);
      const [m, v] = [mean.dataSync(), variance.dataSync()];
      m.forEach((x, j) => {
        sums.mean[j]! += x / STANDING_BATCHES;
        sums.square[j]! += (v[j]! + x * x) / STANDING_BATCHES;
      });
      tf.dispose([noise, dense, mean, variance]);
    }
    const bn = averaged.model.layers[1]!.getWeights();
    const [movingMean, movingVariance] = [bn[2]!.dataSync(), bn[3]!.dataSync()];
    movingMean.forEach((x, j) => expect(x).toBeCloseTo(sums.mean[j]!, 4));
    movingVariance.forEach((x, j) => expect(x).toBeCloseTo(sums.square[j]! - sums.mean[j]! ** 2, 4));
    // The trained part's own statistics are untouched by it.
    expect(Array.from(part.model.layers[1]!.getWeights()[2]!.dataSync())).not.toEqual(Array.from(movingMean));
    averaged.dispose();
    part.dispose();
  });

  it('leaks no tensors across updates, saves and averaged copies', async () => {
    const part = generator();
    const step = async (t: number) => {
      tf.tidy(() => part.apply(grads(part, t)));
      await encodePart(part);
      (await averagedImageNetwork(part))?.dispose();
    };
    await step(1);
    await step(2);
    const before = tf.memory().numTensors;
    for (let t = 3; t <= 6; t++) await step(t);
    expect(tf.memory().numTensors).toBe(before);
    part.dispose();
  });
});
