/**
 * The cases where tfjs-core's own specs caught paragen's wasm kernels out
 * (issue 14), the fused conv2d gradients that training takes, and the
 * kernels added for those specs (Identity, FusedConv2D with a broadcast
 * bias), each against tfjs's cpu backend (relative error ≤ 1e-4).
 * `tfjs-core-suites.test.ts` runs the specs themselves.
 */
import * as tf from '@tensorflow/tfjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '../../src/backend/index.js';
import { data, onBoth, relativeError } from './helpers.js';

beforeAll(async () => {
  await useBackend('wasm');
});

async function expectClose(f: () => tf.Tensor | tf.Tensor[]): Promise<void> {
  const { cpu, wasm } = await onBoth(f);
  expect(wasm.length).toBe(cpu.length);
  for (let i = 0; i < cpu.length; i++) expect(relativeError(cpu[i]!, wasm[i]!)).toBeLessThanOrEqual(1e-4);
}

describe('BatchMatMul broadcasts batch dimensions as tfjs does', () => {
  // One batch shape a suffix of the other: where tfjs's kernels (which index
  // batch entries modulo each operand's batch size) broadcast correctly.
  const cases: [number[], number[], boolean, boolean][] = [
    [[2, 2, 2, 2], [2, 2, 1], false, false], // tfjs-core's "A has more batch dimensions than B"
    [[3, 4, 5], [2, 3, 5, 2], false, false], // B has more
    [[2, 3, 5, 4], [3, 2, 5], true, true],
    [[2, 3, 5, 4], [1, 3, 6, 4], false, true],
  ];
  for (const [aShape, bShape, ta, tb] of cases) {
    it(`${aShape} · ${bShape}${ta ? ' ᵀA' : ''}${tb ? ' ᵀB' : ''}`, async () => {
      const a = data(aShape, 21);
      const b = data(bShape, 22);
      await expectClose(() => tf.matMul(tf.tensor(a, aShape), tf.tensor(b, bShape), ta, tb));
    });
  }

  it('broadcasts a dimension of 1 against a longer one (NumPy rules: [2,1]·[5] → [2,5])', async () => {
    // tfjs's own kernels fill only max(2, 5) of the 10 entries here, so the
    // reference is the cpu product of operands broadcast explicitly.
    const a = data([2, 1, 3, 4], 31);
    const b = data([5, 4, 2], 32);
    await tf.setBackend('cpu');
    const expected = tf.tidy(() =>
      tf.matMul(tf.broadcastTo(tf.tensor(a, [2, 1, 3, 4]), [2, 5, 3, 4]), tf.broadcastTo(tf.tensor(b, [5, 4, 2]), [2, 5, 4, 2])),
    );
    const reference = (await expected.data()) as Float32Array;
    expected.dispose();
    await tf.setBackend('wasm');
    const actual = tf.tidy(() => tf.matMul(tf.tensor(a, [2, 1, 3, 4]), tf.tensor(b, [5, 4, 2])));
    expect(actual.shape).toEqual([2, 5, 3, 2]);
    expect(relativeError(reference, (await actual.data()) as Float32Array)).toBeLessThanOrEqual(1e-4);
    actual.dispose();
  });

  it('rejects batch dimensions that do not broadcast with tfjs’s message', async () => {
    await tf.setBackend('wasm');
    expect(() => tf.matMul(tf.zeros([4, 3, 2]), tf.zeros([5, 2, 3]))).toThrow(
      'Operands could not be broadcast together with shapes 4 and 5.',
    );
  });
});

describe('Conv2DBackpropInput with a dy larger than the output geometry', () => {
  // tfjs's kernels read only dy's first OH×OW positions; tfjs-core's "vec4" spec relies on it.
  const cases: [string, number[], number[], number, number[], 'same' | 'valid'][] = [
    ['vec4: 8×8×8 dy, 4×4×8 output, f8 s1 same', [1, 8, 8, 8], [1, 4, 4, 8], 8, [1, 1], 'same'],
    ['few channels (col2im path)', [2, 6, 5, 3], [2, 4, 4, 2], 3, [1, 1], 'same'],
    ['stride 2', [1, 5, 6, 4], [1, 6, 6, 9], 3, [2, 2], 'same'],
  ];
  for (const [name, dyShape, outShape, f, s, pad] of cases) {
    it(name, async () => {
      const wShape = [f, f, outShape[3]!, dyShape[3]!];
      const ys = data(dyShape, 25);
      const ws = data(wShape, 26);
      await expectClose(() =>
        tf.conv2dTranspose(
          tf.tensor4d(ys, dyShape as [number, number, number, number]),
          tf.tensor4d(ws, wShape as [number, number, number, number]),
          outShape as [number, number, number, number],
          s as [number, number],
          pad,
        ),
      );
    });
  }

  it('refuses a dy smaller than the output geometry, naming both shapes', async () => {
    await tf.setBackend('wasm');
    const dy = tf.zeros([1, 2, 2, 8]) as tf.Tensor4D;
    const w = tf.zeros([3, 3, 8, 8]) as tf.Tensor4D;
    expect(() => tf.conv2dTranspose(dy, w, [1, 4, 4, 8], 1, 'same')).toThrow(
      'Conv2DBackpropInput on wasm: dy must be at least [1,4,4,8] for input shape [1,4,4,8], got [1,2,2,8]',
    );
    tf.dispose([dy, w]);
  });
});

describe('fused conv2d gradients (tfjs-layers’ conv2d with a linear activation, as in the DCGAN discriminator)', () => {
  const x = data([2, 9, 9, 3], 27);
  const w = data([3, 3, 3, 4], 28);
  const b = data([4], 29);
  const run = (withBias: boolean) => () => {
    const xs = tf.tensor4d(x, [2, 9, 9, 3]);
    const ws = tf.tensor4d(w, [3, 3, 3, 4]);
    const bs = tf.tensor1d(b);
    const up = tf.tensor4d(data([2, 5, 5, 4], 30), [2, 5, 5, 4]);
    const f = (a: tf.Tensor, k: tf.Tensor, bias?: tf.Tensor) =>
      tf.fused
        .conv2d({ x: a as tf.Tensor4D, filter: k as tf.Tensor4D, strides: 2, pad: 'same', ...(bias ? { bias } : {}) })
        .mul(up)
        .sum();
    return withBias ? tf.grads(f)([xs, ws, bs]) : tf.grads((a: tf.Tensor, k: tf.Tensor) => f(a, k))([xs, ws]);
  };
  it('with a rank-1 bias', async () => {
    await expectClose(run(true));
  });
  it('without a bias', async () => {
    await expectClose(run(false));
  });
});

describe('fused conv2d with a bias that broadcasts (not one value per channel)', () => {
  const x = data([2, 6, 6, 2], 33);
  const w = data([3, 3, 2, 3], 34);
  const cases: [string, number[], tf.fused.Activation][] = [
    ['full-shape bias, linear', [2, 6, 6, 3], 'linear'],
    ['scalar bias, relu', [], 'relu'],
    ['[1] bias, elu', [1], 'elu'],
    ['[6,1,3] bias, leakyrelu', [6, 1, 3], 'leakyrelu'],
    ['[1,1,1,3] bias, sigmoid', [1, 1, 1, 3], 'sigmoid'],
  ];
  for (const [name, biasShape, activation] of cases) {
    it(name, async () => {
      const b = data(biasShape, 35);
      await expectClose(() =>
        tf.fused.conv2d({
          x: tf.tensor4d(x, [2, 6, 6, 2]),
          filter: tf.tensor4d(w, [3, 3, 2, 3]),
          strides: 1,
          pad: 'same',
          bias: tf.tensor(b, biasShape),
          activation,
          leakyreluAlpha: 0.1,
        }),
      );
    });
  }

  it('gradients with a full-shape bias (tfjs-core’s “with bias” spec, larger)', async () => {
    const b = data([2, 6, 6, 3], 36);
    await expectClose(() =>
      tf.grads((a: tf.Tensor, k: tf.Tensor, c: tf.Tensor) =>
        tf.fused.conv2d({ x: a as tf.Tensor4D, filter: k as tf.Tensor4D, strides: 1, pad: 'same', bias: c }).square().sum(),
      )([tf.tensor4d(x, [2, 6, 6, 2]), tf.tensor4d(w, [3, 3, 2, 3]), tf.tensor(b, [2, 6, 6, 3])]),
    );
  });

  it('leaves no tensors or heap allocations behind', async () => {
    await tf.setBackend('wasm');
    const xs = tf.tensor4d(x, [2, 6, 6, 2]);
    const ws = tf.tensor4d(w, [3, 3, 2, 3]);
    const bs = tf.scalar(0.5);
    const step = () => tf.tidy(() => tf.fused.conv2d({ x: xs, filter: ws, bias: bs, strides: 1, pad: 'same', activation: 'relu' })).dispose();
    step();
    const tensors = tf.memory().numTensors;
    const dataIds = tf.engine().backend.numDataIds();
    for (let i = 0; i < 3; i++) step();
    expect(tf.memory().numTensors).toBe(tensors);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
    tf.dispose([xs, ws, bs]);
  });
});

describe('Identity (clone) shares its buffer', () => {
  it('a clone adds no heap buffer and outlives its original', async () => {
    await tf.setBackend('wasm');
    const x = tf.tensor1d([1, 2, 3]);
    const dataIds = tf.engine().backend.numDataIds();
    const y = tf.clone(x);
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
    x.dispose();
    expect(Array.from(await y.data())).toEqual([1, 2, 3]);
    y.dispose();
    expect(tf.engine().backend.numDataIds()).toBe(dataIds - 1);
  });

  it('clones string tensors through tfjs’s kernel', async () => {
    await tf.setBackend('wasm');
    const s = tf.tensor1d(['a', 'bc'], 'string');
    const c = tf.clone(s);
    expect(await c.data()).toEqual(['a', 'bc']);
    tf.dispose([s, c]);
  });

  it('a taped training step (which clones what its kernels save) keeps heap buffers flat', async () => {
    await tf.setBackend('wasm');
    const w = tf.variable(tf.tensor2d(data([8, 4], 37), [8, 4]));
    const xs = tf.tensor2d(data([16, 8], 38), [16, 8]);
    const opt = tf.train.sgd(0.1);
    const step = () => opt.minimize(() => tf.matMul(xs, w).relu().square().mean() as tf.Scalar, false, [w]);
    step();
    const dataIds = tf.engine().backend.numDataIds();
    for (let i = 0; i < 3; i++) step();
    expect(tf.engine().backend.numDataIds()).toBe(dataIds);
    tf.dispose([w, xs]);
    opt.dispose();
  });
});
